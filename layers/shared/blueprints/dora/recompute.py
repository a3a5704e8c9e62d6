"""The recompute (state machine tasks): plan which services to recompute, then recompute one service.

A service's snapshots are rebuilt from *all* its facts: every day, ISO week and calendar month with a
deployment is computed, and only the snapshots whose content changed are written (a window without
deployments has no snapshot: its metrics are all zero or null). So a late
link (an incident linked after the fact) changes the earlier month's snapshot and leaves the others as
they were, and recomputing twice writes nothing the second time. ``dirty`` plans only the services with
new facts; ``all`` plans every service (the daily run, a safety net).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from blueprints.dora.benchmarks import Edition
from blueprints.dora.calculate import Window, metrics, snapshot_windows
from blueprints.dora.emf import MetricsPublisher
from blueprints.dora.errors import InvalidEventError
from blueprints.dora.history import AnalysisOptions, analyse
from blueprints.dora.store import FactStore, Snapshot
from blueprints.dora.timeutil import Calendar, stored

GAUGE_WINDOW_DAYS = 30


class PlanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Literal["plan"]
    mode: Literal["all", "dirty"] = "dirty"


class ComputeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Literal["compute"]
    service: str = Field(min_length=1, max_length=100)
    token: str = ""


RecomputeRequest = Annotated[PlanRequest | ComputeRequest, Field(discriminator="action")]
_REQUEST: TypeAdapter[PlanRequest | ComputeRequest] = TypeAdapter(RecomputeRequest)


def parse_request(payload: Any) -> PlanRequest | ComputeRequest:
    try:
        return _REQUEST.validate_python(payload)
    except ValidationError as exc:
        raise InvalidEventError(f"invalid recompute request: {exc.errors(include_url=False)}") from exc


def checksum(document: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


@dataclass
class Recompute:
    store: FactStore
    publisher: MetricsPublisher
    calendar: Calendar
    edition: Edition
    overall_rule: Literal["lowest", "median"]
    analysis: AnalysisOptions
    now: Callable[[], datetime]
    # Re-queues change resolutions left PENDING too long (``ingest.PendingSweep.sweep``); run by every plan,
    # so a lost or dead-lettered resolution message is repaired within one recompute period.
    sweep: Callable[[], list[str]] | None = None

    def handle(self, request: PlanRequest | ComputeRequest) -> dict[str, Any]:
        if isinstance(request, PlanRequest):
            requeued = self.sweep() if self.sweep is not None else []
            jobs = self.plan(request.mode)
            return {"jobs": jobs, "count": len(jobs), "requeued": requeued}
        return self.compute(request.service, request.token)

    def plan(self, mode: Literal["all", "dirty"]) -> list[dict[str, str]]:
        if mode == "dirty":
            return [{"service": service, "token": token} for service, token in self.store.dirty()]
        return [{"service": service, "token": ""} for service in self.store.services()]

    def compute(self, service: str, token: str = "") -> dict[str, Any]:
        now = self.now()
        deployments = self.store.deployments(service)
        incidents = self.store.incidents(service)
        history = analyse(service, deployments, incidents, self.analysis)
        written = unchanged = 0
        days = {self.calendar.day_of(deployment.deploy_time) for deployment in deployments}
        existing: dict[str, dict[str, str]] = {}
        for kind, window in snapshot_windows(days):
            if kind not in existing:  # one read per kind
                existing[kind] = self.store.snapshot_checksums(service, kind)
            known = existing[kind]
            document = metrics(history, window, self.calendar, self.edition, self.overall_rule)
            digest = checksum(document)
            if known.get(window.first.isoformat()) == digest:
                unchanged += 1
                continue
            self.store.put_snapshot(
                Snapshot(service, kind, window.first.isoformat(), digest, document, stored(now))
            )
            written += 1
        if deployments:
            today = self.calendar.day_of(now)
            trailing = Window(today - timedelta(days=GAUGE_WINDOW_DAYS - 1), today)
            self.publisher.gauges(
                service, metrics(history, trailing, self.calendar, self.edition, self.overall_rule), now
            )
        cleared = self.store.clear_dirty(service, token) if token else False
        return {"service": service, "written": written, "unchanged": unchanged, "cleared": cleared}
