"""CodePipeline adapter: pipeline definitions, execution details and execution history.

``execution`` reads GetPipelineExecution (status, source revision, trigger, rollback type) and
ListActionExecutions for the same execution (the source action's output variables name the branch,
repository and commit message; each stage's actions tell whether the stage succeeded in *this*
execution, and when). GetPipelineState is never used: it describes the latest execution only.
Definitions are cached per container for a few minutes.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from blueprints.dora.accounts import AccountClients
from blueprints.dora.detect import ExecutionDetails, PipelineDefinition, repo_from_url
from blueprints.dora.errors import SourceNotFoundError, SourceUnavailableError

DEFINITION_TTL_SECONDS = 300
COMMIT = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")
NOT_FOUND = {"PipelineNotFoundException", "PipelineExecutionNotFoundException", "ResourceNotFoundException"}
THROTTLED = {"ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded", "ServiceUnavailable"}


@dataclass(frozen=True)
class ExecutionSummary:
    execution_id: str
    status: str
    start_time: datetime | None
    last_update_time: datetime | None


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC)
    return None


def _typed(exc: ClientError | BotoCoreError, what: str) -> Exception:
    if isinstance(exc, BotoCoreError):
        return SourceUnavailableError(f"{what}: {type(exc).__name__}")
    code = exc.response.get("Error", {}).get("Code", "")
    if code in NOT_FOUND:
        return SourceNotFoundError(f"{what}: {code}")
    if code in THROTTLED or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
        return SourceUnavailableError(f"{what}: {code}")
    return SourceNotFoundError(f"{what}: {code} {exc.response.get('Error', {}).get('Message', '')}".strip())


def _message(summary: str | None) -> str | None:
    """A revision summary's commit message (CodeStar connections write a JSON ``CommitMessage``)."""
    if not summary:
        return None
    try:
        parsed = json.loads(summary)
    except ValueError:
        return summary
    if isinstance(parsed, dict) and "CommitMessage" in parsed:
        return str(parsed["CommitMessage"])
    return summary


