"""calculate_dora_metrics: plan the services, rebuild a service's snapshots (late links, case 11)."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta

import pytest

from blueprints.core import aws
from blueprints.dora import wiring
from blueprints.dora.errors import InvalidEventError
from blueprints.dora.model import Deployment
from tests.support.botocore_hooks import record_calls
from tests.support.emf import metric_documents
from tests.support.events import load_event
from tests.unit.dora.builders import deployment as build
from tests.unit.dora.builders import incident, oi, sha
from tests.unit.dora.conftest import DoraWorld, at


def recorded(dora: DoraWorld, item: Deployment) -> None:
    store = dora.store()
    store.put_deployment(item, f"event-{item.execution_id}", item.deploy_time)
    store.register_service(item)
    store.mark_dirty(item.service, f"event-{item.execution_id}", item.deploy_time)


def compute(dora: DoraWorld, service: str = "svc-a", token: str = "") -> dict[str, object]:
    result: dict[str, object] = dora.invoke(
        "CalculateDoraMetricsFunction", {"action": "compute", "service": service, "token": token}
    )
    return result


def monthly_cfr(dora: DoraWorld, month: str) -> object:
    [snapshot] = dora.store().snapshots("svc-a", "month", month, month)
    return snapshot.metrics["change_failure_rate"]["rate"]


def test_plans_list_dirty_services_or_all_services(dora: DoraWorld) -> None:
    recorded(dora, build("D1", at(2024, 1, 31, 23), sha(1)))
    recorded(dora, build("X1", at(2024, 1, 31, 23), sha(1), service="svc-b"))
    dora.store().clear_dirty("svc-b", "event-X1")

    dirty = dora.invoke(
        "CalculateDoraMetricsFunction", load_event("dora", "calculate_dora_metrics", "plan_dirty")
    )
    every = dora.invoke(
        "CalculateDoraMetricsFunction", load_event("dora", "calculate_dora_metrics", "plan_daily")
    )

    assert dirty == {"jobs": [{"service": "svc-a", "token": "event-D1"}], "count": 1, "requeued": []}
    assert every == {
        "jobs": [{"service": "svc-a", "token": ""}, {"service": "svc-b", "token": ""}],
        "count": 2,
        "requeued": [],
    }


def test_the_plan_requeues_change_resolutions_left_pending_for_hours(dora: DoraWorld) -> None:
    # Given a deployment whose change resolution was queued a day ago and never saved (a lost message),
    # and one queued just now (still in flight)
    stale = build("D1", at(2024, 1, 31, 23), sha(1))
    fresh = build("D2", at(2024, 2, 1, 9), sha(2))
    recorded(dora, stale)
    recorded(dora, fresh)
    store = dora.store()
    store.mark_pending(stale, datetime.now(UTC) - timedelta(days=1))
    store.mark_pending(fresh, datetime.now(UTC))

    # When the recompute's plan step runs
    plan = dora.invoke(
        "CalculateDoraMetricsFunction", load_event("dora", "calculate_dora_metrics", "plan_dirty")
    )

    # Then only the stale resolution is queued again, and the plan still lists the dirty service
    assert plan["requeued"] == ["D1"]
    assert [json.loads(message["Body"])["execution_id"] for message in dora.queued_changes()] == ["D1"]
    assert plan["jobs"] == [{"service": "svc-a", "token": "event-D2"}]


def test_a_late_link_changes_the_earlier_month_only_and_a_second_run_writes_nothing(dora: DoraWorld) -> None:
    # Given a deployment on Jan 31 23:00Z, one on Feb 10, and their snapshots (case 11)
    recorded(dora, build("D1", at(2024, 1, 31, 23), sha(1)))
    recorded(dora, build("D2", at(2024, 2, 10, 9), sha(2)))
    first = compute(dora, token="event-D2")
    february = dora.store().snapshots("svc-a", "month", "2024-02-01", "2024-02-01")[0]
    assert (first["written"], first["cleared"], monthly_cfr(dora, "2024-01-01")) == (6, True, 0.0)

    # When an incident created Feb 1 02:00Z is linked to the January deployment, and the recompute runs
    dora.store().put_incident(incident(oi(1), at(2024, 2, 1, 2), deployment_ref="D1"), "event-oi1")
    again = compute(dora)

    # Then January's CFR is 1/1 now; February's snapshot is untouched; D1's day and week changed too
    assert monthly_cfr(dora, "2024-01-01") == 1.0
    assert dora.store().snapshots("svc-a", "month", "2024-02-01", "2024-02-01")[0] == february
    assert (again["written"], again["unchanged"]) == (3, 3)
    assert compute(dora)["written"] == 0


def test_a_token_that_changed_meanwhile_keeps_the_service_dirty(dora: DoraWorld) -> None:
    recorded(dora, build("D1", at(2024, 1, 31, 23), sha(1)))
    assert compute(dora, token="an-older-token")["cleared"] is False
    assert dora.store().dirty() == [("svc-a", "event-D1")]


def test_recent_services_publish_their_trailing_gauges(
    dora: DoraWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wiring, "now", lambda: at(2024, 3, 12, 9))
    recorded(dora, build("D1", at(2024, 3, 11, 9), sha(1)))
    output = io.StringIO()
    with redirect_stdout(output):
        compute(dora)
    names = {
        metric["Name"]
        for doc in metric_documents(output.getvalue())
        for metric in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    }
    assert names == {"DeploymentsPerWeek", "ChangeFailureRate", "ReworkRate", "TierScore"}
    [per_week] = metric_documents(output.getvalue(), "DeploymentsPerWeek")
    assert per_week["DeploymentsPerWeek"] == [round(7 / 30, 4)]


def test_a_malformed_request_is_refused(dora: DoraWorld) -> None:
    with pytest.raises(InvalidEventError, match="recompute request"):
        dora.invoke("CalculateDoraMetricsFunction", {"action": "compute"})
    assert json.dumps(load_event("dora", "calculate_dora_metrics", "compute_service"))


def test_a_recompute_reads_the_facts_once_and_each_kind_of_snapshot_once(dora: DoraWorld) -> None:
    # Given a service with deployments on many days
    for day in range(1, 15):
        recorded(dora, build(f"D{day}", at(2024, 3, day, 9), sha(day)))
    dora.use("CalculateDoraMetricsFunction")
    queries = record_calls(aws.client("dynamodb"), "Query")

    # When it is recomputed
    result = compute(dora)

    # Then one query for its deployments, one for its incidents, one per snapshot kind (day, week, month)
    assert result["written"] == 14 + 3 + 1
    assert sorted(
        call.get("IndexName", call["ExpressionAttributeValues"][":pk"]["S"]) for call in queries
    ) == [
        "GSI1",
        "GSI2",
        "SNAPSHOT#svc-a#day",
        "SNAPSHOT#svc-a#month",
        "SNAPSHOT#svc-a#week",
    ]
