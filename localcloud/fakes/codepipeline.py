"""CodePipeline execution history on moto's CodePipeline: recorded executions, read with plain boto3.

Why: DORA-style reporting reads pipeline executions (ListPipelineExecutions, GetPipelineExecution,
ListActionExecutions) and reacts to their EventBridge events. moto starts executions that succeed at
once, with no revisions, no trigger detail, no stages, newest-first lists without pagination and no
ListActionExecutions. This module completes it:

- ``record_execution(...)`` stores an execution with the fields AWS reports (status, source revision,
  trigger, execution mode, rollback metadata, stage outcomes, times) in moto's CodePipeline backend;
  the pipeline is created with a plain Source/Build/Deploy definition if it does not exist
  (``ensure_pipeline``). Recording the same id again replaces the execution (an execution moving from
  ``InProgress`` to ``Succeeded``).
- ``run_execution(...)`` records it and puts its events on the default bus, as AWS emits them: the
  pipeline's ``STARTED``, each stage's ``STARTED`` and final state, then the pipeline's final state
  (``event_details`` gives the shapes). Each event's ``time`` is the moment it describes, so one call per
  execution replays a month of activity.
- ``extend()`` (entered by ``install_fakes``) serves ListPipelineExecutions newest first (by start
  time) with ``maxResults`` (1-100) / ``nextToken`` and the ``succeededInStage`` filter, and
  ListActionExecutions (one action per stage; the source action's output variables carry
  ``BranchName``, ``CommitId``, ``CommitMessage``, ``FullRepositoryName``, ``ConnectionArn``).
  GetPipelineExecution of a recorded execution needs no patch.

Times default to the local cloud's clock (virtual when installed). Nothing here knows a blueprint.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

from moto.codepipeline.exceptions import PipelineExecutionNotFoundException
from moto.codepipeline.models import (
    CodePipeline,
    CodePipelineBackend,
    PipelineExecution,
    codepipeline_backends,
)
from moto.codepipeline.responses import CodePipelineResponse
from moto.core.exceptions import JsonRESTError
from moto.utilities.utils import get_partition

from localcloud import LocalCloudError
from localcloud.fakes import paginate
from localcloud.fakes.bus import now, put_event, to_datetime

__all__ = [
    "PIPELINE_EVENT",
    "STAGE_EVENT",
    "RecordedExecution",
    "StageRun",
    "ensure_pipeline",
    "event_details",
    "extend",
    "record_execution",
    "run_execution",
]

SOURCE = "aws.codepipeline"
PIPELINE_EVENT = "CodePipeline Pipeline Execution State Change"
STAGE_EVENT = "CodePipeline Stage Execution State Change"
DEFAULT_STAGES = ("Source", "Build", "Deploy")
MAX_RESULTS = 100
# API status -> the state its events report
EVENT_STATES = {
    "Succeeded": "SUCCEEDED",
    "Failed": "FAILED",
    "Cancelled": "CANCELED",
    "Stopped": "STOPPED",
    "Stopping": "STOPPING",
    "Superseded": "SUPERSEDED",
    "InProgress": "STARTED",
}
_API_STATUSES = {state: status for status, state in EVENT_STATES.items()} | {"CANCELLED": "Cancelled"}
_STAGE_STATES = frozenset({"STARTED", "SUCCEEDED", "FAILED", "CANCELED", "STOPPED", "STOPPING", "RESUMED"})
_ACTION_STATUSES = {"STARTED": "InProgress", "SUCCEEDED": "Succeeded", "FAILED": "Failed"}
_ACTION_TYPES = {
    "Source": ("Source", "AWS", "CodeStarSourceConnection"),
    "Build": ("Build", "AWS", "CodeBuild"),
    "Test": ("Test", "AWS", "CodeBuild"),
}


class _ValidationError(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("ValidationException", message)


@dataclass(frozen=True)
class StageRun:
    """One stage of an execution: its name, its final event state and (optionally) its times."""

    name: str
    state: str = "SUCCEEDED"
    start_time: datetime | None = None
    end_time: datetime | None = None

    def __post_init__(self) -> None:
        if self.state not in _STAGE_STATES:
            raise LocalCloudError(f"stage {self.name}: unknown state {self.state}")


def _status(status: str) -> str:
    """An execution status in the API's spelling (``Succeeded``), from it or the events' (``SUCCEEDED``)."""
    if status in EVENT_STATES:
        return status
    if status.upper() in _API_STATUSES:
        return _API_STATUSES[status.upper()]
    raise LocalCloudError(f"unknown pipeline execution status {status}")


def _naive(moment: datetime) -> datetime:
    """UTC without tzinfo, as moto stores its executions' times (so both kinds sort together)."""
    return to_datetime(moment).astimezone(UTC).replace(tzinfo=None)


