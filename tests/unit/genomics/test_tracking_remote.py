"""Status tracking of the runs ECS and Batch do not report: SSM commands on the ParallelCluster head node
(found by the launch's ``compute_ref``) and Step Functions executions (named ``<launch_id>-a<attempt>``),
from the documented event shapes (samples under events/genomics/track_remote_run/)."""

from __future__ import annotations

from typing import Any

import pytest

from blueprints.genomics.events import SfnExecutionDetail, SsmCommandDetail
from blueprints.genomics.status import Status
from blueprints.genomics.tracking import StateChange, compute_ref, sfn_change, ssm_change
from tests.support.bodies import changed
from tests.support.events import load_event
from tests.unit.genomics.builders import LAUNCH_ID, document, registered
from tests.unit.genomics.conftest import Genomics
from tests.unit.genomics.test_launcher import insert, launcher

HEAD_NODE = "i-0123456789abcdef0"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:regenie-pipeline:wf-2024-0042-a1"


def sample(case: str, **changes: Any) -> dict[str, Any]:
    return changed(
        load_event("genomics", "track_remote_run", case),
        {name.replace("__", "."): value for name, value in changes.items()},
    )


def ssm(status: str) -> SsmCommandDetail:
    return SsmCommandDetail.model_validate({**sample("command_succeeded")["detail"], "status": status})


def sfn(case: str, **changes: Any) -> SfnExecutionDetail:
    return SfnExecutionDetail.model_validate({**sample(case)["detail"], **changes})


# --- mapping (pure) ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "target", "code"),
    [
        ("Pending", None, None),
        ("Delayed", None, None),
        ("InProgress", Status.RUNNING, None),
        ("Success", Status.COMPLETE, None),
        ("Failed", Status.FAILED, "CommandFailed"),
        ("TimedOut", Status.FAILED, "CommandTimedOut"),
        ("Cancelled", Status.FAILED, "CommandCancelled"),
        ("Cancelling", None, None),
    ],
)
def test_an_ssm_command_status_maps_to_a_launch_status(status: str, target: Status | None, code: str) -> None:
    change = ssm_change(ssm(status), "2026-11-30T10:02:11+00:00", (LAUNCH_ID, 2))

    assert change is not None
    assert (change.launch_id, change.attempt, change.target, change.facts.get("error_code")) == (
        LAUNCH_ID,
        2,
        target,
        code,
    )
    if target is Status.FAILED:
        assert change.facts["error_message"] == (
            f"SSM command 0b1e4a6c-5d2f-4e3a-9c8b-7f6e5d4c3b2a on {HEAD_NODE} ended {status}"
        )


def test_a_command_of_no_launch_is_foreign() -> None:
    assert ssm_change(ssm("Success"), "2026-11-30T10:02:11+00:00", None) is None


def test_a_failed_execution_fails_the_launch_with_its_error_and_cause() -> None:
    change = sfn_change(sfn("execution_failed"), "2026-11-30T11:40:27+00:00")

    assert change is not None
    assert (change.launch_id, change.attempt, change.target) == (LAUNCH_ID, 1, Status.FAILED)
    assert change.facts["error_code"] == "States.TaskFailed"
    assert change.facts["error_message"] == (
        "execution FAILED: States.TaskFailed; regenie step 2 exited with code 1"
    )
    assert change.facts["compute_resources"] == {
        "kind": "stepfunctions",
        "execution_arn": EXECUTION,
        "started_at": "2026-11-30T09:15:09.451000+00:00",
        "stopped_at": "2026-11-30T11:40:27+00:00",
    }


@pytest.mark.parametrize(
    ("status", "target", "code"),
    [
        ("RUNNING", Status.RUNNING, None),
        ("SUCCEEDED", Status.COMPLETE, None),
        ("TIMED_OUT", Status.FAILED, "ExecutionTimedOut"),
        ("ABORTED", Status.FAILED, "ExecutionAborted"),
        ("PENDING_REDRIVE", None, None),
    ],
)
def test_an_execution_status_maps_to_a_launch_status(status: str, target: Status | None, code: str) -> None:
    change = sfn_change(sfn("execution_succeeded", status=status), "2026-11-30T11:40:27+00:00")

    assert change is not None
    assert (change.target, change.facts.get("error_code")) == (target, code)


