"""Status tracking: ECS task and Batch job state changes mapped to launch changes (spec §7, from the
sample events), and applied to the launch table (moto) with the status, attempt and event-time guards."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from blueprints.genomics.events import BatchJobStateChangeEvent, EcsTaskStateChangeEvent
from blueprints.genomics.registry import LaunchRegistry
from blueprints.genomics.status import Status
from blueprints.genomics.tracking import Applied, StateChange, Tracker, batch_change, ecs_change
from tests.support.botocore_hooks import record_calls
from tests.unit.genomics.builders import DELETE, LAUNCH_ID, NOW, at, batch_event, ecs_event, registered

TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task/genomics-dev/0f1e2d3c4b5a69788796a5b4c3d2e1f0"
JOB_ID = "4c2a1f0e-9d8b-4c7a-8e6f-5d4c3b2a1f0e"
JOB_STREAM = f"genomics-dev-container/default/{JOB_ID}"
OOM_REASON = "OutOfMemoryError: Container killed due to memory usage"


def ecs(event: dict[str, Any]) -> StateChange | None:
    parsed = EcsTaskStateChangeEvent.model_validate(event)
    return ecs_change(parsed.detail, parsed.time.isoformat())


def batch(event: dict[str, Any]) -> StateChange | None:
    parsed = BatchJobStateChangeEvent.model_validate(event)
    return batch_change(parsed.detail, parsed.time.isoformat(), "/aws/batch/job")


# --- ECS mapping -----------------------------------------------------------------------------------


def test_a_running_task_moves_the_launch_to_running_with_its_resources() -> None:
    change = ecs(ecs_event("task_running"))

    assert change == StateChange(
        LAUNCH_ID,
        1,
        "2026-11-30T09:16:02.000Z",  # the task's updatedAt orders events of the same task
        Status.RUNNING,
        {
            "task_arn": TASK_ARN,
            "compute_resources": {
                "kind": "ecs",
                "task_arn": TASK_ARN,
                "cpu": "1024",
                "memory": "4096",
                "launch_type": "FARGATE",
                "capacity_provider": "FARGATE",
                "availability_zone": "us-east-1a",
                "cpu_architecture": "x86_64",
                "ephemeral_storage_gib": 20,
                "started_at": "2026-11-30T09:16:02.000Z",
            },
        },
    )


@pytest.mark.parametrize("state", ["PROVISIONING", "PENDING", "ACTIVATING"])
def test_steps_before_running_change_nothing(state: str) -> None:
    change = ecs(ecs_event("task_running", detail__lastStatus=state))

    assert change == StateChange(LAUNCH_ID, 1, "2026-11-30T09:16:02.000Z", None)


@pytest.mark.parametrize("state", ["DEACTIVATING", "STOPPING", "DEPROVISIONING"])
def test_steps_towards_stopped_change_nothing(state: str) -> None:
    # Given a task on its way to STOPPED (a task that failed to start passes these steps too)
    change = ecs(ecs_event("task_running", detail__lastStatus=state))

    # Then it records no status: only lastStatus RUNNING means the run started (benchmarking phases)
    assert change == StateChange(LAUNCH_ID, 1, "2026-11-30T09:16:02.000Z", None)


def test_a_task_whose_essential_container_exited_zero_is_complete() -> None:
    change = ecs(ecs_event("task_succeeded"))

    assert change is not None
    assert (change.target, change.facts["exit_code"]) == (Status.COMPLETE, 0)
    assert change.facts["compute_resources"]["stopped_at"] == "2026-11-30T09:21:40.000Z"


def test_an_out_of_memory_task_fails_with_the_oom_code_and_reason() -> None:
    change = ecs(ecs_event("task_out_of_memory"))

    assert change is not None
    assert change.target is Status.FAILED
    assert change.facts["error_code"] == "OutOfMemoryError"
    assert (
        change.facts["error_message"] == f"{OOM_REASON}; Essential container in task exited (exit code 137)"
    )
    assert change.facts["exit_code"] == 137


def test_a_task_that_failed_to_start_fails_with_the_stop_code() -> None:
    change = ecs(ecs_event("task_failed_to_start"))

    assert change is not None
    assert (change.target, change.facts["error_code"]) == (Status.FAILED, "TaskFailedToStart")
    assert change.facts["error_message"] == (
        "CannotPullContainerError: pull image manifest has been retried 5 time(s)"
    )
    assert "exit_code" not in change.facts


STOPPED_CASES = [
    (
        {"detail.containers.0.exitCode": 1},
        "EssentialContainerExited",
        "Essential container in task exited (exit code 1)",
        1,
    ),
    (
        {"detail.stopCode": "UserInitiated", "detail.stoppedReason": "Task stopped by user"},
        "UserInitiated",
        "Task stopped by user",
        None,
    ),
    (
        {"detail.stopCode": "SpotInterruption", "detail.stoppedReason": "Your Spot Task was interrupted."},
        "SpotInterruption",
        "Your Spot Task was interrupted.",
        None,
    ),
    (
        {"detail.containers.0.exitCode": DELETE},
        "EssentialContainerExited",
        "Essential container in task exited",
        None,
    ),
    (
        {"detail.stoppedReason": f"{OOM_REASON} on the host", "detail.containers.0.exitCode": 137},
        "OutOfMemoryError",
        f"{OOM_REASON} on the host (exit code 137)",
        137,
    ),
    (
        {"detail.stopCode": DELETE, "detail.stoppedReason": DELETE, "detail.containers.0.exitCode": 2},
        "TaskStopped",
        "TaskStopped (exit code 2)",
        2,
    ),
]


@pytest.mark.parametrize(("changes", "code", "message", "exit_code"), STOPPED_CASES)
def test_other_stopped_tasks_fail_with_the_stop_code(
    changes: dict[str, Any], code: str, message: str, exit_code: int | None
) -> None:
    change = ecs(
        ecs_event("task_succeeded", **{path.replace(".", "__"): value for path, value in changes.items()})
    )

    assert change is not None
    assert change.target is Status.FAILED
    assert (change.facts["error_code"], change.facts["error_message"]) == (code, message)
    assert change.facts.get("exit_code") == exit_code


@pytest.mark.parametrize(
    "started_by", ["ecs-svc/1234567890", "", "wf-2024-0042", "wf-2024-0042/b1", "a b/a1"]
)
def test_tasks_not_started_by_a_launch_are_foreign(started_by: str) -> None:
    assert ecs(ecs_event("task_running", detail__startedBy=started_by)) is None


def test_the_foreign_sample_task_is_foreign() -> None:
    assert ecs(ecs_event("foreign_task")) is None


def test_without_updated_at_the_event_time_orders_the_change() -> None:
    change = ecs(ecs_event("task_running", detail__updatedAt=DELETE, detail__attributes=[]))

    assert change is not None
    assert change.event_time == "2026-11-30T09:16:02+00:00"
    assert "cpu_architecture" not in change.facts["compute_resources"]


def test_the_attempt_comes_from_started_by() -> None:
    change = ecs(ecs_event("task_running", detail__startedBy="wf-2024-0042/a12"))

    assert change is not None
    assert (change.launch_id, change.attempt) == (LAUNCH_ID, 12)


# --- Batch mapping ---------------------------------------------------------------------------------


def test_a_runnable_job_records_since_when_once() -> None:
    change = batch(batch_event("job_runnable"))

    since = "2026-11-30T09:15:09+00:00"
    assert change == StateChange(LAUNCH_ID, 1, since, None, {"runnable_since": since}, ("runnable_since",))


@pytest.mark.parametrize("state", ["SUBMITTED", "PENDING", "STARTING"])
def test_other_steps_before_running_change_nothing(state: str) -> None:
    change = batch(batch_event("job_runnable", detail__status=state))

    assert change == StateChange(LAUNCH_ID, 1, "2026-11-30T09:15:09+00:00", None)


def test_a_running_job_moves_the_launch_to_running_with_its_resources_and_logs() -> None:
    change = batch(batch_event("job_running"))

    assert change == StateChange(
        LAUNCH_ID,
        1,
        "2026-11-30T09:18:20+00:00",
        Status.RUNNING,
        {
            "compute_resources": {
                "kind": "batch",
                "job_id": JOB_ID,
                "job_queue": "arn:aws:batch:us-east-1:123456789012:job-queue/genomics-dev",
                "container_instance_arn": (
                    "arn:aws:ecs:us-east-1:123456789012:container-instance/genomics-batch/8d1b2c3a4e5f"
                ),
                "task_arn": "arn:aws:ecs:us-east-1:123456789012:task/genomics-batch/9e8d7c6b5a4f",
                "attempts": 0,
                "started_at": datetime.fromtimestamp(1796029500, UTC).isoformat(),
            },
            "log_group": "/aws/batch/job",
            "log_stream": JOB_STREAM,
        },
    )


def test_a_succeeded_job_is_complete() -> None:
    change = batch(batch_event("job_succeeded"))

    assert change is not None
    assert (change.target, change.facts["exit_code"]) == (Status.COMPLETE, 0)
    resources = change.facts["compute_resources"]
    assert (resources["attempts"], resources["stopped_at"]) == (
        1,
        datetime.fromtimestamp(1796032931, UTC).isoformat(),
    )


def test_an_out_of_memory_job_fails_with_the_oom_code_and_exit_code() -> None:
    change = batch(batch_event("job_out_of_memory"))

    assert change is not None
    assert change.target is Status.FAILED
    assert change.facts["error_code"] == "OutOfMemoryError"
    assert (
        change.facts["error_message"] == f"Essential container in task exited; {OOM_REASON} (exit code 137)"
    )
    assert (change.facts["exit_code"], change.facts["log_stream"]) == (137, JOB_STREAM)


def test_another_failed_job_fails_with_the_batch_code() -> None:
    change = batch(
        batch_event(
            "job_out_of_memory",
            detail__attempts=[],
            detail__container={"exitCode": 3},
            detail__statusReason="Task failed to start",
        )
    )

    assert change is not None
    assert change.facts["error_code"] == "BatchJobFailed"
    assert change.facts["error_message"] == "Task failed to start (exit code 3)"
    assert "log_stream" not in change.facts


def test_a_failed_job_without_any_reason_says_failed() -> None:
    change = batch(
        batch_event("job_out_of_memory", detail__attempts=[], detail__container={}, detail__statusReason="")
    )

    assert change is not None
    assert (change.facts["error_code"], change.facts["error_message"]) == ("BatchJobFailed", "FAILED")


@pytest.mark.parametrize("name", ["align-sample-1", "wf-2024-0042", "wf-2024-0042-b1", "wf-2024-0042-a"])
def test_jobs_not_named_after_a_launch_attempt_are_foreign(name: str) -> None:
    assert batch(batch_event("job_running", detail__jobName=name)) is None


# --- applying changes to the table -------------------------------------------------------------------------


@pytest.fixture
def tracker(registry: LaunchRegistry) -> Tracker:
    """A launch LAUNCHING at attempt 1 (as the launcher leaves it) and the tracker."""
    registry.create(registered())
    registry.transition(LAUNCH_ID, attempt=1, sources={Status.REGISTERED}, target=Status.LAUNCHING, now=at(1))
    return Tracker(registry, lambda: at(60))


def stored(tracker: Tracker) -> dict[str, Any]:
    found = tracker.registry.get_plain(LAUNCH_ID)
    assert found is not None
    return found


def test_the_status_walks_launching_running_complete(tracker: Tracker) -> None:
    # When the task's states arrive in order
    outcomes = [tracker.apply(ecs(ecs_event(case))) for case in ("task_running", "task_succeeded")]

    # Then both apply, and the history and times are the events'
    assert outcomes == [Applied.APPLIED, Applied.APPLIED]
    item = stored(tracker)
    assert (item["status"], item["exit_code"], item["task_arn"]) == ("COMPLETE", 0, TASK_ARN)
    assert [entry["status"] for entry in item["status_history"]] == [
        "REGISTERED",
        "LAUNCHING",
        "RUNNING",
        "COMPLETE",
    ]
    assert item["status_history"][-1]["at"] == "2026-11-30T09:21:40.000Z"
    assert item["last_event_time"] == "2026-11-30T09:21:40.000Z"
    assert item["updated_at"] == "2026-11-30T09:21:40+00:00"


def test_a_late_running_after_stopped_leaves_it_complete(tracker: Tracker) -> None:
    # Given the STOPPED event delivered first
    assert tracker.apply(ecs(ecs_event("task_succeeded"))) is Applied.APPLIED

    # When RUNNING arrives after it
    late = tracker.apply(ecs(ecs_event("task_running")))

    # Then it is ignored and the launch stays COMPLETE
    assert late is Applied.IGNORED
    assert stored(tracker)["status"] == "COMPLETE"


def test_a_task_that_failed_to_start_never_shows_running_in_the_history(tracker: Tracker) -> None:
    # When a task that could not start passes DEACTIVATING and STOPPING on its way to STOPPED
    steps = [
        tracker.apply(ecs(ecs_event("task_running", detail__lastStatus=state)))
        for state in ("DEACTIVATING", "STOPPING")
    ]
    stopped = tracker.apply(ecs(ecs_event("task_failed_to_start")))

    # Then only STOPPED is written: the history goes LAUNCHING -> FAILED (no RUNNING phase)
    assert (steps, stopped) == ([Applied.IGNORED, Applied.IGNORED], Applied.APPLIED)
    item = stored(tracker)
    assert [entry["status"] for entry in item["status_history"]] == ["REGISTERED", "LAUNCHING", "FAILED"]


def test_duplicate_events_are_applied_once(tracker: Tracker) -> None:
    first = [tracker.apply(ecs(ecs_event("task_running"))) for _ in range(2)]
    second = [tracker.apply(ecs(ecs_event("task_out_of_memory"))) for _ in range(2)]

    assert (first, second) == ([Applied.APPLIED, Applied.IGNORED], [Applied.APPLIED, Applied.IGNORED])
    item = stored(tracker)
    assert [entry["status"] for entry in item["status_history"]][-2:] == ["RUNNING", "FAILED"]
    assert (item["error_code"], item["exit_code"]) == ("OutOfMemoryError", 137)


def test_an_older_event_than_the_last_applied_is_ignored(tracker: Tracker) -> None:
    tracker.apply(ecs(ecs_event("task_running")))

    stale = tracker.apply(ecs(ecs_event("task_out_of_memory", detail__updatedAt="2026-11-30T09:16:01.000Z")))

    assert stale is Applied.IGNORED
    assert stored(tracker)["status"] == "RUNNING"


def test_an_event_of_an_earlier_attempt_is_ignored_once_the_next_started(tracker: Tracker) -> None:
    # Given attempt 1 failed and attempt 2 is launching
    registry = tracker.registry
    registry.transition(LAUNCH_ID, attempt=1, sources={Status.LAUNCHING}, target=Status.FAILED, now=at(2))
    registry.transition(
        LAUNCH_ID, attempt=1, sources={Status.FAILED}, target=Status.RETRY_REQUESTED, now=at(3)
    )
    registry.transition(
        LAUNCH_ID,
        attempt=1,
        sources={Status.RETRY_REQUESTED},
        target=Status.LAUNCHING,
        now=at(4),
        next_attempt=2,
    )

    # When attempt 1's task reports RUNNING and STOPPED late
    late = [tracker.apply(ecs(ecs_event(case))) for case in ("task_running", "task_succeeded")]

    # Then attempt 2 is untouched, and its own events apply
    assert late == [Applied.IGNORED, Applied.IGNORED]
    assert (stored(tracker)["status"], stored(tracker)["attempt"]) == ("LAUNCHING", 2)
    own = tracker.apply(ecs(ecs_event("task_running", detail__startedBy=f"{LAUNCH_ID}/a2")))
    assert own is Applied.APPLIED
    assert stored(tracker)["status"] == "RUNNING"


def test_a_foreign_event_is_reported_foreign(tracker: Tracker) -> None:
    assert tracker.apply(ecs(ecs_event("foreign_task"))) is Applied.FOREIGN


def test_a_step_that_records_nothing_writes_nothing(tracker: Tracker) -> None:
    updates = record_calls(tracker.registry.client, "UpdateItem")

    outcome = tracker.apply(ecs(ecs_event("task_running", detail__lastStatus="PENDING")))

    assert outcome is Applied.IGNORED
    assert updates == []


def test_runnable_since_is_set_once(tracker: Tracker) -> None:
    first = tracker.apply(batch(batch_event("job_runnable")))
    again = tracker.apply(batch(batch_event("job_runnable", time="2026-11-30T09:40:00Z")))

    assert (first, again) == (Applied.APPLIED, Applied.IGNORED)
    item = stored(tracker)
    assert (item["status"], item["runnable_since"]) == ("LAUNCHING", "2026-11-30T09:15:09+00:00")


def test_a_batch_job_walks_to_failed_with_its_logs(tracker: Tracker) -> None:
    outcomes = [
        tracker.apply(batch(batch_event(case)))
        for case in ("job_runnable", "job_running", "job_out_of_memory")
    ]

    assert outcomes == [Applied.APPLIED, Applied.APPLIED, Applied.APPLIED]
    item = stored(tracker)
    assert (item["status"], item["error_code"]) == ("FAILED", "OutOfMemoryError")
    assert (item["log_group"], item["log_stream"]) == ("/aws/batch/job", JOB_STREAM)


def test_an_event_time_that_is_not_a_time_is_stamped_with_the_clock(tracker: Tracker) -> None:
    change = StateChange(LAUNCH_ID, 1, "not-a-time", Status.RUNNING, {"task_arn": TASK_ARN})

    assert tracker.apply(change) is Applied.APPLIED
    assert stored(tracker)["updated_at"] == at(60).isoformat()
    assert at(60) > NOW


# --- property: any state-change detail maps or is refused, never anything else ------------------------------

TEXT = st.text(max_size=30)
ECS_STATES = st.sampled_from(
    [
        "PROVISIONING",
        "PENDING",
        "ACTIVATING",
        "RUNNING",
        "DEACTIVATING",
        "STOPPING",
        "DEPROVISIONING",
        "STOPPED",
    ]
)
BATCH_STATES = st.sampled_from(
    ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED"]
)
STARTED_BY = TEXT | st.builds(lambda n: f"{LAUNCH_ID}/a{n}", st.integers(0, 99999))
JOB_NAMES = TEXT | st.builds(lambda n: f"{LAUNCH_ID}-a{n}", st.integers(0, 99999))
EXIT_CODES = st.none() | st.integers(-(2**31), 2**31 - 1) | TEXT
CONTAINER = st.fixed_dictionaries({}, optional={"name": TEXT, "exitCode": EXIT_CODES, "reason": TEXT})
ECS_DETAILS = st.fixed_dictionaries(
    {"taskArn": TEXT, "clusterArn": TEXT, "lastStatus": ECS_STATES | TEXT},
    optional={
        "startedBy": STARTED_BY,
        "stopCode": TEXT,
        "stoppedReason": TEXT,
        "containers": st.lists(CONTAINER, max_size=3) | TEXT,
        "updatedAt": TEXT,
        "attributes": st.lists(st.fixed_dictionaries({"name": TEXT, "value": TEXT}), max_size=2),
        "ephemeralStorage": st.dictionaries(TEXT, st.integers(), max_size=2),
    },
)
BATCH_DETAILS = st.fixed_dictionaries(
    {"jobId": TEXT, "jobName": JOB_NAMES, "status": BATCH_STATES | TEXT},
    optional={
        "statusReason": TEXT,
        "attempts": st.lists(st.fixed_dictionaries({}, optional={"container": CONTAINER}), max_size=2),
        "container": CONTAINER,
        "startedAt": st.none() | st.integers(0, 4_000_000_000_000),
        "stoppedAt": st.none() | st.integers(0, 4_000_000_000_000) | TEXT,
    },
)
TARGETS = {None, Status.RUNNING, Status.COMPLETE, Status.FAILED}


def mapped_ecs(detail: dict[str, Any]) -> StateChange | ValidationError | None:
    try:
        return ecs(ecs_event("task_running", detail=detail))
    except ValidationError as exc:
        return exc


def mapped_batch(detail: dict[str, Any]) -> StateChange | ValidationError | None:
    try:
        return batch(batch_event("job_running", detail=detail))
    except ValidationError as exc:
        return exc


@settings(max_examples=150, deadline=None)
@given(ECS_DETAILS)
def test_any_ecs_detail_maps_to_a_change_or_is_refused(detail: dict[str, Any]) -> None:
    # Given any ECS task detail (valid or not)
    # When it is parsed and mapped
    result = mapped_ecs(detail)

    # Then it is rejected by the model, foreign, or a change of the launch it names to a tracked status
    if isinstance(result, StateChange):
        launch_id, attempt = detail["startedBy"].rsplit("/a", 1)
        assert (result.launch_id, result.attempt) == (launch_id, int(attempt))
        assert result.target in TARGETS
        assert len(result.facts.get("error_message", "")) <= 1024
    else:
        assert result is None or isinstance(result, ValidationError)


@settings(max_examples=150, deadline=None)
@given(BATCH_DETAILS)
def test_any_batch_detail_maps_to_a_change_or_is_refused(detail: dict[str, Any]) -> None:
    result = mapped_batch(detail)

    if isinstance(result, StateChange):
        launch_id, attempt = detail["jobName"].rsplit("-a", 1)
        assert (result.launch_id, result.attempt) == (launch_id, int(attempt))
        assert result.target in TARGETS
        assert len(result.facts.get("error_message", "")) <= 1024
    else:
        assert result is None or isinstance(result, ValidationError)


# --- instance facts of Batch jobs (for benchmarking) -----------------------------------------------------

CONTAINER_INSTANCE = "arn:aws:ecs:us-east-1:123456789012:container-instance/genomics-batch/8d1b2c3a4e5f"
FACTS = {
    "ec2_instance_id": "i-0abc",
    "instance_type": "m5.large",
    "purchase_option": "spot",
    "availability_zone": "us-east-1a",
    "volumes": [{"volume_id": "vol-1", "size_gib": 30, "volume_type": "gp3"}],
}


class Lookup:
    def __init__(self, facts: dict[str, Any] | Exception) -> None:
        self.facts = facts
        self.asked: list[str] = []

    def of_container_instance(self, container_instance_arn: str) -> dict[str, Any]:
        self.asked.append(container_instance_arn)
        if isinstance(self.facts, Exception):
            raise self.facts
        return dict(self.facts)


def test_a_running_batch_job_records_the_instance_that_runs_it_and_completion_keeps_it(
    registry: LaunchRegistry,
) -> None:
    # Given a launching Batch launch and a lookup of its container instance
    registry.create(registered())
    registry.transition(LAUNCH_ID, attempt=1, sources={Status.REGISTERED}, target=Status.LAUNCHING, now=at(1))
    lookup = Lookup(FACTS)
    tracker = Tracker(registry, lambda: at(60), lookup)

    # When the job runs, then succeeds
    tracker.apply(batch(batch_event("job_running")))
    tracker.apply(batch(batch_event("job_succeeded")))

    # Then the instance was looked up once, at RUNNING, and its facts survive the final write
    resources = registry.get_plain(LAUNCH_ID)["compute_resources"]  # type: ignore[index]
    assert lookup.asked == [CONTAINER_INSTANCE]
    assert {key: resources[key] for key in FACTS} == FACTS
    assert resources["stopped_at"] is not None


def test_a_failing_instance_lookup_still_applies_the_status(registry: LaunchRegistry) -> None:
    from botocore.exceptions import ClientError

    registry.create(registered())
    registry.transition(LAUNCH_ID, attempt=1, sources={Status.REGISTERED}, target=Status.LAUNCHING, now=at(1))
    error = ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DescribeContainerInstances"
    )
    tracker = Tracker(registry, lambda: at(60), Lookup(error))

    outcome = tracker.apply(batch(batch_event("job_running")))

    assert outcome is Applied.APPLIED
    item = registry.get_plain(LAUNCH_ID)
    assert item is not None
    assert (item["status"], "ec2_instance_id" in item["compute_resources"]) == ("RUNNING", False)


@pytest.mark.parametrize("stopped_at", [-1, 253_402_300_800_000, "100000000000000000000"])
def test_a_batch_time_no_datetime_can_hold_is_refused_at_the_edge(stopped_at: object) -> None:
    # Given a Batch event whose stoppedAt is negative or past the year 9999 (in epoch milliseconds)
    # When it is parsed, Then the model refuses it, instead of the mapping overflowing later
    with pytest.raises(ValidationError) as refused:
        batch(batch_event("job_running", detail__stoppedAt=stopped_at))
    assert [error["loc"] for error in refused.value.errors()] == [("detail", "stoppedAt")]


def test_the_last_millisecond_a_datetime_can_hold_is_accepted() -> None:
    change = batch(batch_event("job_succeeded", detail__stoppedAt=253_402_300_799_999))

    assert change is not None
    assert change.facts["compute_resources"]["stopped_at"] == "9999-12-31T23:59:59.999000+00:00"