def _iso(moment: datetime) -> str:
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.strftime("%Y-%m-%dT%H:%M:%S.") + f"{aware.microsecond // 1000:03d}Z"


def _epoch(moment: datetime) -> float:
    return (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment).timestamp()


class RecordedExecution(PipelineExecution):
    """A pipeline execution with the history AWS reports (see ``record_execution``)."""

    def __init__(
        self,
        pipeline: CodePipeline,
        *,
        execution_id: str,
        status: str,
        start_time: datetime,
        last_update_time: datetime,
        revision: dict[str, Any],
        trigger: dict[str, str],
        stages: list[StageRun],
        execution_mode: str,
        rollback_metadata: Mapping[str, str] | None,
        source_variables: dict[str, str],
        pipeline_version: int,
        status_summary: str | None,
        source_action: str,
    ) -> None:
        super().__init__(pipeline.pipeline["name"], pipeline_version, None)
        self.pipeline_execution_id = execution_id
        self.status = status
        self.status_summary = status_summary
        self.start_time = _naive(start_time)
        self.last_update_time = _naive(last_update_time)
        self.revision = revision
        self.trigger = trigger
        self.stages = stages
        self.execution_mode = execution_mode
        self.rollback_metadata = dict(rollback_metadata) if rollback_metadata else None
        self.source_variables = source_variables
        self.source_action = source_action
        self.arn = pipeline._arn

    def _common(self) -> dict[str, Any]:
        common: dict[str, Any] = {
            "pipelineExecutionId": self.pipeline_execution_id,
            "status": self.status,
            "trigger": dict(self.trigger),
            "executionMode": self.execution_mode,
            "executionType": "ROLLBACK" if self.rollback_metadata else "STANDARD",
        }
        if self.status_summary is not None:
            common["statusSummary"] = self.status_summary
        if self.rollback_metadata:
            common["rollbackMetadata"] = dict(self.rollback_metadata)
        return common

    def to_dict(self) -> dict[str, Any]:
        """GetPipelineExecution's ``pipelineExecution``."""
        artifact = {key: value for key, value in self.revision.items() if key != "actionName"}
        return {
            "pipelineName": self.pipeline_name,
            "pipelineVersion": self.pipeline_version,
            **self._common(),
            "artifactRevisions": [artifact],
            "variables": [],
        }

    def to_summary_dict(self) -> dict[str, Any]:
        """A ListPipelineExecutions summary."""
        source = {key: value for key, value in self.revision.items() if key not in ("name", "created")}
        return {
            **self._common(),
            "startTime": _epoch(self.start_time),
            "lastUpdateTime": _epoch(self.last_update_time),
            "sourceRevisions": [source],
        }

    def succeeded_in(self, stage: str) -> bool:
        return any(run.name == stage and run.state == "SUCCEEDED" for run in self.stages)

    def stage_times(self) -> list[tuple[StageRun, datetime, datetime]]:
        """Each stage with its start and end: given ones, else the execution's time split evenly."""
        start, end = self.start_time, self.last_update_time
        step = (end - start) / max(len(self.stages), 1)
        timed = []
        for index, run in enumerate(self.stages):
            begin = _naive(run.start_time) if run.start_time else start + step * index
            finish = _naive(run.end_time) if run.end_time else start + step * (index + 1)
            timed.append((run, begin, finish))
        return timed

    def action_details(self) -> list[dict[str, Any]]:
        """ListActionExecutions' entries: one action per stage, newest first."""
        details = []
        for index, (run, begin, finish) in enumerate(self.stage_times()):
            source = index == 0
            category, owner, provider = _ACTION_TYPES.get(run.name, ("Deploy", "AWS", "CloudFormation"))
            if source:
                category, owner, provider = _ACTION_TYPES["Source"]
            output: dict[str, Any] = {"outputArtifacts": [], "outputVariables": {}}
            if source:
                output["outputArtifacts"] = [{"name": self.revision.get("name", "SourceArtifact")}]
                output["outputVariables"] = dict(self.source_variables)
            details.append(
                {
                    "pipelineExecutionId": self.pipeline_execution_id,
                    "actionExecutionId": f"{self.pipeline_execution_id[:8]}-{index:04d}",
                    "pipelineVersion": self.pipeline_version,
                    "stageName": run.name,
                    "actionName": self.source_action if source else run.name,
                    "startTime": _epoch(begin),
                    "lastUpdateTime": _epoch(finish if run.state != "STARTED" else begin),
                    "status": _ACTION_STATUSES.get(run.state, "Abandoned"),
                    "input": {
                        "actionTypeId": {
                            "category": category,
                            "owner": owner,
                            "provider": provider,
                            "version": "1",
                        },
                        "configuration": {},
                        "resolvedConfiguration": {},
                        "inputArtifacts": [],
                    },
                    "output": output,
                }
            )
        details.reverse()
        return details


