"""Metrics of a service over a window of report days, in the API's JSON shape, and the drill-down.

Windows are inclusive ranges of calendar days in the report time zone. Everything is attributed to the
window of the *deployment's* time: its lead-time samples, its failure and its recovery sample (an incident
on Feb 1 linked to a Jan 31 deployment counts in January). Durations are seconds, rates 0..1, and a rate
over no deployments is ``null``, not 0.

The deployment-frequency *tier* is not taken from the requested window (one deployment on a one-day window
would be "7 per week"): it is the median-based bucket over the trailing ``FREQUENCY_DAYS`` days up to the
window's last day, with empty weeks and months counted as zero (spec §4, the fourkeys method of §6). The
frequency classified, in deployments per week, is the median of the deployments of each of the 12 whole
weeks (7-day blocks ending on the last day); when that median is 0 (most weeks without a deployment), the
median of the 3 thirty-day blocks, as a weekly rate; when that is 0 too (less than monthly), one
deployment per 30-day block that had any (a burst does not make a rare deployer frequent). ``per_week``
stays the requested window's own rate (information only).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from blueprints.dora.benchmarks import Edition
from blueprints.dora.history import DeploymentView, History
from blueprints.dora.stats import median, p90
from blueprints.dora.timeutil import Calendar, month_end, month_start, stored, week_start

FREQUENCY_DAYS = 90  # trailing days of the deployment-frequency tier
WEEKS_IN_FREQUENCY = FREQUENCY_DAYS // 7
MONTHS_IN_FREQUENCY = FREQUENCY_DAYS // 30
WindowKind = Literal["day", "week", "month"]
SNAPSHOT_KINDS: tuple[WindowKind, ...] = ("day", "week", "month")


@dataclass(frozen=True)
class Window:
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 6)


def tier_frequency(times: Iterable[datetime], last: date, calendar: Calendar) -> float:
    """The deployments per week the frequency tier classifies, from deploy ``times``: medians of
    zero-filled 7-day, then 30-day blocks of the ``FREQUENCY_DAYS`` days ending on ``last`` (see the
    module docstring)."""
    first = last - timedelta(days=FREQUENCY_DAYS - 1)
    start, end = calendar.bounds(first, last)
    per_day: dict[date, int] = {}
    for moment in times:
        if start <= moment < end:
            day = calendar.day_of(moment)
            per_day[day] = per_day.get(day, 0) + 1

    def blocks(length: int, count: int) -> list[float]:
        return [
            float(sum(per_day.get(last - timedelta(days=block * length + day), 0) for day in range(length)))
            for block in range(count)
        ]

    weekly = median(blocks(7, WEEKS_IN_FREQUENCY)) or 0.0
    if weekly > 0:
        return weekly
    monthly = median(blocks(30, MONTHS_IN_FREQUENCY)) or 0.0
    if monthly > 0:  # not rounded: once a month must stay on the "once per month" band edge
        return monthly * 7 / 30
    active = sum(1 for deployments in blocks(30, MONTHS_IN_FREQUENCY) if deployments)
    return active * 7 / FREQUENCY_DAYS  # less than monthly: one per active block


def metrics(
    history: History,
    window: Window,
    calendar: Calendar,
    edition: Edition,
    overall_rule: Literal["lowest", "median"] = "lowest",
    frequency_times: Sequence[datetime] | None = None,
) -> dict[str, Any]:
    """The metrics JSON of ``history`` over ``window`` (the exact shape the API returns).

    The frequency tier counts ``frequency_times`` (deploy times), by default ``history``'s: either must
    hold the deployments of the ``FREQUENCY_DAYS`` days up to the window's end.
    """
    start, end = calendar.bounds(window.first, window.last)
    views = history.between(start, end)
    count = len(views)
    deploy_days = len({calendar.day_of(view.time) for view in views})
    per_week = round(count * 7 / window.days, 4)
    lead = [sample for view in views for sample in view.lead_samples]
    failed = [view for view in views if view.failure is not None]
    recovery = [
        seconds
        for view in failed
        if view.failure is not None and (seconds := view.failure.recovery_seconds) is not None
    ]
    rework = sum(1 for view in views if view.rework is not None)
    lead_median, recovery_median = median(lead), median(recovery)
    cfr = _ratio(len(failed), count)
    tiers = {
        "deployment_frequency": edition.classify(
            "deployment_frequency",
            tier_frequency(
                history.times if frequency_times is None else frequency_times, window.last, calendar
            ),
        ),
        "lead_time": edition.classify("lead_time", lead_median),
        "change_failure_rate": edition.classify("change_failure_rate", cfr),
        "recovery_time": edition.classify("recovery_time", recovery_median),
    }
    return {
        "service": history.service,
        "from": window.first.isoformat(),
        "to": window.last.isoformat(),
        "benchmark": edition.edition,
        "deployment_frequency": {
            "deployments": count,
            "deploy_days": deploy_days,
            "per_week": per_week,
            "tier": tiers["deployment_frequency"],
        },
        "lead_time": {
            "samples": len(lead),
            "skewed": sum(view.skewed for view in views),
            "median_seconds": _seconds(lead_median),
            "p90_seconds": _seconds(p90(lead)),
            "tier": tiers["lead_time"],
        },
        "change_failure_rate": {
            "failed": len(failed),
            "deployments": count,
            "rate": cfr,
            "tier": tiers["change_failure_rate"],
        },
        "recovery_time": {
            "samples": len(recovery),
            "median_seconds": _seconds(recovery_median),
            "p90_seconds": _seconds(p90(recovery)),
            "tier": tiers["recovery_time"],
        },
        "rework_rate": {"rework": rework, "deployments": count, "rate": _ratio(rework, count)},
        "overall_tier": edition.overall(tiers, overall_rule),
    }


def window_of(kind: WindowKind, day: date) -> Window:
    """The day, ISO week (Monday to Sunday) or calendar month containing ``day``."""
    if kind == "day":
        return Window(day, day)
    if kind == "week":
        monday = week_start(day)
        return Window(monday, monday + timedelta(days=6))
    return Window(month_start(day), month_end(day))


def snapshot_windows(days: Iterable[date]) -> list[tuple[WindowKind, Window]]:
    """The day, week and month windows containing ``days``, each once, in time order per kind."""
    found = {(kind, window_of(kind, day)) for day in days for kind in SNAPSHOT_KINDS}
    return sorted(found, key=lambda item: (SNAPSHOT_KINDS.index(item[0]), item[1].first))


def drilldown(history: History, window: Window, calendar: Calendar) -> dict[str, Any]:
    """The deployments of a window with their changes, failure, links and recovery (API drill-down)."""
    start, end = calendar.bounds(window.first, window.last)
    links: dict[str, list[dict[str, str]]] = {}
    for link in history.links:
        links.setdefault(link.execution_id, []).append(
            {"incident": link.incident_id, "method": link.method, "confidence": link.confidence}
        )
    return {
        "service": history.service,
        "from": window.first.isoformat(),
        "to": window.last.isoformat(),
        "deployments": [
            _view(view, links.get(view.deployment.execution_id, [])) for view in history.between(start, end)
        ],
        "unlinked_incidents": list(history.unlinked),
    }


def _view(view: DeploymentView, links: list[dict[str, str]]) -> dict[str, Any]:
    deployment = view.deployment
    failure = view.failure
    return {
        "execution_id": deployment.execution_id,
        "pipeline_arn": deployment.pipeline_arn,
        "deploy_time": stored(deployment.deploy_time),
        "commit": deployment.sha,
        "repository": deployment.repo,
        "branch": deployment.branch,
        "trigger_type": deployment.trigger_type,
        "rollback": deployment.rollback,
        "changes_status": deployment.changes_status.value,
        "changes": [change.sha for change in deployment.changes or ()],
        "lead_time_seconds": list(view.lead_samples),
        "skewed_samples": view.skewed,
        "rework": view.rework,
        "failed": failure is not None,
        "incidents": links,
        "rolled_back_by": failure.rolled_back_by if failure else None,
        "failure_start": stored(failure.start) if failure else None,
        "recovered_at": stored(failure.recovered_at) if failure and failure.recovered_at else None,
        "recovery_kind": failure.recovery_kind if failure else None,
        "recovery_seconds": failure.recovery_seconds if failure else None,
        "recovery_skewed": failure.skewed if failure else False,
    }