def test_an_execution_not_named_after_a_launch_attempt_is_foreign() -> None:
    detail = sfn(
        "execution_succeeded", name="nightly-report", executionArn="arn:x:execution:sm:nightly-report"
    )

    assert sfn_change(detail, "2026-11-30T11:40:27+00:00") is None


def test_the_execution_name_falls_back_to_the_arn() -> None:
    change = sfn_change(sfn("execution_succeeded", name=""), "2026-11-30T11:40:27+00:00")

    assert change is not None
    assert change == StateChange(LAUNCH_ID, 1, "2026-11-30T11:40:27+00:00", Status.COMPLETE, change.facts)


def test_compute_refs_name_commands_and_executions() -> None:
    assert compute_ref({"ssm_command_id": "c-1"}) == "ssm:c-1"
    assert compute_ref({"sfn_execution_arn": EXECUTION}) == f"sfn:{EXECUTION}"
    assert compute_ref({"task_arn": "arn:task"}) is None


# --- the handler on the genomics stack (moto) ------------------------------------------------------------


def started_on_head_node(genomics: Genomics) -> dict[str, Any]:
    values = registered(document(compute_service="parallelcluster"))
    launcher(genomics, PARALLELCLUSTER_HEAD_NODE_ID=HEAD_NODE).handle(insert(genomics, values))
    item = genomics.item(LAUNCH_ID)
    assert item["compute_ref"] == f"ssm:{item['ssm_command_id']}"
    return item


def test_a_head_node_command_walks_the_launch_to_complete(genomics: Genomics) -> None:
    # Given a ParallelCluster launch whose command was sent to the head node
    item = started_on_head_node(genomics)
    command = item["ssm_command_id"]

    # When the command's invocation reports InProgress, then Success
    outcomes = [
        genomics.invoke(
            "track_remote_run",
            sample("command_succeeded", detail__status=status, **{"detail__command-id": command}, time=time),
        )
        for status, time in (("InProgress", "2026-11-30T09:15:12Z"), ("Success", "2026-11-30T10:02:11Z"))
    ]

    # Then the launch went RUNNING, then COMPLETE
    assert outcomes == [{"outcome": "applied"}, {"outcome": "applied"}]
    done = genomics.item(LAUNCH_ID)
    assert [entry["status"] for entry in done["status_history"]] == [
        "REGISTERED",
        "LAUNCHING",
        "RUNNING",
        "COMPLETE",
    ]
    assert done["compute_resources"] == {"kind": "ssm", "command_id": command, "instance_id": HEAD_NODE}


def test_a_timed_out_command_fails_the_launch(genomics: Genomics) -> None:
    command = started_on_head_node(genomics)["ssm_command_id"]

    result = genomics.invoke(
        "track_remote_run", sample("command_timed_out", **{"detail__command-id": command})
    )

    assert result == {"outcome": "applied"}
    item = genomics.item(LAUNCH_ID)
    assert (item["status"], item["error_code"]) == ("FAILED", "CommandTimedOut")


def test_a_command_no_launch_recorded_is_foreign(genomics: Genomics) -> None:
    assert genomics.invoke("track_remote_run", sample("command_succeeded")) == {"outcome": "foreign"}


def test_a_pipeline_execution_completes_its_launch(genomics: Genomics) -> None:
    # Given a regenie launch started as the execution <launch_id>-a1
    values = registered(document(workflow_type="regenie", parameters={"phenotypes": ["bmi"]}))
    launcher(genomics).handle(insert(genomics, values))
    arn = genomics.item(LAUNCH_ID)["sfn_execution_arn"]

    # When its status changes arrive (the sample succeeded event, for this execution)
    result = genomics.invoke(
        "track_remote_run", sample("execution_succeeded", detail__executionArn=arn, resources=[arn])
    )

    # Then the launch is COMPLETE
    assert result == {"outcome": "applied"}
    item = genomics.item(LAUNCH_ID)
    assert (item["status"], item["compute_ref"]) == ("COMPLETE", f"sfn:{arn}")


def test_the_failed_execution_sample_fails_its_launch(genomics: Genomics) -> None:
    values = registered(document(workflow_type="regenie", parameters={"phenotypes": ["bmi"]}))
    launcher(genomics).handle(insert(genomics, values))

    result = genomics.invoke("track_remote_run", sample("execution_failed"))

    assert result == {"outcome": "applied"}
    assert genomics.item(LAUNCH_ID)["error_code"] == "States.TaskFailed"
