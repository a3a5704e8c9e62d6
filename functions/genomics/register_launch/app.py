"""Genomics: register a launch from a config file under launches/ or a Snakefile bundle under snakefiles/."""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.typing import LambdaContext

from blueprints.core.observability import observed
from blueprints.core.settings import LazySettings
from blueprints.genomics import wiring
from blueprints.genomics.records import Source
from blueprints.genomics.settings import RegisterSettings

SETTINGS = LazySettings(RegisterSettings)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, list[dict[str, str]]]:
    registrar = wiring.registrar(SETTINGS.get())
    storage = wiring.storage()
    results = []
    for record in S3Event(event).records:
        obj = record.s3.get_object
        source = Source("s3", record.s3.bucket.name, obj.key, obj.version_id or "", obj.etag or "")
        result = registrar.register_upload(
            source, functools.partial(storage.read, f"s3://{source.bucket}/{source.key}")
        )
        results.append({"launch_id": result.launch_id, "outcome": result.outcome.value})
    return {"results": results}
