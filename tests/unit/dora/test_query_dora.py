"""query_dora: the API's routes, parameters and errors (the metrics JSON itself: test_calculate)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.events import load_event
from tests.unit.dora.builders import change, deployment, incident, oi, sha
from tests.unit.dora.conftest import DoraWorld, at


@pytest.fixture
def recorded(dora: DoraWorld) -> DoraWorld:
    """svc-a: three deployments on 2024-03-11, the last with three changes and a linked incident."""
    store = dora.store()
    changes = [change(sha(n), at(2024, 3, 11, 9 + 2 * (n - 1))) for n in (1, 2, 3)]
    for item in (
        deployment("E0", at(2024, 3, 11, 8), sha(0)),
        deployment("E1", at(2024, 3, 11, 14), sha(3), changes=changes),
        deployment("E2", at(2024, 3, 12, 9), sha(4)),
    ):
        store.put_deployment(item, f"event-{item.execution_id}", item.deploy_time)
        store.save_resolution(item, _resolved(item))
        store.register_service(item)
    store.put_incident(
        incident(
            oi(1), at(2024, 3, 11, 15), deployment_ref="E1", status="Resolved", actual_end=at(2024, 3, 11, 16)
        ),
        "e",
    )
    return dora


def _resolved(item: Any) -> Any:
    from blueprints.dora.changes import Resolution
    from blueprints.dora.model import ChangeSource, ChangesStatus

    return Resolution(ChangesStatus.RESOLVED, ChangeSource.PUSHES, item.changes or (), None, False)


def metrics_event(query: dict[str, str], path: str = "/dora/metrics") -> dict[str, Any]:
    event = load_event("dora", "query_dora", "get_metrics")
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["routeKey"] = event["requestContext"]["routeKey"] = f"GET {path}"
    event["queryStringParameters"] = query or None
    event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    return event


def get(dora: DoraWorld, path: str, **query: str) -> tuple[int, Any]:
    result = dora.invoke("QueryDoraFunction", metrics_event(query, path))
    return int(result["statusCode"]), json.loads(result["body"])


def test_the_sample_metrics_request_answers_the_documented_shape(recorded: DoraWorld) -> None:
    result = recorded.invoke("QueryDoraFunction", load_event("dora", "query_dora", "get_metrics"))
    body = json.loads(result["body"])
    assert result["statusCode"] == 200
    assert list(body) == [
        "service",
        "from",
        "to",
        "benchmark",
        "deployment_frequency",
        "lead_time",
        "change_failure_rate",
        "recovery_time",
        "rework_rate",
        "overall_tier",
    ]
    assert (body["deployment_frequency"]["deployments"], body["benchmark"]) == (3, "2021")
    assert body["lead_time"] == {
        "samples": 3,
        "skewed": 0,
        "median_seconds": 10800.0,
        "p90_seconds": 16560.0,
        "tier": "elite",  # 2021: 3 h is nearer "<1 hour" than "1 day-1 week"
    }
    assert body["change_failure_rate"] == {"failed": 1, "deployments": 3, "rate": 0.333333, "tier": "low"}
    assert body["recovery_time"]["median_seconds"] == 3600.0


def test_the_edition_can_be_chosen(recorded: DoraWorld) -> None:
    result = recorded.invoke("QueryDoraFunction", load_event("dora", "query_dora", "get_metrics_edition"))
    body = json.loads(result["body"])
    assert (body["benchmark"], body["change_failure_rate"]["tier"]) == (
        "2023",
        "medium",
    )  # 33 %: nearest 15 %


def test_the_benchmark_field_names_the_edition_used(recorded: DoraWorld) -> None:
    # Given the stack's BenchmarkEdition left empty, then set to 2019
    query = {"service": "svc-a", "from": "2024-03-11", "to": "2024-03-11"}
    # When the metrics are asked for without an edition, then with one
    default = get(recorded, "/dora/metrics", **query)[1]
    configured = recorded.invoke("QueryDoraFunction", metrics_event(query), BENCHMARK_EDITION="2019")
    chosen = recorded.invoke(
        "QueryDoraFunction", metrics_event({**query, "benchmark": "2024"}), BENCHMARK_EDITION="2019"
    )
    # Then the field names the edition whose tiers were applied: the default rule's (2021, the latest
    # corroborated: none is verified), the configured one, the requested one
    assert default["benchmark"] == "2021"
    assert json.loads(configured["body"])["benchmark"] == "2019"
    assert json.loads(chosen["body"])["benchmark"] == "2024"


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ({"service": "svc-z", "from": "2024-03-01", "to": "2024-03-31"}, 404, "no deployments recorded"),
        ({"from": "2024-03-01", "to": "2024-03-31"}, 400, "service"),
        ({"service": "svc-a", "from": "2024-3-1", "to": "2024-03-31"}, 400, "from must be"),
        ({"service": "svc-a", "from": "2024-03-31", "to": "2024-03-01"}, 400, "not be after"),
        ({"service": "svc-a", "from": "2022-01-01", "to": "2024-03-31"}, 400, "at most 366"),
        ({"service": "svc-a", "to": "2024-03-31"}, 400, "missing query parameter from"),
        (
            {"service": "svc-a", "from": "2024-03-01", "to": "2024-03-31", "benchmark": "1999"},
            400,
            "unknown benchmark",
        ),
    ],
)
def test_bad_requests_are_answered_with_the_reason(
    recorded: DoraWorld, query: dict[str, str], status: int, message: str
) -> None:
    found_status, body = get(recorded, "/dora/metrics", **query)
    assert found_status == status
    assert message in body["message"]


def test_services_drilldown_and_snapshots(recorded: DoraWorld) -> None:
    assert get(recorded, "/dora/services") == (200, {"services": ["svc-a"]})

    status, drill = get(
        recorded, "/dora/deployments", service="svc-a", **{"from": "2024-03-11", "to": "2024-03-11"}
    )
    assert status == 200
    assert [d["execution_id"] for d in drill["deployments"]] == ["E0", "E1"]
    assert drill["deployments"][1]["incidents"] == [
        {"incident": oi(1), "method": "explicit", "confidence": "high"}
    ]

    recorded.invoke("CalculateDoraMetricsFunction", {"action": "compute", "service": "svc-a"})
    status, snapshots = get(
        recorded,
        "/dora/snapshots",
        service="svc-a",
        window="day",
        **{"from": "2024-03-01", "to": "2024-03-31"},
    )
    assert status == 200
    assert [s["period"] for s in snapshots["snapshots"]] == ["2024-03-11", "2024-03-12"]
    assert snapshots["snapshots"][0]["metrics"]["deployment_frequency"]["deployments"] == 2
    assert (
        get(
            recorded,
            "/dora/snapshots",
            service="svc-a",
            window="year",
            **{"from": "2024-03-01", "to": "2024-03-31"},
        )[0]
        == 400
    )
