"""resolve_deploy_changes on moto and the GitHub fake: pushes first, compare when they run out."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from datetime import datetime, timedelta

import boto3
import pytest

from blueprints.core import aws
from blueprints.dora import wiring
from blueprints.dora.model import ChangesStatus, Deployment, Incident
from blueprints.dora.queue import ChangeQueue
from blueprints.dora.webhook import signature
from tests.support.botocore_hooks import Reply, Script
from tests.support.cfn import REGION
from tests.support.emf import metric_documents
from tests.support.events import load_event
from tests.unit.dora.builders import REPO, at, deployment, oi, sha
from tests.unit.dora.conftest import GITHUB_TOKEN, WEBHOOK_SECRET, DoraWorld

DAY = at("00:00")


def seed_history(dora: DoraWorld, count: int, start: datetime) -> None:
    """Commits sha(0)..sha(count-1), one an hour from ``start``, each the parent of the next."""
    for n in range(count):
        dora.github.add_commit(
            REPO,
            sha(n),
            parents=[sha(n - 1)] if n else [],
            author_date=start + timedelta(hours=n),
            message=f"c{n}",
        )


def push(dora: DoraWorld, before: int, after: int) -> None:
    body = json.dumps(dora.github.push_payload(REPO, sha(before), sha(after)))
    event = load_event("dora", "receive_github_webhook", "push_signed")
    event["body"] = body
    event["headers"]["x-hub-signature-256"] = signature(WEBHOOK_SECRET.encode(), body.encode())
    assert dora.invoke("ReceiveGithubWebhookFunction", event)["statusCode"] == 202


def record(dora: DoraWorld, *deployments: Deployment) -> None:
    store = dora.store()
    for item in deployments:
        assert store.put_deployment(item, f"event-{item.execution_id}", DAY)
        dora.use("ResolveDeployChangesFunction")
        ChangeQueue(dora.changes_queue_url).enqueue([item])


def changes(dora: DoraWorld, execution_id: str) -> list[str]:
    found = dora.store().get_deployment(deployment("x", DAY).pipeline_arn, execution_id)
    assert found is not None
    return [change.sha for change in found.changes or ()]


def test_pushes_give_the_changes_without_asking_github(dora: DoraWorld) -> None:
    # Given commits 0..3, pushed in two pushes, and deployments of commit 0 then commit 3
    seed_history(dora, 4, at("09:00"))
    push(dora, 0, 2)
    push(dora, 2, 3)
    record(
        dora,
        deployment("E0", at("09:30"), sha(0), changes=None),
        deployment("E1", at("14:00"), sha(3), changes=None),
    )

    # When the queued resolutions run
    results = dora.resolve_queued()

    # Then E1 brought commits 1..3 (from the pushes) and E0, the first deployment, none; GitHub was not called
    assert results == [{"batchItemFailures": []}]
    assert changes(dora, "E1") == [sha(1), sha(2), sha(3)]
    assert changes(dora, "E0") == []
    assert dora.github.calls == []


def test_compare_fills_a_gap_in_the_pushes_with_the_token(dora: DoraWorld) -> None:
    # Given no push at all for the commits between two deployments
    seed_history(dora, 4, at("09:00"))
    record(
        dora,
        deployment("E0", at("09:30"), sha(0), changes=None),
        deployment("E1", at("14:00"), sha(3), changes=None),
    )

    dora.resolve_queued()

    # Then the compare API gave them, asked with the stored token, and the times are the commits'
    assert changes(dora, "E1") == [sha(1), sha(2), sha(3)]
    [call] = [call for call in dora.github.calls if "/compare/" in call.path]
    assert call.authorization == f"Bearer {GITHUB_TOKEN}"
    assert call.path == f"/repos/{REPO}/compare/{sha(0)}...{sha(3)}"


def test_an_out_of_order_deployment_gets_its_successor_resolved_again(dora: DoraWorld) -> None:
    # Given E2 (commit 3) resolved against E0 before E1 (commit 1) arrived (case 6)
    seed_history(dora, 4, at("06:00"))
    record(
        dora,
        deployment("E0", at("07:00"), sha(0), changes=None),
        deployment("E2", at("12:00"), sha(3), changes=None),
    )
    dora.resolve_queued()
    assert changes(dora, "E2") == [sha(1), sha(2), sha(3)]

    # When E1 arrives late and the ingest queues it and its successor E2
    late = deployment("E1", at("10:00"), sha(1), changes=None)
    record(dora, late)
    ChangeQueue(dora.changes_queue_url).enqueue([deployment("E2", at("12:00"), sha(3))])
    dora.resolve_queued()

    # Then the change sets are those of in-order processing
    assert changes(dora, "E1") == [sha(1)]
    assert changes(dora, "E2") == [sha(2), sha(3)]


def test_lead_times_are_published_on_the_first_resolution_only(
    dora: DoraWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wiring, "now", lambda: at("15:00"))
    seed_history(dora, 4, at("09:00"))
    record(
        dora,
        deployment("E0", at("08:00"), sha(0), changes=None),
        deployment("E1", at("14:00"), sha(3), changes=None),
    )
    output = io.StringIO()
    with redirect_stdout(output):
        dora.resolve_queued()
        ChangeQueue(dora.changes_queue_url).enqueue([deployment("E1", at("14:00"), sha(3))])
        dora.resolve_queued()

    [document] = metric_documents(output.getvalue(), "LeadTimeSeconds")
    assert sorted(document["LeadTimeSeconds"]) == [7200.0, 10800.0, 14400.0]  # commits at 10, 11, 12 h


def test_a_rate_limited_github_keeps_the_message_until_the_reset(dora: DoraWorld) -> None:
    # Given GitHub's rate limit exhausted for the next request, resetting in 20 minutes
    seed_history(dora, 2, at("09:00"))
    record(
        dora,
        deployment("E0", at("09:30"), sha(0), changes=None),
        deployment("E1", at("14:00"), sha(1), changes=None),
    )
    dora.github.limit_next(1, reset_in=1200)
    sqs = boto3.client("sqs", region_name=REGION)
    messages = sqs.receive_message(QueueUrl=dora.changes_queue_url, MaxNumberOfMessages=10)["Messages"]
    event = load_event("dora", "resolve_deploy_changes", "resolve_one")
    template = event["Records"][0]
    event["Records"] = [
        {**template, "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"]}
        for m in messages
    ]
    event["Records"] = [
        {**record_, "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:dora-changes"}
        for record_ in event["Records"]
    ]

    # When the batch is delivered
    result = dora.invoke("ResolveDeployChangesFunction", event)

    # Then E1 is reported for retry and kept out of sight until about the reset; E0 (no GitHub call) resolved
    e1 = next(m["MessageId"] for m in messages if json.loads(m["Body"])["execution_id"] == "E1")
    assert result == {"batchItemFailures": [{"itemIdentifier": e1}]}
    assert sqs.receive_message(QueueUrl=dora.changes_queue_url).get("Messages", []) == []
    stored = dora.store().get_deployment(deployment("x", DAY).pipeline_arn, "E1")
    assert stored is not None
    assert stored.changes_status == ChangesStatus.PENDING


def test_a_commit_github_does_not_know_fails_the_resolution_for_good(dora: DoraWorld) -> None:
    seed_history(dora, 1, at("09:00"))
    record(
        dora,
        deployment("E0", at("09:30"), sha(0), changes=None),
        deployment("E1", at("14:00"), sha(9), changes=None),
    )
    assert dora.resolve_queued() == [{"batchItemFailures": []}]
    stored = dora.store().get_deployment(deployment("x", DAY).pipeline_arn, "E1")
    assert stored is not None
    assert (stored.changes_status, stored.changes) == (ChangesStatus.FAILED, ())


def test_the_head_commit_message_marks_reverts_and_hotfix_references(dora: DoraWorld) -> None:
    dora.github.add_commit(REPO, sha(0), author_date=at("08:00"), message="c0")
    dora.github.add_commit(
        REPO, sha(1), parents=[sha(0)], author_date=at("09:00"), message=f'Revert "c0"\n\nFixes {oi(5)}'
    )
    record(
        dora,
        deployment("E0", at("08:30"), sha(0), changes=None),
        deployment("E1", at("10:00"), sha(1), changes=None),
    )
    dora.resolve_queued()
    stored = dora.store().get_deployment(deployment("x", DAY).pipeline_arn, "E1")
    assert stored is not None
    assert (stored.revert, stored.references, stored.head_message.startswith("Revert")) == (
        True,
        frozenset({oi(5)}),
        True,
    )


def test_an_unknown_deployment_or_a_malformed_message(dora: DoraWorld) -> None:
    event = load_event("dora", "resolve_deploy_changes", "resolve_one")
    assert dora.invoke("ResolveDeployChangesFunction", event) == {"batchItemFailures": []}
    event["Records"][0]["body"] = "not json"
    assert dora.invoke("ResolveDeployChangesFunction", event) == {
        "batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]
    }


def test_an_incident_named_only_by_the_head_commit_gets_the_service_and_the_hotfix_link(
    dora: DoraWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given oi-5 stored without a service (its OpsItem names none), and E1 whose head commit (known
    # only from GitHub, not from the trigger) says "Fixes oi-5"
    store = dora.store()
    store.put_incident(Incident(oi(5), at("09:15"), status="Open", last_modified=at("09:15")), "create")
    dora.github.add_commit(REPO, sha(0), author_date=at("08:00"), message="c0")
    dora.github.add_commit(REPO, sha(1), parents=[sha(0)], author_date=at("09:00"), message=f"Fixes {oi(5)}")
    record(
        dora,
        deployment("E0", at("08:30"), sha(0), changes=None),
        deployment("E1", at("10:00"), sha(1), changes=None),
    )

    # When the changes are resolved ("now" 11:00)
    monkeypatch.setattr(wiring, "now", lambda: at("11:00"))
    output = io.StringIO()
    with redirect_stdout(output):
        dora.resolve_queued()

    # Then the failure of E0 (the deployment before the incident and its fix) is published
    [failed] = metric_documents(output.getvalue(), "FailedDeployments")
    assert failed["_aws"]["Timestamp"] == int(at("08:30").timestamp() * 1000)
    # and the incident belongs to svc-a, and E1 is recorded as naming it (hotfix link, later OpsItems)
    incident = store.get_incident(oi(5))
    assert incident is not None
    assert incident.service == "svc-a"
    assert [i.ops_item_id for i in store.incidents("svc-a")] == [oi(5)]
    assert store.services_referencing(oi(5)) == ["svc-a"]
    stored = store.get_deployment(deployment("x", DAY).pipeline_arn, "E1")
    assert stored is not None
    assert (stored.references, stored.revert) == (frozenset({oi(5)}), False)


def test_a_redelivered_resolution_completes_the_links_of_the_head_commit(dora: DoraWorld) -> None:
    # Given E1's head commit names oi-5, and its first resolution stopped after recording the reference
    store = dora.store()
    store.put_incident(Incident(oi(5), at("09:15"), status="Open", last_modified=at("09:15")), "create")
    dora.github.add_commit(REPO, sha(0), author_date=at("08:00"), message="c0")
    dora.github.add_commit(REPO, sha(1), parents=[sha(0)], author_date=at("09:00"), message=f"Fixes {oi(5)}")
    record(dora, deployment("E0", at("08:30"), sha(0), changes=None))
    dora.resolve_queued()
    record(dora, deployment("E1", at("10:00"), sha(1), changes=None))
    Script(aws.client("dynamodb"), "PutItem", [Reply.error("InternalServerError", status=500)])
    [failed] = dora.resolve_queued()
    assert len(failed["batchItemFailures"]) == 1
    assert store.services_referencing(oi(5)) == []

    # When SQS delivers the message again
    ChangeQueue(dora.changes_queue_url).enqueue([deployment("E1", at("10:00"), sha(1), changes=None)])
    dora.resolve_queued()

    # Then the reference and the incident's service are there
    incident = store.get_incident(oi(5))
    assert incident is not None
    assert (incident.service, store.services_referencing(oi(5))) == ("svc-a", ["svc-a"])
