"""The HTTP API's queries: services, metrics of a window, drill-down, stored snapshots.

Metrics are computed from the facts at request time (always current, late links included), reading only
the facts the window depends on (``windowed``: the window and 30 days around it, and the deploy times of
the 90 days before its end);
the snapshots are what the recompute stored. Windows are inclusive ``YYYY-MM-DD`` days in the report time
zone (UTC by default).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from blueprints.dora.benchmarks import edition
from blueprints.dora.calculate import SNAPSHOT_KINDS, Window, drilldown, metrics
from blueprints.dora.errors import InvalidRequestError, UnknownServiceError
from blueprints.dora.history import AnalysisOptions
from blueprints.dora.store import FactStore
from blueprints.dora.timeutil import Calendar, parse_day
from blueprints.dora.windowed import StoreReader, WindowFacts, window_history

SERVICE_MAX_LENGTH = 100


def _day(query: Mapping[str, str], name: str) -> date:
    value = query.get(name)
    if not value:
        raise InvalidRequestError(f"missing query parameter {name} (YYYY-MM-DD)")
    try:
        return parse_day(value)
    except ValueError as exc:
        raise InvalidRequestError(f"{name} must be a YYYY-MM-DD date") from exc


@dataclass
class Query:
    store: FactStore
    calendar: Calendar
    default_edition: str  # empty: benchmarks.default_edition() (latest verified, else corroborated)
    overall_rule: Literal["lowest", "median"]
    analysis: AnalysisOptions
    max_window_days: int

    def _service(self, query: Mapping[str, str]) -> str:
        service = query.get("service", "")
        if not service or len(service) > SERVICE_MAX_LENGTH:
            raise InvalidRequestError("missing or too long query parameter service")
        if not self.store.has_service(service):
            raise UnknownServiceError(f"no deployments recorded for service {service!r}")
        return service

    def _window(self, query: Mapping[str, str]) -> Window:
        window = Window(_day(query, "from"), _day(query, "to"))
        if window.last < window.first:
            raise InvalidRequestError("from must not be after to")
        if window.days > self.max_window_days:
            raise InvalidRequestError(f"a window spans at most {self.max_window_days} days")
        return window

    def _facts(self, service: str, window: Window) -> WindowFacts:
        return window_history(StoreReader(self.store), service, window, self.calendar, self.analysis)

    def services(self) -> dict[str, Any]:
        return {"services": sorted(self.store.services())}

    def metrics(self, query: Mapping[str, str]) -> dict[str, Any]:
        service = self._service(query)
        window = self._window(query)
        chosen = edition(query.get("benchmark") or self.default_edition or None)
        facts = self._facts(service, window)
        return metrics(
            facts.history,
            window,
            self.calendar,
            chosen,
            self.overall_rule,
            frequency_times=facts.frequency_times,
        )

    def deployments(self, query: Mapping[str, str]) -> dict[str, Any]:
        service = self._service(query)
        window = self._window(query)
        return drilldown(self._facts(service, window).history, window, self.calendar)

    def snapshots(self, query: Mapping[str, str]) -> dict[str, Any]:
        service = self._service(query)
        window = self._window(query)
        kind = query.get("window", "day")
        if kind not in SNAPSHOT_KINDS:
            raise InvalidRequestError(f"window must be one of {', '.join(SNAPSHOT_KINDS)}")
        found = self.store.snapshots(service, kind, window.first.isoformat(), window.last.isoformat())
        return {
            "service": service,
            "window": kind,
            "snapshots": [
                {"period": s.period, "computed_at": s.computed_at, "metrics": s.metrics} for s in found
            ],
        }