class CodePipelineReader:
    def __init__(self, clients: AccountClients, clock: Callable[[], float] = time.monotonic) -> None:
        self.clients = clients
        self._clock = clock
        self._definitions: dict[tuple[str, str, str], tuple[PipelineDefinition, float]] = {}

    def _client(self, account: str, region: str) -> Any:
        return self.clients.client("codepipeline", account, region)

    def definition(self, account: str, region: str, name: str) -> PipelineDefinition:
        key = (account, region, name)
        cached = self._definitions.get(key)
        if cached is not None and cached[1] > self._clock():
            return cached[0]
        try:
            pipeline = self._client(account, region).get_pipeline(name=name)["pipeline"]
        except (ClientError, BotoCoreError) as exc:
            raise _typed(exc, f"GetPipeline {name}") from exc
        stages = pipeline.get("stages", [])
        repo = branch = None
        for stage in stages:
            for action in stage.get("actions", []):
                if action.get("actionTypeId", {}).get("category") != "Source":
                    continue
                configuration = action.get("configuration", {})
                repo = repo or configuration.get("FullRepositoryId") or _owner_repo(configuration)
                branch = branch or configuration.get("BranchName") or configuration.get("Branch")
        found = PipelineDefinition(name, tuple(str(stage["name"]) for stage in stages), repo, branch)
        self._definitions[key] = (found, self._clock() + DEFINITION_TTL_SECONDS)
        return found

    def execution(self, account: str, region: str, name: str, execution_id: str) -> ExecutionDetails:
        client = self._client(account, region)
        try:
            execution = client.get_pipeline_execution(pipelineName=name, pipelineExecutionId=execution_id)[
                "pipelineExecution"
            ]
        except (ClientError, BotoCoreError) as exc:
            raise _typed(exc, f"GetPipelineExecution {name} {execution_id}") from exc
        revisions = execution.get("artifactRevisions", [])
        revision = revisions[0] if revisions else {}
        revision_id = str(revision.get("revisionId", ""))
        actions = self._actions(client, name, execution_id)
        variables = _source_variables(actions)
        commit = variables.get("CommitId") or revision_id
        return ExecutionDetails(
            execution_id=execution_id,
            status=str(execution.get("status", "")),
            sha=commit if COMMIT.match(commit or "") else None,
            repo=variables.get("FullRepositoryName") or repo_from_url(revision.get("revisionUrl")),
            branch=variables.get("BranchName"),
            commit_message=variables.get("CommitMessage") or _message(revision.get("revisionSummary")),
            trigger_type=execution.get("trigger", {}).get("triggerType"),
            rollback=execution.get("executionType") == "ROLLBACK",
            stage_succeeded_at=_stage_successes(actions),
            last_update_time=_when(execution.get("lastUpdateTime")),
        )

    def _actions(self, client: Any, name: str, execution_id: str) -> list[dict[str, Any]]:
        actions: list[dict[str, Any]] = []
        request: dict[str, Any] = {"pipelineName": name, "filter": {"pipelineExecutionId": execution_id}}
        try:
            while True:
                page = client.list_action_executions(**request)
                actions.extend(page.get("actionExecutionDetails", []))
                if not page.get("nextToken"):
                    return actions
                request["nextToken"] = page["nextToken"]
        except (ClientError, BotoCoreError) as exc:
            raise _typed(exc, f"ListActionExecutions {name} {execution_id}") from exc

    def executions(self, account: str, region: str, name: str) -> Iterator[ExecutionSummary]:
        """The pipeline's executions, newest first (paginated lazily)."""
        client = self._client(account, region)
        request: dict[str, Any] = {"pipelineName": name, "maxResults": 100}
        while True:
            try:
                page = client.list_pipeline_executions(**request)
            except (ClientError, BotoCoreError) as exc:
                raise _typed(exc, f"ListPipelineExecutions {name}") from exc
            for summary in page.get("pipelineExecutionSummaries", []):
                yield ExecutionSummary(
                    execution_id=str(summary["pipelineExecutionId"]),
                    status=str(summary.get("status", "")),
                    start_time=_when(summary.get("startTime")),
                    last_update_time=_when(summary.get("lastUpdateTime")),
                )
            if not page.get("nextToken"):
                return
            request["nextToken"] = page["nextToken"]


def _owner_repo(configuration: dict[str, Any]) -> str | None:
    owner, repo = configuration.get("Owner"), configuration.get("Repo")
    return f"{owner}/{repo}" if owner and repo else None


def _source_variables(actions: list[dict[str, Any]]) -> dict[str, str]:
    for action in actions:
        if action.get("input", {}).get("actionTypeId", {}).get("category") == "Source":
            variables = action.get("output", {}).get("outputVariables", {})
            return {str(key): str(value) for key, value in variables.items()}
    return {}


def _stage_successes(actions: list[dict[str, Any]]) -> dict[str, datetime]:
    """Stages whose every action's latest attempt succeeded, with the last success time."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for action in actions:
        key = (str(action.get("stageName")), str(action.get("actionName")))
        started = _when(action.get("startTime")) or datetime.min.replace(tzinfo=UTC)
        known = latest.get(key)
        if known is None or started >= (_when(known.get("startTime")) or datetime.min.replace(tzinfo=UTC)):
            latest[key] = action
    stages: dict[str, list[dict[str, Any]]] = {}
    for (stage, _), action in latest.items():
        stages.setdefault(stage, []).append(action)
    successes = {}
    for stage, stage_actions in stages.items():
        times = [_when(action.get("lastUpdateTime")) for action in stage_actions]
        if all(action.get("status") == "Succeeded" for action in stage_actions) and all(times):
            successes[stage] = max(t for t in times if t is not None)
    return successes
