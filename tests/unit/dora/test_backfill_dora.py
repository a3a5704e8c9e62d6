"""backfill_dora: history from CodePipeline and OpsCenter becomes the facts live events would give."""

from __future__ import annotations

from datetime import timedelta

import pytest

from blueprints.dora.errors import InvalidEventError
from localcloud.fakes.codepipeline import StageRun
from tests.unit.dora.builders import sha
from tests.unit.dora.conftest import PROD_STAGES, DoraWorld, at


def history(dora: DoraWorld) -> None:
    dora.pipeline()
    dora.execution("E1", sha(1), at(2024, 3, 4, 10))
    failed = [StageRun(stage, end_time=at(2024, 3, 5, 10)) for stage in PROD_STAGES[:-1]]
    failed.append(StageRun("DeployPROD", state="FAILED", end_time=at(2024, 3, 5, 10)))
    dora.execution("E2", sha(2), at(2024, 3, 5, 10), status="Failed", stages=failed)  # never reached prod
    dora.execution("E3", sha(3), at(2024, 3, 6, 10), branch="feature/x")
    dora.execution("E4", sha(4), at(2024, 3, 7, 10))
    dora.execution(
        "E5",
        sha(1),
        at(2024, 3, 8, 10),
        trigger_type="ManualRollback",
        rollback_metadata={"rollbackTargetPipelineExecutionId": "E1"},
    )
    dora.execution("E0", sha(0), at(2024, 2, 1, 10))  # before the window
    skipped = [StageRun(stage, end_time=at(2024, 3, 9, 10)) for stage in PROD_STAGES[:-1]]
    dora.execution("E6", sha(6), at(2024, 3, 9, 10), stages=skipped)  # DeployPROD never ran


def test_history_becomes_the_deployments_live_ingestion_records(dora: DoraWorld) -> None:
    # Given a month of executions and an OpsItem
    history(dora)
    dora.ops_item(
        at(2024, 3, 7, 12), OperationalData={"/dora/deployment": {"Value": "E4", "Type": "SearchableString"}}
    )

    # When March is backfilled
    result = dora.invoke(
        "BackfillDoraFunction", {"pipelines": ["svc-a"], "since": "2024-03-01", "until": "2024-03-31"}
    )

    # Then the production deployments are stored at their DeployPROD success, the rollback as one
    deployments = dora.store().deployments("svc-a")
    assert [(d.execution_id, d.deploy_time, d.rollback) for d in deployments] == [
        ("E1", at(2024, 3, 4, 10), False),
        ("E4", at(2024, 3, 7, 10), False),
        ("E5", at(2024, 3, 8, 10), True),
    ]
    assert result == {"executions": 6, "recorded": 3, "duplicate": 0, "ignored": 3, "incidents": 1}
    assert [i.service for i in dora.store().incidents("svc-a")] == ["svc-a"]
    assert len(dora.queued_changes()) >= 3


VERIFIED_STAGES = (*PROD_STAGES, "Verify")


@pytest.mark.parametrize("status", ["Failed", "Stopped", "InProgress", "Succeeded"])
def test_a_production_success_is_a_deployment_whatever_the_later_stages(dora: DoraWorld, status: str) -> None:
    # Given svc-b whose DeployPROD succeeded at 10:00 and whose Verify stage then failed (or stopped, or is
    # still running, or succeeded at 10:20)
    dora.pipeline("svc-b", stages=VERIFIED_STAGES)
    stages = [StageRun(stage, end_time=at(2024, 3, 4, 9, 30)) for stage in PROD_STAGES[:-1]]
    stages.append(StageRun("DeployPROD", start_time=at(2024, 3, 4, 9, 40), end_time=at(2024, 3, 4, 10)))
    verify = {"Failed": "FAILED", "Stopped": "STOPPED", "InProgress": "STARTED", "Succeeded": "SUCCEEDED"}
    stages.append(StageRun("Verify", state=verify[status], end_time=at(2024, 3, 4, 10, 20)))
    dora.execution(
        "B1",
        sha(1),
        at(2024, 3, 4, 10, 20),
        pipeline="svc-b",
        status=status,
        stages=stages,
        start_time=at(2024, 3, 4, 9),
    )

    # When March is backfilled
    result = dora.invoke(
        "BackfillDoraFunction",
        {"pipelines": ["svc-b"], "since": "2024-03-01", "until": "2024-03-31", "incidents": False},
    )

    # Then it is one deployment at DeployPROD's success (as its stage event counts it live), not at 10:20
    assert [(d.execution_id, d.deploy_time) for d in dora.store().deployments("svc-b")] == [
        ("B1", at(2024, 3, 4, 10))
    ]
    assert (result["recorded"], result["ignored"]) == (1, 0)


def test_without_the_production_stage_only_a_succeeded_execution_deploys(dora: DoraWorld) -> None:
    # Given svc-c without DeployPROD: a failed execution, then a succeeded one on main
    stages = ("Source", "Build", "Deploy")
    dora.pipeline("svc-c", stages=stages)
    done = [StageRun(stage, end_time=at(2024, 3, 4, 10)) for stage in stages]
    dora.execution("C1", sha(1), at(2024, 3, 4, 10), pipeline="svc-c", status="Failed", stages=done)
    dora.execution("C2", sha(2), at(2024, 3, 5, 10), pipeline="svc-c", stages=done)

    # When March is backfilled
    result = dora.invoke(
        "BackfillDoraFunction",
        {"pipelines": ["svc-c"], "since": "2024-03-01", "until": "2024-03-31", "incidents": False},
    )

    # Then only the succeeded execution is a deployment, at the execution's last update
    assert [(d.execution_id, d.deploy_time) for d in dora.store().deployments("svc-c")] == [
        ("C2", at(2024, 3, 5, 10))
    ]
    assert (result["recorded"], result["ignored"]) == (1, 1)


def test_a_second_backfill_changes_nothing(dora: DoraWorld) -> None:
    history(dora)
    request = {"pipelines": ["svc-a"], "since": "2024-03-01", "until": "2024-03-31", "incidents": False}
    dora.invoke("BackfillDoraFunction", request)
    again = dora.invoke("BackfillDoraFunction", request)
    assert (again["recorded"], again["duplicate"]) == (0, 3)


def test_untracked_pipelines_are_skipped(dora: DoraWorld) -> None:
    history(dora)
    result = dora.invoke(
        "BackfillDoraFunction",
        {"pipelines": ["svc-a"], "since": "2024-03-01", "until": "2024-03-31"},
        PIPELINES="svc-b",
    )
    assert result["executions"] == 0


@pytest.mark.parametrize(
    "request_",
    [
        {"pipelines": [], "since": "2024-03-01", "until": "2024-03-31"},
        {"pipelines": ["svc-a"], "since": "2024-03-31", "until": "2024-03-01"},
        {"pipelines": ["svc-a"], "since": "2024-03-01"},
        {"pipelines": ["svc-a"], "since": "2024-03-01", "until": "2024-03-31", "account": "me"},
    ],
)
def test_a_malformed_request_is_refused(dora: DoraWorld, request_: dict[str, object]) -> None:
    with pytest.raises(InvalidEventError, match="invalid backfill request"):
        dora.invoke("BackfillDoraFunction", request_)
    assert timedelta(0) == timedelta(0)
