"""Genomics launcher: start each new, READY or RETRY_REQUESTED launch from the registry's stream, once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from blueprints.core.batch import PartialBatchResponse, process_stream_batch
from blueprints.core.observability import observed
from blueprints.core.settings import LazySettings
from blueprints.genomics import wiring
from blueprints.genomics.launcher import LaunchChange
from blueprints.genomics.records import from_item
from blueprints.genomics.settings import LaunchSettings

SETTINGS = LazySettings(LaunchSettings)


def change(record: DynamoDBRecord) -> LaunchChange:
    images = record.raw_event["dynamodb"]
    old = from_item(images.get("OldImage") or {})
    created = images.get("ApproximateCreationDateTime")
    return LaunchChange(
        str(record.raw_event.get("eventName", "")),
        from_item(images.get("NewImage") or {}),
        old.get("status"),
        datetime.fromtimestamp(float(created), UTC) if created is not None else None,
    )


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialBatchResponse:
    launcher = wiring.launcher(SETTINGS.get())
    return process_stream_batch(event, context, lambda record: launcher.handle(change(record)))
