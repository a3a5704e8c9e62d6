"""Genomics: index a restore request (restore/<id>.json): classify the objects, track them, queue chunks."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from blueprints.core.observability import observed
from blueprints.core.settings import LazySettings
from blueprints.genomics import wiring
from blueprints.genomics.settings import RestoreSettings

SETTINGS = LazySettings(RestoreSettings)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parsed = parse(event=event, model=S3EventNotificationEventBridgeModel)
    detail = parsed.detail
    key = detail.object.key
    body = wiring.storage().read(f"s3://{detail.bucket.name}/{key}")
    source = f"{key}#{detail.object.version_id or detail.object.etag}"
    report = wiring.restore_flow(SETTINGS.get()).index(PurePosixPath(key).stem, source, body, parsed.time)
    return {"request_id": report.request_id, "outcome": report.outcome, "total": report.total}
