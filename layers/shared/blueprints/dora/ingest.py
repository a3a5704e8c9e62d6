"""Ingesting CodePipeline and OpsItem events into the fact store (and raw EMF data points).

A deployment is stored once per (pipeline ARN, execution id); only that first write publishes its
``Deployments`` data point. The rest (service, pointers, references, change resolution of it and of its
successor, since a deployment inserted before another changes what the later one brought) is idempotent
and done again on every delivery, so a retry completes a half-recorded deployment. An incident is
re-read from OpsCenter on every event, so the order of Create/Update events does not matter; a qualifying
incident no rule gives a service is listed under ``UNATTRIBUTED`` (``FactStore.unattributed``) and counted
(``UnattributedIncidents``). Every stored fact marks its service "dirty": the recompute state machine then
rebuilds that service's snapshots from all its facts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from blueprints.core.observability import logger
from blueprints.dora.detect import SUCCEEDED, Policies, TriggerFacts, detect, screen
from blueprints.dora.emf import UNATTRIBUTED, MetricsPublisher
from blueprints.dora.events import OpsItemEvent, PipelineStateEvent
from blueprints.dora.history import AnalysisOptions, DeploymentView, analyse
from blueprints.dora.model import RESOLVED, ChangesStatus, Deployment, Incident
from blueprints.dora.opscenter import DEPLOYMENT_KEY, SERVICE_KEY, OpsItem
from blueprints.dora.ports import IncidentSource, PipelineSource
from blueprints.dora.queue import ChangeQueue
from blueprints.dora.store import FactStore

LOOKBACK = timedelta(days=30)  # history read at ingest time for raw EMF points (snapshots read it all)
FAILED_FLAG = "failed_emitted"
RECOVERY_FLAG = "recovery_emitted"
STALE_PENDING = timedelta(hours=2)  # longer than GitHub's rate-limit reset (an hour at most)


@dataclass
class PipelineIngest:
    store: FactStore
    pipelines: PipelineSource
    queue: ChangeQueue
    publisher: MetricsPublisher
    policies: Policies
    now: Callable[[], datetime]

    def handle(self, event: PipelineStateEvent) -> str:
        detail = event.detail
        keys = {"pipeline": detail.pipeline, "execution_id": detail.execution_id, "state": detail.state}
        if not self.policies.tracks(detail.pipeline) or detail.state != SUCCEEDED:
            logger.debug("pipeline event skipped", extra=keys)
            return "ignored"
        policy = self.policies.for_service(detail.pipeline)
        definition = self.pipelines.definition(event.account, event.region, detail.pipeline)
        verdict = screen(
            is_stage=event.is_stage,
            state=detail.state,
            stage=detail.stage,
            policy=policy,
            definition=definition,
        )
        if verdict is None:
            execution = self.pipelines.execution(
                event.account, event.region, detail.pipeline, detail.execution_id
            )
            trigger = detail.execution_trigger
            found = detect(
                pipeline_arn=event.pipeline_arn,
                account=event.account,
                region=event.region,
                deploy_time=event.time,
                definition=definition,
                execution=execution,
                trigger=trigger.facts() if trigger else TriggerFacts(),
                policy=policy,
            )
            if isinstance(found, Deployment):
                return self.record(found, event.id)
            verdict = found
        logger.info("not a deployment", extra={**keys, "stage": detail.stage, "reason": verdict.reason})
        return "ignored"

    def record(self, deployment: Deployment, token: str) -> str:
        """Store a deployment (once), then its pointers, data points and change resolution.

        Only the ``Deployments`` data point hangs on the first write. Everything else is idempotent and
        runs again on every delivery, so a retry after a failure past the first write (a throttled
        pointer, a refused queue message) completes what the first attempt left undone.
        """
        now = self.now()
        keys = {"service": deployment.service, "execution_id": deployment.execution_id}
        first = self.store.put_deployment(deployment, token, now)
        if first:
            rework = deployment.rollback or deployment.revert or bool(deployment.references)
            self.publisher.deployment(deployment, rework=rework)
            current = deployment
        else:
            stored = self.store.get_deployment(deployment.pipeline_arn, deployment.execution_id)
            current = stored or deployment
        self.store.register_service(current)
        self.store.point_execution(current)
        for ops_item_id in sorted(current.references):
            self.store.add_reference(ops_item_id, current)
            give_service(self.store, self.publisher, ops_item_id, current.service, AnalysisOptions())
        for ref in (current.execution_id, current.sha):
            for ops_item_id in self.store.awaiting(ref) if ref else []:
                give_service(self.store, self.publisher, ops_item_id, current.service, AnalysisOptions())
        if current.rollback:
            self._rollback(current)
        queued = self._queue(current, now)
        self.store.mark_dirty(current.service, token, now)
        if not first:
            logger.info("duplicate deployment", extra={**keys, "event_id": token, "queued": queued})
            return "duplicate"
        logger.info("deployment recorded", extra={**keys, "deploy_time": deployment.deploy_time.isoformat()})
        return "recorded"

    def _queue(self, deployment: Deployment, now: datetime) -> list[str]:
        """Queue the change resolutions this deployment still needs: its own while pending, and its
        successor's unless the successor was already compared against it."""
        targets = [deployment] if deployment.changes_status == ChangesStatus.PENDING else []
        successor = self.store.next_deployment(deployment)
        if successor is not None and (
            successor.changes_status == ChangesStatus.PENDING
            or successor.changes_base != deployment.execution_id
        ):
            targets.append(successor)
        for target in targets:  # noted first: a refused message is then found by the sweep
            self.store.mark_pending(target, now)
        self.queue.enqueue(targets)
        return [target.execution_id for target in targets]

    def _rollback(self, rollback: Deployment) -> None:
        """Publish the failures this rollback makes (their recovery once final: ``publish_failure``)."""
        deployments = [
            *self.store.deployments(rollback.service, since=rollback.deploy_time - LOOKBACK),
            rollback,
        ]
        incidents = self.store.incidents(rollback.service)
        history = analyse(rollback.service, deployments, incidents)
        by_id = {incident.ops_item_id: incident for incident in incidents}
        for view in history.deployments:
            if view.failure is not None and view.failure.rolled_back_by == rollback.execution_id:
                publish_failure(self.store, self.publisher, view, by_id)


