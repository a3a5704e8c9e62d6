"""The cost view of one launch and benchmarks per workflow type and compute service."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blueprints.benchmarking.errors import InvalidQueryError, LaunchNotFoundError, RecostNotAllowedError
from blueprints.benchmarking.reports import BenchmarkQuery, Reports, cost_view, percentile, stale_after

NOW = datetime(2025, 2, 1, 12, tzinfo=UTC)


def test_percentiles_interpolate_between_the_nearest_ranks() -> None:
    values = [Decimal(v) for v in (10, 20, 30, 40)]

    assert percentile(values, Decimal("0.5")) == Decimal(25)
    assert percentile(values, Decimal("0.9")) == Decimal(37)
    assert percentile([Decimal(7)], Decimal("0.9")) == Decimal(7)
    with pytest.raises(ValueError, match="no values"):
        percentile([], Decimal("0.5"))
    with pytest.raises(ValueError, match="between 0 and 1"):
        percentile(values, Decimal("1.5"))


@given(
    st.lists(st.decimals(min_value=0, max_value=10_000, places=4), min_size=1, max_size=30),
    st.decimals(min_value=0, max_value=1, places=2),
    st.decimals(min_value=0, max_value=1, places=2),
)
def test_a_percentile_lies_within_the_values_and_grows_with_q(
    values: list[Decimal], q1: Decimal, q2: Decimal
) -> None:
    low, high = sorted((q1, q2))

    assert min(values) <= percentile(values, low) <= percentile(values, high) <= max(values)


COSTED = {
    "launch_id": "wf-1",
    "status": "COMPLETE",
    "attempt": Decimal(1),
    "workflow_type": "snakemake",
    "compute_service": "fargate",
    "costStatus": "COSTED",
    "totalCost": "0.0147",
    "instanceCost": "0.0000",
    "volumeCost": "0.0000",
    "filesystemCost": "0.0000",
    "fargateCost": "0.0147",
    "costBreakdown": {"task": {"component": "fargate", "cost": "0.0147"}},
    "pricingSource": {"basis": "public list price"},
    "phaseTimings": {"runningSeconds": Decimal("900.000"), "wallSeconds": Decimal("915.5")},
    "costInputsUri": "s3://b/costs/wf-1/a1/x.json",
    "costedAt": "2025-01-06T09:16:00Z",
    "costNotes": [],
}


def test_the_cost_view_shows_the_amounts_as_written_and_the_basis() -> None:
    view = cost_view(COSTED)

    assert view == {
        "launch_id": "wf-1",
        "status": "COMPLETE",
        "attempt": 1,
        "workflow_type": "snakemake",
        "compute_service": "fargate",
        "cost_status": "COSTED",
        "currency": "USD",
        "pricing_basis": "public list price",
        "total_cost": "0.0147",
        "instance_cost": "0.0000",
        "volume_cost": "0.0000",
        "filesystem_cost": "0.0000",
        "fargate_cost": "0.0147",
        "breakdown": {"task": {"component": "fargate", "cost": "0.0147"}},
        "pricing_source": {"basis": "public list price"},
        "cost_inputs_uri": "s3://b/costs/wf-1/a1/x.json",
        "costed_at": "2025-01-06T09:16:00Z",
        "notes": [],
        "phase_timings": {"runningSeconds": 900.0, "wallSeconds": 915.5},
    }


def test_a_launch_not_costed_yet_or_pending_says_so_without_amounts() -> None:
    pending = {
        "launch_id": "wf-2",
        "status": "COMPLETE",
        "costStatus": "PENDING",
        "costMissing": ["instance i-1: PriceNotFoundError: ..."],
        "costAttempts": Decimal(3),
    }

    assert cost_view({"launch_id": "wf-3", "status": "RUNNING"})["cost_status"] == "NOT_COSTED"
    view = cost_view(pending)
    assert (view["cost_status"], view["missing"], view["pricing_attempts"]) == (
        "PENDING",
        ["instance i-1: PriceNotFoundError: ..."],
        3,
    )
    assert "total_cost" not in view


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"workflow": "cromwell"},
            "workflow: 'cromwell' is not one of snakemake, nextflow, container, regenie",
        ),
        ({"from": "yesterday"}, "from: 'yesterday' is not a date"),
        ({"to": "2025-01-06T09:00:00"}, "to: '2025-01-06T09:00:00' needs a UTC offset"),
        ({"from": "2025-02-01", "to": "2025-01-01"}, "from: must not be after to"),
        ({"from": "2023-01-01", "to": "2025-01-01"}, "from/to: at most 366 days"),
    ],
)
def test_invalid_benchmark_queries_are_refused_with_the_reason(params: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidQueryError) as raised:
        BenchmarkQuery.parse(params, NOW)

    assert str(raised.value).startswith(message)


def test_a_query_defaults_to_every_workflow_over_the_last_30_days_and_dates_cover_whole_days() -> None:
    default = BenchmarkQuery.parse({}, NOW)
    days = BenchmarkQuery.parse({"workflow": "nextflow", "from": "2025-01-01", "to": "2025-01-31"}, NOW)

    assert (default.workflow_types, default.start, default.end) == (
        ("snakemake", "nextflow", "container", "regenie"),
        datetime(2025, 1, 2, 12, tzinfo=UTC),
        NOW,
    )
    assert (days.start.isoformat(), days.end.isoformat()) == (
        "2025-01-01T00:00:00+00:00",
        "2025-01-31T23:59:59.999999+00:00",
    )


@dataclass
class FakeQueries:
    items: dict[str, list[dict[str, Any]]]
    asked: list[tuple[str, str, str, int]] = field(default_factory=list)
    more: bool = False
    refusals: dict[str, dict[str, Any]] = field(default_factory=dict)
    resets: list[tuple[str, str, str]] = field(default_factory=list)
    owner_resets: list[tuple[str, str]] = field(default_factory=list)
    owner_moved: set[str] = field(default_factory=set)

    def launch(self, launch_id: str) -> dict[str, Any] | None:
        return next(
            (item for items in self.items.values() for item in items if item["launch_id"] == launch_id), None
        )

    def reset_cost(
        self, launch_id: str, *, requested_by: str, now: str, owner: str | None = None
    ) -> dict[str, Any] | None:
        self.resets.append((launch_id, requested_by, now))
        if owner is not None:
            self.owner_resets.append((launch_id, owner))
            return self.refusals.get(launch_id) if launch_id in self.owner_moved else None
        return self.refusals.get(launch_id)

    def by_workflow(
        self, workflow_type: str, start: str, end: str, *, limit: int
    ) -> tuple[list[dict[str, Any]], bool]:
        self.asked.append((workflow_type, start, end, limit))
        return self.items.get(workflow_type, []), self.more


@dataclass
class FakeExecutions:
    statuses: dict[str, str] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def status(self, execution_arn: str) -> str | None:
        self.asked.append(execution_arn)
        return self.statuses.get(execution_arn)


STALE = stale_after(24, 3600)


def reports_of(queries: FakeQueries, *, max_items: int, executions: FakeExecutions | None = None) -> Reports:
    return Reports(
        queries, lambda: NOW, max_items=max_items, executions=executions or FakeExecutions(), stale=STALE
    )


def run(
    launch_id: str, service: str, cost: str | None, wall: str, running: str, status: str = "COMPLETE"
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "launch_id": launch_id,
        "status": status,
        "compute_service": service,
        "phaseTimings": {"wallSeconds": Decimal(wall), "runningSeconds": Decimal(running)},
        "status_history": [
            {"status": name, "at": "2025-01-10T10:00:00+00:00", "attempt": 1}
            for name in ("REGISTERED", "LAUNCHING", "RUNNING", status)
        ],
    }
    if cost is not None:
        item["totalCost"] = cost
    return item


def test_benchmarks_group_costed_runs_by_workflow_and_compute_service() -> None:
    queries = FakeQueries(
        {
            "snakemake": [
                run("a", "fargate", "0.0100", "100", "90"),
                run("b", "fargate", "0.0200", "200", "180"),
                run("c", "fargate", "0.0300", "300", "270"),
                run("d", "fargate", "0.0050", "50", "40", status="FAILED"),
                run("e", "fargate", None, "0", "0"),
                run("f", "batch", "1.0000", "3600", "3500"),
                {"launch_id": "g", "status": "RUNNING", "compute_service": "fargate"},
                # refused at registration (costed at zero usage): no run, and no failed run either
                {
                    **run("h", "fargate", "0.0000", "0", "0", status="FAILED"),
                    "status_history": [{"status": "FAILED", "at": "2025-01-10T10:00:00+00:00", "attempt": 1}],
                },
                {**run("i", "fargate", None, "900", "880"), "costStatus": "UNSUPPORTED"},
            ]
        }
    )

    report = reports_of(queries, max_items=500).benchmarks(
        BenchmarkQuery.parse({"workflow": "snakemake", "from": "2025-01-01", "to": "2025-01-31"}, NOW)
    )

    assert queries.asked == [
        ("snakemake", "2025-01-01T00:00:00+00:00", "2025-01-31T23:59:59.999999+00:00", 500)
    ]
    assert report["groups"] == [
        {
            "workflow_type": "snakemake",
            "compute_service": "batch",
            "runs": 1,
            "failed_runs": 0,
            "not_costed_yet": 0,
            "not_costable": 0,
            "never_launched": 0,
            "failed_cost_usd": "0.0000",
            "wall_seconds": {"median": 3600.0, "p90": 3600.0},
            "run_seconds": {"median": 3500.0, "p90": 3500.0},
            "cost_usd": {"median": "1.0000", "p90": "1.0000", "total": "1.0000"},
        },
        {
            "workflow_type": "snakemake",
            "compute_service": "fargate",
            "runs": 3,
            "failed_runs": 1,
            "not_costed_yet": 1,
            "not_costable": 1,
            "never_launched": 1,
            "failed_cost_usd": "0.0050",
            "wall_seconds": {"median": 200.0, "p90": 280.0},
            "run_seconds": {"median": 180.0, "p90": 252.0},
            "cost_usd": {"median": "0.0200", "p90": "0.0280", "total": "0.0600"},
        },
    ]
    assert (report["workflow"], report["pricing_basis"], report["truncated"]) == (
        "snakemake",
        "public list price",
        False,
    )


def test_benchmarks_of_every_workflow_filtered_by_compute_service_say_when_truncated() -> None:
    queries = FakeQueries(
        {"container": [run("a", "fargate", "0.0100", "10", "9"), run("b", "batch", "2.0000", "9", "8")]},
        more=True,
    )

    report = reports_of(queries, max_items=1).benchmarks(BenchmarkQuery.parse({"compute": "batch"}, NOW))

    assert [item[0] for item in queries.asked] == ["snakemake", "nextflow", "container", "regenie"]
    assert [(group["workflow_type"], group["compute_service"]) for group in report["groups"]] == [
        ("container", "batch")
    ]
    assert (report["workflow"], report["truncated"]) == ("all", True)


def test_the_cost_of_an_unknown_launch_is_not_found() -> None:
    reports = reports_of(FakeQueries({"snakemake": [COSTED]}), max_items=10)

    assert reports.cost("wf-1")["total_cost"] == "0.0147"
    with pytest.raises(LaunchNotFoundError, match="no launch wf-404"):
        reports.cost("wf-404")


def test_a_re_cost_is_requested_or_refused_with_the_reason() -> None:
    queries = FakeQueries(
        {},
        refusals={
            "wf-run": {"status": "RUNNING"},
            "wf-busy": {"status": "COMPLETE", "costStatus": "PENDING"},
            "wf-none": {},
        },
    )
    reports = reports_of(queries, max_items=10)

    assert reports.recost("wf-1", "arn:me") == {"launch_id": "wf-1", "cost_status": "REQUESTED"}
    assert queries.resets == [("wf-1", "arn:me", NOW.isoformat())]
    with pytest.raises(
        RecostNotAllowedError, match="launch wf-run is RUNNING; only finished launches are costed"
    ):
        reports.recost("wf-run", "arn:me")
    with pytest.raises(RecostNotAllowedError, match=r"launch wf-busy has a costing under way \(PENDING\)"):
        reports.recost("wf-busy", "arn:me")
    with pytest.raises(LaunchNotFoundError):
        reports.recost("wf-none", "arn:me")


EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:CostLaunch-1A2B:6d1f"
OWNER = f"{EXECUTION}#a87ff679a2f3e71d9181a67b7542122c"


def under_way(status: str, started: datetime) -> dict[str, Any]:
    return {
        "status": "COMPLETE",
        "costStatus": status,
        "costOwner": OWNER,
        "costStartedAt": started.isoformat(),
    }


def test_a_costing_whose_execution_no_longer_runs_is_replaced_by_a_re_cost() -> None:
    # Given a launch left IN_PROGRESS 10 minutes ago by an execution that was stopped by hand
    queries = FakeQueries({}, refusals={"wf-stuck": under_way("IN_PROGRESS", NOW - timedelta(minutes=10))})
    executions = FakeExecutions({EXECUTION: "ABORTED"})

    # When an operator asks for a re-cost
    answer = reports_of(queries, max_items=10, executions=executions).recost("wf-stuck", "arn:me")

    # Then the execution was looked up, and the cost removed on the condition that it still owns the item
    assert answer == {"launch_id": "wf-stuck", "cost_status": "REQUESTED", "replaced_costing": OWNER}
    assert (executions.asked, queries.owner_resets) == ([EXECUTION], [("wf-stuck", OWNER)])


def test_a_costing_older_than_any_costing_can_last_is_replaced_without_asking_step_functions() -> None:
    # Given a launch PENDING since longer than 24 attempts x (1 h + 3,000 s) + 1 h
    started = NOW - STALE - timedelta(seconds=1)
    queries = FakeQueries({}, refusals={"wf-old": under_way("PENDING", started)})
    executions = FakeExecutions({EXECUTION: "RUNNING"})

    answer = reports_of(queries, max_items=10, executions=executions).recost("wf-old", "arn:me")

    assert (answer["cost_status"], executions.asked) == ("REQUESTED", [])
    assert timedelta(hours=24 + 1) + timedelta(seconds=24 * 3000) == STALE


def test_a_costing_alive_or_taken_over_meanwhile_is_not_replaced() -> None:
    # Given one costing whose execution is running, and one whose owner changed after it was read
    queries = FakeQueries(
        {},
        refusals={
            "wf-alive": under_way("PENDING", NOW - timedelta(hours=2)),
            "wf-raced": under_way("IN_PROGRESS", NOW - timedelta(minutes=1)),
        },
        owner_moved={"wf-raced"},
    )
    executions = FakeExecutions({EXECUTION: "RUNNING"})
    reports = reports_of(queries, max_items=10, executions=executions)

    # Then the running one is refused without touching the item
    with pytest.raises(RecostNotAllowedError, match=r"costing under way \(PENDING\)"):
        reports.recost("wf-alive", "arn:me")
    assert queries.owner_resets == []
    # and the raced one is refused by the owner condition
    executions.statuses[EXECUTION] = "FAILED"
    with pytest.raises(RecostNotAllowedError, match=r"costing under way \(IN_PROGRESS\)"):
        reports.recost("wf-raced", "arn:me")
    assert queries.owner_resets == [("wf-raced", OWNER)]


def test_a_costing_with_an_unreadable_start_asks_step_functions() -> None:
    # Given a costing under way whose costStartedAt cannot be read, owned by an execution that ended
    item = {**under_way("IN_PROGRESS", NOW), "costStartedAt": "yesterday"}
    queries = FakeQueries({}, refusals={"wf-odd": item})
    executions = FakeExecutions({EXECUTION: "TIMED_OUT"})

    answer = reports_of(queries, max_items=10, executions=executions).recost("wf-odd", "arn:me")

    # Then the execution's status decided: it no longer runs, so the costing was replaced
    assert (answer["cost_status"], executions.asked) == ("REQUESTED", [EXECUTION])
