"""Stuck-launch detection with the detect function's template settings: one RUNNABLE_STUCK alert and notice
per launch, and launches past the hard timeout failed with their task or job stopped (moto)."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any

import pytest

from blueprints.core import aws
from blueprints.genomics import wiring
from blueprints.genomics.launcher import Outcome
from blueprints.genomics.registry import LaunchRegistry, Page
from blueprints.genomics.settings import DetectSettings, LaunchSettings
from blueprints.genomics.status import Status
from blueprints.genomics.stuck import (
    CAUSES,
    LAUNCHING_TOO_LONG,
    RUNNABLE_STUCK,
    SLOW_CAUSES,
    Report,
    StuckDetector,
    _due,
)
from tests.support.botocore_hooks import record_calls
from tests.unit.genomics.builders import LAUNCH_ID, at, document, registered
from tests.unit.genomics.conftest import Genomics
from tests.unit.genomics.test_launcher import insert


def detector(genomics: Genomics) -> StuckDetector:
    env = genomics.use_function("detect_stuck_launches")
    return wiring.detector(DetectSettings.from_env(env))


def launching(
    registry: LaunchRegistry, launch_id: str = LAUNCH_ID, *, runnable_minute: float | None = 1
) -> None:
    """A launch claimed at minute 0 (started at minute 0), RUNNABLE since ``runnable_minute``."""
    registry.create(registered(document(launch_id=launch_id)))
    registry.transition(
        launch_id,
        attempt=1,
        sources={Status.REGISTERED},
        target=Status.LAUNCHING,
        now=at(0),
        set_values={"launch_started_at": at(0).isoformat(), "batch_job_ids": {"job-1"}},
    )
    if runnable_minute is not None:
        registry.update(
            launch_id,
            attempt=1,
            status=Status.LAUNCHING,
            now=at(runnable_minute),
            set_values={"runnable_since": at(runnable_minute).isoformat()},
        )


def thresholds(genomics: Genomics) -> tuple[int, int]:
    env = genomics.use_function("detect_stuck_launches")
    return int(env["RUNNABLE_ALERT_MINUTES"]), int(env["HARD_TIMEOUT_MINUTES"])


# --- RUNNABLE too long ---------------------------------------------------------------------------------


def test_a_job_runnable_too_long_is_alerted_once_even_when_checked_twice(genomics_core: Genomics) -> None:
    # Given a Batch launch RUNNABLE since minute 1, and the template's alert threshold
    registry = genomics_core.registry()
    launching(registry)
    alert_after, _ = thresholds(genomics_core)

    # When the check runs past the threshold, and again once the alerted launch is due for a check again
    first = detector(genomics_core).check(at(1 + alert_after + 4))
    second = detector(genomics_core).check(at(1 + alert_after + 4 + alert_after + 1))

    # Then one alert is recorded and one notice published, with the likely causes
    assert first == Report(checked=1, alerted=[LAUNCH_ID], timed_out=[])
    assert second == Report(checked=1, alerted=[], timed_out=[])
    launch = genomics_core.launch(LAUNCH_ID)
    assert (launch.status, launch.alerts) == (Status.LAUNCHING, frozenset({RUNNABLE_STUCK}))
    [notice] = genomics_core.notices()
    assert notice["subject"] == f"Blueprints genomics launch stuck: {LAUNCH_ID}"
    assert notice["message"] == {
        "launch_id": LAUNCH_ID,
        "alert": RUNNABLE_STUCK,
        "runnable_since": at(1).isoformat(),
        "minutes": alert_after + 4,
        "batch_job_ids": ["job-1"],
        "likely_causes": list(CAUSES),
    }


def test_a_job_not_yet_over_the_threshold_raises_nothing(genomics_core: Genomics) -> None:
    launching(genomics_core.registry(), runnable_minute=10)
    alert_after, _ = thresholds(genomics_core)

    report = detector(genomics_core).check(at(10 + alert_after - 1))

    assert report.alerted == report.timed_out == []
    assert genomics_core.launch(LAUNCH_ID).alerts == frozenset()
    assert genomics_core.notices() == []


def test_a_launch_listed_for_its_age_but_runnable_only_recently_is_not_alerted(
    genomics_core: Genomics,
) -> None:
    # Given a launch last written at minute 1 that reports RUNNABLE since minute 30 (a late, delayed event)
    registry = genomics_core.registry()
    launching(registry, runnable_minute=None)
    registry.update(
        LAUNCH_ID,
        attempt=1,
        status=Status.LAUNCHING,
        now=at(1),
        set_values={"runnable_since": at(30).isoformat()},
    )

    # When the 35-minute check lists it (it is old enough) but it has been RUNNABLE for 5 minutes only
    report = detector(genomics_core).check(at(35))

    # Then nothing is raised
    assert report == Report(checked=1, alerted=[], timed_out=[])
    assert genomics_core.notices() == []


def test_a_launch_that_was_never_runnable_is_not_alerted_as_runnable(genomics_core: Genomics) -> None:
    launching(genomics_core.registry(), runnable_minute=None)

    report = detector(genomics_core).check(at(60))

    # Then no RUNNABLE_STUCK alert; it is only announced as slow to start
    assert report == Report(checked=1, alerted=[], timed_out=[], slow=[LAUNCH_ID])
    assert genomics_core.launch(LAUNCH_ID).alerts == frozenset({LAUNCHING_TOO_LONG})


def test_a_launch_launching_too_long_is_announced_once(genomics_core: Genomics) -> None:
    # Given an ECS launch started at minute 0 that never reported a state change, and the thresholds
    registry = genomics_core.registry()
    launching(registry, runnable_minute=None)
    env = genomics_core.use_function("detect_stuck_launches")
    alert_after, timeout = int(env["LAUNCHING_ALERT_MINUTES"]), int(env["HARD_TIMEOUT_MINUTES"])

    # When the check runs before the threshold, past it, and again later
    reports = [detector(genomics_core).check(at(minute)) for minute in (alert_after - 1, alert_after + 1, 90)]

    # Then one notice went out (with the likely causes), and the launch is still LAUNCHING
    assert [report.slow for report in reports] == [[], [LAUNCH_ID], []]
    [notice] = genomics_core.notices()
    assert notice["subject"] == f"Blueprints genomics launch slow to start: {LAUNCH_ID}"
    assert notice["message"] == {
        "launch_id": LAUNCH_ID,
        "alert": LAUNCHING_TOO_LONG,
        "attempt": 1,
        "compute_service": "fargate",
        "launch_started_at": at(0).isoformat(),
        "minutes": alert_after + 1,
        "hard_timeout_minutes": timeout,
        "likely_causes": list(SLOW_CAUSES),
    }
    assert genomics_core.launch(LAUNCH_ID).status is Status.LAUNCHING


def test_two_checks_racing_alert_once(genomics_core: Genomics, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given two checks that read the launch before either alerted
    launching(genomics_core.registry())
    first = detector(genomics_core)
    snapshot = first.registry.by_status(Status.LAUNCHING)
    first.check(at(40))
    racing = detector(genomics_core)
    monkeypatch.setattr(racing.registry, "by_status", lambda *args, **kwargs: snapshot)

    # When the second one, with its stale read, checks
    report = racing.check(at(40))

    # Then its conditional write fails and it announces nothing
    assert report.alerted == []
    assert len(genomics_core.notices()) == 1


def test_every_page_of_launching_launches_is_checked(
    genomics_core: Genomics, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = genomics_core.registry()
    for index in range(5):
        launching(registry, f"launch-{index}")
    paged = detector(genomics_core)
    pages: list[Page] = []

    def two_at_a_time(status: Status, *args: Any, **kwargs: Any) -> Page:
        page = LaunchRegistry.by_status(paged.registry, status, *args, **{**kwargs, "limit": 2})
        if status is Status.LAUNCHING:  # (the parked statuses are read too, for re-drives)
            pages.append(page)
        return page

    monkeypatch.setattr(paged.registry, "by_status", two_at_a_time)

    report = paged.check(at(40))

    assert len(pages) == 3
    assert (report.checked, sorted(report.alerted)) == (5, [f"launch-{index}" for index in range(5)])


# --- the hard timeout ----------------------------------------------------------------------------------


def started(genomics: Genomics, compute: str = "fargate") -> dict[str, Any]:
    """A launch started for real (a moto task or job), as the launcher leaves it."""
    env = genomics.use_function("launch_workflow")
    values = registered(document(compute_service=compute) if compute != "fargate" else None)
    assert wiring.launcher(LaunchSettings.from_env(env)).handle(insert(genomics, values)) is Outcome.STARTED
    return genomics.item(LAUNCH_ID)


def test_a_launch_past_the_hard_timeout_fails_and_its_task_is_stopped(genomics: Genomics) -> None:
    # Given a task launched now, and a check past the hard timeout
    item = started(genomics)
    stop_task = record_calls(aws.client("ecs"), "StopTask")
    _, timeout = thresholds(genomics)
    later = datetime.fromisoformat(item["launch_started_at"]) + timedelta(minutes=timeout + 1)

    # When the check runs
    report = detector(genomics).check(later)

    # Then the launch is FAILED with LaunchTimeout and its task stopped
    assert report.timed_out == [LAUNCH_ID]
    failed = genomics.item(LAUNCH_ID)
    assert (failed["status"], failed["error_code"]) == ("FAILED", "LaunchTimeout")
    assert failed["error_message"] == f"still launching after {timeout} minutes; the task or job was stopped"
    assert failed["updated_at"] == later.isoformat()
    assert stop_task == [
        {
            "cluster": genomics.cluster_arn,
            "task": item["task_arn"],
            "reason": f"Blueprints: launch timeout after {timeout} minutes",
        }
    ]
    assert genomics.tasks()[0]["desiredStatus"] == "STOPPED"


def test_a_batch_launch_past_the_hard_timeout_has_its_job_terminated(genomics: Genomics) -> None:
    item = started(genomics, "batch")
    terminate = record_calls(aws.client("batch"), "TerminateJob")
    _, timeout = thresholds(genomics)

    report = detector(genomics).check(
        datetime.fromisoformat(item["launch_started_at"]) + timedelta(minutes=timeout + 1)
    )

    assert report.timed_out == [LAUNCH_ID]
    assert terminate == [
        {"jobId": item["batch_job_ids"][0], "reason": f"Blueprints: launch timeout after {timeout} minutes"}
    ]


def test_without_a_start_time_the_last_update_counts(genomics_core: Genomics) -> None:
    registry = genomics_core.registry()
    registry.create(registered())
    registry.transition(LAUNCH_ID, attempt=1, sources={Status.REGISTERED}, target=Status.LAUNCHING, now=at(0))
    _, timeout = thresholds(genomics_core)
    stopper = detector(genomics_core)
    stopped: list[str] = []
    stopper.stopper = type(
        "Recorder", (), {"stop": lambda self, launch, reason: stopped.append(launch.launch_id)}
    )()

    assert stopper.check(at(timeout - 1)).timed_out == []
    assert stopper.check(at(timeout + 1)).timed_out == [LAUNCH_ID]
    assert stopped == [LAUNCH_ID]


def test_a_launch_that_moved_on_is_not_timed_out(
    genomics_core: Genomics, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a check that read the launch LAUNCHING, though it is RUNNING by now
    registry = genomics_core.registry()
    launching(registry, runnable_minute=None)
    snapshot = registry.by_status(Status.LAUNCHING)
    registry.transition(LAUNCH_ID, attempt=1, sources={Status.LAUNCHING}, target=Status.RUNNING, now=at(5))
    late = detector(genomics_core)
    monkeypatch.setattr(late.registry, "by_status", functools.partial(lambda page, *a, **k: page, snapshot))
    stopped: list[str] = []
    late.stopper = type("Recorder", (), {"stop": lambda self, launch, reason: stopped.append(reason)})()

    # When it runs past the hard timeout
    report = late.check(at(thresholds(genomics_core)[1] + 5))

    # Then nothing is failed or stopped
    assert report.timed_out == []
    assert stopped == []
    assert genomics_core.item(LAUNCH_ID)["status"] == "RUNNING"


# --- launches parked after a transient start failure ---------------------------------------------------


def parked(
    registry: LaunchRegistry, status: Status, *, due_minute: float, launch_id: str = LAUNCH_ID
) -> None:
    """A launch parked in ``status`` at minute 0 after one failed start, next try due at ``due_minute``."""
    registry.create(registered(document(launch_id=launch_id)))
    registry.update(
        launch_id,
        attempt=1,
        status=Status.REGISTERED,
        now=at(0),
        set_values={"start_tries": 1, "next_try_at": at(due_minute).isoformat(), "last_start_error": "x"},
    )
    if status is not Status.REGISTERED:  # the status a claim would give back (the table's own moves)
        registry.transition(
            launch_id, attempt=1, sources={Status.REGISTERED}, target=Status.LAUNCHING, now=at(0)
        )
        registry.transition(launch_id, attempt=1, sources={Status.LAUNCHING}, target=status, now=at(0))


@pytest.mark.parametrize("status", [Status.REGISTERED, Status.READY, Status.RETRY_REQUESTED])
def test_a_parked_launch_is_re_driven_once_its_next_try_is_due(
    genomics_core: Genomics, status: Status
) -> None:
    # Given a launch parked in `status`, its next try due at minute 3, and another due at minute 30
    registry = genomics_core.registry()
    parked(registry, status, due_minute=3)
    parked(registry, status, due_minute=30, launch_id="wf-later")

    # When the check runs before, at and after minute 3
    reports = [detector(genomics_core).check(at(minute)) for minute in (2, 5, 10)]

    # Then only the due launch is re-driven, once: its next_try_at is removed and its status kept
    assert [report.redriven for report in reports] == [[], [LAUNCH_ID], []]
    item = genomics_core.item(LAUNCH_ID)
    assert (item["status"], item["start_tries"], item["updated_at"]) == (status.value, 1, at(5).isoformat())
    assert "next_try_at" not in item
    assert genomics_core.item("wf-later")["next_try_at"] == at(30).isoformat()


def test_a_launch_parked_again_meanwhile_keeps_its_new_time(
    genomics_core: Genomics, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a check that read the launch parked until minute 3, though it was parked again until minute 20
    registry = genomics_core.registry()
    parked(registry, Status.REGISTERED, due_minute=3)
    snapshot = registry.by_status(Status.REGISTERED)
    registry.update(
        LAUNCH_ID,
        attempt=1,
        status=Status.REGISTERED,
        now=at(4),
        set_values={"next_try_at": at(20).isoformat()},
    )
    late = detector(genomics_core)
    monkeypatch.setattr(late.registry, "by_status", functools.partial(lambda page, *a, **k: page, snapshot))

    # When it runs at minute 5
    report = late.check(at(5))

    # Then the launch is not re-driven early
    assert report.redriven == []
    assert genomics_core.item(LAUNCH_ID)["next_try_at"] == at(20).isoformat()


def test_an_unreadable_next_try_time_is_due() -> None:
    assert _due("not a time", at(0)) is True
    assert _due(at(1).isoformat(), at(0)) is False


@pytest.mark.parametrize(
    ("compute", "what"),
    [("parallelcluster", "head-node SSM command"), ("stepfunctions", "Step Functions execution")],
)
def test_a_remote_run_past_the_hard_timeout_fails_without_a_misleading_stop(
    genomics_core: Genomics, compute: str, what: str
) -> None:
    # Given a launch on compute the stopper cannot stop, LAUNCHING since minute 0 with no status event
    registry = genomics_core.registry()
    workflow = {"workflow_type": "regenie", "parameters": {}} if compute == "stepfunctions" else {}
    registry.create(registered(document(compute_service=compute, **workflow)))
    registry.transition(
        LAUNCH_ID,
        attempt=1,
        sources={Status.REGISTERED},
        target=Status.LAUNCHING,
        now=at(0),
        set_values={"launch_started_at": at(0).isoformat()},
    )
    checker = detector(genomics_core)
    stopped: list[str] = []
    checker.stopper = type("Recorder", (), {"stop": lambda self, launch, reason: stopped.append(reason)})()
    _, timeout = thresholds(genomics_core)

    # When the check runs past the hard timeout
    report = checker.check(at(timeout + 1))

    # Then it fails with a message that says what happened, and nothing claims a stop
    assert report.timed_out == [LAUNCH_ID]
    item = genomics_core.item(LAUNCH_ID)
    assert item["error_message"] == (
        f"still launching after {timeout} minutes; no status change arrived from its {what}, "
        "which was left as it is"
    )
    assert stopped == []


def test_every_page_of_parked_launches_is_re_driven(
    genomics_core: Genomics, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given five launches parked in READY, all due, read two at a time
    registry = genomics_core.registry()
    for index in range(5):
        parked(registry, Status.READY, due_minute=1, launch_id=f"parked-{index}")
    paged = detector(genomics_core)

    def two_at_a_time(status: Status, *args: Any, **kwargs: Any) -> Page:
        return LaunchRegistry.by_status(paged.registry, status, *args, **{**kwargs, "limit": 2})

    monkeypatch.setattr(paged.registry, "by_status", two_at_a_time)

    # When the check runs
    report = paged.check(at(5))

    # Then every one was re-driven
    assert sorted(report.redriven) == [f"parked-{index}" for index in range(5)]
