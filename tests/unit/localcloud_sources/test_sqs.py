"""SQS event source mappings: batches, the Lambda record shape, partial failures, visibility and redrive."""

from __future__ import annotations

import hashlib
from typing import Any

import boto3
import pytest

from localcloud.clock import VirtualClock
from localcloud.sources import EventSources
from tests.unit.localcloud_sources.conftest import START
from tests.unit.localcloud_sources.fake_lambda import FakeLambda
from tests.unit.localcloud_sources.resources import (
    REGION,
    Queue,
    create_queue,
    create_queue_with_dlq,
    depth,
    drain,
    sqs,
)


def mapping(function: str, queue: Queue, **settings: Any) -> str:
    uuid: str = boto3.client("lambda", region_name=REGION).create_event_source_mapping(
        FunctionName=function, EventSourceArn=queue.arn, **settings
    )["UUID"]
    return uuid


def send(queue: Queue, *bodies: str) -> None:
    for body in bodies:
        sqs().send_message(QueueUrl=queue.url, MessageBody=body)


def bodies(event: dict[str, Any]) -> list[str]:
    return [record["body"] for record in event["Records"]]


class Fails:
    """A handler that reports the listed bodies as failed items (or raises when ``explode``)."""

    def __init__(self, *failing: str, explode: bool = False) -> None:
        self.failing = set(failing)
        self.explode = explode

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        if self.explode:
            raise RuntimeError("boom")
        failures = [record["messageId"] for record in event["Records"] if record["body"] in self.failing]
        return {"batchItemFailures": [{"itemIdentifier": identifier} for identifier in failures]}


def test_moto_no_longer_delivers_inside_send_message(sources: EventSources, fake_lambda: FakeLambda) -> None:
    queue = create_queue("work")
    fake_lambda.create("consumer", lambda event: None)
    mapping("consumer", queue)
    sources.sync()

    send(queue, "a", "b", "c")
    assert fake_lambda.calls == []

    assert sources.pump() == 1
    assert [bodies(event) for event in fake_lambda.events("consumer")] == [["a", "b", "c"]]
    assert depth(queue) == (0, 0)


def test_records_have_the_lambda_shape_with_message_attributes(
    sources: EventSources, fake_lambda: FakeLambda
) -> None:
    queue = create_queue("shaped")
    fake_lambda.create("consumer", lambda event: None)
    mapping("consumer", queue)
    sqs().send_message(
        QueueUrl=queue.url,
        MessageBody='{"job": 1}',
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "report"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x01\x02"},
        },
    )

    sources.pump()

    [record] = fake_lambda.events("consumer")[0]["Records"]
    assert record["body"] == '{"job": 1}'
    assert record["md5OfBody"] == hashlib.md5(b'{"job": 1}').hexdigest()  # noqa: S324 - SQS's own checksum
    assert record["md5OfMessageAttributes"]
    assert record["attributes"] == {
        "ApproximateReceiveCount": "1",
        "SentTimestamp": str(int(START * 1000)),
        "SenderId": record["attributes"]["SenderId"],
        "ApproximateFirstReceiveTimestamp": str(int(START * 1000)),
    }
    assert record["messageAttributes"] == {
        "kind": {
            "stringValue": "report",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "blob": {"binaryValue": "AQI=", "stringListValues": [], "binaryListValues": [], "dataType": "Binary"},
    }
    assert (record["eventSource"], record["eventSourceARN"], record["awsRegion"]) == (
        "aws:sqs",
        queue.arn,
        REGION,
    )
    assert record["receiptHandle"]


def test_batches_respect_batch_size(sources: EventSources, fake_lambda: FakeLambda) -> None:
    queue = create_queue("sized")
    fake_lambda.create("consumer", lambda event: None)
    mapping("consumer", queue, BatchSize=2)
    send(queue, "1", "2", "3", "4", "5")

    assert sources.run_until_idle() == 3
    assert sorted(len(event["Records"]) for event in fake_lambda.events("consumer")) == [1, 2, 2]
    assert depth(queue) == (0, 0)


def test_reported_item_failures_stay_and_come_back_after_the_visibility_timeout(
    sources: EventSources, fake_lambda: FakeLambda, clock: VirtualClock
) -> None:
    queue = create_queue("partial", VisibilityTimeout="30")
    handler = Fails("bad")
    fake_lambda.create("consumer", handler)
    mapping("consumer", queue, FunctionResponseTypes=["ReportBatchItemFailures"])
    send(queue, "good", "bad")

    assert sources.pump() == 1
    assert depth(queue) == (0, 1)  # "good" deleted, "bad" in flight
    assert sources.pump() == 0

    clock.advance(31)
    handler.failing.clear()
    assert sources.pump() == 1
    retried = fake_lambda.events("consumer")[1]["Records"]
    assert [(record["body"], record["attributes"]["ApproximateReceiveCount"]) for record in retried] == [
        ("bad", "2")
    ]
    assert depth(queue) == (0, 0)


def test_without_report_batch_item_failures_a_success_deletes_everything(
    sources: EventSources, fake_lambda: FakeLambda
) -> None:
    queue = create_queue("plain")
    fake_lambda.create("consumer", Fails("bad"))
    mapping("consumer", queue)
    send(queue, "good", "bad")

    sources.pump()

    assert depth(queue) == (0, 0)


@pytest.mark.parametrize(
    "response",
    [
        {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"id": "wrong-key"}]},
        {"batchItemFailures": "nope"},
    ],
)
def test_a_malformed_report_fails_the_whole_batch(
    sources: EventSources, fake_lambda: FakeLambda, response: dict[str, Any]
) -> None:
    queue = create_queue("malformed")
    fake_lambda.create("consumer", lambda event: response)
    mapping("consumer", queue, FunctionResponseTypes=["ReportBatchItemFailures"])
    send(queue, "a", "b")

    sources.pump()

    assert depth(queue) == (0, 2)


