"""The cost of one launch and benchmarks per workflow type and compute service (the HTTP API's domain).

Percentiles interpolate linearly between the two nearest ranks (``rank = (n - 1) * q``), the common
"linear" definition; with one run every percentile is that run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol

from blueprints.benchmarking.costing import CURRENCY, PRICING_BASIS
from blueprints.benchmarking.errors import InvalidQueryError, LaunchNotFoundError, RecostNotAllowedError
from blueprints.benchmarking.money import usd

WORKFLOW_TYPES = ("snakemake", "nextflow", "container", "regenie")
DEFAULT_DAYS = 30
MAX_DAYS = 366
AMOUNTS = {
    "totalCost": "total_cost",
    "instanceCost": "instance_cost",
    "volumeCost": "volume_cost",
    "filesystemCost": "filesystem_cost",
    "fargateCost": "fargate_cost",
}


# Worst time of one pricing attempt besides its Wait: two Lambda tasks of 180 s, each tried 7 times with
# backoff (about 1,400 s each), and the DynamoDB writes.
ATTEMPT_WORST_SECONDS = 3000
STALE_MARGIN = timedelta(hours=1)
UNDER_WAY = ("IN_PROGRESS", "PENDING")


def stale_after(max_attempts: int, retry_seconds: int) -> timedelta:
    """How long a costing can be under way at most: past this its execution is gone (stopped, or died
    outside its Catch handlers) and the launch may be costed again."""
    return timedelta(seconds=max_attempts * (retry_seconds + ATTEMPT_WORST_SECONDS)) + STALE_MARGIN


class LaunchQueries(Protocol):
    def launch(self, launch_id: str) -> dict[str, Any] | None: ...
    def reset_cost(
        self, launch_id: str, *, requested_by: str, now: str, owner: str | None = None
    ) -> dict[str, Any] | None: ...
    def by_workflow(
        self, workflow_type: str, start: str, end: str, *, limit: int
    ) -> tuple[list[dict[str, Any]], bool]: ...


def percentile(values: Sequence[Decimal], q: Decimal) -> Decimal:
    """The q-quantile (0..1) of ``values`` by linear interpolation between the nearest ranks."""
    if not values:
        raise ValueError("no values")
    if not Decimal(0) <= q <= Decimal(1):
        raise ValueError(f"quantile {q} is not between 0 and 1")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q
    lower = int(rank)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (rank - lower)


def _seconds(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.001")))


def cost_view(item: Mapping[str, Any]) -> dict[str, Any]:
    """``GET /launches/{id}/cost``: the amounts as written, what they cover, and the basis."""
    view: dict[str, Any] = {
        "launch_id": item["launch_id"],
        "status": item.get("status"),
        "attempt": int(item.get("attempt", 1)),
        "workflow_type": item.get("workflow_type", ""),
        "compute_service": item.get("compute_service", ""),
        "cost_status": item.get("costStatus") or ("COSTED" if "totalCost" in item else "NOT_COSTED"),
        "currency": CURRENCY,
        "pricing_basis": PRICING_BASIS,
    }
    view.update({name: item[attribute] for attribute, name in AMOUNTS.items() if attribute in item})
    optional = {
        "costBreakdown": "breakdown",
        "pricingSource": "pricing_source",
        "costInputsUri": "cost_inputs_uri",
        "costedAt": "costed_at",
        "costNotes": "notes",
        "costMissing": "missing",
        "costAttempts": "pricing_attempts",
        "costError": "error",
    }
    for attribute, name in optional.items():
        if attribute in item:
            value = item[attribute]
            view[name] = int(value) if isinstance(value, Decimal) else value
    if "phaseTimings" in item:
        view["phase_timings"] = {
            name: _seconds(Decimal(str(value))) for name, value in sorted(item["phaseTimings"].items())
        }
    return view


def _instant(text: str, name: str, *, end_of_day: bool) -> datetime:
    try:
        if len(text) == 10:
            day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
            return datetime.combine(day.date(), time.max if end_of_day else time.min, UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidQueryError(f"{name}: {text!r} is not a date (YYYY-MM-DD) or ISO 8601 time") from exc
    if moment.tzinfo is None:
        raise InvalidQueryError(f"{name}: {text!r} needs a UTC offset (Z)")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class BenchmarkQuery:
    workflow_types: tuple[str, ...]
    start: datetime
    end: datetime
    compute_service: str | None = None

    @classmethod
    def parse(cls, params: Mapping[str, str], now: datetime) -> BenchmarkQuery:
        workflow = params.get("workflow")
        if workflow is not None and workflow not in WORKFLOW_TYPES:
            raise InvalidQueryError(f"workflow: {workflow!r} is not one of {', '.join(WORKFLOW_TYPES)}")
        end = _instant(params["to"], "to", end_of_day=True) if params.get("to") else now
        start = (
            _instant(params["from"], "from", end_of_day=False)
            if params.get("from")
            else end - timedelta(days=DEFAULT_DAYS)
        )
        if start > end:
            raise InvalidQueryError("from: must not be after to")
        if end - start > timedelta(days=MAX_DAYS):
            raise InvalidQueryError(f"from/to: at most {MAX_DAYS} days")
        return cls((workflow,) if workflow else WORKFLOW_TYPES, start, end, params.get("compute") or None)


@dataclass
class _Group:
    durations: list[Decimal]
    run_times: list[Decimal]
    costs: list[Decimal]
    failed_costs: list[Decimal]
    pending: int = 0
    unsupported: int = 0
    never_launched: int = 0


def _never_launched(item: Mapping[str, Any]) -> bool:
    """A FAILED launch that never got to launching in its attempt (refused at registration, or its restore
    timed out): no run, so not a failed run either."""
    attempt = int(item.get("attempt", 1))
    return item.get("status") == "FAILED" and not any(
        entry.get("status") in ("LAUNCHING", "RUNNING") and int(entry.get("attempt", 1)) == attempt
        for entry in item.get("status_history") or []
    )


def _amount(item: Mapping[str, Any]) -> Decimal | None:
    text = item.get("totalCost")
    return Decimal(str(text)) if isinstance(text, str) else None


class ExecutionStatus(Protocol):
    def status(self, execution_arn: str) -> str | None: ...


class Reports:
    def __init__(
        self,
        launches: LaunchQueries,
        now: Callable[[], datetime],
        *,
        max_items: int,
        executions: ExecutionStatus,
        stale: timedelta,
    ) -> None:
        self.launches = launches
        self.now = now
        self.max_items = max_items
        self.executions = executions
        self.stale = stale

    def cost(self, launch_id: str) -> dict[str, Any]:
        item = self.launches.launch(launch_id)
        if item is None:
            raise LaunchNotFoundError(f"no launch {launch_id}")
        return cost_view(item)

    def recost(self, launch_id: str, requested_by: str) -> dict[str, Any]:
        """Ask for the launch to be costed again (the pipe starts a new costing). A costing under way is
        replaced only when it is abandoned: started longer ago than any costing can last, or its
        execution no longer runs (stopped by hand, or died outside its Catch handlers)."""
        now = self.now()
        refused = self.launches.reset_cost(launch_id, requested_by=requested_by, now=now.isoformat())
        if refused is None:
            return {"launch_id": launch_id, "cost_status": "REQUESTED"}
        if not refused:
            raise LaunchNotFoundError(f"no launch {launch_id}")
        if refused.get("status") not in ("COMPLETE", "FAILED"):
            raise RecostNotAllowedError(
                f"launch {launch_id} is {refused.get('status')}; only finished launches are costed"
            )
        owner = str(refused.get("costOwner") or "")
        if refused.get("costStatus") in UNDER_WAY and owner and self._abandoned(owner, refused, now):
            again = self.launches.reset_cost(
                launch_id, requested_by=requested_by, now=now.isoformat(), owner=owner
            )
            if again is None:
                return {"launch_id": launch_id, "cost_status": "REQUESTED", "replaced_costing": owner}
        raise RecostNotAllowedError(
            f"launch {launch_id} has a costing under way ({refused.get('costStatus')})"
        )

    def _abandoned(self, owner: str, item: Mapping[str, Any], now: datetime) -> bool:
        started = str(item.get("costStartedAt") or "")
        try:
            since = datetime.fromisoformat(started.replace("Z", "+00:00")) if started else None
        except ValueError:
            since = None
        if since is not None and since.tzinfo is not None and now - since > self.stale:
            return True
        execution_arn = owner.split("#", 1)[0]  # the owner is "<execution ARN>#<stream event id>"
        return self.executions.status(execution_arn) != "RUNNING"

    def benchmarks(self, query: BenchmarkQuery) -> dict[str, Any]:
        groups: dict[tuple[str, str], _Group] = defaultdict(lambda: _Group([], [], [], []))
        truncated = False
        for workflow_type in query.workflow_types:
            items, more = self.launches.by_workflow(
                workflow_type, query.start.isoformat(), query.end.isoformat(), limit=self.max_items
            )
            truncated = truncated or more
            for item in items:
                service = str(item.get("compute_service", ""))
                if query.compute_service and service != query.compute_service:
                    continue
                if item.get("status") not in ("COMPLETE", "FAILED"):
                    continue
                group = groups[(workflow_type, service)]
                cost = _amount(item)
                if _never_launched(item):
                    group.never_launched += 1
                elif cost is None and item.get("costStatus") == "UNSUPPORTED":
                    group.unsupported += 1
                elif cost is None:
                    group.pending += 1
                elif item["status"] == "FAILED":
                    group.failed_costs.append(cost)
                else:
                    timings = item.get("phaseTimings") or {}
                    group.costs.append(cost)
                    group.durations.append(Decimal(str(timings.get("wallSeconds", 0))))
                    group.run_times.append(Decimal(str(timings.get("runningSeconds", 0))))
        return {
            "workflow": query.workflow_types[0] if len(query.workflow_types) == 1 else "all",
            "from": query.start.isoformat(),
            "to": query.end.isoformat(),
            "currency": CURRENCY,
            "pricing_basis": PRICING_BASIS,
            "truncated": truncated,
            "groups": [self._summary(key, group) for key, group in sorted(groups.items())],
        }

    @staticmethod
    def _summary(key: tuple[str, str], group: _Group) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "workflow_type": key[0],
            "compute_service": key[1],
            "runs": len(group.costs),
            "failed_runs": len(group.failed_costs),
            "not_costed_yet": group.pending,
            "not_costable": group.unsupported,
            "never_launched": group.never_launched,
            "failed_cost_usd": usd(sum(group.failed_costs, Decimal(0))),
        }
        if group.costs:
            summary["wall_seconds"] = {
                "median": _seconds(percentile(group.durations, Decimal("0.5"))),
                "p90": _seconds(percentile(group.durations, Decimal("0.9"))),
            }
            summary["run_seconds"] = {
                "median": _seconds(percentile(group.run_times, Decimal("0.5"))),
                "p90": _seconds(percentile(group.run_times, Decimal("0.9"))),
            }
            summary["cost_usd"] = {
                "median": usd(percentile(group.costs, Decimal("0.5"))),
                "p90": usd(percentile(group.costs, Decimal("0.9"))),
                "total": usd(sum(group.costs, Decimal(0))),
            }
        return summary