def _backend(account_id: str, region: str) -> CodePipelineBackend:
    return codepipeline_backends[account_id][region]


def ensure_pipeline(
    account_id: str, region: str, pipeline_name: str, *, stages: Sequence[str] = DEFAULT_STAGES
) -> CodePipeline:
    """The pipeline, created (V2, ``SUPERSEDED`` mode, one action per stage) if it does not exist."""
    backend = _backend(account_id, region)
    if pipeline_name not in backend.pipelines:
        if len(stages) < 2:
            raise LocalCloudError("a pipeline has at least 2 stages")
        definition = {
            "name": pipeline_name,
            "roleArn": f"arn:{get_partition(region)}:iam::{account_id}:role/{pipeline_name}-pipeline",
            "artifactStore": {"type": "S3", "location": f"{pipeline_name}-artifacts"},
            "pipelineType": "V2",
            "executionMode": "SUPERSEDED",
            "stages": [_stage_definition(name, first=index == 0) for index, name in enumerate(stages)],
        }
        backend.pipelines[pipeline_name] = CodePipeline(account_id, region, definition)
    return backend.pipelines[pipeline_name]


def _stage_definition(name: str, *, first: bool) -> dict[str, Any]:
    category, owner, provider = _ACTION_TYPES.get(name, ("Deploy", "AWS", "CloudFormation"))
    if first:
        category, owner, provider = _ACTION_TYPES["Source"]
    action: dict[str, Any] = {
        "name": name,
        "actionTypeId": {"category": category, "owner": owner, "provider": provider, "version": "1"},
    }
    if first:
        action["outputArtifacts"] = [{"name": "SourceArtifact"}]
    return {"name": name, "actions": [action]}


def record_execution(
    account_id: str,
    region: str,
    pipeline_name: str,
    *,
    execution_id: str,
    status: str,
    revision_id: str,
    revision_url: str | None = None,
    revision_summary: str | None = None,
    trigger_type: str = "Webhook",
    trigger_detail: str = "",
    branch: str | None = None,
    repository: str | None = None,
    start_time: datetime | None = None,
    last_update_time: datetime | None = None,
    rollback_metadata: Mapping[str, str] | None = None,
    stages: Sequence[StageRun | str] | None = None,
    execution_mode: str | None = None,
    status_summary: str | None = None,
    pipeline_version: int | None = None,
    source_action: str = "Source",
    artifact_name: str = "SourceArtifact",
) -> RecordedExecution:
    """Store one execution of ``pipeline_name`` as AWS would report it, and return it.

    ``status``: ``Succeeded``, ``Failed``, ``InProgress``, ``Stopped``, ``Cancelled``, ``Superseded``
    (or the events' ``SUCCEEDED``...). ``start_time`` defaults to now, ``last_update_time`` to
    ``start_time`` + 5 minutes. ``stages`` (names or ``StageRun``) default to the pipeline's stages, all
    ``SUCCEEDED`` for a successful execution; for a failed one the last stage is ``FAILED``.
    ``rollback_metadata`` (``{"rollbackTargetPipelineExecutionId": ...}``) makes it a ``ROLLBACK``.
    ``branch`` and ``repository`` (``owner/name``) go to the source action's output variables and the
    webhook trigger of the events.
    """
    api_status = _status(status)
    pipeline = ensure_pipeline(account_id, region, pipeline_name)
    started = to_datetime(start_time) if start_time is not None else now()
    updated = (
        to_datetime(last_update_time) if last_update_time is not None else started + timedelta(minutes=5)
    )
    if updated < started:
        raise LocalCloudError(f"execution {execution_id}: last_update_time is before start_time")
    revision: dict[str, Any] = {
        "name": artifact_name,
        "actionName": source_action,
        "revisionId": revision_id,
        "created": _epoch(started),
    }
    if revision_summary is not None:
        revision["revisionSummary"] = revision_summary
    if revision_url is not None:
        revision["revisionUrl"] = revision_url
    variables = {"CommitId": revision_id}
    if branch is not None:
        variables["BranchName"] = branch
    if repository is not None:
        variables["FullRepositoryName"] = repository
    message = _commit_message(revision_summary)
    if message is not None:
        variables["CommitMessage"] = message
    if trigger_detail.startswith("arn:") and ":connection/" in trigger_detail:
        variables["ConnectionArn"] = trigger_detail
    execution = RecordedExecution(
        pipeline,
        execution_id=execution_id,
        status=api_status,
        start_time=started,
        last_update_time=updated,
        revision=revision,
        trigger={"triggerType": trigger_type, "triggerDetail": trigger_detail},
        stages=_stage_runs(pipeline, stages, api_status),
        execution_mode=execution_mode or str(pipeline.pipeline.get("executionMode", "SUPERSEDED")),
        rollback_metadata=rollback_metadata,
        source_variables=variables,
        pipeline_version=pipeline_version
        if pipeline_version is not None
        else int(pipeline.pipeline["version"]),
        status_summary=status_summary,
        source_action=source_action,
    )
    pipeline.executions.pop(execution_id, None)
    pipeline.executions[execution_id] = execution
    return execution