def publish_failure(
    store: FactStore, publisher: MetricsPublisher, view: DeploymentView, incidents: Mapping[str, Incident]
) -> None:
    """The raw data points of a failed deployment: ``FailedDeployments`` once, and ``RecoverySeconds``
    once, when the value is final: recovery minus failure start as the metrics define them (the
    earliest of each incident's resolution, the next deployment naming it, the rollback; from the
    earliest incident start, or the deployment for a rollback without incident), published only when
    every linked incident is resolved, since a resolution can still move the recovery earlier."""
    failure = view.failure
    if failure is None:
        return
    if store.flag_once(view.deployment, FAILED_FLAG):
        publisher.failed(view.deployment)
    seconds = failure.recovery_seconds
    if seconds is None:
        return
    if any(
        ops_item_id not in incidents or incidents[ops_item_id].resolved_at is None
        for ops_item_id in failure.incidents
    ):
        return
    if store.flag_once(view.deployment, RECOVERY_FLAG):
        publisher.recovery(view.deployment, seconds)


@dataclass
class PendingSweep:
    """Re-queues the change resolutions queued long ago and never saved (a lost or dead-lettered
    message), so no deployment keeps ``changes_status = PENDING`` for good. Meant for the scheduled
    recompute: ``PendingSweep(store, queue, now).sweep()``."""

    store: FactStore
    queue: ChangeQueue
    now: Callable[[], datetime]
    older_than: timedelta = STALE_PENDING

    def sweep(self) -> list[str]:
        now = self.now()
        found: list[Deployment] = []
        for pipeline_arn, execution_id in self.store.pending(now - self.older_than):
            deployment = self.store.get_deployment(pipeline_arn, execution_id)
            if deployment is None:
                continue
            if deployment.changes_status != ChangesStatus.PENDING:
                previous = self.store.previous_deployment(deployment)
                if deployment.changes_base == (previous.execution_id if previous else None):
                    self.store.clear_pending(deployment)  # resolved meanwhile against the right base
                    continue
            self.store.mark_pending(deployment, now)
            found.append(deployment)
        self.queue.enqueue(found)
        ids = [deployment.execution_id for deployment in found]
        if ids:
            logger.warning("stale change resolutions queued again", extra={"execution_ids": ids})
        return ids


@dataclass(frozen=True)
class IncidentFilter:
    """Which OpsItems are incidents: categories and severities (empty: any), sources excluded."""

    categories: frozenset[str] = frozenset()
    severities: frozenset[str] = frozenset()
    excluded_sources: frozenset[str] = frozenset({"aws.health", "aws.config"})

    def qualifies(self, item: OpsItem) -> bool:
        return (
            (not self.categories or item.category in self.categories)
            and (not self.severities or item.severity in self.severities)
            and item.source not in self.excluded_sources
        )


