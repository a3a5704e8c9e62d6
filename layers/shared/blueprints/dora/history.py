"""What a service's facts mean: lead-time samples, incident links, failures, recovery and rework.

``analyse`` is a pure function of the service's deployments and incidents, whatever order they were
stored in, so a late fact (an incident linked after the fact, a deployment arriving after its successor)
changes the result exactly as if it had arrived in time. Definitions (docs/blueprints/dora.md):

- lead time: one sample per change, deploy time - commit time, > 0 only (the others are "skewed"); a
  commit counts for the first deployment that brought it (a forward deploy after a rollback does not count
  the rolled-back commits again); rollbacks have no samples;
- incident link, first rule that applies: OperationalData ``/dora/deployment`` (an execution id, or a
  commit whose deployment is taken); a deployment naming the OpsItem (hotfix) — the failed deployment is
  then the latest one before both the incident's start and that hotfix; else the latest deployment at
  or before the incident's start (heuristic);
- failed deployment: linked to ≥ 1 qualifying incident, or rolled back (followed by a rollback that
  redeploys an earlier revision);
- recovery: per failed deployment, from the earliest incident start (or the deployment itself for a
  rollback without incident) to when every linked incident recovered — each at the earliest of its
  resolution, the next deployment naming it, or the rollback; a negative duration is flagged, not kept;
- rework: rollbacks, reverts, and deployments naming a qualifying incident of the service.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from blueprints.dora.model import Deployment, Incident

LinkMethod = Literal["explicit", "hotfix", "heuristic"]
RecoveryKind = Literal["resolved", "hotfix", "rollback"]


@dataclass(frozen=True)
class AnalysisOptions:
    commit_time: Literal["author", "committer"] = "author"
    lead_time_mode: Literal["commit", "pr"] = "commit"


@dataclass(frozen=True)
class Link:
    incident_id: str
    execution_id: str
    method: LinkMethod

    @property
    def confidence(self) -> str:
        return "low" if self.method == "heuristic" else "high"


@dataclass(frozen=True)
class Failure:
    incidents: tuple[str, ...]
    rolled_back_by: str | None
    start: datetime
    recovered_at: datetime | None
    recovery_kind: RecoveryKind | None
    skewed: bool  # recovery before the failure start: flagged and excluded

    @property
    def recovery_seconds(self) -> float | None:
        if self.recovered_at is None or self.skewed:
            return None
        return (self.recovered_at - self.start).total_seconds()


@dataclass(frozen=True)
class DeploymentView:
    deployment: Deployment
    lead_samples: tuple[float, ...] = ()
    skewed: int = 0
    failure: Failure | None = None
    rework: str | None = None  # rollback, revert or hotfix

    @property
    def time(self) -> datetime:
        return self.deployment.deploy_time


@dataclass(frozen=True)
class History:
    service: str
    deployments: tuple[DeploymentView, ...]
    links: tuple[Link, ...]
    unlinked: tuple[str, ...]  # qualifying incidents of the service that no rule links
    times: tuple[datetime, ...] = field(default=(), repr=False)  # deploy times, ascending

    def between(self, start: datetime, end: datetime) -> Sequence[DeploymentView]:
        """Deployments with ``start <= deploy time < end``."""
        low = bisect.bisect_left(self.times, start)
        high = bisect.bisect_left(self.times, end)
        return self.deployments[low:high]


def _lead_samples(
    ordered: Sequence[Deployment], options: AnalysisOptions
) -> dict[str, tuple[tuple[float, ...], int]]:
    seen: set[tuple[str | None, str]] = set()
    pulls: set[tuple[str | None, int]] = set()
    found: dict[str, tuple[tuple[float, ...], int]] = {}
    for deployment in ordered:
        if deployment.rollback or not deployment.changes:
            continue
        new = [change for change in deployment.changes if (deployment.repo, change.sha) not in seen]
        seen.update((deployment.repo, change.sha) for change in deployment.changes)
        moments: list[datetime] = []
        for change in new:
            if options.lead_time_mode == "pr" and change.pr_number is not None:
                key = (deployment.repo, change.pr_number)
                if key in pulls:
                    continue
                pulls.add(key)
                moment = change.pr_first_commit_time or change.author_time
            else:
                moment = change.committer_time if options.commit_time == "committer" else change.author_time
            if moment is not None:
                moments.append(moment)
        seconds = [(deployment.deploy_time - moment).total_seconds() for moment in moments]
        found[deployment.execution_id] = (
            tuple(value for value in seconds if value > 0),
            sum(1 for value in seconds if value <= 0),
        )
    return found


def _latest_before(ordered: Sequence[Deployment], moment: datetime, *, inclusive: bool) -> Deployment | None:
    times = [deployment.deploy_time for deployment in ordered]
    index = (bisect.bisect_right if inclusive else bisect.bisect_left)(times, moment)
    return ordered[index - 1] if index > 0 else None


def link_incident(incident: Incident, ordered: Sequence[Deployment]) -> Link | None:
    """The deployment a qualifying incident is attributed to (see the module docstring)."""
    ref = incident.deployment_ref
    if ref:
        by_id = next((d for d in ordered if d.execution_id == ref), None)
        by_sha = [d for d in ordered if d.sha == ref]
        if by_id is None and by_sha:
            started = [d for d in by_sha if d.deploy_time <= incident.failure_start]
            by_id = started[-1] if started else by_sha[0]
        if by_id is not None:
            return Link(incident.ops_item_id, by_id.execution_id, "explicit")
    hotfixes = [d for d in ordered if incident.ops_item_id in d.references]
    if hotfixes:
        cutoff = min(incident.failure_start, hotfixes[0].deploy_time)
        candidates = [d for d in ordered if d not in hotfixes]
        culprit = _latest_before(candidates, cutoff, inclusive=False)
        if culprit is not None:
            return Link(incident.ops_item_id, culprit.execution_id, "hotfix")
        return None
    culprit = _latest_before(ordered, incident.failure_start, inclusive=True)
    return Link(incident.ops_item_id, culprit.execution_id, "heuristic") if culprit else None


def rolled_back(rollback: Deployment, earlier: Sequence[Deployment]) -> list[Deployment]:
    """The deployments a rollback undid: those after the last deployment of the revision it restores,
    or, when that revision's deployment is unknown, the one just before it."""
    target = next(
        (i for i in range(len(earlier) - 1, -1, -1) if rollback.sha and earlier[i].sha == rollback.sha), None
    )
    if target is None:
        previous = earlier[-1] if earlier else None
        return [previous] if previous is not None and previous.sha != rollback.sha else []
    return [d for d in earlier[target + 1 :] if d.sha != rollback.sha]


