"""The changes of a deployment: the commits new since the previous deployment of the same service.

Sources, in order: stored GitHub push webhooks, walked back from the deployed commit by ``after`` ->
``before`` until the previous deployment's commit; the GitHub compare API (paginated) when a push is
missing, forced or truncated. A rollback, a redeploy of the same commit and the first deployment of a
service bring no changes (the first may bring its head commit only, behind a flag). Pure: the sources
are a port.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from blueprints.dora.model import Change, ChangeSource, ChangesStatus, Deployment, Push

MAX_PUSH_STEPS = 200  # a longer chain of pushes is left to the compare API


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    author_time: datetime | None
    committer_time: datetime | None
    message: str = ""


@dataclass(frozen=True)
class Comparison:
    """GitHub's compare: ``status`` (ahead, behind, diverged, identical) and the commits ahead."""

    status: str
    commits: tuple[CommitInfo, ...]


@dataclass(frozen=True)
class PullRequestInfo:
    number: int
    first_commit_time: datetime | None


class ChangeSources(Protocol):
    def push_after(self, repo: str, sha: str) -> Push | None: ...
    def compare(self, repo: str, base: str, head: str) -> Comparison: ...
    def commit(self, repo: str, sha: str) -> CommitInfo: ...
    def pull_request_of(self, repo: str, sha: str) -> PullRequestInfo | None: ...


@dataclass(frozen=True)
class ResolveOptions:
    first_deploy_samples: Literal["none", "head_only"] = "none"
    commit_time: Literal["author", "committer"] = "author"
    lead_time_mode: Literal["commit", "pr"] = "commit"


@dataclass(frozen=True)
class Resolution:
    status: ChangesStatus
    source: ChangeSource
    changes: tuple[Change, ...]
    base: str | None  # execution id of the previous deployment
    first: bool
    head_message: str = ""
    reason: str = ""


def walk_pushes(
    repo: str, base: str, head: str, sources: ChangeSources, max_steps: int = MAX_PUSH_STEPS
) -> list[CommitInfo] | None:
    """The commits from ``base`` (excluded) to ``head``, oldest first, from pushes; None on a gap."""
    collected: list[CommitInfo] = []
    sha = head
    for _ in range(max_steps):
        if sha == base:
            return collected
        push = sources.push_after(repo, sha)
        if push is None or not push.walkable:
            return None
        commits = [CommitInfo(c.sha, c.timestamp, None, c.message) for c in push.commits]
        shas = [commit.sha for commit in commits]
        if base in shas:  # the previous deployment's commit is inside this push
            return commits[shas.index(base) + 1 :] + collected
        if not commits or commits[-1].sha != push.after:
            return None
        collected = commits + collected
        sha = push.before
    return None


def _to_changes(
    commits: Sequence[CommitInfo], repo: str, sources: ChangeSources, options: ResolveOptions
) -> tuple[Change, ...]:
    pulls: dict[str, PullRequestInfo | None] = {}
    changes = []
    for commit in commits:
        pull = None
        if options.lead_time_mode == "pr":
            pull = pulls.setdefault(commit.sha, sources.pull_request_of(repo, commit.sha))
        changes.append(
            Change(
                sha=commit.sha,
                author_time=commit.author_time,
                committer_time=commit.committer_time,
                pr_number=pull.number if pull else None,
                pr_first_commit_time=pull.first_commit_time if pull else None,
            )
        )
    return tuple(changes)


def resolve(
    deployment: Deployment,
    previous: Deployment | None,
    sources: ChangeSources,
    options: ResolveOptions,
) -> Resolution:
    """The changes ``deployment`` brought since ``previous`` (the service's deployment before it)."""
    base = previous.execution_id if previous else None
    message = deployment.head_message

    def nothing(reason: str = "") -> Resolution:
        return Resolution(
            ChangesStatus.RESOLVED, ChangeSource.NONE, (), base, previous is None, message, reason
        )

    if deployment.rollback:
        return nothing("a rollback redeploys an earlier revision")
    repo, sha = deployment.repo, deployment.sha
    if repo is None or sha is None:
        return nothing("the deployment carries no commit (a manual release?)")
    if previous is None:
        if options.first_deploy_samples == "none":
            return nothing("first deployment of the service")
        head = sources.commit(repo, sha)
        changes = _to_changes([head], repo, sources, options)
        first_message = message or head.message
        return Resolution(ChangesStatus.RESOLVED, ChangeSource.TRIGGER, changes, None, True, first_message)
    if previous.sha == sha:
        return nothing("same commit as the previous deployment")
    if previous.sha is None or previous.repo != repo:
        return nothing("the previous deployment has no commit of this repository")
    commits = None if options.commit_time == "committer" else walk_pushes(repo, previous.sha, sha, sources)
    source = ChangeSource.PUSHES
    if commits is None:
        comparison = sources.compare(repo, previous.sha, sha)
        source = ChangeSource.COMPARE
        commits = list(comparison.commits) if comparison.status in ("ahead", "diverged") else []
    head_message = message or next((c.message for c in commits if c.sha == sha), "")
    changes = _to_changes(commits, repo, sources, options)
    return Resolution(ChangesStatus.RESOLVED, source, changes, base, False, head_message)
