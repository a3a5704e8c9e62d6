"""Recorded CodePipeline executions read with plain boto3, and their events on the default bus."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from localcloud import LocalCloudError
from localcloud.clock import VirtualClock
from localcloud.cloud import LocalCloud
from localcloud.fakes import install_fakes
from localcloud.fakes.codepipeline import StageRun, ensure_pipeline, record_execution, run_execution

ACCOUNT = "123456789012"
REGION = "us-east-1"
T0 = datetime(2024, 3, 11, 9, 0, tzinfo=UTC)
CONNECTION = f"arn:aws:codestar-connections:{REGION}:{ACCOUNT}:connection/0a1b2c3d"


def _client(service: str, endpoint_url: str | None = None) -> Any:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    return session.client(service, endpoint_url=endpoint_url)  # type: ignore[call-overload]


@pytest.fixture
def codepipeline() -> Iterator[Any]:
    with mock_aws(), install_fakes():
        yield _client("codepipeline")


def _queue_for(source: str, endpoint_url: str | None = None) -> tuple[Any, str]:
    """An SQS queue receiving every event of ``source`` on the default bus."""
    sqs, events = _client("sqs", endpoint_url), _client("events", endpoint_url)
    url = sqs.create_queue(QueueName="events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all", EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule="all", Targets=[{"Id": "queue", "Arn": arn}])
    return sqs, url


def _received(sqs: Any, url: str) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        bodies.extend(json.loads(message["Body"]) for message in messages)
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)],
        )
    return bodies


def _record(execution_id: str, hours: int, status: str = "Succeeded", **extra: Any) -> None:
    start = T0 + timedelta(hours=hours)
    record_execution(
        ACCOUNT,
        REGION,
        "svc-a",
        execution_id=execution_id,
        status=status,
        revision_id=f"sha-{execution_id}",
        start_time=start,
        last_update_time=start + timedelta(minutes=20),
        **extra,
    )


def test_get_pipeline_execution_returns_what_was_recorded(codepipeline: Any) -> None:
    # Given an execution triggered by a webhook for one commit
    record_execution(
        ACCOUNT,
        REGION,
        "svc-a",
        execution_id="exec-1",
        status="Succeeded",
        revision_id="9f1c2d3",
        revision_url="https://github.com/acme/svc-a/commit/9f1c2d3",
        revision_summary='{"ProviderType":"GitHub","CommitMessage":"Fix checkout"}',
        trigger_type="WebhookV2",
        trigger_detail=CONNECTION,
        branch="main",
        start_time=T0,
        last_update_time=T0 + timedelta(minutes=30),
    )

    # When it is read with GetPipelineExecution
    execution = codepipeline.get_pipeline_execution(pipelineName="svc-a", pipelineExecutionId="exec-1")[
        "pipelineExecution"
    ]

    # Then it has AWS's fields
    assert (execution["pipelineName"], execution["pipelineVersion"], execution["status"]) == (
        "svc-a",
        1,
        "Succeeded",
    )
    assert execution["artifactRevisions"] == [
        {
            "name": "SourceArtifact",
            "revisionId": "9f1c2d3",
            "revisionSummary": '{"ProviderType":"GitHub","CommitMessage":"Fix checkout"}',
            "revisionUrl": "https://github.com/acme/svc-a/commit/9f1c2d3",
            "created": T0,
        }
    ]
    assert execution["trigger"] == {"triggerType": "WebhookV2", "triggerDetail": CONNECTION}
    assert (execution["executionMode"], execution["executionType"]) == ("SUPERSEDED", "STANDARD")
    assert "rollbackMetadata" not in execution


def test_a_rollback_carries_its_target_and_type(codepipeline: Any) -> None:
    # Given a rollback to an earlier execution
    _record("good", 0)
    _record(
        "rollback",
        2,
        trigger_type="AutomatedRollback",
        rollback_metadata={"rollbackTargetPipelineExecutionId": "good"},
        status_summary="Rolled back after alarm",
    )

    # When both the execution and its summary are read
    execution = codepipeline.get_pipeline_execution(pipelineName="svc-a", pipelineExecutionId="rollback")
    [summary, _] = codepipeline.list_pipeline_executions(pipelineName="svc-a")["pipelineExecutionSummaries"]

    # Then both say it is a rollback to that execution
    for reported in (execution["pipelineExecution"], summary):
        assert reported["executionType"] == "ROLLBACK"
        assert reported["rollbackMetadata"] == {"rollbackTargetPipelineExecutionId": "good"}
        assert reported["trigger"]["triggerType"] == "AutomatedRollback"
        assert reported["statusSummary"] == "Rolled back after alarm"


def test_list_is_newest_first_with_summary_fields(codepipeline: Any) -> None:
    # Given executions recorded out of order, and one started by moto itself afterwards
    _record("second", 2, revision_url="https://example.com/c/2", revision_summary="two")
    _record("first", 1)
    _record("third", 3, status="Failed")
    moto_started = codepipeline.start_pipeline_execution(name="svc-a")["pipelineExecutionId"]

    # When the pipeline's executions are listed
    summaries = codepipeline.list_pipeline_executions(pipelineName="svc-a")["pipelineExecutionSummaries"]

    # Then the newest start time comes first, with the summary fields AWS reports
    assert [summary["pipelineExecutionId"] for summary in summaries] == [
        moto_started,
        "third",
        "second",
        "first",
    ]
    second = summaries[2]
    assert (second["startTime"], second["lastUpdateTime"]) == (
        T0 + timedelta(hours=2),
        T0 + timedelta(hours=2, minutes=20),
    )
    assert second["sourceRevisions"] == [
        {
            "actionName": "Source",
            "revisionId": "sha-second",
            "revisionSummary": "two",
            "revisionUrl": "https://example.com/c/2",
        }
    ]
    assert second["trigger"] == {"triggerType": "Webhook", "triggerDetail": ""}
    assert summaries[1]["status"] == "Failed"


def test_list_paginates_and_refuses_foreign_tokens(codepipeline: Any) -> None:
    # Given five executions
    for hour in range(5):
        _record(f"e{hour}", hour)

    # When they are listed two at a time, and with the paginator
    pages, token = [], None
    while True:
        response = codepipeline.list_pipeline_executions(
            pipelineName="svc-a", maxResults=2, **({"nextToken": token} if token else {})
        )
        pages.append([summary["pipelineExecutionId"] for summary in response["pipelineExecutionSummaries"]])
        token = response.get("nextToken")
        if token is None:
            break
    paginated = [
        summary["pipelineExecutionId"]
        for page in codepipeline.get_paginator("list_pipeline_executions").paginate(
            pipelineName="svc-a", PaginationConfig={"PageSize": 3}
        )
        for summary in page["pipelineExecutionSummaries"]
    ]
    first_token = codepipeline.list_pipeline_executions(pipelineName="svc-a", maxResults=2)["nextToken"]

    # Then every execution comes once, newest first, and tokens work only for their request
    assert pages == [["e4", "e3"], ["e2", "e1"], ["e0"]]
    assert paginated == ["e4", "e3", "e2", "e1", "e0"]
    with pytest.raises(codepipeline.exceptions.InvalidNextTokenException):
        codepipeline.list_pipeline_executions(
            pipelineName="svc-a",
            nextToken=first_token,
            filter={"succeededInStage": {"stageName": "Deploy"}},
        )
    with pytest.raises(ClientError) as too_many:
        codepipeline.list_pipeline_executions(pipelineName="svc-a", maxResults=101)
    assert too_many.value.response["Error"]["Code"] == "ValidationException"


def test_succeeded_in_stage_filter(codepipeline: Any) -> None:
    # Given executions that reached production, failed there, or failed before it
    _record("deployed", 1)
    _record("failed-in-prod", 2, status="Failed")
    _record("failed-build", 3, status="Failed", stages=["Source", StageRun("Build", "FAILED")])

    # When executions that succeeded in a stage are listed
    def succeeded_in(stage: str) -> list[str]:
        response = codepipeline.list_pipeline_executions(
            pipelineName="svc-a", filter={"succeededInStage": {"stageName": stage}}
        )
        return [summary["pipelineExecutionId"] for summary in response["pipelineExecutionSummaries"]]

    # Then only those whose stage succeeded are listed
    assert succeeded_in("Deploy") == ["deployed"]
    assert succeeded_in("Build") == ["failed-in-prod", "deployed"]
    assert succeeded_in("Source") == ["failed-build", "failed-in-prod", "deployed"]


def test_moto_started_executions_pass_the_stage_filter_of_existing_stages(codepipeline: Any) -> None:
    # Given a pipeline and an execution moto started (it succeeds at once)
    ensure_pipeline(ACCOUNT, REGION, "svc-b", stages=("Source", "DeployPROD"))
    started = codepipeline.start_pipeline_execution(name="svc-b")["pipelineExecutionId"]

    # When it is filtered by a stage of the pipeline and by one it does not have
    def succeeded_in(stage: str) -> list[str]:
        response = codepipeline.list_pipeline_executions(
            pipelineName="svc-b", filter={"succeededInStage": {"stageName": stage}}
        )
        return [summary["pipelineExecutionId"] for summary in response["pipelineExecutionSummaries"]]

    # Then only the existing stage matches
    assert succeeded_in("DeployPROD") == [started]
    assert succeeded_in("Nope") == []
    assert [stage["name"] for stage in codepipeline.get_pipeline(name="svc-b")["pipeline"]["stages"]] == [
        "Source",
        "DeployPROD",
    ]


def test_unknown_pipelines_and_executions_are_not_found(codepipeline: Any) -> None:
    _record("e1", 0)

    with pytest.raises(codepipeline.exceptions.PipelineNotFoundException):
        codepipeline.list_pipeline_executions(pipelineName="nope")
    with pytest.raises(codepipeline.exceptions.PipelineNotFoundException):
        codepipeline.list_action_executions(pipelineName="nope")
    with pytest.raises(codepipeline.exceptions.PipelineExecutionNotFoundException):
        codepipeline.get_pipeline_execution(pipelineName="svc-a", pipelineExecutionId="e2")
    with pytest.raises(codepipeline.exceptions.PipelineExecutionNotFoundException):
        codepipeline.list_action_executions(pipelineName="svc-a", filter={"pipelineExecutionId": "e2"})


def test_action_executions_expose_the_source_variables(codepipeline: Any) -> None:
    # Given a webhook execution of a branch, with a CodeStar connection summary
    _record(
        "e1",
        0,
        branch="main",
        repository="acme/svc-a",
        trigger_detail=CONNECTION,
        revision_summary='{"ProviderType":"GitHub","CommitMessage":"Fix checkout"}',
    )
    _record("e2", 1)

    # When its action executions are listed
    details = codepipeline.list_action_executions(pipelineName="svc-a", filter={"pipelineExecutionId": "e1"})[
        "actionExecutionDetails"
    ]
    everything = codepipeline.list_action_executions(pipelineName="svc-a")["actionExecutionDetails"]

    # Then there is one action per stage, newest first, and the source action carries the variables
    assert [(d["stageName"], d["status"]) for d in details] == [
        ("Deploy", "Succeeded"),
        ("Build", "Succeeded"),
        ("Source", "Succeeded"),
    ]
    source = details[-1]
    assert source["output"]["outputVariables"] == {
        "CommitId": "sha-e1",
        "BranchName": "main",
        "FullRepositoryName": "acme/svc-a",
        "CommitMessage": "Fix checkout",
        "ConnectionArn": CONNECTION,
    }
    assert source["input"]["actionTypeId"]["provider"] == "CodeStarSourceConnection"
    assert (source["startTime"], source["lastUpdateTime"]) == (T0, T0 + timedelta(minutes=20) / 3)
    assert [d["pipelineExecutionId"] for d in everything] == ["e2"] * 3 + ["e1"] * 3


def test_recording_an_id_again_replaces_the_execution(codepipeline: Any) -> None:
    # Given an execution recorded in progress
    _record("e1", 0, status="InProgress")

    # When it is recorded again as succeeded
    _record("e1", 0, status="SUCCEEDED")

    # Then the pipeline has one execution, succeeded
    summaries = codepipeline.list_pipeline_executions(pipelineName="svc-a")["pipelineExecutionSummaries"]
    assert [(s["pipelineExecutionId"], s["status"]) for s in summaries] == [("e1", "Succeeded")]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"status": "Done"}, "unknown pipeline execution status"),
        ({"last_update_time": T0 - timedelta(seconds=1)}, "before start_time"),
        ({"stages": [StageRun("Source"), "Deploy"], "status": "Bogus"}, "unknown pipeline execution status"),
    ],
)
def test_record_refuses_inconsistent_executions(
    codepipeline: Any, changes: dict[str, Any], message: str
) -> None:
    arguments: dict[str, Any] = {
        "execution_id": "e1",
        "status": "Succeeded",
        "revision_id": "a",
        "start_time": T0,
    }
    arguments.update(changes)

    with pytest.raises(LocalCloudError, match=message):
        record_execution(ACCOUNT, REGION, "svc-a", **arguments)


def test_stage_states_and_pipeline_stage_counts_are_checked(codepipeline: Any) -> None:
    with pytest.raises(LocalCloudError, match="unknown state"):
        StageRun("Deploy", "DONE")
    with pytest.raises(LocalCloudError, match="at least 2 stages"):
        ensure_pipeline(ACCOUNT, REGION, "tiny", stages=("Only",))


def test_run_execution_puts_pipeline_and_stage_events_in_order(codepipeline: Any) -> None:
    # Given a rule sending every CodePipeline event to a queue
    sqs, url = _queue_for("aws.codepipeline")

    # When a webhook execution of main runs through Source, Build and DeployPROD
    ensure_pipeline(ACCOUNT, REGION, "svc-a", stages=("Source", "Build", "DeployPROD"))
    run_execution(
        ACCOUNT,
        REGION,
        "svc-a",
        execution_id="exec-1",
        status="Succeeded",
        revision_id="9f1c2d3",
        revision_summary="Fix checkout",
        branch="main",
        repository="acme/svc-a",
        trigger_detail=CONNECTION,
        start_time=T0,
        last_update_time=T0 + timedelta(minutes=30),
    )
    events = _received(sqs, url)

    # Then the events are AWS's, in order, each at the time it describes
    assert [
        (e["detail-type"].split()[1], e["detail"].get("stage"), e["detail"]["state"], e["time"])
        for e in events
    ] == [
        ("Pipeline", None, "STARTED", "2024-03-11T09:00:00Z"),
        ("Stage", "Source", "STARTED", "2024-03-11T09:00:00Z"),
        ("Stage", "Source", "SUCCEEDED", "2024-03-11T09:10:00Z"),
        ("Stage", "Build", "STARTED", "2024-03-11T09:10:00Z"),
        ("Stage", "Build", "SUCCEEDED", "2024-03-11T09:20:00Z"),
        ("Stage", "DeployPROD", "STARTED", "2024-03-11T09:20:00Z"),
        ("Stage", "DeployPROD", "SUCCEEDED", "2024-03-11T09:30:00Z"),
        ("Pipeline", None, "SUCCEEDED", "2024-03-11T09:30:00Z"),
    ]
    started, *_, succeeded = events
    assert started["source"] == "aws.codepipeline"
    assert started["resources"] == [f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:svc-a"]
    assert started["detail"] == {
        "pipeline": "svc-a",
        "execution-id": "exec-1",
        "start-time": "2024-03-11T09:00:00.000Z",
        "state": "STARTED",
        "version": 1,
        "pipeline-execution-attempt": 1,
        "execution-trigger": {
            "trigger-type": "Webhook",
            "trigger-detail": CONNECTION,
            "branch-name": "main",
            "commit-id": "9f1c2d3",
            "commit-message": "Fix checkout",
            "full-repository-name": "acme/svc-a",
            "provider-type": "GitHub",
            "connection-arn": CONNECTION,
        },
    }
    assert "execution-trigger" not in succeeded["detail"]  # as in AWS's documented SUCCEEDED example
    assert events[2]["detail"] == {
        "pipeline": "svc-a",
        "execution-id": "exec-1",
        "start-time": "2024-03-11T09:00:00.000Z",
        "stage": "Source",
        "state": "SUCCEEDED",
        "version": 1,
        "pipeline-execution-attempt": 1,
    }


def test_failed_and_in_progress_executions_emit_what_happened(codepipeline: Any) -> None:
    # Given a rule sending every CodePipeline event to a queue
    sqs, url = _queue_for("aws.codepipeline")

    # When one execution fails in its last stage, one is manual with given stage times, one still runs
    run_execution(ACCOUNT, REGION, "svc-a", execution_id="f", status="Failed", revision_id="a", start_time=T0)
    run_execution(
        ACCOUNT,
        REGION,
        "svc-a",
        execution_id="m",
        status="Cancelled",
        revision_id="b",
        trigger_type="StartPipelineExecution",
        trigger_detail=f"arn:aws:sts::{ACCOUNT}:assumed-role/dev/alice",
        branch="main",
        start_time=T0 + timedelta(hours=1),
        last_update_time=T0 + timedelta(hours=2),
        stages=[
            StageRun("Source", end_time=T0 + timedelta(hours=1, minutes=1)),
            StageRun("Build", "CANCELED"),
        ],
        attempt=2,
    )
    run_execution(
        ACCOUNT, REGION, "svc-a", execution_id="r", status="InProgress", revision_id="c", start_time=T0
    )
    received = _received(sqs, url)
    events = [(e["detail"]["execution-id"], e["detail"].get("stage"), e["detail"]["state"]) for e in received]

    # Then a failure ends with FAILED, a cancel with CANCELED, and a running one has no final event
    assert [e for e in events if e[0] == "f"][-2:] == [("f", "Deploy", "FAILED"), ("f", None, "FAILED")]
    assert [e for e in events if e[0] == "m"] == [
        ("m", None, "STARTED"),
        ("m", "Source", "STARTED"),
        ("m", "Source", "SUCCEEDED"),
        ("m", "Build", "STARTED"),
        ("m", "Build", "CANCELED"),
        ("m", None, "CANCELED"),
    ]
    assert [e for e in events if e[0] == "r"] == [
        ("r", None, "STARTED"),
        ("r", "Source", "STARTED"),
        ("r", "Source", "SUCCEEDED"),
        ("r", "Build", "STARTED"),
        ("r", "Build", "SUCCEEDED"),
        ("r", "Deploy", "STARTED"),
    ]
    # and a manual start carries only the trigger type and detail, with the attempt number given
    manual = next(e for e in received if e["detail"]["execution-id"] == "m")
    assert manual["detail"]["execution-trigger"] == {
        "trigger-type": "StartPipelineExecution",
        "trigger-detail": f"arn:aws:sts::{ACCOUNT}:assumed-role/dev/alice",
    }
    assert manual["detail"]["pipeline-execution-attempt"] == 2
    source_done = next(
        e
        for e in received
        if e["detail"].get("stage") == "Source"
        and e["detail"]["execution-id"] == "m"
        and e["detail"]["state"] == "SUCCEEDED"
    )
    assert source_done["time"] == "2024-03-11T10:01:00Z"


def test_times_default_to_the_virtual_clock() -> None:
    # Given the local cloud's virtual clock at a past instant
    clock = VirtualClock(start=T0.timestamp())
    with mock_aws(), install_fakes(), clock.install():
        codepipeline = _client("codepipeline")

        # When an execution is recorded without times
        run_execution(ACCOUNT, REGION, "svc-a", execution_id="e1", status="Succeeded", revision_id="a")
        [summary] = codepipeline.list_pipeline_executions(pipelineName="svc-a")["pipelineExecutionSummaries"]

    # Then it started at the clock's time and took the default five minutes
    assert (summary["startTime"], summary["lastUpdateTime"]) == (T0, T0 + timedelta(minutes=5))


@pytest.mark.enable_socket
def test_served_history_is_read_by_external_clients() -> None:
    # Given the local cloud served on its endpoint, and history recorded in its process
    with LocalCloud("template.yaml", serve=True, port=0, event_sources=False) as cloud:
        codepipeline = _client("codepipeline", cloud.endpoint_url)
        sqs, url = _queue_for("aws.codepipeline", cloud.endpoint_url)
        _record("e1", 0)
        run_execution(
            ACCOUNT,
            REGION,
            "svc-a",
            execution_id="e2",
            status="Succeeded",
            revision_id="b",
            start_time=T0 + timedelta(hours=1),
        )

        # When an external client reads it
        first = codepipeline.list_pipeline_executions(pipelineName="svc-a", maxResults=1)
        execution = codepipeline.get_pipeline_execution(pipelineName="svc-a", pipelineExecutionId="e1")
        actions = codepipeline.list_action_executions(
            pipelineName="svc-a", filter={"pipelineExecutionId": "e2"}
        )
        events = _received(sqs, url)

    # Then it sees the same history and events as an in-process client
    assert [s["pipelineExecutionId"] for s in first["pipelineExecutionSummaries"]] == ["e2"]
    assert "nextToken" in first
    assert execution["pipelineExecution"]["artifactRevisions"][0]["revisionId"] == "sha-e1"
    assert len(actions["actionExecutionDetails"]) == 3
    assert len(events) == 8