@pytest.mark.parametrize("response", [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}])
def test_an_empty_report_is_a_complete_success(
    sources: EventSources, fake_lambda: FakeLambda, response: dict[str, Any] | None
) -> None:
    queue = create_queue("empty-report")
    fake_lambda.create("consumer", lambda event: response)
    mapping("consumer", queue, FunctionResponseTypes=["ReportBatchItemFailures"])
    send(queue, "a", "b")

    sources.pump()

    assert depth(queue) == (0, 0)


def test_a_function_error_deletes_nothing_and_redrive_ends_in_the_dlq(
    sources: EventSources, fake_lambda: FakeLambda, clock: VirtualClock
) -> None:
    queue, dlq = create_queue_with_dlq("poison", max_receive_count=3, visibility=60)
    fake_lambda.create("consumer", Fails(explode=True))
    mapping("consumer", queue, FunctionResponseTypes=["ReportBatchItemFailures"])
    send(queue, "poison")

    invocations = sources.run_until_idle()

    assert invocations == 3
    # Received at 0, 60 and 120 s; moved to the DLQ by the receive after the third timeout.
    assert clock.now() == pytest.approx(START + 180, abs=0.01)
    assert [message["Body"] for message in drain(dlq)] == ["poison"]
    assert depth(queue) == (0, 0)


def test_a_visibility_the_handler_changed_is_kept(
    sources: EventSources, fake_lambda: FakeLambda, clock: VirtualClock
) -> None:
    queue = create_queue("backoff", VisibilityTimeout="30")

    def defer(event: dict[str, Any]) -> dict[str, Any]:
        record = event["Records"][0]
        sqs().change_message_visibility(
            QueueUrl=queue.url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=300
        )
        return {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}

    fake_lambda.create("consumer", defer)
    mapping("consumer", queue, FunctionResponseTypes=["ReportBatchItemFailures"])
    send(queue, "later")

    sources.pump()
    clock.advance(31)
    assert sources.pump() == 0
    assert sources.next_due() == pytest.approx(START + 300.001, abs=0.01)

    clock.advance(270)
    assert sources.pump() == 1


