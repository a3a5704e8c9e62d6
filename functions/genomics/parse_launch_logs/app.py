"""Genomics: store the first error lines of each FAILED launch's logs (from the registry's stream)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from blueprints.core.batch import PartialBatchResponse, process_stream_batch
from blueprints.core.observability import observed
from blueprints.core.settings import LazySettings
from blueprints.genomics import wiring
from blueprints.genomics.records import Launch
from blueprints.genomics.settings import TrackSettings

SETTINGS = LazySettings(TrackSettings)
RESERVE_MS = 10_000  # stop paging the logs this long before the timeout, to store what was found


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialBatchResponse:
    scan = wiring.log_scan(SETTINGS.get())

    def has_time() -> bool:
        return context.get_remaining_time_in_millis() > RESERVE_MS

    def record_handler(record: DynamoDBRecord) -> None:
        scan.handle(Launch.from_item(record.raw_event["dynamodb"]["NewImage"]), has_time)

    return process_stream_batch(event, context, record_handler)
