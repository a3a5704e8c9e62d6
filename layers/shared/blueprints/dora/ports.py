"""What the services need from the outside world besides the fact store (adapters implement these)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Protocol

from blueprints.dora.changes import CommitInfo, Comparison, PullRequestInfo
from blueprints.dora.codepipeline import ExecutionSummary
from blueprints.dora.detect import ExecutionDetails, PipelineDefinition
from blueprints.dora.opscenter import OpsItem


class PipelineSource(Protocol):
    def definition(self, account: str, region: str, name: str) -> PipelineDefinition: ...
    def execution(self, account: str, region: str, name: str, execution_id: str) -> ExecutionDetails: ...
    def executions(self, account: str, region: str, name: str) -> Iterator[ExecutionSummary]: ...


class IncidentSource(Protocol):
    def get(self, account: str, region: str, ops_item_id: str) -> OpsItem: ...
    def created_since(self, account: str, region: str, since: datetime) -> Iterator[str]: ...


class RepositorySource(Protocol):
    def compare(self, repo: str, base: str, head: str) -> Comparison: ...
    def commit(self, repo: str, sha: str) -> CommitInfo: ...
    def pull_request_of(self, repo: str, sha: str) -> PullRequestInfo | None: ...
