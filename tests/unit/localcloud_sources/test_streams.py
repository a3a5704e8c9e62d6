"""DynamoDB stream mappings: ordered batches, filters, retries, bisect, partial failures, on-failure."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from localcloud.clock import VirtualClock
from localcloud.sources import EventSources
from localcloud.sources.streams import StreamPoller
from tests.unit.localcloud_sources.conftest import START
from tests.unit.localcloud_sources.fake_lambda import FakeLambda
from tests.unit.localcloud_sources.resources import (
    REGION,
    create_queue,
    create_stream_table,
    drain,
    put_items,
)


def mapping(function: str, stream_arn: str, **settings: Any) -> str:
    settings.setdefault("StartingPosition", "TRIM_HORIZON")
    uuid: str = boto3.client("lambda", region_name=REGION).create_event_source_mapping(
        FunctionName=function, EventSourceArn=stream_arn, **settings
    )["UUID"]
    return uuid


def keys(event: dict[str, Any]) -> list[str]:
    return [record["dynamodb"]["Keys"]["pk"]["S"] for record in event["Records"]]


class Poison:
    """Fails (raises, or reports the item) whenever a batch holds one of the poison keys."""

    def __init__(self, *poison: str, report: bool = False) -> None:
        self.poison = set(poison)
        self.report = report

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        bad = [record for record in event["Records"] if record["dynamodb"]["Keys"]["pk"]["S"] in self.poison]
        if bad and not self.report:
            raise ValueError("poison")
        return {
            "batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]} for record in bad]
        }


def test_writes_are_batched_in_order_with_increasing_sequence_numbers(
    sources: EventSources, fake_lambda: FakeLambda
) -> None:
    stream = create_stream_table("orders")
    fake_lambda.create("projector", lambda event: None)
    mapping("projector", stream, BatchSize=2)
    put_items("orders", "a", "b", "c")
    assert fake_lambda.calls == []  # moto's inline delivery is off

    assert sources.run_until_idle() == 2

    events = fake_lambda.events("projector")
    assert [keys(event) for event in events] == [["a", "b"], ["c"]]
    numbers = [int(record["dynamodb"]["SequenceNumber"]) for event in events for record in event["Records"]]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == 3
    record = events[0]["Records"][0]
    assert (record["eventName"], record["eventSource"], record["eventSourceARN"], record["awsRegion"]) == (
        "INSERT",
        "aws:dynamodb",
        stream,
        REGION,
    )
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)
    assert record["dynamodb"]["NewImage"] == {"pk": {"S": "a"}}


def test_filter_criteria_use_eventbridge_patterns(sources: EventSources, fake_lambda: FakeLambda) -> None:
    stream = create_stream_table("filtered")
    fake_lambda.create("projector", lambda event: None)
    pattern = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"state": {"S": [{"prefix": "ready"}]}}}}
    mapping("projector", stream, FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]})
    put_items("filtered", "a", state="ready-1")
    put_items("filtered", "b", state="draft")
    put_items("filtered", "a", state="ready-2")  # a MODIFY: filtered out

    sources.run_until_idle()

    assert [keys(event) for event in fake_lambda.events("projector")] == [["a"]]


def test_latest_starts_after_the_records_already_in_the_stream(
    sources: EventSources, fake_lambda: FakeLambda
) -> None:
    stream = create_stream_table("late")
    put_items("late", "old")
    fake_lambda.create("projector", lambda event: None)
    mapping("projector", stream, StartingPosition="LATEST")
    sources.sync()
    put_items("late", "new")

    sources.run_until_idle()

    assert [keys(event) for event in fake_lambda.events("projector")] == [["new"]]


def test_bisect_isolates_a_poison_record_and_sends_it_to_the_on_failure_queue(
    sources: EventSources, fake_lambda: FakeLambda
) -> None:
    stream = create_stream_table("bisected")
    failures = create_queue("stream-failures")
    fake_lambda.create("projector", Poison("c"))
    mapping(
        "projector",
        stream,
        BatchSize=4,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Destination": failures.arn}},
    )
    put_items("bisected", "a", "b", "c", "d", "e")

    sources.run_until_idle()

    batches = [keys(event) for event in fake_lambda.events("projector")]
    assert batches == [["a", "b", "c", "d"], ["a", "b"], ["c", "d"], ["c"], ["d"], ["e"]]
    [message] = drain(failures)
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responseContext"]["functionError"]
    info = record["DDBStreamBatchInfo"]
    assert (info["batchSize"], info["streamArn"]) == (1, stream)
    assert info["startSequenceNumber"] == info["endSequenceNumber"]


def test_without_bisect_the_whole_batch_is_retried_then_discarded_to_sns(
    sources: EventSources, fake_lambda: FakeLambda
) -> None:
    stream = create_stream_table("retried")
    topic = boto3.client("sns", region_name=REGION).create_topic(Name="stream-failures")["TopicArn"]
    subscriber = create_queue("topic-copy")
    boto3.client("sns", region_name=REGION).subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=subscriber.arn, Attributes={"RawMessageDelivery": "true"}
    )
    fake_lambda.create("projector", Poison("b"))
    mapping(
        "projector",
        stream,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": topic}},
    )
    put_items("retried", "a", "b")
    put_items("retried", "c")

    sources.run_until_idle()

    assert [keys(event) for event in fake_lambda.events("projector")] == [["a", "b", "c"], ["a", "b", "c"]]
    [message] = drain(subscriber)
    assert json.loads(message["Body"])["DDBStreamBatchInfo"]["batchSize"] == 3


def test_a_failing_batch_blocks_its_shard_until_it_succeeds(
    sources: EventSources, fake_lambda: FakeLambda
) -> None:
    stream = create_stream_table("ordered")
    handler = Poison("a")
    fake_lambda.create("projector", handler)
    mapping("projector", stream, BatchSize=1)
    put_items("ordered", "a", "b")

    assert sources.pump() == 1
    assert sources.pump() == 0  # the retry of "a" waits; "b" must not overtake it
    handler.poison.clear()
    sources.run_until_idle()

    assert [keys(event) for event in fake_lambda.events("projector")] == [["a"], ["a"], ["b"]]


def test_reported_failures_retry_from_the_lowest_sequence_number(
    sources: EventSources, fake_lambda: FakeLambda
) -> None:
    stream = create_stream_table("partial")
    handler = Poison("b", report=True)
    fake_lambda.create("projector", handler)
    mapping("projector", stream, FunctionResponseTypes=["ReportBatchItemFailures"], MaximumRetryAttempts=5)
    put_items("partial", "a", "b", "c")

    sources.pump()
    handler.poison.clear()
    sources.run_until_idle()

    assert [keys(event) for event in fake_lambda.events("projector")] == [["a", "b", "c"], ["b", "c"]]


def test_an_unknown_reported_item_fails_the_whole_batch(
    sources: EventSources, fake_lambda: FakeLambda
) -> None:
    stream = create_stream_table("unknown")
    calls: list[int] = []

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        calls.append(len(event["Records"]))
        return {"batchItemFailures": [{"itemIdentifier": "12345"}]} if len(calls) == 1 else {}

    fake_lambda.create("projector", handler)
    mapping("projector", stream, FunctionResponseTypes=["ReportBatchItemFailures"])
    put_items("unknown", "a", "b")

    sources.run_until_idle()

    assert calls == [2, 2]


def test_records_older_than_the_maximum_age_are_discarded(
    sources: EventSources, fake_lambda: FakeLambda, clock: VirtualClock
) -> None:
    stream = create_stream_table("aged")
    failures = create_queue("aged-failures")
    fake_lambda.create("projector", Poison("a"))
    mapping(
        "projector",
        stream,
        MaximumRecordAgeInSeconds=60,
        DestinationConfig={"OnFailure": {"Destination": failures.arn}},
    )
    put_items("aged", "a")

    sources.run_until_idle()

    [message] = drain(failures)
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert "responseContext" not in record
    # Retried after 1, 2, 4, 8, 16 and 32 s; the next retry (63 s) finds the record over age.
    assert len(fake_lambda.events("projector")) == 6
    assert clock.now() - START == pytest.approx(63, abs=0.01)


def test_zero_retries_discard_at_the_first_failure(sources: EventSources, fake_lambda: FakeLambda) -> None:
    stream = create_stream_table("once")
    fake_lambda.create("projector", Poison("a"))
    mapping("projector", stream, MaximumRetryAttempts=0, BisectBatchOnFunctionError=True)
    put_items("once", "a", "b")

    sources.run_until_idle()

    assert len(fake_lambda.events("projector")) == 1
    [poller] = sources.pollers.values()
    assert isinstance(poller, StreamPoller)
    assert poller.stats.discarded == 2
    assert poller.backlog() == 0