def _recover(
    deployment: Deployment,
    incidents: Sequence[Incident],
    rollback: Deployment | None,
    ordered: Sequence[Deployment],
) -> Failure:
    start = min((i.failure_start for i in incidents), default=deployment.deploy_time)
    recoveries: list[tuple[datetime, RecoveryKind] | None] = []
    for incident in incidents:
        candidates: list[tuple[datetime, RecoveryKind]] = []
        if incident.resolved_at is not None:
            candidates.append((incident.resolved_at, "resolved"))
        fix = next(
            (d for d in ordered if d.order > deployment.order and incident.ops_item_id in d.references), None
        )
        if fix is not None:
            candidates.append((fix.deploy_time, "hotfix"))
        if rollback is not None:
            candidates.append((rollback.deploy_time, "rollback"))
        recoveries.append(min(candidates, default=None))
    if not incidents and rollback is not None:
        recoveries.append((rollback.deploy_time, "rollback"))
    done = [recovery for recovery in recoveries if recovery is not None]
    recovered = max(done) if done and len(done) == len(recoveries) else None
    return Failure(
        incidents=tuple(i.ops_item_id for i in incidents),
        rolled_back_by=rollback.execution_id if rollback else None,
        start=start,
        recovered_at=recovered[0] if recovered else None,
        recovery_kind=recovered[1] if recovered else None,
        skewed=recovered is not None and recovered[0] < start,
    )


def analyse(
    service: str,
    deployments: Iterable[Deployment],
    incidents: Iterable[Incident],
    options: AnalysisOptions | None = None,
) -> History:
    """Everything the metrics of ``service`` derive from (order of the inputs does not matter)."""
    options = options or AnalysisOptions()
    ordered = sorted({d.execution_id: d for d in deployments if d.service == service}.values(), key=_order)
    qualifying = sorted(
        (i for i in incidents if i.service == service and i.qualifying), key=lambda i: i.ops_item_id
    )
    samples = _lead_samples(ordered, options)
    links = [link for link in (link_incident(i, ordered) for i in qualifying) if link is not None]
    linked_ids = {link.incident_id for link in links}
    by_incident = {incident.ops_item_id: incident for incident in qualifying}
    incidents_of: dict[str, list[Incident]] = {}
    for link in links:
        incidents_of.setdefault(link.execution_id, []).append(by_incident[link.incident_id])
    rollback_of: dict[str, Deployment] = {}
    for index, deployment in enumerate(ordered):
        if deployment.rollback:
            for undone in rolled_back(deployment, ordered[:index]):
                rollback_of.setdefault(undone.execution_id, deployment)
    views = []
    for deployment in ordered:
        failure = None
        linked = incidents_of.get(deployment.execution_id, [])
        rollback = rollback_of.get(deployment.execution_id)
        if linked or rollback is not None:
            failure = _recover(deployment, linked, rollback, ordered)
        lead, skewed = samples.get(deployment.execution_id, ((), 0))
        views.append(DeploymentView(deployment, lead, skewed, failure, _rework(deployment, set(by_incident))))
    return History(
        service=service,
        deployments=tuple(views),
        links=tuple(links),
        unlinked=tuple(i.ops_item_id for i in qualifying if i.ops_item_id not in linked_ids),
        times=tuple(d.deploy_time for d in ordered),
    )


def _order(deployment: Deployment) -> tuple[datetime, str]:
    return deployment.order


def _rework(deployment: Deployment, incident_ids: set[str]) -> str | None:
    if deployment.rollback:
        return "rollback"
    if deployment.revert:
        return "revert"
    if deployment.references & incident_ids:
        return "hotfix"
    return None
