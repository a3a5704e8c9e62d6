"""The metrics JSON of a window, attributed to the deployment's window (cases 2, 5, 7, 11)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from blueprints.dora.benchmarks import edition
from blueprints.dora.calculate import Window, drilldown, metrics, snapshot_windows, tier_frequency, window_of
from blueprints.dora.history import analyse
from blueprints.dora.model import Deployment
from blueprints.dora.timeutil import Calendar
from tests.unit.dora.builders import HOUR, SERVICE, at, change, deployment, incident, oi, sha

UTC_CALENDAR = Calendar()
MARCH_11 = Window(date(2024, 3, 11), date(2024, 3, 11))


def test_the_json_has_exactly_the_documented_shape() -> None:
    # Given a deployment with commits at 09:00, 11:00 and 13:00 deployed at 14:00 (case 3)
    changes = [change(sha(1), at("09:00")), change(sha(2), at("11:00")), change(sha(3), at("13:00"))]
    history = analyse(
        SERVICE,
        [deployment("E0", at("08:00"), sha(0)), deployment("E1", at("14:00"), sha(3), changes=changes)],
        [],
    )

    # When the day's metrics are computed with the 2023 edition
    found = metrics(history, MARCH_11, UTC_CALENDAR, edition("2023"))

    # Then the document is exactly this (two deployments in 90 days: a low frequency tier, whatever the
    # day's own rate of 14 per week)
    assert found == {
        "service": "svc-a",
        "from": "2024-03-11",
        "to": "2024-03-11",
        "benchmark": "2023",
        "deployment_frequency": {"deployments": 2, "deploy_days": 1, "per_week": 14.0, "tier": "low"},
        "lead_time": {
            "samples": 3,
            "skewed": 0,
            "median_seconds": 3 * HOUR,
            "p90_seconds": 4.6 * HOUR,
            "tier": "elite",
        },
        "change_failure_rate": {"failed": 0, "deployments": 2, "rate": 0.0, "tier": "elite"},
        "recovery_time": {"samples": 0, "median_seconds": None, "p90_seconds": None, "tier": None},
        "rework_rate": {"rework": 0, "deployments": 2, "rate": 0.0},
        "overall_tier": "low",
    }


def test_no_deployments_give_null_rates_not_zero() -> None:
    found = metrics(analyse(SERVICE, [], []), MARCH_11, UTC_CALENDAR, edition())
    assert found["change_failure_rate"] == {"failed": 0, "deployments": 0, "rate": None, "tier": None}
    assert found["rework_rate"]["rate"] is None
    assert found["deployment_frequency"] == {
        "deployments": 0,
        "deploy_days": 0,
        "per_week": 0.0,
        "tier": "low",
    }
    assert found["overall_tier"] == "low"


def test_a_late_incident_counts_in_the_month_of_the_deployment() -> None:
    # Given a deploy on Jan 31 23:00Z and an incident linked to it on Feb 1 02:00Z (case 11)
    deploy = deployment("D1", datetime(2024, 1, 31, 23, tzinfo=UTC), sha(1))
    late = incident(oi(1), datetime(2024, 2, 1, 2, tzinfo=UTC), deployment_ref="D1")
    before = analyse(SERVICE, [deploy], [])
    after = analyse(SERVICE, [deploy], [late])
    january, february = window_of("month", date(2024, 1, 15)), window_of("month", date(2024, 2, 15))

    # Then January's CFR changes from 0/1 to 1/1 on recomputation, and February has no deployment
    assert metrics(before, january, UTC_CALENDAR, edition())["change_failure_rate"]["rate"] == 0.0
    assert metrics(after, january, UTC_CALENDAR, edition())["change_failure_rate"]["rate"] == 1.0
    assert metrics(after, february, UTC_CALENDAR, edition())["change_failure_rate"]["rate"] is None


def test_the_report_time_zone_decides_the_day() -> None:
    # Given a deploy at 2024-03-31T23:30:00-07:00 (case 5)
    deploy = deployment("D1", datetime(2024, 4, 1, 6, 30, tzinfo=UTC), sha(1))
    history = analyse(SERVICE, [deploy], [])
    march_31, april_1 = (
        Window(date(2024, 3, 31), date(2024, 3, 31)),
        Window(date(2024, 4, 1), date(2024, 4, 1)),
    )
    los_angeles = Calendar("America/Los_Angeles")

    def count(window: Window, calendar: Calendar) -> int:
        return int(metrics(history, window, calendar, edition())["deployment_frequency"]["deployments"])

    # Then UTC counts it on April 1, Los Angeles on March 31
    assert (count(march_31, UTC_CALENDAR), count(april_1, UTC_CALENDAR)) == (0, 1)
    assert (count(march_31, los_angeles), count(april_1, los_angeles)) == (1, 0)


def test_windows_are_days_iso_weeks_and_calendar_months() -> None:
    assert window_of("week", date(2024, 3, 13)) == Window(date(2024, 3, 11), date(2024, 3, 17))
    assert window_of("month", date(2024, 2, 10)) == Window(date(2024, 2, 1), date(2024, 2, 29))
    found = snapshot_windows([date(2024, 3, 1), date(2024, 2, 28), date(2024, 3, 1)])
    assert [(kind, window.first.isoformat()) for kind, window in found] == [
        ("day", "2024-02-28"),
        ("day", "2024-03-01"),
        ("week", "2024-02-26"),
        ("month", "2024-02-01"),
        ("month", "2024-03-01"),
    ]


def test_the_drilldown_lists_deployments_changes_links_and_recovery() -> None:
    deployments = [
        deployment("D1", at("09:00"), sha(1)),
        deployment("D2", at("12:00"), sha(2), changes=[change(sha(2), at("11:00"))]),
    ]
    item = incident(oi(1), at("12:30"), deployment_ref="D2", status="Resolved", actual_end=at("14:00"))
    found = drilldown(
        analyse(SERVICE, deployments, [item, incident(oi(2), at("08:00"))]), MARCH_11, UTC_CALENDAR
    )
    d1, d2 = found["deployments"]
    assert (d1["failed"], d2["failed"], d2["changes"], d2["lead_time_seconds"]) == (
        False,
        True,
        [sha(2)],
        [HOUR],
    )
    assert d2["incidents"] == [{"incident": oi(1), "method": "explicit", "confidence": "high"}]
    assert (d2["recovery_seconds"], d2["recovery_kind"], d2["recovered_at"]) == (
        1.5 * HOUR,
        "resolved",
        "2024-03-11T14:00:00.000000Z",
    )
    assert found["unlinked_incidents"] == [oi(2)]


# -- deployment-frequency tier: median-based, trailing 90 days, zero-filled ----------------------------------


def deployments_on(days: list[date], clock: str = "10:00") -> list[Deployment]:
    hours, minutes = (int(part) for part in clock.split(":"))
    return [
        deployment(f"E{index}", datetime(d.year, d.month, d.day, hours, minutes, tzinfo=UTC), sha(index))
        for index, d in enumerate(days)
    ]


def frequency_tier(days: list[date], window: Window, benchmark: str = "2019") -> tuple[float, str | None]:
    history = analyse(SERVICE, deployments_on(days), [])
    found = metrics(history, window, UTC_CALENDAR, edition(benchmark))["deployment_frequency"]
    return found["per_week"], found["tier"]


LAST = date(2024, 3, 31)


def test_one_deployment_on_a_one_day_window_is_not_elite() -> None:
    # Given a single deployment in 90 days, on the requested day
    # When the day's metrics are computed
    per_week, tier = frequency_tier([LAST], Window(LAST, LAST))
    # Then the window's own rate says 7 per week, but the trailing 90 days say low (1 deployment in 90 days)
    assert (per_week, tier) == (7.0, "low")


def test_a_daily_deployer_is_elite_on_any_window() -> None:
    # Given one deployment every day of the trailing 90 days (and none before)
    days = [LAST - timedelta(days=offset) for offset in range(90)]
    # When a one-day and a one-month window are computed
    # Then both are elite: the median week has 7 deployments
    assert frequency_tier(days, Window(LAST, LAST))[1] == "elite"
    assert frequency_tier(days, Window(date(2024, 3, 1), LAST))[1] == "elite"


def test_deployments_before_the_window_count_for_the_tier() -> None:
    # Given two deployments a week for 12 weeks, all before a quiet last week that is the requested window
    days = [LAST - timedelta(days=7 * week + offset) for week in range(1, 13) for offset in (1, 4)]
    # When the quiet week is computed
    per_week, tier = frequency_tier(days, Window(LAST - timedelta(days=6), LAST))
    # Then the window has no deployment, yet the trailing median week has 2: high (daily to weekly)
    assert (per_week, tier) == (0.0, "high")


def test_empty_weeks_count_as_zero_so_a_burst_is_not_frequent() -> None:
    # Given 30 deployments in one week 60 days ago and nothing else in the trailing 90 days
    burst = [LAST - timedelta(days=60 + offset % 7) for offset in range(30)]
    # When the month's metrics are computed
    _, tier = frequency_tier(burst, Window(LAST - timedelta(days=89), LAST))
    # Then the median week and the median 30-day block are empty: less than monthly, one deployment in 90 days
    # (the mean, 30 * 7 / 90 = 2.3 a week, would say high)
    assert tier_frequency(analyse(SERVICE, deployments_on(burst), []).times, LAST, UTC_CALENDAR) == 7 / 90
    assert tier == "low"


def test_monthly_deployers_use_the_median_month() -> None:
    # Given two deployments in one week of each 30-day block of the trailing 90 days (most weeks empty)
    days = [LAST - timedelta(days=30 * block + offset) for block in range(3) for offset in (3, 4)]
    # When the frequency the tier classifies is computed
    found = tier_frequency([d.deploy_time for d in deployments_on(days)], LAST, UTC_CALENDAR)
    # Then it is the median 30-day block (2 deployments) as a weekly rate
    assert found == 2 * 7 / 30


def test_once_a_month_is_on_the_once_per_month_band_edge() -> None:
    # Given one deployment in each 30-day block of the trailing 90 days
    days = [LAST - timedelta(days=30 * block + 3) for block in range(3)]
    # When the day's metrics are computed with 2019 (medium: once a week to once a month, from 7/30 a week)
    per_week, tier = frequency_tier(days, Window(LAST, LAST))
    # Then it is medium, not low: the frequency is exactly 7/30 a week, not rounded below the band
    assert (per_week, tier) == (0.0, "medium")
