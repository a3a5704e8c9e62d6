"""ingest_opsitem_event on moto's OpsCenter: incidents re-read, given a service, linked (cases 8, 9, 10)."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from datetime import datetime
from typing import Any

import pytest

from blueprints.dora import wiring
from tests.support.emf import metric_documents
from tests.support.events import load_event
from tests.unit.dora.builders import at, deployment, sha
from tests.unit.dora.conftest import DoraWorld, pipeline_event

ARN = deployment("x", at("00:00")).pipeline_arn


def opsitem_event(
    ops_item_id: str, case: str = "opsitem_create", time: datetime | None = None, **detail: str
) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(json.dumps(load_event("dora", "ingest_opsitem_event", case)))
    event["detail"]["ops-item-id"] = ops_item_id
    event["resources"] = [f"arn:aws:ssm:us-east-1:123456789012:opsitem/{ops_item_id}"]
    event["detail"].update(detail)
    if time is not None:
        event["time"] = time.isoformat()
    return event


def ingest(dora: DoraWorld, event: dict[str, Any], **overrides: str) -> str:
    return str(dora.invoke("IngestOpsitemEventFunction", event, **overrides)["outcome"])


def data(**values: str) -> dict[str, dict[str, str]]:
    return {key: {"Value": value, "Type": "SearchableString"} for key, value in values.items()}


def store_deployments(dora: DoraWorld) -> None:
    store = dora.store()
    for item in (deployment("D1", at("09:00"), sha(1)), deployment("D2", at("12:00"), sha(2))):
        store.put_deployment(item, f"event-{item.execution_id}", at("12:00"))
        store.point_execution(item)
        store.register_service(item)


def test_an_incident_naming_a_deployment_is_stored_with_that_service(
    dora: DoraWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given D1 09:00, D2 12:00, and oi-1 created 12:30 naming D2 (case 8); "now" is 13:00
    monkeypatch.setattr(wiring, "now", lambda: at("13:00"))
    store_deployments(dora)
    ops_item_id = dora.ops_item(
        at("12:30"), Category="Availability", Severity="2", OperationalData=data(**{"/dora/deployment": "D2"})
    )

    # When its Create event is ingested
    output = io.StringIO()
    with redirect_stdout(output):
        outcome = ingest(dora, opsitem_event(ops_item_id, time=at("12:30")))

    # Then the incident is stored from GetOpsItem, with svc-a as its service, qualifying
    incident = dora.store().get_incident(ops_item_id)
    assert outcome == "recorded"
    assert incident is not None
    assert (incident.service, incident.created, incident.deployment_ref, incident.qualifying) == (
        "svc-a",
        at("12:30"),
        "D2",
        True,
    )
    # and D2's failure is published once, at D2's deploy time; svc-a is marked for recompute
    [failed] = metric_documents(output.getvalue(), "FailedDeployments")
    assert failed["_aws"]["Timestamp"] == int(at("12:00").timestamp() * 1000)
    assert [service for service, _ in dora.store().dirty()] == ["svc-a"]


def test_a_resolving_update_records_the_recovery(dora: DoraWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wiring, "now", lambda: at("15:00"))
    store_deployments(dora)
    ops_item_id = dora.ops_item(
        at("12:30"), Category="Availability", Severity="2", OperationalData=data(**{"/dora/deployment": "D2"})
    )
    ingest(dora, opsitem_event(ops_item_id, time=at("12:30")))

    # When the OpsItem is resolved at 14:00 (no ActualEndTime) and its Update event arrives, twice
    dora.update_ops_item(ops_item_id, at("14:00"), Status="Resolved")
    update = opsitem_event(ops_item_id, "opsitem_update_resolved", time=at("14:00"))
    output = io.StringIO()
    with redirect_stdout(output):
        ingest(dora, update)
        ingest(dora, update)

    # Then the resolution time is the update's and the 1.5 h recovery is published once
    incident = dora.store().get_incident(ops_item_id)
    assert incident is not None
    assert (incident.status, incident.resolved_time, incident.resolved_at) == (
        "Resolved",
        at("14:00"),
        at("14:00"),
    )
    [recovery] = metric_documents(output.getvalue(), "RecoverySeconds")
    assert recovery["RecoverySeconds"] == [5400.0]


def test_a_late_create_event_does_not_undo_a_newer_read(dora: DoraWorld) -> None:
    store_deployments(dora)
    ops_item_id = dora.ops_item(at("12:30"), OperationalData=data(**{"/dora/deployment": "D2"}))
    dora.update_ops_item(ops_item_id, at("14:00"), Status="Resolved")
    ingest(dora, opsitem_event(ops_item_id, "opsitem_update_resolved", time=at("14:00")))

    ingest(dora, opsitem_event(ops_item_id, time=at("12:30")))  # the Create event, delivered late

    incident = dora.store().get_incident(ops_item_id)
    assert incident is not None
    assert (incident.status, incident.resolved_time) == ("Resolved", at("14:00"))


def test_incidents_outside_the_filter_are_kept_but_do_not_qualify(dora: DoraWorld) -> None:
    # Given an AWS Health OpsItem and a Cost one (case 9)
    store_deployments(dora)
    health = dora.ops_item(
        at("12:30"),
        Source="aws.health",
        Category="Availability",
        Severity="2",
        OperationalData=data(**{"/dora/service": "svc-a"}),
    )
    cost = dora.ops_item(
        at("12:30"), Category="Cost", Severity="2", OperationalData=data(**{"/dora/service": "svc-a"})
    )

    outcomes = [ingest(dora, opsitem_event(health)), ingest(dora, opsitem_event(cost))]

    stored = [dora.store().get_incident(item) for item in (health, cost)]
    assert outcomes == ["recorded", "recorded"]
    assert [(i.service, i.qualifying) for i in stored if i is not None] == [
        ("svc-a", False),
        ("svc-a", False),
    ]


def test_an_incident_naming_a_deployment_not_seen_yet_gets_its_service_when_it_arrives(
    dora: DoraWorld,
) -> None:
    # Given oi-1 naming execution E9 before E9's event arrived
    ops_item_id = dora.ops_item(at("12:30"), OperationalData=data(**{"/dora/deployment": "E9"}))
    assert ingest(dora, opsitem_event(ops_item_id)) == "pending"

    # When E9 is deployed and its event ingested
    dora.pipeline()
    dora.execution("E9", sha(9), at("12:00"))
    dora.invoke(
        "IngestPipelineEventFunction",
        pipeline_event("stage_succeeded_prod", time="2024-03-11T12:00:00Z", **{"execution-id": "E9"}),
    )

    # Then the incident belongs to svc-a
    incident = dora.store().get_incident(ops_item_id)
    assert incident is not None
    assert incident.service == "svc-a"
    assert [i.ops_item_id for i in dora.store().incidents("svc-a")] == [ops_item_id]


def test_a_hotfix_naming_the_opsitem_gives_its_service(dora: DoraWorld) -> None:
    # Given a hotfix deployment from hotfix/<id>, recorded before the OpsItem is logged (case 10)
    ops_item_id = dora.ops_item(at("11:00"), ActualStartTime=at("08:00"))
    store = dora.store()
    hotfix = deployment("H1", at("10:00"), sha(2), references=frozenset({ops_item_id}))
    store.put_deployment(hotfix, "event-H1", at("10:00"))
    store.add_reference(ops_item_id, hotfix)

    assert ingest(dora, opsitem_event(ops_item_id)) == "recorded"
    incident = store.get_incident(ops_item_id)
    assert incident is not None
    assert (incident.service, incident.actual_start) == ("svc-a", at("08:00"))


def test_a_related_pipeline_resource_gives_the_service(dora: DoraWorld) -> None:
    resources = json.dumps([{"arn": ARN.replace("svc-a", "svc-c")}])
    ops_item_id = dora.ops_item(
        at("11:00"), OperationalData={"/aws/resources": {"Value": resources, "Type": "SearchableString"}}
    )
    ingest(dora, opsitem_event(ops_item_id))
    incident = dora.store().get_incident(ops_item_id)
    assert incident is not None
    assert incident.service == "svc-c"


def test_an_incident_no_rule_attributes_is_listed_and_counted_once_until_it_gets_a_service(
    dora: DoraWorld, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Given "now" 13:00 and a qualifying OpsItem naming no service, pipeline, deployment or hotfix
    monkeypatch.setattr(wiring, "now", lambda: at("13:00"))
    ops_item_id = dora.ops_item(at("12:30"), Category="Availability", Severity="2")

    # When its Create and an Update are ingested
    output = io.StringIO()
    with redirect_stdout(output):
        outcomes = [
            ingest(dora, opsitem_event(ops_item_id)),
            ingest(dora, opsitem_event(ops_item_id, "opsitem_update_resolved", status="Open")),
        ]

    # Then it is pending, listed as unattributed, counted once (every-service rollup, at "now"), and warned
    [listed] = dora.store().unattributed()
    [point] = metric_documents(output.getvalue(), "UnattributedIncidents")
    assert outcomes == ["pending", "pending"]
    assert (listed.ops_item_id, listed.created, listed.title) == (
        ops_item_id,
        at("12:30"),
        "Orders API errors",
    )
    assert point["_aws"]["Timestamp"] == int(at("13:00").timestamp() * 1000)
    assert point["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
    assert "Service" not in point
    warnings = [r.levelname for r in caplog.records if r.getMessage().startswith("unattributed incident")]
    assert warnings == ["WARNING", "WARNING"]

    # When the OpsItem is tagged with /dora/service and updated
    dora.update_ops_item(ops_item_id, at("13:30"), OperationalData=data(**{"/dora/service": "svc-a"}))
    assert ingest(dora, opsitem_event(ops_item_id, "opsitem_update_resolved", status="Open")) == "recorded"

    # Then it is no longer listed
    assert dora.store().unattributed() == []


def test_an_unattributed_incident_given_a_service_by_a_deployment_leaves_the_list(dora: DoraWorld) -> None:
    # Given an unattributed incident
    ops_item_id = dora.ops_item(at("12:30"), Category="Availability", Severity="2")
    assert ingest(dora, opsitem_event(ops_item_id)) == "pending"

    # When a deployment naming it gives it svc-a
    assert dora.store().set_incident_service(ops_item_id, "svc-a") is True

    # Then it is no longer unattributed
    assert dora.store().unattributed() == []


def test_an_incident_that_does_not_qualify_is_not_listed_as_unattributed(dora: DoraWorld) -> None:
    ops_item_id = dora.ops_item(at("12:30"), Category="Availability", Severity="2", Source="aws.health")
    assert ingest(dora, opsitem_event(ops_item_id)) == "pending"
    assert dora.store().unattributed() == []


@pytest.mark.parametrize(
    ("arn", "service"),
    [
        ("arn:aws:codepipeline:us-east-1:123456789012:svc-c/DeployPROD/Deploy", "svc-c"),
        (
            "arn:aws:cloudformation:us-east-1:123456789012:stack/svc-a/0f1e2d3c-aaaa-bbbb-cccc-1234567890ab",
            "svc-a",
        ),
        ("arn:aws:cloudformation:us-east-1:123456789012:stack/shared-vpc/0f1e2d3c-aaaa-bbbb", None),
        ("arn:aws:lambda:us-east-1:123456789012:function:svc-a", None),
        ("arn:aws:codepipeline:us-east-1:123456789012:", None),
    ],
)
def test_related_resources_name_a_pipeline_or_a_stack_named_like_a_service(
    dora: DoraWorld, arn: str, service: str | None
) -> None:
    # Given svc-a has deployments, and an OpsItem whose /aws/resources lists one ARN
    store_deployments(dora)
    resources = json.dumps([{"arn": arn}])
    ops_item_id = dora.ops_item(
        at("12:30"), OperationalData={"/aws/resources": {"Value": resources, "Type": "SearchableString"}}
    )

    # When it is ingested
    ingest(dora, opsitem_event(ops_item_id))

    # Then its service is the pipeline's, the stack's when a service has that name, else none
    incident = dora.store().get_incident(ops_item_id)
    assert incident is not None
    assert incident.service == service


def test_a_rollback_of_a_deployment_with_an_open_incident_publishes_the_recovery_when_it_is_final(
    dora: DoraWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given D1 (commit 1) 09:00, D2 (commit 2) 10:00, an incident naming D2 that started at 10:15,
    # and a rollback to commit 1 at 11:00; "now" is 13:00
    monkeypatch.setattr(wiring, "now", lambda: at("13:00"))
    dora.pipeline()
    dora.execution("D1", sha(1), at("09:00"))
    dora.execution("D2", sha(2), at("10:00"))
    dora.execution(
        "R1",
        sha(1),
        at("11:00"),
        trigger_type="ManualRollback",
        rollback_metadata={"rollbackTargetPipelineExecutionId": "D1"},
    )
    output = io.StringIO()
    with redirect_stdout(output):
        for execution_id, hour in (("D1", 9), ("D2", 10)):
            time = f"2024-03-11T{hour:02d}:00:00Z"
            pipeline = pipeline_event("stage_succeeded_prod", time=time, **{"execution-id": execution_id})
            dora.invoke("IngestPipelineEventFunction", pipeline)
        ops_item_id = dora.ops_item(
            at("10:30"),
            Category="Availability",
            Severity="2",
            ActualStartTime=at("10:15"),
            OperationalData=data(**{"/dora/deployment": "D2"}),
        )
        ingest(dora, opsitem_event(ops_item_id, time=at("10:30")))

        # When the rollback's event arrives while the incident is open
        rollback = pipeline_event(
            "stage_succeeded_prod", time="2024-03-11T11:00:00Z", **{"execution-id": "R1"}
        )
        dora.invoke("IngestPipelineEventFunction", rollback)

    # Then D2's failure is published, but no recovery yet (a resolution could still move it earlier)
    assert len(metric_documents(output.getvalue(), "FailedDeployments")) == 1
    assert metric_documents(output.getvalue(), "RecoverySeconds") == []

    # When the incident is resolved at 12:00
    dora.update_ops_item(ops_item_id, at("12:00"), Status="Resolved")
    with redirect_stdout(output):
        ingest(dora, opsitem_event(ops_item_id, "opsitem_update_resolved", time=at("12:00")))

    # Then the one recovery point is the metrics' value: rollback 11:00 - incident start 10:15 = 45 min,
    # not the rollback minus D2's deploy time (1 h)
    [recovery] = metric_documents(output.getvalue(), "RecoverySeconds")
    assert recovery["RecoverySeconds"] == [2700.0]
    assert recovery["_aws"]["Timestamp"] == int(at("10:00").timestamp() * 1000)
    assert len(metric_documents(output.getvalue(), "FailedDeployments")) == 1


def test_an_incident_waiting_for_its_deployment_publishes_the_failure_when_it_arrives(
    dora: DoraWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given "now" 13:00 and a qualifying OpsItem naming execution E9, ingested before E9's event
    monkeypatch.setattr(wiring, "now", lambda: at("13:00"))
    ops_item_id = dora.ops_item(
        at("12:30"), Category="Availability", Severity="2", OperationalData=data(**{"/dora/deployment": "E9"})
    )
    assert ingest(dora, opsitem_event(ops_item_id)) == "pending"

    # When E9 (deployed at 12:00) is ingested
    dora.pipeline()
    dora.execution("E9", sha(9), at("12:00"))
    output = io.StringIO()
    with redirect_stdout(output):
        dora.invoke(
            "IngestPipelineEventFunction",
            pipeline_event("stage_succeeded_prod", time="2024-03-11T12:00:00Z", **{"execution-id": "E9"}),
        )

    # Then E9's failure is published at its deploy time, and the incident is no longer unattributed
    [failed] = metric_documents(output.getvalue(), "FailedDeployments")
    assert (failed["Service"], failed["_aws"]["Timestamp"]) == ("svc-a", int(at("12:00").timestamp() * 1000))
    assert dora.store().unattributed() == []
