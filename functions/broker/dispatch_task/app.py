"""Broker: start an ECS task for each valid run request on the queue (docs/blueprints/broker.md)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from blueprints.broker import wiring
from blueprints.broker.dispatcher import RERUN_ATTRIBUTE, Delivery
from blueprints.broker.failures import Invocation
from blueprints.broker.settings import DispatchSettings
from blueprints.core.batch import PartialBatchResponse, process_sqs_batch, receive_count
from blueprints.core.observability import observed
from blueprints.core.settings import LazySettings

SETTINGS = LazySettings(DispatchSettings)


def delivery(record: SQSRecord) -> Delivery:
    rerun = record.message_attributes[RERUN_ATTRIBUTE]
    return Delivery(
        message_id=record.message_id,
        body=record.body,
        attempt=receive_count(record),
        receipt_handle=record.receipt_handle,
        queue_url=record.queue_url,
        rerun_attribute=rerun.string_value if rerun else None,
    )


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialBatchResponse:
    invocation = Invocation(context.log_group_name, context.log_stream_name, context.aws_request_id)
    dispatcher = wiring.dispatcher(SETTINGS.get(), invocation)
    return process_sqs_batch(event, context, lambda record: dispatcher.dispatch(delivery(record)))