def _commit_message(revision_summary: str | None) -> str | None:
    """The commit message of a revision summary: CodeStar connections write ``{"CommitMessage": ...}``."""
    if revision_summary is None:
        return None
    try:
        summary = json.loads(revision_summary)
    except ValueError:
        return revision_summary
    if isinstance(summary, dict) and "CommitMessage" in summary:
        return str(summary["CommitMessage"])
    return revision_summary


def _stage_runs(
    pipeline: CodePipeline, stages: Sequence[StageRun | str] | None, status: str
) -> list[StageRun]:
    if stages is not None:
        return [run if isinstance(run, StageRun) else StageRun(run) for run in stages]
    names = [str(stage["name"]) for stage in pipeline.pipeline["stages"]]
    if status == "Succeeded":
        return [StageRun(name) for name in names]
    if status == "InProgress":
        return [StageRun(name) for name in names[:-1]] + [StageRun(names[-1], "STARTED")]
    return [StageRun(name) for name in names[:-1]] + [StageRun(names[-1], EVENT_STATES[status])]


def event_details(
    execution: RecordedExecution, *, attempt: int = 1
) -> list[tuple[str, datetime, dict[str, Any]]]:
    """The (detail-type, time, detail) of every event the execution emits, in order.

    Pipeline events: ``{"pipeline", "execution-id", "start-time", "state", "version",
    "pipeline-execution-attempt"}``, plus ``execution-trigger`` on ``STARTED`` (``trigger-type``,
    ``trigger-detail``, and for webhook triggers with a branch ``branch-name``, ``commit-id``,
    ``commit-message``, ``full-repository-name``, ``provider-type``, ``connection-arn`` when known).
    Stage events: the same without ``execution-trigger``, with ``stage``.
    """
    base = {
        "pipeline": execution.pipeline_name,
        "execution-id": execution.pipeline_execution_id,
        "start-time": _iso(execution.start_time),
        "version": execution.pipeline_version,
        "pipeline-execution-attempt": attempt,
    }
    started = {**base, "state": "STARTED", "execution-trigger": _event_trigger(execution)}
    events: list[tuple[str, datetime, dict[str, Any]]] = [(PIPELINE_EVENT, execution.start_time, started)]
    for run, begin, finish in execution.stage_times():
        events.append((STAGE_EVENT, begin, {**base, "stage": run.name, "state": "STARTED"}))
        if run.state != "STARTED":
            events.append((STAGE_EVENT, finish, {**base, "stage": run.name, "state": run.state}))
    final = EVENT_STATES[execution.status]
    if final != "STARTED":
        events.append((PIPELINE_EVENT, execution.last_update_time, {**base, "state": final}))
    return events


