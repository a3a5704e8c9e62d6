"""The facts one window's metrics need, read with a bounded lookback and lookahead.

The API computes a window from the facts at request time. Reading the service's whole history made a call
cost O(all deployments) (every item read and charged, seconds for 10,000 deployments). What a window's numbers
depend on is bounded by the definitions (docs/blueprints/dora.md):

- the deployment-frequency tier: the ``FREQUENCY_DAYS`` days up to the window's end;
- links, rollbacks, recoveries and the "a commit counts once" rule reach ``HORIZON`` (30 days) around
  the window: a rollback restores a revision deployed at most that long before it and happens at most that
  long after the deployments it undoes; an incident starts, and a hotfix naming it lands, within that
  long of the deployment they concern; a commit brought again (after a rollback) was first deployed at
  most that long before;
- the heuristic link of an incident needs the deployment just after the span (``first_from``): an
  incident after the span is then attributed to a deployment outside the window, as in the full history.

So the read is: deployments in ``[window start - HORIZON, window end + HORIZON)`` plus the next one, the
deploy *times* only (the index's sort key) of the frequency days before that, and the incidents created
since the span's start (those starting after the span and naming a deployment only when it is one of the
span's: a late explicit link). Within those bounds the result is exactly the full-history computation (a
property test compares both on random histories). Two cases the span cannot see are detected and answered
from the full history: an incident of the window naming (by execution id or commit) a deployment of the
service outside the span, and a rollback of the window whose restored revision was not deployed in the
span. An incident naming an execution id the service never recorded changes nothing (in both, the other
rules link it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from blueprints.dora.calculate import FREQUENCY_DAYS, Window
from blueprints.dora.history import AnalysisOptions, History, analyse
from blueprints.dora.model import Deployment, Incident
from blueprints.dora.store import (
    DEPLOYMENT_FIELDS,
    DEPLOYMENT_NAMES,
    GSI1,
    GSI2,
    FactStore,
    deployment_from_item,
    incident_from_item,
)
from blueprints.dora.timeutil import Calendar, from_stored, stored

HORIZON = timedelta(days=30)
COMMIT = re.compile(r"[0-9a-f]{7,64}")  # a commit reference (execution ids are UUIDs, with dashes)


@dataclass(frozen=True)
class Span:
    """``[start, end)``: the deployments read in full for a window; from ``frequency_start`` to ``start``
    only their deploy times."""

    frequency_start: datetime
    start: datetime
    end: datetime


def span_of(window: Window, calendar: Calendar) -> Span:
    start, end = calendar.bounds(window.first, window.last)
    frequency_start = calendar.start_of(window.last - timedelta(days=FREQUENCY_DAYS - 1))
    return Span(frequency_start, start - HORIZON, end + HORIZON)


@dataclass(frozen=True)
class WindowFacts:
    history: History
    frequency_times: tuple[datetime, ...]  # deploy times from the frequency start to the window's end


class FactReader(Protocol):
    def deployments_between(self, service: str, start: datetime, end: datetime) -> list[Deployment]: ...

    def deploy_times_between(self, service: str, start: datetime, end: datetime) -> list[datetime]: ...

    def first_from(self, service: str, moment: datetime) -> Deployment | None: ...

    def incidents_since(self, service: str, moment: datetime) -> list[Incident]: ...

    def has_execution(self, service: str, execution_id: str) -> bool: ...

    def all_deployments(self, service: str) -> list[Deployment]: ...

    def all_incidents(self, service: str) -> list[Incident]: ...


def _outside(
    reader: FactReader,
    service: str,
    deployments: Sequence[Deployment],
    incidents: Sequence[Incident],
    start: datetime,
) -> bool:
    """Whether the span misses a fact the window (from ``start``) depends on: then the whole history is
    read. Facts before ``start`` only decide links and rollbacks of deployments before the window."""
    ids = {d.execution_id for d in deployments}
    for incident in incidents:
        ref = incident.deployment_ref
        if not incident.qualifying or not ref or incident.failure_start < start or ref in ids:
            continue
        if any(d.sha == ref and d.deploy_time <= incident.failure_start for d in deployments):
            continue
        if COMMIT.fullmatch(ref) or reader.has_execution(service, ref):
            return True  # names a deployment the span lacks (or only later deployments of the commit)
        # else it names no deployment of the service at all: the other rules link it, in the span as in
        # the whole history
    for index, deployment in enumerate(deployments):
        recent = deployment.rollback and deployment.sha and deployment.deploy_time >= start
        if recent and all(d.sha != deployment.sha for d in deployments[:index]):
            return True  # restores a revision deployed before the span
    return False


def window_history(
    reader: FactReader, service: str, window: Window, calendar: Calendar, options: AnalysisOptions
) -> WindowFacts:
    """The analysis of the facts ``window`` depends on (its metrics equal the full history's), and the
    deploy times of its frequency tier."""
    span = span_of(window, calendar)
    deployments = reader.deployments_between(service, span.start, span.end)
    following = reader.first_from(service, span.end)
    if following is not None:
        deployments.append(following)
    named = {d.execution_id for d in deployments} | {d.sha for d in deployments if d.sha}
    incidents = [
        incident
        for incident in reader.incidents_since(service, span.start)
        if incident.failure_start < span.end or incident.deployment_ref in (None, *named)
    ]  # a later incident concerns the window by naming one of its deployments (a late link), or by time
    # when no deployment came between (the heuristic link: ``following`` keeps it right)
    if _outside(reader, service, deployments, incidents, calendar.start_of(window.first)):
        history = analyse(service, reader.all_deployments(service), reader.all_incidents(service), options)
    else:
        history = analyse(service, deployments, incidents, options)
    earlier = (
        reader.deploy_times_between(service, span.frequency_start, span.start)
        if span.frequency_start < span.start
        else []
    )
    _, window_end = calendar.bounds(window.first, window.last)
    times = [t for t in history.times if max(span.start, span.frequency_start) <= t < window_end]
    return WindowFacts(history, (*earlier, *times))


class StoreReader:
    """``FactReader`` over the fact store's indexes (GSI1 deployments, GSI2 incidents), projected."""

    def __init__(self, store: FactStore) -> None:
        self.store = store

    def _deploys_between(
        self, service: str, start: datetime, end: datetime, **projection: Any
    ) -> Iterator[dict[str, Any]]:
        # GSI1SK is "<deploy time>#<execution id>": the bounds below select start <= deploy time < end
        return self.store.query_items(
            IndexName=GSI1,
            KeyConditionExpression="GSI1PK = :pk AND GSI1SK BETWEEN :low AND :high",
            ExpressionAttributeValues={
                ":pk": {"S": f"DEPLOYS#{service}"},
                ":low": {"S": stored(start)},
                ":high": {"S": stored(end)},
            },
            **projection,
        )

    def deployments_between(self, service: str, start: datetime, end: datetime) -> list[Deployment]:
        items = self._deploys_between(
            service,
            start,
            end,
            ProjectionExpression=DEPLOYMENT_FIELDS,
            ExpressionAttributeNames=DEPLOYMENT_NAMES,
        )
        return [deployment_from_item(item) for item in items]

    def deploy_times_between(self, service: str, start: datetime, end: datetime) -> list[datetime]:
        """Deploy times only: the index's sort key, ``<deploy time>#<execution id>``."""
        items = self._deploys_between(service, start, end, ProjectionExpression="GSI1SK")
        return [from_stored(item["GSI1SK"]["S"].split("#", 1)[0]) for item in items]

    def first_from(self, service: str, moment: datetime) -> Deployment | None:
        response = self.store.client.query(
            TableName=self.store.table_name,
            IndexName=GSI1,
            KeyConditionExpression="GSI1PK = :pk AND GSI1SK >= :low",
            ExpressionAttributeValues={":pk": {"S": f"DEPLOYS#{service}"}, ":low": {"S": stored(moment)}},
            ProjectionExpression=DEPLOYMENT_FIELDS,
            ExpressionAttributeNames=DEPLOYMENT_NAMES,
            Limit=1,
        )
        items = response.get("Items", [])
        return deployment_from_item(items[0]) if items else None

    def incidents_since(self, service: str, moment: datetime) -> list[Incident]:
        return [
            incident_from_item(item)
            for item in self.store.query_items(
                IndexName=GSI2,
                KeyConditionExpression="GSI2PK = :pk AND GSI2SK >= :low",
                ExpressionAttributeValues={
                    ":pk": {"S": f"INCIDENTS#{service}"},
                    ":low": {"S": stored(moment)},
                },
            )
        ]

    def has_execution(self, service: str, execution_id: str) -> bool:
        return self.store.service_of_execution(execution_id) == service

    def all_deployments(self, service: str) -> list[Deployment]:
        return self.store.deployments(service)

    def all_incidents(self, service: str) -> list[Incident]:
        return self.store.incidents(service)
