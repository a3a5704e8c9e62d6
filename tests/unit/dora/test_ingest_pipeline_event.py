"""ingest_pipeline_event on moto: one deployment per execution (cases 1, 2, 6, 14, 16)."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from blueprints.core import aws
from blueprints.dora import wiring
from blueprints.dora.errors import InvalidEventError
from blueprints.dora.ingest import PendingSweep
from blueprints.dora.model import ChangesStatus
from blueprints.dora.queue import ChangeQueue
from blueprints.dora.timeutil import from_stored
from localcloud.fakes.codepipeline import StageRun
from tests.support.botocore_hooks import Reply, Script, record_calls
from tests.support.emf import dimensions, metric_documents
from tests.unit.dora.builders import sha
from tests.unit.dora.conftest import PIPELINE_ARN, DoraWorld, at, pipeline_event

EXECUTION = "8a6f0e5c-1b2d-4c3e-9f4a-5b6c7d8e9f01"  # the sample events' execution
DEPLOYED = at(2024, 3, 11, 14)  # the sample stage SUCCEEDED event's time


def ingest(dora: DoraWorld, event: dict[str, object], **overrides: str) -> str:
    return str(dora.invoke("IngestPipelineEventFunction", event, **overrides)["outcome"])


def queued(dora: DoraWorld) -> list[str]:
    return [json.loads(message["Body"])["execution_id"] for message in dora.queued_changes()]


def test_the_production_stage_success_records_one_deployment_and_queues_its_changes(dora: DoraWorld) -> None:
    # Given svc-a's execution of commit 3 on main, whose DeployPROD stage succeeded at 14:00
    dora.pipeline()
    dora.execution(
        EXECUTION, sha(3), DEPLOYED, revision_summary=json.dumps({"CommitMessage": "Add a limiter"})
    )

    # When the DeployPROD SUCCEEDED event arrives
    outcome = ingest(dora, pipeline_event("stage_succeeded_prod"))

    # Then the deployment is stored with the event time, the commit, branch and repository of the execution
    deployment = dora.store().get_deployment(PIPELINE_ARN, EXECUTION)
    assert outcome == "recorded"
    assert deployment is not None
    assert (deployment.service, deployment.deploy_time, deployment.sha) == ("svc-a", DEPLOYED, sha(3))
    assert (deployment.branch, deployment.repo, deployment.head_message) == (
        "main",
        "example-org/svc-a",
        "Add a limiter",
    )
    assert deployment.changes_status == ChangesStatus.PENDING
    # and its change resolution is queued, the service registered and marked for recompute
    assert queued(dora) == [EXECUTION]
    assert dora.store().services() == ["svc-a"]
    assert [service for service, _ in dora.store().dirty()] == ["svc-a"]


def test_duplicate_deliveries_count_once(dora: DoraWorld) -> None:
    # Given a recorded deployment
    dora.pipeline()
    dora.execution(EXECUTION, sha(3), DEPLOYED)
    event = pipeline_event("stage_succeeded_prod")
    assert ingest(dora, event) == "recorded"
    dora.resolve_queued()

    # When the same event is delivered again, and another delivery with another id (case 1)
    again = ingest(dora, event)
    other = ingest(dora, pipeline_event("stage_succeeded_prod", id="1d2c3b4a-0000-4000-8000-00000000beef"))

    # Then nothing more is stored or queued (its changes are resolved); both event ids are kept
    assert (again, other) == ("duplicate", "duplicate")
    assert queued(dora) == []
    assert len(dora.store().deployments("svc-a")) == 1
    item = dora.store().client.get_item(
        TableName=dora.table, Key={"PK": {"S": f"DEPLOY#{PIPELINE_ARN}#{EXECUTION}"}, "SK": {"S": "META"}}
    )["Item"]
    assert sorted(item["event_ids"]["SS"]) == sorted(
        ["6d1c0a4e-2f3b-4c5d-8e9f-0a1b2c3d4e07", "1d2c3b4a-0000-4000-8000-00000000beef"]
    )


def test_a_failed_then_retried_stage_is_one_deployment(dora: DoraWorld) -> None:
    # Given an execution whose DeployPROD failed (attempt 1), was retried and succeeded (attempt 2) (case 2)
    dora.pipeline()
    retried = [
        StageRun("Source", end_time=DEPLOYED - timedelta(minutes=30)),
        StageRun("Build", end_time=DEPLOYED - timedelta(minutes=25)),
        StageRun("DeployStaging", end_time=DEPLOYED - timedelta(minutes=20)),
        StageRun("DeployPROD", end_time=DEPLOYED),
    ]
    dora.execution(EXECUTION, sha(3), DEPLOYED, stages=retried)
    calls = record_calls(aws.client("codepipeline"), "GetPipelineExecution")

    # When FAILED, RESUMED, then the stage's and the pipeline's SUCCEEDED (attempt 2) arrive
    outcomes = [
        ingest(dora, pipeline_event("stage_failed_prod")),
        ingest(dora, pipeline_event("pipeline_resumed")),
        ingest(dora, pipeline_event("stage_succeeded_prod", **{"pipeline-execution-attempt": 2})),
        ingest(dora, pipeline_event("pipeline_succeeded", **{"pipeline-execution-attempt": 2})),
    ]

    # Then one deployment, at the stage's success; the failure and resume cost no execution look-up
    assert outcomes == ["ignored", "ignored", "recorded", "ignored"]
    assert [d.deploy_time for d in dora.store().deployments("svc-a")] == [DEPLOYED]
    assert len(calls) == 1


def test_events_that_cannot_be_deployments_are_ignored_without_reading_the_execution(dora: DoraWorld) -> None:
    dora.pipeline()
    calls = record_calls(aws.client("codepipeline"), "GetPipelineExecution")
    outcomes = [
        ingest(dora, pipeline_event(case))
        for case in (
            "pipeline_failed",
            "pipeline_superseded",
            "pipeline_started_manual",
            "stage_succeeded_staging",
        )
    ]
    assert outcomes == ["ignored"] * 4
    assert calls == []
    assert dora.store().deployments("svc-a") == []


def test_a_pipeline_without_production_stage_deploys_from_the_release_branch_only(dora: DoraWorld) -> None:
    # Given a pipeline with no DeployPROD stage (case 14), one execution on main and one on a feature branch
    dora.pipeline("svc-b", ("Source", "Build", "Deploy"))
    dora.execution("e-main", sha(1), DEPLOYED, pipeline="svc-b", stages=["Source", "Build", "Deploy"])
    dora.execution(
        "e-feature",
        sha(2),
        DEPLOYED,
        pipeline="svc-b",
        stages=["Source", "Build", "Deploy"],
        branch="feature/x",
    )
    arn = "arn:aws:codepipeline:us-east-1:123456789012:svc-b"

    def succeeded(execution_id: str) -> dict[str, object]:
        event = pipeline_event("pipeline_succeeded", pipeline="svc-b", **{"execution-id": execution_id})
        event["resources"] = [arn]
        return event

    # Then only the release-branch execution is a deployment, at the pipeline's success
    assert [ingest(dora, succeeded("e-main")), ingest(dora, succeeded("e-feature"))] == [
        "recorded",
        "ignored",
    ]
    assert [d.execution_id for d in dora.store().deployments("svc-b")] == ["e-main"]


def test_only_the_configured_repositories_deploy(dora: DoraWorld) -> None:
    # Given REPOSITORIES=org/app1 and an execution of example-org/svc-a (case 16: exact match only)
    dora.pipeline()
    dora.execution(EXECUTION, sha(3), DEPLOYED)
    assert ingest(dora, pipeline_event("stage_succeeded_prod"), REPOSITORIES="org/app1") == "ignored"
    assert (
        ingest(dora, pipeline_event("stage_succeeded_prod"), REPOSITORIES="example-org/svc-a") == "recorded"
    )


def test_a_deployment_arriving_after_its_successor_requeues_the_successor(dora: DoraWorld) -> None:
    # Given E2 (10:00) processed before E1 (09:00) (case 6)
    dora.pipeline()
    dora.execution("E1", sha(1), at(2024, 3, 11, 9))
    dora.execution("E2", sha(2), at(2024, 3, 11, 10))
    first = ingest(
        dora, pipeline_event("stage_succeeded_prod", time="2024-03-11T10:00:00Z", **{"execution-id": "E2"})
    )
    assert queued(dora) == ["E2"]

    # When E1 arrives
    second = ingest(
        dora, pipeline_event("stage_succeeded_prod", time="2024-03-11T09:00:00Z", **{"execution-id": "E1"})
    )

    # Then E1 and its successor E2 are queued for (re)resolution
    assert (first, second) == ("recorded", "recorded")
    assert sorted(queued(dora)) == ["E1", "E2"]


def test_a_recent_deployment_publishes_one_timestamped_data_point(
    dora: DoraWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given "now" an hour after the deployment (CloudWatch takes points up to 14 days old)
    monkeypatch.setattr(wiring, "now", lambda: DEPLOYED + timedelta(hours=1))
    dora.pipeline()
    dora.execution(EXECUTION, sha(3), DEPLOYED)
    event = pipeline_event("stage_succeeded_prod")

    # When the event is delivered twice
    output = io.StringIO()
    with redirect_stdout(output):
        ingest(dora, event)
        ingest(dora, event)

    # Then one Deployments point, at the deploy time, per service and for every service together
    [document] = metric_documents(output.getvalue(), "Deployments")
    assert document["_aws"]["Timestamp"] == int(DEPLOYED.timestamp() * 1000)
    assert dimensions(document) == {"service": "dora", "Service": "svc-a"}
    assert document["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Service", "service"], ["service"]]
    assert document["Deployments"] == [1.0]


def test_old_deployments_publish_nothing(dora: DoraWorld) -> None:
    dora.pipeline()
    dora.execution(EXECUTION, sha(3), DEPLOYED)
    output = io.StringIO()
    with redirect_stdout(output):
        ingest(dora, pipeline_event("stage_succeeded_prod"))
    assert metric_documents(output.getvalue(), "Deployments") == []


def test_a_rollback_is_a_deployment_that_fails_what_it_undid(
    dora: DoraWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given D1 (commit 1) at 09:00 and D2 (commit 2) at 10:00, then a manual rollback to commit 1 at 11:00
    monkeypatch.setattr(wiring, "now", lambda: at(2024, 3, 11, 12))
    dora.pipeline()
    dora.execution("D1", sha(1), at(2024, 3, 11, 9))
    dora.execution("D2", sha(2), at(2024, 3, 11, 10))
    dora.execution(
        "R1",
        sha(1),
        at(2024, 3, 11, 11),
        trigger_type="ManualRollback",
        rollback_metadata={"rollbackTargetPipelineExecutionId": "D1"},
    )
    output = io.StringIO()
    with redirect_stdout(output):
        for execution_id, hour in (("D1", 9), ("D2", 10), ("R1", 11)):
            ingest(
                dora,
                pipeline_event(
                    "stage_succeeded_prod",
                    time=f"2024-03-11T{hour:02d}:00:00Z",
                    **{"execution-id": execution_id},
                ),
            )

    # Then the rollback is stored as one, and D2's failure and its 1 h recovery are published once
    rollback = dora.store().get_deployment(PIPELINE_ARN, "R1")
    assert rollback is not None
    assert (rollback.rollback, rollback.trigger_type) == (True, "ManualRollback")
    [failed] = metric_documents(output.getvalue(), "FailedDeployments")
    [recovery] = metric_documents(output.getvalue(), "RecoverySeconds")
    assert failed["_aws"]["Timestamp"] == int(at(2024, 3, 11, 10).timestamp() * 1000)
    assert recovery["RecoverySeconds"] == [3600.0]
    assert len(metric_documents(output.getvalue(), "ReworkDeployments")) == 1


def test_a_malformed_event_is_refused(dora: DoraWorld) -> None:
    event = pipeline_event("stage_succeeded_prod")
    del event["detail"]["execution-id"]
    with pytest.raises(InvalidEventError, match="execution-id"):
        ingest(dora, event)


REFUSED = Reply.ok({"Successful": [], "Failed": [{"Id": "0", "SenderFault": False, "Code": "InternalError"}]})


def test_a_redelivery_queues_the_changes_a_refused_message_left_pending(dora: DoraWorld) -> None:
    # Given the first delivery stored the deployment, then SQS refused its change-resolution message
    dora.pipeline()
    dora.execution(EXECUTION, sha(3), DEPLOYED)
    event = pipeline_event("stage_succeeded_prod")
    Script(aws.client("sqs"), "SendMessageBatch", [REFUSED])
    with pytest.raises(RuntimeError, match="SendMessageBatch failed"):
        ingest(dora, event)
    assert queued(dora) == []

    # When EventBridge delivers the event again
    outcome = ingest(dora, event)

    # Then it is a duplicate that still queues the pending resolution, which then resolves the changes
    assert outcome == "duplicate"
    assert queued(dora) == [EXECUTION]
    ingest(dora, event)
    dora.resolve_queued()
    deployment = dora.store().get_deployment(PIPELINE_ARN, EXECUTION)
    assert deployment is not None
    assert deployment.changes_status == ChangesStatus.RESOLVED
    assert dora.store().pending(DEPLOYED + timedelta(days=3650)) == []


def test_a_redelivery_completes_a_deployment_whose_service_was_not_registered(
    dora: DoraWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given "now" an hour after the deploy, and a first delivery failing right after the deployment's write
    monkeypatch.setattr(wiring, "now", lambda: DEPLOYED + timedelta(hours=1))
    dora.pipeline()
    dora.execution(EXECUTION, sha(3), DEPLOYED)
    event = pipeline_event("stage_succeeded_prod")
    Script(aws.client("dynamodb"), "UpdateItem", [Reply.error("InternalServerError", status=500)])
    output = io.StringIO()
    with redirect_stdout(output), pytest.raises(Exception, match="InternalServerError"):
        ingest(dora, event)
    assert dora.store().services() == []

    # When the event is delivered again
    with redirect_stdout(output):
        outcome = ingest(dora, event)

    # Then the service is registered, its execution pointed, its changes queued and the service marked,
    # while the Deployments data point was published by the first delivery only
    store = dora.store()
    assert outcome == "duplicate"
    assert store.services() == ["svc-a"]
    assert store.service_of_execution(EXECUTION) == "svc-a"
    assert queued(dora) == [EXECUTION]
    assert [service for service, _ in store.dirty()] == ["svc-a"]
    assert len(metric_documents(output.getvalue(), "Deployments")) == 1


def test_a_redelivery_requeues_a_successor_not_yet_compared_against_it(dora: DoraWorld) -> None:
    # Given E2 (10:00) resolved as svc-a's first deployment, then E1 (09:00) stored by a delivery whose
    # messages SQS refused
    dora.pipeline()
    dora.execution("E1", sha(1), at(2024, 3, 11, 9))
    dora.execution("E2", sha(2), at(2024, 3, 11, 10))
    ingest(
        dora, pipeline_event("stage_succeeded_prod", time="2024-03-11T10:00:00Z", **{"execution-id": "E2"})
    )
    dora.resolve_queued()
    late = pipeline_event("stage_succeeded_prod", time="2024-03-11T09:00:00Z", **{"execution-id": "E1"})
    Script(aws.client("sqs"), "SendMessageBatch", [REFUSED])
    with pytest.raises(RuntimeError):
        ingest(dora, late)

    # When E1's event is delivered again
    outcome = ingest(dora, late)

    # Then E1 and its successor E2 (resolved against nothing, not E1) are queued
    assert outcome == "duplicate"
    assert sorted(queued(dora)) == ["E1", "E2"]


def test_the_sweep_requeues_resolutions_left_pending_too_long(dora: DoraWorld) -> None:
    # Given two deployments whose resolutions were queued at 14:00 and never saved (lost messages)
    dora.pipeline()
    dora.execution("E1", sha(1), at(2024, 3, 11, 9))
    dora.execution("E2", sha(2), at(2024, 3, 11, 10))
    store = dora.store()
    for execution_id, hour in (("E1", 9), ("E2", 10)):
        time = f"2024-03-11T{hour:02d}:00:00Z"
        ingest(dora, pipeline_event("stage_succeeded_prod", time=time, **{"execution-id": execution_id}))
    dora.queued_changes()  # lost
    queue = ChangeQueue(dora.changes_queue_url)
    pending_since = store.pending(DEPLOYED + timedelta(days=3650))

    # When the sweep runs an hour later (too early), then three hours later
    early = PendingSweep(store, queue, lambda: _marked(dora) + timedelta(hours=1)).sweep()
    late = PendingSweep(store, queue, lambda: _marked(dora) + timedelta(hours=3)).sweep()

    # Then only the late sweep queues them again, and once resolved nothing is pending any more
    assert sorted(pending_since) == [(PIPELINE_ARN, "E1"), (PIPELINE_ARN, "E2")]
    assert (early, sorted(late)) == ([], ["E1", "E2"])
    dora.resolve_queued()
    assert store.pending(DEPLOYED + timedelta(days=3650)) == []
    assert PendingSweep(store, queue, lambda: DEPLOYED + timedelta(days=3650)).sweep() == []


def test_the_sweep_drops_markers_of_resolutions_saved_meanwhile(dora: DoraWorld) -> None:
    # Given a marker left for a deployment whose changes were resolved against the right base anyway
    dora.pipeline()
    dora.execution(EXECUTION, sha(3), DEPLOYED)
    ingest(dora, pipeline_event("stage_succeeded_prod"))
    dora.resolve_queued()
    store = dora.store()
    deployment = store.get_deployment(PIPELINE_ARN, EXECUTION)
    assert deployment is not None
    store.mark_pending(deployment, DEPLOYED)
    store.mark_pending(replace(deployment, execution_id="gone"), DEPLOYED)

    # When the sweep runs
    requeued = PendingSweep(
        store, ChangeQueue(dora.changes_queue_url), lambda: DEPLOYED + timedelta(days=1)
    ).sweep()

    # Then nothing is queued, and the resolved deployment's marker is gone
    assert requeued == []
    assert queued(dora) == []
    assert store.pending(DEPLOYED + timedelta(days=1)) == [(PIPELINE_ARN, "gone")]


def _marked(dora: DoraWorld) -> datetime:
    item = dora.store().client.query(
        TableName=dora.table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": "PENDING"}},
    )["Items"][0]
    return from_stored(item["since"]["S"])