def _event_trigger(execution: RecordedExecution) -> dict[str, str]:
    trigger = {
        "trigger-type": execution.trigger["triggerType"],
        "trigger-detail": execution.trigger["triggerDetail"],
    }
    variables = execution.source_variables
    if execution.trigger["triggerType"] in ("Webhook", "WebhookV2") and "BranchName" in variables:
        trigger["branch-name"] = variables["BranchName"]
        trigger["commit-id"] = variables["CommitId"]
        if "CommitMessage" in variables:
            trigger["commit-message"] = variables["CommitMessage"]
        if "FullRepositoryName" in variables:
            trigger["full-repository-name"] = variables["FullRepositoryName"]
            trigger["provider-type"] = "GitHub"
        if "ConnectionArn" in variables:
            trigger["connection-arn"] = variables["ConnectionArn"]
    return trigger


def run_execution(
    account_id: str, region: str, pipeline_name: str, *, attempt: int = 1, **execution: Any
) -> RecordedExecution:
    """``record_execution(...)`` (same keywords), then put its events on the default bus in order."""
    recorded = record_execution(account_id, region, pipeline_name, **execution)
    for detail_type, moment, detail in event_details(recorded, attempt=attempt):
        put_event(
            account_id,
            region,
            source=SOURCE,
            detail_type=detail_type,
            detail=detail,
            resources=[recorded.arn],
            time=moment.replace(tzinfo=UTC),
        )
    return recorded


# -- the API operations moto lacks or serves partially ------------------------------------------------


def _page(
    response: CodePipelineResponse, items: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], str | None]:
    params = json.loads(response.body or "{}")
    size = int(params.get("maxResults") or MAX_RESULTS)
    if not 1 <= size <= MAX_RESULTS:
        raise _ValidationError(f"maxResults must be between 1 and {MAX_RESULTS}")
    keyed = {key: value for key, value in params.items() if key not in ("nextToken", "maxResults")}
    keyed["NextToken"] = params.get("nextToken")
    return paginate(items, keyed, page_size=size)


def _succeeded_in(run: PipelineExecution, stage: str, names: set[str]) -> bool:
    if isinstance(run, RecordedExecution):
        return run.succeeded_in(stage)
    return run.status == "Succeeded" and stage in names  # moto's own executions succeed at once


def list_pipeline_executions(self: CodePipelineResponse) -> str:
    name = self._get_param("pipelineName")
    self.codepipeline_backend.get_pipeline(name)  # PipelineNotFoundException
    pipeline = self.codepipeline_backend.pipelines[name]
    executions = sorted(pipeline.executions.values(), key=lambda run: run.start_time, reverse=True)
    stage = (self._get_param("filter") or {}).get("succeededInStage", {}).get("stageName")
    if stage is not None:
        names = {str(item["name"]) for item in pipeline.pipeline["stages"]}
        executions = [run for run in executions if _succeeded_in(run, stage, names)]
    page, token = _page(self, [run.to_summary_dict() for run in executions])
    body: dict[str, Any] = {"pipelineExecutionSummaries": page}
    if token is not None:
        body["nextToken"] = token
    return json.dumps(body)


def list_action_executions(self: CodePipelineResponse) -> str:
    name = self._get_param("pipelineName")
    self.codepipeline_backend.get_pipeline(name)  # PipelineNotFoundException
    pipeline = self.codepipeline_backend.pipelines[name]
    wanted = (self._get_param("filter") or {}).get("pipelineExecutionId")
    executions = sorted(pipeline.executions.values(), key=lambda run: run.start_time, reverse=True)
    if wanted is not None:
        executions = [run for run in executions if run.pipeline_execution_id == wanted]
        if not executions:
            raise PipelineExecutionNotFoundException(
                f"Pipeline execution {wanted} does not exist in pipeline {name}"
            )
    details = [
        detail for run in executions if isinstance(run, RecordedExecution) for detail in run.action_details()
    ]
    page, token = _page(self, details)
    body: dict[str, Any] = {"actionExecutionDetails": page}
    if token is not None:
        body["nextToken"] = token
    return json.dumps(body)


@contextmanager
def extend() -> Iterator[None]:
    """Serve the complete ListPipelineExecutions and ListActionExecutions from moto for the block."""
    operations = {
        "list_pipeline_executions": list_pipeline_executions,
        "list_action_executions": list_action_executions,
    }
    with ExitStack() as stack:
        for name, operation in operations.items():
            stack.enter_context(mock.patch.object(CodePipelineResponse, name, operation, create=True))
        yield
