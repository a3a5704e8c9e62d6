"""Scheduled rules fire on the virtual clock; rate and cron expressions give the right next times."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest

from localcloud.clock import VirtualClock
from localcloud.sources import EventSources
from localcloud.sources.schedule_expressions import Cron, Rate, UnsupportedScheduleError, parse_schedule
from tests.unit.localcloud_sources.conftest import START
from tests.unit.localcloud_sources.fake_lambda import FakeLambda
from tests.unit.localcloud_sources.resources import REGION


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def iso(moment: float | None) -> str:
    assert moment is not None
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M %a")


def test_a_rate_rule_fires_each_period_with_a_scheduled_event(
    sources: EventSources, fake_lambda: FakeLambda, clock: VirtualClock
) -> None:
    events = boto3.client("events", region_name=REGION)
    function = fake_lambda.create("tick", lambda event: None)
    rule_arn = events.put_rule(Name="every-5", ScheduleExpression="rate(5 minutes)")["RuleArn"]
    events.put_targets(Rule="every-5", Targets=[{"Id": "fn", "Arn": function}])
    sources.sync()

    assert sources.run_until_idle() == 0  # schedules alone never move the clock
    events.put_events(Entries=[{"Source": "any", "DetailType": "any", "Detail": "{}"}])
    assert fake_lambda.calls == []  # a schedule-only rule matches no event
    clock.advance(16 * 60)

    fired = fake_lambda.events("tick")
    assert len(fired) == 3
    assert fired[0]["detail-type"] == "Scheduled Event"
    assert (fired[0]["source"], fired[0]["resources"], fired[0]["detail"]) == ("aws.events", [rule_arn], {})
    assert [event["time"] for event in fired] == [
        "2023-11-14T22:18:20Z",
        "2023-11-14T22:23:20Z",
        "2023-11-14T22:28:20Z",
    ]
    assert sources.schedules.rules[rule_arn].fired == 3


def test_disabled_deleted_and_unsupported_schedules_do_not_fire(
    sources: EventSources, fake_lambda: FakeLambda, clock: VirtualClock
) -> None:
    events = boto3.client("events", region_name=REGION)
    function = fake_lambda.create("tick", lambda event: None)
    events.put_rule(Name="soon-disabled", ScheduleExpression="rate(1 minute)")
    events.put_targets(Rule="soon-disabled", Targets=[{"Id": "fn", "Arn": function}])
    odd = events.put_rule(Name="odd", ScheduleExpression="cron(0 12 L * ? *)")["RuleArn"]
    events.put_targets(Rule="odd", Targets=[{"Id": "fn", "Arn": function}])
    sources.sync()

    clock.advance(61)
    events.disable_rule(Name="soon-disabled")
    sources.sync()
    clock.advance(3600)

    assert len(fake_lambda.events("tick")) == 1
    assert sources.schedules.rules[odd].error
    assert sources.schedules.rules[odd].next_fire is None


def test_a_cron_rule_fires_at_its_minutes(
    sources: EventSources, fake_lambda: FakeLambda, clock: VirtualClock
) -> None:
    events = boto3.client("events", region_name=REGION)
    function = fake_lambda.create("tick", lambda event: None)
    events.put_rule(Name="quarterly", ScheduleExpression="cron(0/15 * * * ? *)")
    events.put_targets(Rule="quarterly", Targets=[{"Id": "fn", "Arn": function}])
    sources.sync()

    clock.advance(3600)

    assert [event["time"][11:16] for event in fake_lambda.events("tick")] == [
        "22:15",
        "22:30",
        "22:45",
        "23:00",
    ]
    assert clock.now() == START + 3600


def test_rate_expressions() -> None:
    assert parse_schedule("rate(1 minute)") == Rate(60)
    assert parse_schedule("rate(2 hours)") == Rate(7200)
    assert parse_schedule("rate(1 day)") == Rate(86400)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0 10 * * ? *)", "2024-03-01 10:00", "2024-03-02 10:00 Sat"),
        ("cron(15 10 ? * MON-FRI *)", "2024-03-01 11:00", "2024-03-04 10:15 Mon"),
        ("cron(0 8 1 * ? *)", "2024-01-31 09:00", "2024-02-01 08:00 Thu"),
        ("cron(0 0 29 2 ? *)", "2024-03-01 00:00", "2028-02-29 00:00 Tue"),
        ("cron(0/20 9-10 ? * 2,4 2024)", "2024-03-04 10:45", "2024-03-06 09:00 Wed"),
        ("cron(0 0 1 JAN ? *)", "2024-12-31 23:59", "2025-01-01 00:00 Wed"),
    ],
)
def test_cron_next_occurrence(expression: str, after: str, expected: str) -> None:
    schedule = parse_schedule(expression)
    assert isinstance(schedule, Cron)
    assert iso(schedule.next_after(at(after))) == expected


def test_a_cron_with_no_future_occurrence_never_fires() -> None:
    assert parse_schedule("cron(0 0 1 1 ? 1999)").next_after(at("2024-01-01 00:00")) is None


@pytest.mark.parametrize(
    "expression",
    [
        "rate(0 minutes)",
        "rate(5 weeks)",
        "cron(0 12 * *)",
        "cron(0 12 L * ? *)",
        "cron(0 12 ? * 6#3 *)",
        "cron(0 25 * * ? *)",
        "at(2024-01-01T00:00:00)",
    ],
)
def test_unsupported_expressions_are_rejected(expression: str) -> None:
    with pytest.raises(UnsupportedScheduleError):
        parse_schedule(expression)
