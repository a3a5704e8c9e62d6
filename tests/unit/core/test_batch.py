"""Partial batch responses with the real Powertools BatchProcessor."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from blueprints.core.batch import process_sqs_batch, receive_count
from tests.support.events import load_event
from tests.support.lambda_context import FakeLambdaContext
from tests.support.sqs_events import Event, message_ids, with_receive_count


@pytest.fixture
def batch() -> Event:
    """Ten SQS records (a sample event from the broker)."""
    return load_event("broker", "dispatch_task", "batch_with_invalid")


def failing_for(ids: set[str]) -> tuple[list[str], object]:
    seen: list[str] = []

    def handler(record: SQSRecord) -> str:
        seen.append(record.message_id)
        if record.message_id in ids:
            raise RuntimeError("record failed")
        return record.message_id

    return seen, handler


def test_every_record_succeeds_reports_nothing(batch: Event) -> None:
    seen, handler = failing_for(set())

    response = process_sqs_batch(batch, FakeLambdaContext(), handler)  # type: ignore[arg-type]

    assert response == {"batchItemFailures": []}
    assert seen == message_ids(batch)


def test_failing_records_are_reported_by_message_id(batch: Event) -> None:
    # Given three of ten records fail
    failing = set(message_ids(batch)[1:4])
    seen, handler = failing_for(failing)

    # When the batch is processed
    response = process_sqs_batch(batch, FakeLambdaContext(), handler)  # type: ignore[arg-type]

    # Then exactly those are reported, and every record was tried
    assert sorted(item["itemIdentifier"] for item in response["batchItemFailures"]) == sorted(failing)
    assert seen == message_ids(batch)


def test_an_entirely_failed_batch_is_reported_without_raising(batch: Event) -> None:
    seen, handler = failing_for(set(message_ids(batch)))

    response = process_sqs_batch(batch, FakeLambdaContext(), handler)  # type: ignore[arg-type]

    assert [item["itemIdentifier"] for item in response["batchItemFailures"]] == message_ids(batch)
    assert len(seen) == 10


def test_receive_count_is_the_delivery_attempt() -> None:
    event = with_receive_count(load_event("broker", "dispatch_task", "valid_request"), 4)
    assert receive_count(SQSRecord(event["Records"][0])) == 4
