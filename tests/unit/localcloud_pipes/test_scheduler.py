"""EventBridge Scheduler on bare moto: when schedules fire, what targets receive, retries and DLQ."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from localcloud.clock import VirtualClock
from localcloud.sources import EventSources
from tests.unit.localcloud_pipes.conftest import START
from tests.unit.localcloud_sources.fake_lambda import FakeLambda
from tests.unit.localcloud_sources.resources import REGION, create_queue, drain

ROLE = "arn:aws:iam::123456789012:role/scheduler"


def scheduler() -> Any:
    return boto3.client("scheduler", region_name=REGION)


def create_schedule(name: str, expression: str, target: dict[str, Any], **settings: Any) -> str:
    settings.setdefault("FlexibleTimeWindow", {"Mode": "OFF"})
    arn: str = scheduler().create_schedule(
        Name=name, ScheduleExpression=expression, Target={"RoleArn": ROLE, **target}, **settings
    )["ScheduleArn"]
    return arn


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def times(fake: FakeLambda, name: str = "tick") -> list[str]:
    return [event["at"] for event in fake.events(name)]


TICK_INPUT = '{"at": "<aws.scheduler.scheduled-time>", "try": <aws.scheduler.attempt-number>}'


def test_a_rate_schedule_starts_at_once_and_never_moves_the_clock_itself(
    sources: EventSources, fake_lambda: FakeLambda, clock: VirtualClock
) -> None:
    tick = fake_lambda.create("tick", lambda event: None)
    create_schedule("every-ten", "rate(10 minutes)", {"Arn": tick, "Input": TICK_INPUT})

    assert sources.run_until_idle() == 0
    assert clock.now() == START  # a recurring schedule is a daemon timer
    clock.advance(25 * 60)

    assert times(fake_lambda) == [iso(START), iso(START + 600), iso(START + 1200)]
    assert fake_lambda.events("tick")[0]["try"] == 1
    assert sources.scheduler.entry("every-ten").fired == 3


def test_start_and_end_dates_bound_a_recurring_schedule(
    sources: EventSources, fake_lambda: FakeLambda, clock: VirtualClock
) -> None:
    tick = fake_lambda.create("tick", lambda event: None)
    create_schedule(
        "bounded",
        "rate(1 hour)",
        {"Arn": tick, "Input": TICK_INPUT},
        StartDate=datetime.fromtimestamp(START + 1800, UTC),
        EndDate=datetime.fromtimestamp(START + 1800 + 2 * 3600, UTC),
    )
    sources.sync()

    clock.advance(10 * 3600)

    assert times(fake_lambda) == [iso(START + 1800), iso(START + 5400), iso(START + 9000)]


def test_a_cron_schedule_fires_on_the_wall_clock_of_its_time_zone(
    sources: EventSources, fake_lambda: FakeLambda, clock: VirtualClock
) -> None:
    tick = fake_lambda.create("tick", lambda event: None)
    create_schedule(
        "tokyo-morning",
        "cron(0 8 * * ? *)",
        {"Arn": tick, "Input": TICK_INPUT},
        ScheduleExpressionTimezone="Asia/Tokyo",
        FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 30},  # fires at the window's start
    )
    sources.sync()

    clock.advance(2 * 86400)

    assert times(fake_lambda) == ["2030-03-29T23:00:00Z", "2030-03-30T23:00:00Z"]


def test_disabled_schedules_do_not_fire_until_enabled(
    sources: EventSources, fake_lambda: FakeLambda, clock: VirtualClock
) -> None:
    tick = fake_lambda.create("tick", lambda event: None)
    target = {"Arn": tick, "RoleArn": ROLE, "Input": TICK_INPUT}
    create_schedule("paused", "rate(5 minutes)", target, State="DISABLED")
    sources.sync()
    clock.advance(3600)
    assert fake_lambda.events("tick") == []

    scheduler().update_schedule(
        Name="paused",
        ScheduleExpression="rate(5 minutes)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target=target,
        State="ENABLED",
    )
    sources.sync()
    clock.advance(301)

    assert times(fake_lambda) == [iso(START + 3600), iso(START + 3900)]


def test_a_one_time_schedule_fires_once_and_deletes_itself_after_completion(
    sources: EventSources, clock: VirtualClock
) -> None:
    queue = create_queue("reminders")
    create_schedule(
        "remind",
        "at(2030-03-29T15:00:00)",
        {"Arn": queue.arn, "Input": '{"at": "<aws.scheduler.scheduled-time>"}'},
        ActionAfterCompletion="DELETE",
    )
    create_schedule("keep", "at(2030-03-29T16:00:00)", {"Arn": queue.arn, "Input": "kept"})

    sources.run_until_idle(5 * 3600)  # pending one-time work: the clock moves to it

    assert [message["Body"] for message in drain(queue)] == ['{"at": "2030-03-29T15:00:00Z"}', "kept"]
    assert clock.now() == START + 4 * 3600  # 16:00, the last due moment
    with pytest.raises(scheduler().exceptions.ResourceNotFoundException):
        scheduler().get_schedule(Name="remind")
    assert scheduler().get_schedule(Name="keep")["State"] == "ENABLED"
    clock.advance(86400)
    assert drain(queue) == []


def test_an_unreachable_target_is_retried_then_the_input_goes_to_the_dead_letter_queue(
    sources: EventSources, clock: VirtualClock
) -> None:
    dlq = create_queue("schedule-dlq")
    missing = f"arn:aws:lambda:{REGION}:123456789012:function:gone"
    schedule_arn = create_schedule(
        "lost",
        "at(2030-03-29T12:30:00)",
        {
            "Arn": missing,
            "Input": '{"kind": "lost"}',
            "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 60},
            "DeadLetterConfig": {"Arn": dlq.arn},
        },
    )

    sources.run_until_idle()

    attempts = [item for item in sources.scheduler.invocations if item.schedule_arn == schedule_arn]
    assert [(item.attempt, item.error) for item in attempts] == [
        (1, "ResourceNotFoundException"),
        (2, "ResourceNotFoundException"),
        (3, "ResourceNotFoundException"),
        (4, "ResourceNotFoundException"),
    ]
    assert attempts[-1].dead_letter_arn == dlq.arn
    [message] = drain(dlq)
    assert message["Body"] == '{"kind": "lost"}'
    attributes = {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}
    assert attributes == {
        "ERROR_CODE": "ResourceNotFoundException",
        "ERROR_MESSAGE": f"Function not found: {missing}",
        "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts",
        "RETRY_ATTEMPTS": "3",
        "SCHEDULE_ARN": schedule_arn,
        "TARGET_ARN": missing,
    }


def test_the_event_age_limit_ends_retries_early(sources: EventSources) -> None:
    dlq = create_queue("schedule-dlq")
    create_schedule(
        "lost",
        "at(2030-03-29T12:30:00)",
        {
            "Arn": f"arn:aws:sqs:{REGION}:123456789012:gone",
            "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 60},
            "DeadLetterConfig": {"Arn": dlq.arn},
        },
    )

    sources.run_until_idle()

    [message] = drain(dlq)
    attributes = {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}
    assert (attributes["EXHAUSTED_RETRY_CONDITION"], attributes["RETRY_ATTEMPTS"]) == (
        "MaximumEventAgeInSeconds",
        "5",  # 1 + 2 + 4 + 8 + 16 s of back-off fit in 60 s, 32 more do not
    )


def test_step_functions_sns_and_event_bus_targets(sources: EventSources) -> None:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = sfn.create_state_machine(
        name="job",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn=ROLE,
    )["stateMachineArn"]
    watched = create_queue("watched")
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name="notices")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=watched.arn)
    events = boto3.client("events", region_name=REGION)
    events.put_rule(Name="timed", EventPattern=json.dumps({"source": ["app.timer"]}))
    bus_queue = create_queue("bus")
    events.put_targets(Rule="timed", Targets=[{"Id": "q", "Arn": bus_queue.arn}])
    default_bus = f"arn:aws:events:{REGION}:123456789012:event-bus/default"
    at = "at(2030-03-29T12:10:00)"
    create_schedule("run-job", at, {"Arn": machine, "Input": '{"job": 1}'})
    create_schedule("notice", at, {"Arn": topic, "Input": "hello"})
    create_schedule(
        "timer",
        at,
        {
            "Arn": default_bus,
            "Input": '{"due": true}',
            "EventBridgeParameters": {"Source": "app.timer", "DetailType": "Timer Due"},
        },
    )

    sources.run_until_idle()

    [execution] = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"]) == {"job": 1}
    assert [json.loads(message["Body"])["Message"] for message in drain(watched)] == ["hello"]
    [event] = [json.loads(message["Body"]) for message in drain(bus_queue)]
    assert (event["source"], event["detail-type"], event["detail"]) == (
        "app.timer",
        "Timer Due",
        {"due": True},
    )


def test_fire_schedule_invokes_the_target_now(sources: EventSources, fake_lambda: FakeLambda) -> None:
    tick = fake_lambda.create("tick", lambda event: None)
    scheduler().create_schedule_group(Name="jobs")
    create_schedule(
        "yearly", "cron(0 0 1 1 ? *)", {"Arn": tick, "Input": TICK_INPUT}, GroupName="jobs", State="DISABLED"
    )

    invocation = sources.fire_schedule("yearly", group="jobs")

    assert (invocation.error, invocation.attempt) == (None, 1)
    assert times(fake_lambda) == [iso(START)]
    with pytest.raises(KeyError, match="no schedule default/yearly"):
        sources.fire_schedule("yearly")  # not in the default group


def test_unsupported_expressions_are_reported_and_never_fire(
    sources: EventSources, fake_lambda: FakeLambda, clock: VirtualClock
) -> None:
    tick = fake_lambda.create("tick", lambda event: None)
    create_schedule("last-day", "cron(0 0 L * ? *)", {"Arn": tick})

    entry = sources.scheduler.entry("last-day")
    clock.advance(40 * 86400)

    assert entry.error is not None
    assert fake_lambda.events("tick") == []