@dataclass
class IncidentIngest:
    store: FactStore
    opscenter: IncidentSource
    publisher: MetricsPublisher
    filter: IncidentFilter
    now: Callable[[], datetime]
    analysis: AnalysisOptions = field(default_factory=AnalysisOptions)

    def handle(self, event: OpsItemEvent) -> str:
        resolving = event.time if (event.detail.status or "") == RESOLVED else None
        return self.ingest(event.account, event.region, event.ops_item_id, event.id, resolving)

    def ingest(
        self, account: str, region: str, ops_item_id: str, token: str, resolving: datetime | None = None
    ) -> str:
        item = self.opscenter.get(account, region, ops_item_id)
        ref = item.operational_data.get(DEPLOYMENT_KEY, "").strip() or None
        resolved_time = None
        if item.status == RESOLVED and item.actual_end is None:
            resolved_time = resolving or item.last_modified
        incident = Incident(
            ops_item_id=item.ops_item_id,
            created=item.created,
            service=self._service(item, ref),
            title=item.title,
            source=item.source,
            category=item.category,
            severity=item.severity,
            status=item.status,
            actual_start=item.actual_start,
            actual_end=item.actual_end,
            resolved_time=resolved_time,
            deployment_ref=ref,
            qualifying=self.filter.qualifies(item),
            last_modified=item.last_modified,
        )
        stored = self.store.put_incident(incident, token)
        keys = {"ops_item_id": ops_item_id, "service": stored.service, "qualifying": stored.qualifying}
        if stored.service is None:
            if ref:
                self.store.await_deployment(ref, ops_item_id)
            if not stored.qualifying:
                self.store.clear_unattributed(ops_item_id)
                logger.info("incident stored without a service yet", extra={**keys, "deployment_ref": ref})
                return "pending"
            now = self.now()
            if self.store.note_unattributed(stored, now):
                self.publisher.unattributed(now)
            logger.warning(
                "unattributed incident: counts nowhere until a rule gives it a service",
                extra={**keys, "deployment_ref": ref, "metric": UNATTRIBUTED},
            )
            return "pending"
        self.store.clear_unattributed(ops_item_id)
        if stored.qualifying:
            self._publish(stored)
        self.store.mark_dirty(stored.service, token, self.now())
        logger.info("incident recorded", extra={**keys, "status": stored.status})
        return "recorded"

    def _service(self, item: OpsItem, ref: str | None) -> str | None:
        named = item.operational_data.get(SERVICE_KEY, "").strip()
        if named:
            return named
        for arn in item.related_resources:
            found = self._resource_service(arn)
            if found:
                return found
        if ref:
            found = self.store.service_of_execution(ref)
            if found:
                return found
        referencing = self.store.services_referencing(item.ops_item_id)
        return referencing[0] if len(referencing) == 1 else None

    def _resource_service(self, arn: str) -> str | None:
        """The service an ``/aws/resources`` ARN names: a pipeline (or one of its stages or actions),
        or a CloudFormation stack named like a service that has deployments."""
        parts = arn.split(":", 5)
        if len(parts) < 6 or not parts[5]:
            return None
        if parts[2] == "codepipeline":
            return parts[5].split("/")[0] or None
        if parts[2] == "cloudformation" and parts[5].startswith("stack/"):
            name = parts[5].split("/")[1]
            return name if name and self.store.has_service(name) else None
        return None

    def _publish(self, incident: Incident) -> None:
        publish_incident(self.store, self.publisher, incident, self.analysis)


def publish_incident(
    store: FactStore, publisher: MetricsPublisher, incident: Incident, analysis: AnalysisOptions
) -> None:
    """The data points of the deployment a qualifying incident with a service fails (``publish_failure``)."""
    if incident.service is None or not incident.qualifying:
        return
    service = incident.service
    since = min(incident.failure_start, incident.created) - LOOKBACK
    by_id = {stored.ops_item_id: stored for stored in store.incidents(service)}
    by_id[incident.ops_item_id] = incident  # as just stored (the index may lag behind)
    history = analyse(service, store.deployments(service, since=since), by_id.values(), analysis)
    link = next((link for link in history.links if link.incident_id == incident.ops_item_id), None)
    view = next(
        (v for v in history.deployments if link and v.deployment.execution_id == link.execution_id), None
    )
    if view is not None:
        publish_failure(store, publisher, view, by_id)


def give_service(
    store: FactStore, publisher: MetricsPublisher, ops_item_id: str, service: str, analysis: AnalysisOptions
) -> None:
    """Give a stored incident the service a deployment names it with; publish what it now fails."""
    if store.set_incident_service(ops_item_id, service):
        incident = store.get_incident(ops_item_id)
        if incident is not None:
            publish_incident(store, publisher, incident, analysis)
