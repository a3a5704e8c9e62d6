"""DORA ingest robustness on the local cloud: a half-recorded deployment is completed by Lambda's own
retry of the event, and a stale OpsItem read delivered late never moves an incident back.

Failures are injected where AWS can produce them: SQS refusing the change-resolution batch (the ingest
function then fails and Lambda retries the asynchronous invocation), and an eventually consistent or
lagging GetOpsItem answer for a redelivered event (EventBridge delivers at least once, in any order).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from blueprints.dora import store as store_module
from blueprints.dora.model import Incident
from blueprints.dora.opscenter import OpsCenterReader, OpsItem
from blueprints.dora.queue import ChangeQueue
from demos.dora import DoraWorld

HOUR = 3600.0


def at(day: date, clock: str) -> datetime:
    hours, minutes = (int(part) for part in clock.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=UTC)


def start(world: DoraWorld, service: str, day: date) -> str:
    """A pipeline for ``service`` and a repository whose first commit was deployed the day before."""
    world.pipeline(service)
    repo = f"example-org/{service}"
    base = world.commit(repo, "base", at(day, "06:00") - timedelta(days=2))
    world.push(repo)
    world.deploy(service, f"{service}-base", base, at(day, "06:00") - timedelta(days=1), repo=repo)
    return repo


def refuse_once(monkeypatch: pytest.MonkeyPatch, execution_id: str) -> list[str]:
    """SQS refuses the first change-resolution batch naming ``execution_id`` (the ingest then fails)."""
    original: Callable[..., None] = ChangeQueue.enqueue
    refused: list[str] = []

    def enqueue(queue: ChangeQueue, deployments: list[Any]) -> None:
        if not refused and any(d.execution_id == execution_id for d in deployments):
            refused.append(execution_id)
            raise RuntimeError("SendMessageBatch failed for 1 change-resolution messages")
        original(queue, deployments)

    monkeypatch.setattr(ChangeQueue, "enqueue", enqueue)
    return refused


def test_a_refused_resolution_message_is_completed_by_the_retried_event(
    world: DoraWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given svc-retry deployed the day before, and a commit at 09:00 deployed at 10:00 whose ingest
    # stores the deployment, then fails because SQS refuses its change-resolution message
    day = date(2024, 6, 3)
    repo = start(world, "svc-retry", day)
    world.settle()
    head = world.commit(repo, "c1", at(day, "09:00"))
    world.push(repo)
    refused = refuse_once(monkeypatch, "svc-retry-1")

    # When the deployment's events arrive and Lambda retries the failed asynchronous invocation
    world.deploy("svc-retry", "svc-retry-1", head, at(day, "10:00"), repo=repo)
    world.settle()

    # Then the retry (a duplicate of the stored deployment) queued the resolution: the deployment has its
    # one-hour lead-time sample, the service is listed, and the deployment counts once
    attempts = [
        (call.attempt, call.errored, call.payload)
        for call in world.cloud.calls("IngestPipelineEventFunction")
        if call.event["detail"].get("execution-id") == "svc-retry-1"
        and call.event["detail"].get("stage") == "DeployPROD"
    ]
    found = world.metrics("svc-retry", day, day)
    status, body = world._get("/dora/services")
    assert refused == ["svc-retry-1"]
    assert [(attempt, errored) for attempt, errored, _ in attempts] == [(1, True), (2, False)]
    assert attempts[-1][2] == {"outcome": "duplicate"}
    assert (found["deployment_frequency"]["deployments"], found["lead_time"]["samples"]) == (1, 1)
    assert found["lead_time"]["median_seconds"] == HOUR
    assert (status, "svc-retry" in body["services"]) == (200, True)


def lagging(monkeypatch: pytest.MonkeyPatch, ops_item_id: str, as_of: Callable[[OpsItem], OpsItem]) -> None:
    """The next GetOpsItem of ``ops_item_id`` answers an older version of the OpsItem (a lagging read)."""
    original = OpsCenterReader.get
    served: list[str] = []

    def get(reader: OpsCenterReader, account: str, region: str, item_id: str) -> OpsItem:
        item = original(reader, account, region, item_id)
        if item_id != ops_item_id or served:
            return item
        served.append(item_id)
        return as_of(item)

    monkeypatch.setattr(OpsCenterReader, "get", get)


def test_a_late_create_event_read_stale_does_not_reopen_a_resolved_incident(
    world: DoraWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given D1 09:00, D2 12:00 and an OpsItem naming D2, created 12:30 and resolved at 14:00
    day = date(2024, 6, 4)
    repo = start(world, "svc-stale", day)
    for number, clock in ((1, "09:00"), (2, "12:00")):
        head = world.commit(repo, f"c{number}", at(day, clock) - timedelta(hours=1))
        world.push(repo)
        world.deploy("svc-stale", f"svc-stale-{number}", head, at(day, clock), repo=repo)
    ops_item_id = world.incident(at(day, "12:30"), deployment="svc-stale-2")
    world.settle()
    world.resolve(ops_item_id, at(day, "14:00"))
    world.settle()
    before = world.metrics("svc-stale", day, day)

    # When EventBridge delivers the Create event again, and its GetOpsItem answers the Open version
    [create] = [
        call.event
        for call in world.cloud.calls("IngestOpsitemEventFunction")
        if call.event["detail-type"] == "OpsItem Create"
        and call.event["detail"]["ops-item-id"] == ops_item_id
    ]
    lagging(
        monkeypatch,
        ops_item_id,
        lambda item: replace(item, status="Open", actual_end=None, last_modified=item.created),
    )
    world.cloud.invoke("IngestOpsitemEventFunction", create, asynchronous=True)
    world.settle()

    # Then the incident is still resolved: CFR 1/2, one 1.5 h recovery, as before the late delivery
    after = world.metrics("svc-stale", day, day)
    assert before["recovery_time"]["median_seconds"] == 1.5 * HOUR
    assert after["change_failure_rate"] == before["change_failure_rate"]
    assert (after["change_failure_rate"]["rate"], after["recovery_time"]["samples"]) == (0.5, 1)
    assert after["recovery_time"]["median_seconds"] == 1.5 * HOUR


def test_a_service_given_while_an_incident_event_is_being_written_is_kept(
    world: DoraWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given svc-race deployed the day before, and an OpsItem created at 10:30 that names no service
    day = date(2024, 6, 5)
    repo = start(world, "svc-race", day)
    ops_item_id = world.incident(at(day, "10:30"))
    world.settle()
    fix = world.commit(repo, "fix", at(day, "11:00"), f"Fix checkout timeouts ({ops_item_id})")
    world.push(repo)
    [create] = [
        call.event
        for call in world.cloud.calls("IngestOpsitemEventFunction")
        if call.event["detail"]["ops-item-id"] == ops_item_id
    ]

    # When the Create event is delivered again and, between its read of the stored incident and its
    # write, the hotfix deployment naming the OpsItem is ingested (and gives the incident svc-race)
    original = store_module.merge_incident
    raced: list[str] = []

    def merge(current: Incident | None, read: Incident) -> Incident:
        if read.ops_item_id == ops_item_id and not raced:
            raced.append(ops_item_id)
            world.deploy(
                "svc-race", "svc-race-fix", fix, at(day, "12:00"), repo=repo, message=f"Fixes {ops_item_id}"
            )
            world.settle()
        return original(current, read)

    monkeypatch.setattr(store_module, "merge_incident", merge)
    world.cloud.invoke("IngestOpsitemEventFunction", create, asynchronous=True)
    world.settle()

    # Then the incident kept the service the deployment gave it: it is a qualifying incident of svc-race
    # (listed in the drill-down of the hotfix's culprit) and no longer unattributed
    drilldown = world.drilldown("svc-race", day - timedelta(days=1), day)
    linked = [incident for d in drilldown["deployments"] for incident in d["incidents"]]
    assert raced == [ops_item_id]
    assert [incident["incident"] for incident in linked] == [ops_item_id]
