"""Changes of a deployment: pushes walked back to the previous deployment, compare as the fallback."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from blueprints.dora.changes import (
    CommitInfo,
    Comparison,
    PullRequestInfo,
    ResolveOptions,
    resolve,
    walk_pushes,
)
from blueprints.dora.model import ChangeSource, ChangesStatus, Push, PushCommit
from tests.unit.dora.builders import REPO, at, deployment, sha


@dataclass
class Sources:
    """An in-memory ChangeSources: pushes by ``after``, one compare answer, PRs by commit."""

    pushes: dict[str, Push] = field(default_factory=dict)
    comparison: Comparison = field(default_factory=lambda: Comparison("identical", ()))
    pulls: dict[str, PullRequestInfo] = field(default_factory=dict)
    commits: dict[str, CommitInfo] = field(default_factory=dict)
    compared: list[tuple[str, str]] = field(default_factory=list)

    def push_after(self, repo: str, commit: str) -> Push | None:
        return self.pushes.get(commit)

    def compare(self, repo: str, base: str, head: str) -> Comparison:
        self.compared.append((base, head))
        return self.comparison

    def commit(self, repo: str, commit: str) -> CommitInfo:
        return self.commits[commit]

    def pull_request_of(self, repo: str, commit: str) -> PullRequestInfo | None:
        return self.pulls.get(commit)

    def add_push(self, before: str, commits: list[tuple[str, datetime]], **flags: bool) -> None:
        pushed = tuple(PushCommit(c, t, f"commit {c[-2:]}") for c, t in commits)
        self.pushes[commits[-1][0]] = Push(REPO, "refs/heads/main", before, commits[-1][0], pushed, **flags)


def test_commits_are_walked_across_pushes_back_to_the_previous_deployment() -> None:
    # Given two pushes after the commit of the previous deployment
    sources = Sources()
    sources.add_push(sha(0), [(sha(1), at("09:00")), (sha(2), at("11:00"))])
    sources.add_push(sha(2), [(sha(3), at("13:00"))])

    # When the deployment of sha 3 is resolved against the deployment of sha 0
    resolution = resolve(
        deployment("E2", at("14:00"), sha(3)),
        deployment("E1", at("08:00"), sha(0)),
        sources,
        ResolveOptions(),
    )

    # Then its changes are the three commits, oldest first, from the pushes
    assert [change.sha for change in resolution.changes] == [sha(1), sha(2), sha(3)]
    assert [change.author_time for change in resolution.changes] == [at("09:00"), at("11:00"), at("13:00")]
    assert (resolution.source, resolution.status, resolution.base, resolution.first) == (
        ChangeSource.PUSHES,
        ChangesStatus.RESOLVED,
        "E1",
        False,
    )
    assert sources.compared == []


def test_a_previous_commit_inside_a_push_cuts_the_push() -> None:
    sources = Sources()
    sources.add_push(sha(0), [(sha(1), at("09:00")), (sha(2), at("11:00")), (sha(3), at("13:00"))])
    commits = walk_pushes(REPO, sha(1), sha(3), sources)
    assert [commit.sha for commit in commits or []] == [sha(2), sha(3)]


def test_a_missing_forced_or_capped_push_falls_back_to_compare() -> None:
    for flags in ({}, {"forced": True}, {"truncated": True}):
        # Given a gap in the pushes (or a push that does not list exactly the new commits)
        sources = Sources(comparison=Comparison("ahead", (CommitInfo(sha(3), at("13:00"), at("13:30")),)))
        if flags:
            sources.add_push(sha(0), [(sha(3), at("13:00"))], **flags)

        # When the deployment is resolved
        resolution = resolve(
            deployment("E2", at("14:00"), sha(3)),
            deployment("E1", at("08:00"), sha(0)),
            sources,
            ResolveOptions(),
        )

        # Then the compare API gave the changes, with both commit times
        assert sources.compared == [(sha(0), sha(3))]
        assert resolution.source == ChangeSource.COMPARE
        assert [(c.sha, c.committer_time) for c in resolution.changes] == [(sha(3), at("13:30"))]


def test_a_push_whose_last_commit_is_not_its_head_breaks_the_walk() -> None:
    sources = Sources()
    sources.pushes[sha(3)] = Push(REPO, "refs/heads/main", sha(0), sha(3), (PushCommit(sha(2), at("11:00")),))
    assert walk_pushes(REPO, sha(0), sha(3), sources) is None
    assert walk_pushes(REPO, sha(0), sha(3), Sources(), max_steps=0) is None


def test_a_redeploy_a_rollback_and_a_deployment_behind_bring_no_changes() -> None:
    previous = deployment("E1", at("08:00"), sha(3))
    sources = Sources(comparison=Comparison("behind", ()))
    same = resolve(deployment("E2", at("14:00"), sha(3)), previous, sources, ResolveOptions())
    rollback = resolve(
        deployment("E3", at("15:00"), sha(1), rollback=True), previous, sources, ResolveOptions()
    )
    behind = resolve(deployment("E4", at("16:00"), sha(1)), previous, sources, ResolveOptions())
    assert [r.changes for r in (same, rollback, behind)] == [(), (), ()]
    assert (same.source, rollback.source, behind.source) == (
        ChangeSource.NONE,
        ChangeSource.NONE,
        ChangeSource.COMPARE,
    )


def test_the_first_deployment_attributes_no_history_unless_head_only_is_asked() -> None:
    # Given the first deployment ever of a service (test case 13)
    sources = Sources(commits={sha(3): CommitInfo(sha(3), at("13:00"), at("13:05"), "Initial import")})
    first = deployment("E1", at("14:00"), sha(3))

    none = resolve(first, None, sources, ResolveOptions())
    head = resolve(first, None, sources, ResolveOptions(first_deploy_samples="head_only"))

    assert (none.changes, none.first, none.reason) == ((), True, "first deployment of the service")
    assert [c.sha for c in head.changes] == [sha(3)]
    assert (head.source, head.head_message) == (ChangeSource.TRIGGER, "Initial import")


def test_no_commit_or_another_repository_gives_no_changes_with_a_reason() -> None:
    sources = Sources()
    manual = resolve(
        replace(deployment("E2", at("14:00")), sha=None),
        deployment("E1", at("08:00"), sha(0)),
        sources,
        ResolveOptions(),
    )
    other = replace(deployment("E1", at("08:00"), sha(0)), repo="example-org/other")
    moved = resolve(deployment("E2", at("14:00"), sha(3)), other, sources, ResolveOptions())
    assert manual.reason == "the deployment carries no commit (a manual release?)"
    assert moved.reason == "the previous deployment has no commit of this repository"


def test_committer_mode_reads_compare_and_pr_mode_adds_the_pull_request() -> None:
    sources = Sources(
        comparison=Comparison("ahead", (CommitInfo(sha(3), at("+1 10:00"), at("+1 10:00"), "Squash (#7)"),)),
        pulls={sha(3): PullRequestInfo(7, at("09:00"))},
    )
    sources.add_push(sha(0), [(sha(3), at("+1 10:00"))])
    resolution = resolve(
        deployment("E2", at("+1 11:00"), sha(3)),
        deployment("E1", at("08:00"), sha(0)),
        sources,
        ResolveOptions(commit_time="committer", lead_time_mode="pr"),
    )
    [change] = resolution.changes
    assert resolution.source == ChangeSource.COMPARE
    assert (change.pr_number, change.pr_first_commit_time) == (7, at("09:00"))
    assert resolution.head_message == "Squash (#7)"
