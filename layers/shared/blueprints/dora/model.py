"""The facts the blueprint stores and the metrics derive from (plain, immutable values).

A fact is written once per natural key (a deployment per pipeline ARN and execution id, an incident per
OpsItem id, a push per repository and ``after`` commit); what is derived from facts (changes of a
deployment, incident links, failures, recovery, rework) is recomputed from them, never accumulated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

RESOLVED = "Resolved"
ROLLBACK_TRIGGERS = frozenset({"ManualRollback", "AutomatedRollback"})


class ChangesStatus(StrEnum):
    PENDING = "PENDING"  # not resolved yet (or to be resolved again: a deployment was inserted before it)
    RESOLVED = "RESOLVED"
    FAILED = "FAILED"  # the commits could not be found (reason kept); the deployment still counts


class ChangeSource(StrEnum):
    NONE = "none"  # first deployment, rollback or same commit: nothing new
    PUSHES = "pushes"  # walked through stored push webhooks
    COMPARE = "compare"  # the GitHub compare API
    TRIGGER = "trigger"  # head commit only (first deployment with FIRST_DEPLOY_SAMPLES=head_only)


@dataclass(frozen=True)
class Change:
    """One commit that a deployment brought to production for the first time."""

    sha: str
    author_time: datetime | None
    committer_time: datetime | None
    pr_number: int | None = None
    pr_first_commit_time: datetime | None = None


@dataclass(frozen=True)
class Deployment:
    """A production deployment: one pipeline execution whose production stage succeeded."""

    pipeline_arn: str
    execution_id: str
    service: str
    deploy_time: datetime
    sha: str | None = None
    repo: str | None = None
    branch: str | None = None
    trigger_type: str | None = None
    rollback: bool = False
    references: frozenset[str] = frozenset()  # OpsItem ids named by a hotfix branch or the head commit
    revert: bool = False
    head_message: str = ""
    account: str = ""
    region: str = ""
    changes: tuple[Change, ...] | None = None  # None until resolved
    changes_status: ChangesStatus = ChangesStatus.PENDING
    changes_base: str | None = None  # execution id of the deployment the changes were compared against
    first: bool = False  # no earlier deployment of the service when the changes were resolved

    @property
    def order(self) -> tuple[datetime, str]:
        """Total order of a service's deployments (deploy time, then execution id)."""
        return (self.deploy_time, self.execution_id)


@dataclass(frozen=True)
class Incident:
    """An OpsCenter OpsItem, with the times that failure and recovery derive from."""

    ops_item_id: str
    created: datetime
    service: str | None = None
    title: str = ""
    source: str = ""
    category: str = ""
    severity: str = ""
    status: str = ""
    actual_start: datetime | None = None
    actual_end: datetime | None = None
    resolved_time: datetime | None = None  # when an update set it Resolved (if no ActualEndTime)
    deployment_ref: str | None = None  # OperationalData /dora/deployment (execution id or commit)
    qualifying: bool = True
    last_modified: datetime | None = None

    @property
    def failure_start(self) -> datetime:
        return self.actual_start or self.created

    @property
    def resolved_at(self) -> datetime | None:
        if self.actual_end is not None:
            return self.actual_end
        return self.resolved_time if self.status == RESOLVED else None


@dataclass(frozen=True)
class PushCommit:
    sha: str
    timestamp: datetime  # the author time GitHub puts in push payloads, with its offset, in UTC
    message: str = ""


@dataclass(frozen=True)
class Push:
    """A GitHub push webhook: the commits between ``before`` and ``after`` on ``ref``."""

    repo: str
    ref: str
    before: str
    after: str
    commits: tuple[PushCommit, ...] = field(default_factory=tuple)
    forced: bool = False
    truncated: bool = False  # GitHub caps ``commits`` at 2048: a full list may be longer

    @property
    def walkable(self) -> bool:
        """Whether ``commits`` are exactly the commits from ``before`` (excluded) to ``after``."""
        return not self.forced and not self.truncated and set(self.before) != {"0"}
