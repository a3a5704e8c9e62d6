"""The fixture application's schedules on an in-process local cloud: deployed from the template into moto's
scheduler backend (group references included), then fired on the virtual clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from localcloud.clock import isoformat
from localcloud.cloud import LocalCloud
from tests.unit.localcloud_pipes.conftest import drain


def ticks(cloud: LocalCloud, kind: str) -> list[dict[str, Any]]:
    return [call.event for call in cloud.calls("TickFunction") if call.event["kind"] == kind]


def test_schedules_deploy_into_moto_with_their_group(app_cloud: LocalCloud) -> None:
    scheduler = app_cloud.client("scheduler")

    listed = {(item["GroupName"], item["Name"]) for item in scheduler.list_schedules()["Schedules"]}
    every_five = scheduler.get_schedule(Name="every-five-minutes", GroupName="jobs")

    assert listed == {
        ("jobs", "every-five-minutes"),
        ("default", "pipes-Paused"),
        ("default", "remind-once"),
        ("default", "morning-in-paris"),
        ("default", "unreachable"),
        ("default", "TickFunctionHourly"),  # SAM's ScheduleV2 event
    }
    assert every_five["Target"]["Arn"] == app_cloud.deployment.function("TickFunction").arn  # type: ignore[union-attr]
    assert scheduler.get_schedule(Name="pipes-Paused")["State"] == "DISABLED"


def test_a_rate_schedule_fires_at_once_then_every_period_and_a_disabled_one_never(
    app_cloud: LocalCloud,
) -> None:
    entry = app_cloud.sources.scheduler.entry("every-five-minutes", group="jobs")
    anchor = entry.timing.anchor

    app_cloud.run_until_idle()
    app_cloud.clock.advance(30 * 60)

    expected = [isoformat(anchor + 300 * period) for period in range(7)]
    assert [event["at"] for event in ticks(app_cloud, "tick")] == expected
    assert len(ticks(app_cloud, "sam")) == 1  # rate(1 hour), from deploy on
    assert ticks(app_cloud, "paused") == []


def test_a_one_time_schedule_fires_once_and_is_deleted_and_an_unreachable_one_dead_letters(
    app_cloud: LocalCloud,
) -> None:
    remind_at = app_cloud.parameter_overrides["RemindAt"]

    app_cloud.run_until_idle(3 * 3600)  # the clock moves to the reminder (and the retries after it)

    assert [json.loads(message["Body"]) for message in drain(app_cloud, "RemindersUrl")] == [
        {"reminder": f"{remind_at}Z"}
    ]
    scheduler = app_cloud.client("scheduler")
    with pytest.raises(scheduler.exceptions.ResourceNotFoundException):
        scheduler.get_schedule(Name="remind-once")
    [lost] = drain(app_cloud, "ScheduleDeadLettersUrl")
    assert lost["Body"] == '{"kind": "lost"}'
    assert lost["MessageAttributes"]["RETRY_ATTEMPTS"]["StringValue"] == "2"
    app_cloud.clock.advance(86400)
    assert drain(app_cloud, "RemindersUrl") == []


def test_a_cron_schedule_fires_at_nine_in_its_time_zone(app_cloud: LocalCloud) -> None:
    paris = ZoneInfo("Europe/Paris")
    now = datetime.fromtimestamp(app_cloud.clock.now(), paris)
    nine = now.replace(hour=9, minute=0, second=0, microsecond=0)
    nine = nine if nine > now else (nine + timedelta(days=1)).replace(hour=9)
    expected = datetime(nine.year, nine.month, nine.day, 9, tzinfo=paris).timestamp()
    drain(app_cloud, "MorningsUrl")

    app_cloud.clock.advance_to(expected - 1)
    assert drain(app_cloud, "MorningsUrl") == []
    app_cloud.clock.advance(61)

    [message] = drain(app_cloud, "MorningsUrl")
    assert json.loads(message["Body"]) == {
        "at": datetime.fromtimestamp(expected, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    }
