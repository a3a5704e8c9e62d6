"""Genomics: register a launch from an "Object Created" event of the launch-request bucket: a config
file under launches/ or a Snakefile bundle under snakefiles/ (EventBridge delivery, see ADR 0020)."""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from blueprints.core.observability import observed
from blueprints.core.settings import LazySettings
from blueprints.genomics import wiring
from blueprints.genomics.records import Source
from blueprints.genomics.settings import RegisterSettings

SETTINGS = LazySettings(RegisterSettings)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    parsed = parse(event=event, model=S3EventNotificationEventBridgeModel)
    detail = parsed.detail
    obj = detail.object
    source = Source("s3", detail.bucket.name, obj.key, obj.version_id or "", obj.etag or "")
    read = functools.partial(wiring.storage().read, f"s3://{source.bucket}/{source.key}")
    result = wiring.registrar(SETTINGS.get()).register_upload(source, read, parsed.time)
    return {"launch_id": result.launch_id, "outcome": result.outcome.value}
