"""Partial batch responses for SQS and DynamoDB stream consumers.

A record handler succeeds by returning and fails by raising. Failed records are reported in
``batchItemFailures`` (the template sets ``ReportBatchItemFailures``), so only they come back. A batch in
which every record failed is reported the same way instead of failing the invocation, so retries and
alarms stay per record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

PartialBatchResponse = dict[str, list[dict[str, str]]]


def process_sqs_batch(
    event: dict[str, Any],
    context: LambdaContext,
    record_handler: Callable[[SQSRecord], Any],
) -> PartialBatchResponse:
    """Run ``record_handler`` on every SQS record and return the partial batch response."""
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(  # type: ignore[return-value]
        event=event, record_handler=record_handler, processor=processor, context=context
    )


def process_stream_batch(
    event: dict[str, Any],
    context: LambdaContext,
    record_handler: Callable[[DynamoDBRecord], Any],
) -> PartialBatchResponse:
    """Run ``record_handler`` on every DynamoDB stream record and return the partial batch response
    (the mapping stops at the first failed record of a shard and retries from there)."""
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
    return process_partial_response(  # type: ignore[return-value]
        event=event, record_handler=record_handler, processor=processor, context=context
    )


def receive_count(record: SQSRecord) -> int:
    """The delivery attempt of an SQS record (1 on first delivery)."""
    return int(record.attributes.approximate_receive_count)
