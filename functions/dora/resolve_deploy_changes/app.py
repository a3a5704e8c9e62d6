"""DORA: resolve the commits each queued deployment brought (pushes, else the GitHub compare API)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from blueprints.core.batch import PartialBatchResponse, process_sqs_batch
from blueprints.core.observability import observed
from blueprints.core.settings import LazySettings
from blueprints.dora import wiring
from blueprints.dora.resolver import Delivery
from blueprints.dora.settings import ResolveSettings

SETTINGS = LazySettings(ResolveSettings)


def delivery(record: SQSRecord) -> Delivery:
    return Delivery(record.message_id, record.body, record.receipt_handle, record.queue_url)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialBatchResponse:
    settings = SETTINGS.get()
    return process_sqs_batch(
        event, context, lambda record: wiring.resolver(settings, record.queue_url).handle(delivery(record))
    )