def test_the_batching_window_waits_for_a_full_batch(
    sources: EventSources, fake_lambda: FakeLambda, clock: VirtualClock
) -> None:
    queue = create_queue("windowed")
    fake_lambda.create("consumer", lambda event: None)
    mapping("consumer", queue, BatchSize=3, MaximumBatchingWindowInSeconds=20)
    send(queue, "1", "2")

    assert sources.pump() == 0
    clock.advance(10)
    send(queue, "3")
    assert sources.pump() == 1  # full before the window closed

    send(queue, "4")
    assert sources.run_until_idle() == 1
    assert clock.now() == pytest.approx(START + 30, abs=0.01)
    assert [bodies(event) for event in fake_lambda.events("consumer")] == [["1", "2", "3"], ["4"]]


def test_delayed_messages_are_delivered_when_due(
    sources: EventSources, fake_lambda: FakeLambda, clock: VirtualClock
) -> None:
    queue = create_queue("delayed")
    fake_lambda.create("consumer", lambda event: None)
    mapping("consumer", queue)
    sqs().send_message(QueueUrl=queue.url, MessageBody="in a minute", DelaySeconds=60)

    assert sources.pump() == 0
    assert sources.run_until_idle() == 1
    assert clock.now() == pytest.approx(START + 60, abs=0.01)


def test_filter_criteria_delete_messages_that_match_no_filter(
    sources: EventSources, fake_lambda: FakeLambda
) -> None:
    queue = create_queue("filtered")
    fake_lambda.create("consumer", lambda event: None)
    mapping("consumer", queue, FilterCriteria={"Filters": [{"Pattern": '{"body": {"kind": ["keep"]}}'}]})
    send(queue, '{"kind": "keep", "n": 1}', '{"kind": "drop"}', "not json")

    sources.run_until_idle()

    assert [bodies(event) for event in fake_lambda.events("consumer")] == [['{"kind": "keep", "n": 1}']]
    assert depth(queue) == (0, 0)


def test_disabled_mappings_do_not_deliver_and_status_reports_the_mapping(
    sources: EventSources, fake_lambda: FakeLambda
) -> None:
    queue = create_queue("paused")
    fake_lambda.create("consumer", lambda event: None)
    uuid = mapping("consumer", queue, Enabled=False, ScalingConfig={"MaximumConcurrency": 5}, BatchSize=7)
    send(queue, "waiting")

    assert sources.run_until_idle() == 0
    [row] = sources.status()
    assert (row.uuid, row.kind, row.enabled, row.batch_size, row.maximum_concurrency, row.backlog) == (
        uuid,
        "sqs",
        False,
        7,
        5,
        1,
    )

    boto3.client("lambda", region_name=REGION).update_event_source_mapping(UUID=uuid, Enabled=True)
    assert sources.run_until_idle() == 1
    assert sources.status()[0].invocations == 1


def test_a_missing_function_leaves_the_messages_for_a_retry(
    sources: EventSources, fake_lambda: FakeLambda, clock: VirtualClock
) -> None:
    queue = create_queue("orphan", VisibilityTimeout="30")
    fake_lambda.create("consumer", lambda event: None)
    mapping("consumer", queue)
    boto3.client("lambda", region_name=REGION).delete_function(FunctionName="consumer")
    send(queue, "x")

    assert sources.pump() == 1
    assert depth(queue) == (0, 1)


def test_fifo_records_carry_group_and_deduplication_ids(
    sources: EventSources, fake_lambda: FakeLambda
) -> None:
    queue = create_queue("ordered.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    fake_lambda.create("consumer", lambda event: None)
    mapping("consumer", queue)
    sqs().send_message(QueueUrl=queue.url, MessageBody="first", MessageGroupId="g1")

    sources.pump()

    attributes = fake_lambda.events("consumer")[0]["Records"][0]["attributes"]
    assert attributes["MessageGroupId"] == "g1"
    assert attributes["MessageDeduplicationId"]
    assert attributes["SequenceNumber"]


def test_a_deleted_mapping_stops_delivering(sources: EventSources, fake_lambda: FakeLambda) -> None:
    queue = create_queue("unmapped")
    fake_lambda.create("consumer", lambda event: None)
    uuid = mapping("consumer", queue)
    sources.sync()
    boto3.client("lambda", region_name=REGION).delete_event_source_mapping(UUID=uuid)
    send(queue, "orphan")

    assert sources.run_until_idle() == 0
    assert sources.status() == []
    assert depth(queue) == (1, 0)
