"""The fact store's incident writes on moto: concurrent Create/Update events merge, never overwrite."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, cast

import boto3
import pytest
from botocore.exceptions import ClientError

from blueprints.dora.errors import IncidentWriteConflictError
from blueprints.dora.model import RESOLVED, Incident
from blueprints.dora.store import FactStore
from tests.support.botocore_hooks import Reply, Script
from tests.unit.dora.builders import at, oi
from tests.unit.dora.conftest import DoraWorld

OPEN = Incident(oi(1), at("12:30"), category="Availability", status="Open", last_modified=at("12:30"))
RESOLVED_READ = replace(OPEN, status=RESOLVED, resolved_time=at("14:00"), last_modified=at("14:00"))


class Interleaved:
    """A DynamoDB client that lets ``competitor`` write right after this store reads an item."""

    def __init__(self, client: Any, competitor: Callable[[], object], times: int = 1) -> None:
        self._client = client
        self._competitor = competitor
        self.remaining = times

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def get_item(self, **request: Any) -> Any:
        read = self._client.get_item(**request)
        if self.remaining > 0:
            self.remaining -= 1
            self._competitor()
        return read


def racing(dora: DoraWorld, competitor: Callable[[], object], times: int = 1) -> FactStore:
    """A store whose next ``times`` reads are each followed by the competitor's write."""
    client = Interleaved(boto3.client("dynamodb", region_name="us-east-1"), competitor, times)
    return FactStore(dora.table, client=cast(Any, client))


def test_a_stale_open_update_after_the_resolution_leaves_it_resolved(dora: DoraWorld) -> None:
    # Given the Resolved read stored first
    store = dora.store()
    store.put_incident(RESOLVED_READ, "update")

    # When the Create event's older read (Open, 12:30) is processed afterwards
    stored = store.put_incident(OPEN, "create")

    # Then the incident stays Resolved with its resolved time; both events are recorded
    incident = store.get_incident(oi(1))
    assert incident == stored
    assert (incident.status, incident.resolved_time, incident.last_modified) == (
        RESOLVED,
        at("14:00"),
        at("14:00"),
    )


def test_a_resolution_landing_between_the_read_and_write_of_an_open_update_is_kept(dora: DoraWorld) -> None:
    # Given an Open read being stored while the Resolved read is written in between (the race)
    competitor = dora.store()
    store = racing(dora, lambda: competitor.put_incident(RESOLVED_READ, "update"))

    # When the Open write completes
    stored = store.put_incident(OPEN, "create")

    # Then it merged with the resolution instead of overwriting it
    incident = dora.store().get_incident(oi(1))
    assert incident == stored
    assert incident is not None
    assert (incident.status, incident.resolved_time) == (RESOLVED, at("14:00"))
    item = dora.store().client.get_item(
        TableName=dora.table, Key={"PK": {"S": f"INCIDENT#{oi(1)}"}, "SK": {"S": "META"}}
    )["Item"]
    assert (sorted(item["event_ids"]["SS"]), item["version"]["N"]) == (["create", "update"], "2")


def test_a_stale_open_update_landing_inside_a_resolution_does_not_win(dora: DoraWorld) -> None:
    # Given an Open incident stored, and the Resolved read being stored while a stale Open read lands
    dora.store().put_incident(OPEN, "create")
    competitor = dora.store()
    store = racing(dora, lambda: competitor.put_incident(OPEN, "create-again"))

    # When the resolution completes
    store.put_incident(RESOLVED_READ, "update")

    # Then the incident is Resolved, with its resolved time, and no delivery is lost
    incident = dora.store().get_incident(oi(1))
    assert incident is not None
    assert (incident.status, incident.resolved_time, incident.last_modified) == (
        RESOLVED,
        at("14:00"),
        at("14:00"),
    )
    item = dora.store().client.get_item(
        TableName=dora.table, Key={"PK": {"S": f"INCIDENT#{oi(1)}"}, "SK": {"S": "META"}}
    )["Item"]
    assert sorted(item["event_ids"]["SS"]) == ["create", "create-again", "update"]


def test_a_service_given_between_the_read_and_write_of_an_update_is_kept(dora: DoraWorld) -> None:
    # Given an incident without service, and an update being stored while a deployment gives it svc-a
    dora.store().put_incident(OPEN, "create")
    competitor = dora.store()
    store = racing(dora, lambda: competitor.set_incident_service(oi(1), "svc-a"))

    # When the update (no service of its own) completes
    stored = store.put_incident(RESOLVED_READ, "update")

    # Then the service and its index keys are kept: the incident is listed for svc-a, resolved
    assert stored.service == "svc-a"
    assert [(i.ops_item_id, i.status) for i in dora.store().incidents("svc-a")] == [(oi(1), RESOLVED)]


def test_an_incident_changing_on_every_attempt_fails_retryably(dora: DoraWorld) -> None:
    # Given a competitor writing after every read of the store
    competitor = dora.store()
    store = racing(dora, lambda: competitor.put_incident(OPEN, "other"), times=100)

    # When / Then the write gives up with a retryable error after its attempts
    with pytest.raises(IncidentWriteConflictError, match=oi(1)):
        store.put_incident(RESOLVED_READ, "update")


def test_an_item_written_before_versions_is_merged_once(dora: DoraWorld) -> None:
    # Given an incident item without version (written by an earlier release)
    store = dora.store()
    store.put_incident(RESOLVED_READ, "update")
    store.client.update_item(
        TableName=dora.table,
        Key={"PK": {"S": f"INCIDENT#{oi(1)}"}, "SK": {"S": "META"}},
        UpdateExpression="REMOVE version",
    )

    # When an older read arrives
    stored = store.put_incident(OPEN, "create")

    # Then the stored item keeps the resolution, now versioned
    assert (stored.status, stored.resolved_time) == (RESOLVED, at("14:00"))


def test_giving_a_service_to_an_unknown_incident_does_nothing(dora: DoraWorld) -> None:
    store = dora.store()
    assert store.set_incident_service(oi(9), "svc-a") is False
    assert store.get_incident(oi(9)) is None


def test_an_incident_gone_between_read_and_update_gets_no_service(dora: DoraWorld) -> None:
    # Given a stored incident whose service update finds it gone (the condition fails)
    store = dora.store()
    store.put_incident(OPEN, "create")
    Script(store.client, "UpdateItem", [Reply.error("ConditionalCheckFailedException")])

    # When / Then the service is not set, and the store says so
    assert store.set_incident_service(oi(1), "svc-a") is False


def test_an_incident_write_failing_otherwise_is_raised(dora: DoraWorld) -> None:
    # Given DynamoDB failing the conditional put for another reason than the condition
    store = dora.store()
    Script(store.client, "PutItem", [Reply.error("InternalServerError", status=500)])

    # When / Then the error reaches the caller (the event is retried), nothing is stored
    with pytest.raises(ClientError, match="InternalServerError"):
        store.put_incident(OPEN, "create")
    assert store.get_incident(oi(1)) is None
