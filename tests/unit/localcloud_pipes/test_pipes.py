"""Pipes on bare moto: batching, filters, enrichment, templates, targets, stop/start, failures."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from localcloud.clock import VirtualClock
from localcloud.sources import EventSources
from tests.unit.localcloud_sources.fake_lambda import FakeLambda
from tests.unit.localcloud_sources.resources import (
    REGION,
    create_queue,
    create_queue_with_dlq,
    create_stream_table,
    depth,
    drain,
    put_items,
    sqs,
)

ROLE = "arn:aws:iam::123456789012:role/pipes"


def pipes() -> Any:
    return boto3.client("pipes", region_name=REGION)


def create_pipe(name: str, source: str, target: str, **settings: Any) -> str:
    arn: str = pipes().create_pipe(Name=name, RoleArn=ROLE, Source=source, Target=target, **settings)["Arn"]
    return arn


def stream_source(**parameters: Any) -> dict[str, Any]:
    return {"DynamoDBStreamParameters": {"StartingPosition": "TRIM_HORIZON", **parameters}}


def keys(batch: list[dict[str, Any]]) -> list[str]:
    return [record["dynamodb"]["Keys"]["pk"]["S"] for record in batch]


def test_a_stream_pipe_delivers_batches_as_json_arrays_in_order(
    sources: EventSources, fake_lambda: FakeLambda
) -> None:
    stream = create_stream_table("orders")
    target = fake_lambda.create("sink", lambda event: None)
    create_pipe("orders", stream, target, SourceParameters=stream_source(BatchSize=2))
    put_items("orders", "a", "b", "c")

    assert sources.run_until_idle() == 2

    batches = fake_lambda.events("sink")
    assert [keys(batch) for batch in batches] == [["a", "b"], ["c"]]
    assert batches[0][0]["eventSource"] == "aws:dynamodb"
    assert batches[0][0]["eventSourceARN"] == stream


def test_the_default_stream_batch_is_one_record_and_latest_skips_earlier_writes(
    sources: EventSources, fake_lambda: FakeLambda
) -> None:
    stream = create_stream_table("orders")
    put_items("orders", "before")
    target = fake_lambda.create("sink", lambda event: None)
    create_pipe(
        "orders",
        stream,
        target,
        SourceParameters={"DynamoDBStreamParameters": {"StartingPosition": "LATEST"}},
    )
    sources.sync()
    put_items("orders", "a", "b")

    sources.run_until_idle()

    assert [keys(batch) for batch in fake_lambda.events("sink")] == [["a"], ["b"]]


def test_records_that_match_no_filter_start_nothing(sources: EventSources, fake_lambda: FakeLambda) -> None:
    stream = create_stream_table("orders")
    target = fake_lambda.create("sink", lambda event: None)
    filters = {"Filters": [{"Pattern": json.dumps({"dynamodb": {"NewImage": {"status": {"S": ["paid"]}}}})}]}
    create_pipe("orders", stream, target, SourceParameters={**stream_source(), "FilterCriteria": filters})
    put_items("orders", "a", status="new")
    put_items("orders", "b", status="paid")

    sources.run_until_idle()

    assert [keys(batch) for batch in fake_lambda.events("sink")] == [["b"]]
    put_items("orders", "c", status="new")
    sources.run_until_idle()
    assert len(fake_lambda.events("sink")) == 1
    assert sources.pipes.runner("orders").poller.stats.filtered == 2  # type: ignore[union-attr]


def test_enrichment_reshapes_and_filters_the_batch_before_the_template(
    sources: EventSources, fake_lambda: FakeLambda
) -> None:
    stream = create_stream_table("orders")
    enrich = fake_lambda.create(
        "enrich", lambda batch: [{**item, "owner": "ops"} for item in batch if item["id"] != "b"]
    )
    target = fake_lambda.create("sink", lambda event: None)
    create_pipe(
        "orders",
        stream,
        target,
        SourceParameters=stream_source(BatchSize=10),
        Enrichment=enrich,
        EnrichmentParameters={"InputTemplate": '{"id": "<$.dynamodb.Keys.pk.S>"}'},
        TargetParameters={
            "InputTemplate": '{"id": "<$.id>", "by": "<$.owner>", "pipe": "<aws.pipes.pipe-arn>"}'
        },
    )
    put_items("orders", "a", "b", "c")

    sources.run_until_idle()

    assert fake_lambda.events("enrich") == [[{"id": "a"}, {"id": "b"}, {"id": "c"}]]
    pipe_arn = pipes().describe_pipe(Name="orders")["Arn"]
    assert fake_lambda.events("sink") == [
        [{"id": "a", "by": "ops", "pipe": pipe_arn}, {"id": "c", "by": "ops", "pipe": pipe_arn}]
    ]


def test_an_empty_enrichment_response_invokes_no_target(
    sources: EventSources, fake_lambda: FakeLambda
) -> None:
    stream = create_stream_table("orders")
    enrich = fake_lambda.create("enrich", lambda batch: [])
    target = fake_lambda.create("sink", lambda event: None)
    create_pipe("orders", stream, target, SourceParameters=stream_source(), Enrichment=enrich)
    put_items("orders", "a")

    sources.run_until_idle()

    assert len(fake_lambda.events("enrich")) == 1
    assert fake_lambda.events("sink") == []


def test_a_stopped_pipe_delivers_nothing_until_started(
    sources: EventSources, fake_lambda: FakeLambda
) -> None:
    stream = create_stream_table("orders")
    target = fake_lambda.create("sink", lambda event: None)
    create_pipe("orders", stream, target, SourceParameters=stream_source(), DesiredState="STOPPED")
    put_items("orders", "a")

    sources.run_until_idle()
    assert fake_lambda.events("sink") == []

    pipes().start_pipe(Name="orders")
    sources.run_until_idle()
    assert [keys(batch) for batch in fake_lambda.events("sink")] == [["a"]]

    pipes().stop_pipe(Name="orders")
    put_items("orders", "b")
    sources.run_until_idle()
    assert len(fake_lambda.events("sink")) == 1


def test_a_failing_stream_target_is_retried_then_its_metadata_goes_to_the_dead_letter_queue(
    sources: EventSources, fake_lambda: FakeLambda, clock: VirtualClock
) -> None:
    stream = create_stream_table("orders")
    dlq = create_queue("pipe-dlq")
    target = fake_lambda.create("sink", lambda event: 1 / 0)
    pipe_arn = create_pipe(
        "orders",
        stream,
        target,
        SourceParameters=stream_source(
            BatchSize=5, MaximumRetryAttempts=2, DeadLetterConfig={"Arn": dlq.arn}
        ),
    )
    put_items("orders", "a", "b")
    started = clock.now()

    sources.run_until_idle()

    assert [keys(batch) for batch in fake_lambda.events("sink")] == [["a", "b"]] * 3
    assert clock.now() - started == 3.0  # back-off 1 s, then 2 s, on the virtual clock
    [message] = drain(dlq)
    record = json.loads(message["Body"])
    assert record["context"] == {"partnerResourceArn": pipe_arn, "condition": "RetryAttemptsExhausted"}
    assert record["version"] == "1.0"
    info = record["DDBStreamBatchInfo"]
    assert (info["batchSize"], info["streamArn"]) == (2, stream)
    put_items("orders", "c")  # the shard moved on
    sources.run_until_idle()
    assert keys(fake_lambda.events("sink")[-1]) == ["c"]


def test_bisect_isolates_the_failing_record(sources: EventSources, fake_lambda: FakeLambda) -> None:
    stream = create_stream_table("orders")
    dlq = create_queue("pipe-dlq")

    def sink(batch: list[dict[str, Any]]) -> None:
        if "bad" in keys(batch):
            raise ValueError("bad")

    target = fake_lambda.create("sink", sink)
    create_pipe(
        "orders",
        stream,
        target,
        SourceParameters=stream_source(
            BatchSize=4,
            MaximumRetryAttempts=3,
            OnPartialBatchItemFailure="AUTOMATIC_BISECT",
            DeadLetterConfig={"Arn": dlq.arn},
        ),
    )
    put_items("orders", "a", "bad", "c", "d")

    sources.run_until_idle()

    [message] = drain(dlq)
    assert json.loads(message["Body"])["DDBStreamBatchInfo"]["batchSize"] == 1
    delivered = [
        key for batch in fake_lambda.events("sink") if "bad" not in keys(batch) for key in keys(batch)
    ]
    assert sorted(delivered) == ["a", "c", "d"]


def test_an_sqs_pipe_deletes_what_it_delivered_and_filtered(
    sources: EventSources, fake_lambda: FakeLambda
) -> None:
    queue = create_queue("requests")
    target = fake_lambda.create("sink", lambda event: None)
    filters = {"Filters": [{"Pattern": json.dumps({"body": {"kind": ["order"]}})}]}
    create_pipe(
        "requests",
        queue.arn,
        target,
        SourceParameters={"SqsQueueParameters": {"BatchSize": 3}, "FilterCriteria": filters},
        TargetParameters={"InputTemplate": '{"id": <$.body.id>, "message": "<$.messageId>"}'},
    )
    for number in range(5):
        sqs().send_message(QueueUrl=queue.url, MessageBody=json.dumps({"kind": "order", "id": number}))
    sqs().send_message(QueueUrl=queue.url, MessageBody=json.dumps({"kind": "noise", "id": 99}))
    sqs().send_message(QueueUrl=queue.url, MessageBody="not json")

    sources.run_until_idle()

    batches = fake_lambda.events("sink")
    assert [len(batch) for batch in batches] == [3, 2]
    assert sorted(item["id"] for batch in batches for item in batch) == [0, 1, 2, 3, 4]
    assert all(item["message"] for batch in batches for item in batch)
    assert depth(queue) == (0, 0)


def test_sqs_source_failures_stay_in_the_queue_for_its_redrive_policy(
    sources: EventSources, fake_lambda: FakeLambda
) -> None:
    queue, dlq = create_queue_with_dlq("requests", max_receive_count=2, visibility=30)
    target = fake_lambda.create("sink", lambda event: 1 / 0)
    create_pipe("requests", queue.arn, target)
    sqs().send_message(QueueUrl=queue.url, MessageBody='{"id": 1}')

    sources.run_until_idle()

    assert len(fake_lambda.events("sink")) == 2
    assert [message["Body"] for message in drain(dlq)] == ['{"id": 1}']


def test_a_lambda_target_may_fail_single_items(sources: EventSources, fake_lambda: FakeLambda) -> None:
    queue, dlq = create_queue_with_dlq("requests", max_receive_count=1, visibility=30)

    def sink(batch: list[dict[str, Any]]) -> dict[str, Any]:
        failed = [item["messageId"] for item in batch if item["body"] == "bad"]
        return {"batchItemFailures": [{"itemIdentifier": identifier} for identifier in failed]}

    target = fake_lambda.create("sink", sink)
    create_pipe("requests", queue.arn, target)
    for body in ("good", "bad", "fine"):
        sqs().send_message(QueueUrl=queue.url, MessageBody=body)

    sources.run_until_idle()

    assert [message["Body"] for message in drain(dlq)] == ["bad"]
    assert depth(queue) == (0, 0)


def test_queue_topic_and_bus_targets_get_one_message_per_event(
    sources: EventSources, fake_lambda: FakeLambda
) -> None:
    stream = create_stream_table("orders")
    out = create_queue("out")
    topic = boto3.client("sns", region_name=REGION).create_topic(Name="orders")["TopicArn"]
    watched = create_queue("watched")
    boto3.client("sns", region_name=REGION).subscribe(TopicArn=topic, Protocol="sqs", Endpoint=watched.arn)
    events = boto3.client("events", region_name=REGION)
    bus = events.create_event_bus(Name="orders")["EventBusArn"]
    bus_queue = create_queue("bus-out")
    events.put_rule(Name="all", EventBusName="orders", EventPattern=json.dumps({"source": ["orders.pipe"]}))
    events.put_targets(Rule="all", EventBusName="orders", Targets=[{"Id": "q", "Arn": bus_queue.arn}])
    template = {"InputTemplate": '{"id": "<$.dynamodb.Keys.pk.S>"}'}
    create_pipe(
        "to-queue", stream, out.arn, SourceParameters=stream_source(BatchSize=5), TargetParameters=template
    )
    create_pipe(
        "to-topic", stream, topic, SourceParameters=stream_source(BatchSize=5), TargetParameters=template
    )
    bus_parameters = {"EventBridgeEventBusParameters": {"Source": "orders.pipe", "DetailType": "Order"}}
    create_pipe(
        "to-bus",
        stream,
        bus,
        SourceParameters=stream_source(BatchSize=5),
        TargetParameters={**template, **bus_parameters},
    )
    put_items("orders", "a", "b")

    sources.run_until_idle()

    assert [message["Body"] for message in drain(out)] == ['{"id": "a"}', '{"id": "b"}']
    assert [json.loads(message["Body"])["Message"] for message in drain(watched)] == [
        '{"id": "a"}',
        '{"id": "b"}',
    ]
    delivered = [json.loads(message["Body"]) for message in drain(bus_queue)]
    assert [(event["detail-type"], event["detail"]) for event in delivered] == [
        ("Order", {"id": "a"}),
        ("Order", {"id": "b"}),
    ]


def test_a_missing_target_fails_the_batch(sources: EventSources, fake_lambda: FakeLambda) -> None:
    stream = create_stream_table("orders")
    dlq = create_queue("pipe-dlq")
    missing = f"arn:aws:lambda:{REGION}:123456789012:function:gone"
    create_pipe(
        "orders",
        stream,
        missing,
        SourceParameters=stream_source(MaximumRetryAttempts=0, DeadLetterConfig={"Arn": dlq.arn}),
    )
    put_items("orders", "a")

    sources.run_until_idle()

    assert len(drain(dlq)) == 1
    [delivery] = sources.pipes.runner("orders").deliveries
    assert (delivery.target, delivery.error) == (missing, "ResourceNotFoundException")


@pytest.mark.parametrize("source", ["arn:aws:kinesis:us-east-1:123456789012:stream/s", "not-an-arn"])
def test_sources_that_are_not_emulated_are_reported(sources: EventSources, source: str) -> None:
    create_pipe("odd", source, "arn:aws:sqs:us-east-1:123456789012:q")

    runner = sources.pipes.runner("odd")

    assert runner.poller is None
    assert runner.error is not None
    assert sources.run_until_idle() == 0


def test_deleted_pipes_stop_running(sources: EventSources, fake_lambda: FakeLambda) -> None:
    stream = create_stream_table("orders")
    target = fake_lambda.create("sink", lambda event: None)
    create_pipe("orders", stream, target, SourceParameters=stream_source())
    sources.sync()
    pipes().delete_pipe(Name="orders")
    put_items("orders", "a")

    sources.run_until_idle()

    assert fake_lambda.events("sink") == []
    assert sources.pipes.runners == {}
