"""The virtual clock: timers in time order, daemons, and moto's SQS/DynamoDB/EventBridge times on it."""

from __future__ import annotations

import pytest
from moto.dynamodb.models import dynamodb_backends

from localcloud.clock import VirtualClock, isoformat
from localcloud.sources.streams import created_at
from tests.unit.localcloud_sources.conftest import START
from tests.unit.localcloud_sources.fake_lambda import ACCOUNT_ID
from tests.unit.localcloud_sources.resources import REGION, create_queue, create_stream_table, put_items, sqs


def test_timers_fire_in_time_order_each_at_its_own_time() -> None:
    clock = VirtualClock(start=100.0)
    seen: list[tuple[str, float]] = []
    clock.call_at(130, lambda: seen.append(("b", clock.now())))
    clock.call_at(110, lambda: seen.append(("a", clock.now())))
    clock.call_later(50, lambda: seen.append(("late", clock.now())))

    fired = clock.advance(40)

    assert fired == 2
    assert seen == [("a", 110.0), ("b", 130.0)]
    assert clock.now() == 140.0
    assert clock.next_timer() == 150.0


def test_a_timer_scheduled_by_a_callback_fires_in_the_same_advance_when_due() -> None:
    clock = VirtualClock(start=0.0)
    seen: list[float] = []

    def reschedule() -> None:
        clock.call_later(2, lambda: seen.append(clock.now()))

    clock.call_at(1, reschedule)

    clock.advance(10)

    assert seen == [3.0]


def test_cancelled_timers_do_not_fire_and_daemons_are_not_pending_work() -> None:
    clock = VirtualClock(start=0.0)
    seen: list[str] = []
    timer = clock.call_at(5, lambda: seen.append("cancelled"))
    clock.call_at(7, lambda: seen.append("daemon"), daemon=True)
    timer.cancel()

    assert clock.next_timer() is None
    assert clock.next_timer(include_daemon=True) == 7
    clock.advance(10)
    assert seen == ["daemon"]


def test_the_clock_never_goes_back() -> None:
    clock = VirtualClock(start=10.0)
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance(-1)
    clock.advance_to(5)
    assert clock.now() == 10.0


def test_isoformat_writes_aws_timestamps() -> None:
    assert isoformat(START) == "2023-11-14T22:13:20Z"
    assert isoformat(START + 0.25, millis=True) == "2023-11-14T22:13:20.250Z"


def test_sqs_visibility_delay_and_timestamps_follow_the_clock(clock: VirtualClock) -> None:
    queue = create_queue("clocked", VisibilityTimeout="30")
    sqs().send_message(QueueUrl=queue.url, MessageBody="now")
    sqs().send_message(QueueUrl=queue.url, MessageBody="later", DelaySeconds=60)

    first = sqs().receive_message(QueueUrl=queue.url, AttributeNames=["All"], MaxNumberOfMessages=10)[
        "Messages"
    ]
    assert [message["Body"] for message in first] == ["now"]
    assert first[0]["Attributes"]["SentTimestamp"] == str(int(START * 1000))
    assert "Messages" not in sqs().receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10)

    clock.advance(31)
    again = sqs().receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10)["Messages"]
    assert [message["Body"] for message in again] == ["now"]

    clock.advance(31)
    bodies = {
        message["Body"]
        for message in sqs().receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10)["Messages"]
    }
    assert bodies == {"now", "later"}


def test_stream_record_times_follow_the_clock(clock: VirtualClock) -> None:
    create_stream_table("clocked")
    clock.advance(3600)
    put_items("clocked", "a")

    shard = dynamodb_backends[ACCOUNT_ID][REGION].get_table("clocked").stream_shard
    assert shard is not None
    assert created_at(shard.items[0]) == pytest.approx(START + 3600, abs=0.001)
