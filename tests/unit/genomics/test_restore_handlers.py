"""The five restore handlers with their sample events (events/genomics/<function>/), run in process with
the environment the template gives them, on the restore resources of the template (moto); and the restore
progress a GET of the launches API shows."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from pydantic import ValidationError

from blueprints.genomics import restore_s3
from blueprints.genomics.restore_s3 import RestoreS3
from blueprints.genomics.status import Status
from tests.support.bodies import DELETE, changed
from tests.support.botocore_hooks import PASS, Reply, Script
from tests.support.events import load_event
from tests.support.sqs_events import with_body
from tests.unit.genomics.builders import DATA_BUCKET, LAUNCH_ID, NOW, REQUEST_BUCKET
from tests.unit.genomics.conftest import ARCHIVED_OBJECTS, Genomics, client
from tests.unit.genomics.restore_support import (
    ARCHIVE_BUCKET,
    RestoreWorld,
    archived,
    build_world,
    chunk_body,
    request_body,
)

SAMPLE_KEYS = ["cohort7/reads/S1.fastq.gz", "cohort7/reads/S2.fastq.gz"]  # as the sample events name them


@pytest.fixture
def world(aws: None, monkeypatch: pytest.MonkeyPatch) -> RestoreWorld:
    return build_world(monkeypatch)


def event(function: str, case: str) -> dict[str, Any]:
    return load_event("genomics", function, case)


def waiting_on_samples(world: RestoreWorld) -> None:
    """The sample launch WAITING for the sample objects (S1 in Glacier, S2 in Deep Archive), indexed."""
    world.waiting_launch()
    world.put_objects(SAMPLE_KEYS[:1], "GLACIER")
    world.put_objects(SAMPLE_KEYS[1:], "DEEP_ARCHIVE")
    world.flow().index(LAUNCH_ID, "restore/wf-2024-0042.json#v0", request_body(launch_id=LAUNCH_ID), at=NOW)


# --- index_restore_request ---------------------------------------------------------------------------


def test_an_uploaded_launch_restore_request_is_indexed_once(world: RestoreWorld) -> None:
    # Given a waiting launch, its archived inputs and its uploaded restore request
    world.waiting_launch()
    world.put_objects(SAMPLE_KEYS, "GLACIER")
    world.upload_request(request_body(launch_id=LAUNCH_ID, tier="Standard"))
    upload = event("index_restore_request", "launch_restore")

    # When the upload event is handled, twice
    first = world.invoke("index_restore_request", upload)
    second = world.invoke("index_restore_request", upload)

    # Then the request is indexed from the uploaded file, once, keyed on the upload's version
    assert first == {"request_id": LAUNCH_ID, "outcome": "indexed", "total": 2}
    assert second == {"request_id": LAUNCH_ID, "outcome": "duplicate", "total": 0}
    meta = world.meta()
    assert (meta["source"], meta["tier"], meta["launch_id"]) == (
        "restore/wf-2024-0042.json#3HL4kqtJvjVBH40Nrjfkd",
        "Bulk",  # every object in Flexible Retrieval
        LAUNCH_ID,
    )
    assert [len(message["objects"]) for message in world.messages()] == [2]


def test_a_standalone_request_without_a_version_is_keyed_on_its_etag(world: RestoreWorld) -> None:
    world.put_objects(SAMPLE_KEYS, "DEEP_ARCHIVE")
    world.upload_request(request_body(tier="Expedited"), key="restore/cohort7-reanalysis.json")
    upload = changed(
        event("index_restore_request", "standalone_restore"), {"detail.object.version-id": DELETE}
    )

    result = world.invoke("index_restore_request", upload)

    assert result == {"request_id": "cohort7-reanalysis", "outcome": "indexed", "total": 2}
    meta = world.meta("cohort7-reanalysis")
    assert (meta["source"], meta["launch_id"], meta["tier"]) == (
        "restore/cohort7-reanalysis.json#d41d8cd98f00b204e9800998ecf8427e",
        "",
        "Expedited",  # a mixed set would keep it; Deep Archive objects are sent as Standard
    )
    assert {row["tier"] for row in world.rows("cohort7-reanalysis").values()} == {"Standard"}


# --- restore_objects ---------------------------------------------------------------------------------


def test_a_queued_chunk_starts_the_restores_of_its_objects(world: RestoreWorld) -> None:
    # Given the sample launch waiting for the sample objects
    waiting_on_samples(world)

    # When the sample chunk is delivered (its third object, Intelligent-Tiering, is not tracked here)
    response = world.invoke("restore_objects", event("restore_objects", "chunk"))

    # Then no record failed, and both tracked objects are being restored
    assert response == {"batchItemFailures": []}
    assert world.statuses() == dict.fromkeys(SAMPLE_KEYS, "RESTORING")


def test_a_throttled_chunk_is_reported_alone_for_a_retry(
    world: RestoreWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two chunks in one delivery, and S3 slowing down on the second chunk's object
    waiting_on_samples(world)
    sample = event("restore_objects", "chunk")
    first = with_body(sample, chunk_body(archived(key=SAMPLE_KEYS[0])))
    second = with_body(sample, chunk_body(archived(key=SAMPLE_KEYS[1], storage_class="DEEP_ARCHIVE")))
    second["Records"][0]["messageId"] = "7c1e2a6b-54e2-4f8e-9a4f-0b1d2c3e4f50"
    delivery = {"Records": [copy.deepcopy(first["Records"][0]), copy.deepcopy(second["Records"][0])]}
    s3 = world.client("s3")
    Script(s3, "RestoreObject", [PASS, Reply.error("SlowDown", "Please reduce your request rate.", 503)])
    monkeypatch.setattr(restore_s3, "RestoreS3", lambda: RestoreS3(s3))  # what wiring builds

    # When the delivery is handled
    response = world.invoke("restore_objects", delivery)

    # Then only the second message comes back, and the first one's object is being restored
    assert response == {"batchItemFailures": [{"itemIdentifier": "7c1e2a6b-54e2-4f8e-9a4f-0b1d2c3e4f50"}]}
    assert world.statuses() == {SAMPLE_KEYS[0]: "RESTORING", SAMPLE_KEYS[1]: "PENDING"}


# --- record_restore_completion -----------------------------------------------------------------------


def test_a_completion_event_readies_the_launch_once(world: RestoreWorld) -> None:
    # Given the sample launch waiting for one Glacier object whose restore was started
    world.waiting_launch()
    world.put_objects(SAMPLE_KEYS[:1])
    world.flow().index(LAUNCH_ID, "restore/wf-2024-0042.json#v0", request_body(launch_id=LAUNCH_ID), at=NOW)
    world.flow().restore_chunk(chunk_body(archived(key=SAMPLE_KEYS[0])))
    completed = event("record_restore_completion", "object_restored")

    # When its "Object Restore Completed" event comes, twice
    first = world.invoke("record_restore_completion", completed)
    second = world.invoke("record_restore_completion", completed)

    # Then the object counted once and the launch is READY at the event's time
    assert (first, second) == ({"resolved": 1}, {"resolved": 0})
    item = world.genomics.item(LAUNCH_ID)
    assert item["status"] == Status.READY
    assert item["status_history"][-1]["at"] == "2026-11-30T17:02:11+00:00"
    assert world.rows()[SAMPLE_KEYS[0]]["expiry_at"] == "2026-12-08T00:00:00Z"


def test_a_copy_expiring_before_the_launch_starts_is_restored_again(world: RestoreWorld) -> None:
    # Given the sample launch waiting for two objects, the first one restored, the second still restoring
    world.waiting_launch()
    world.put_objects(SAMPLE_KEYS[:2])
    world.flow().index(LAUNCH_ID, "restore/wf-2024-0042.json#v0", request_body(launch_id=LAUNCH_ID), at=NOW)
    world.messages()
    world.flow().restore_chunk(chunk_body(*(archived(key=key) for key in SAMPLE_KEYS[:2])))
    world.flow().complete_object(ARCHIVE_BUCKET, SAMPLE_KEYS[0], None, None)
    expired = event("record_restore_completion", "restore_expired")

    # When the first object's "Object Restore Expired" event comes, twice
    first = world.invoke("record_restore_completion", expired)
    second = world.invoke("record_restore_completion", expired)

    # Then the object counts as not restored again, once, and its restore is queued again
    assert (first, second) == ({"reopened": 1}, {"reopened": 0})
    assert world.statuses() == {SAMPLE_KEYS[0]: "PENDING", SAMPLE_KEYS[1]: "RESTORING"}
    meta = world.meta()
    assert (meta["remaining"], meta["restored"], meta["expired"]) == (2, 0, 1)
    [message] = world.messages()
    assert [item["key"] for item in message["objects"]] == [SAMPLE_KEYS[0]]
    assert world.launch().status is Status.WAITING


def test_a_copy_expiring_after_the_launch_started_changes_nothing(world: RestoreWorld) -> None:
    # Given the sample launch READY (its only object restored)
    world.waiting_launch()
    world.put_objects(SAMPLE_KEYS[:1])
    world.flow().index(LAUNCH_ID, "restore/wf-2024-0042.json#v0", request_body(launch_id=LAUNCH_ID), at=NOW)
    world.messages()
    world.flow().complete_object(ARCHIVE_BUCKET, SAMPLE_KEYS[0], None, None)

    # When the copy expires, Then nothing is reopened or queued
    expired = event("record_restore_completion", "restore_expired")
    assert world.invoke("record_restore_completion", expired) == {"reopened": 0}
    assert (world.statuses(), world.meta()["status"], world.messages()) == (
        {SAMPLE_KEYS[0]: "RESTORED"},
        "READY",
        [],
    )


# --- reconcile_restores ------------------------------------------------------------------------------


def test_the_scheduled_reconciler_completes_a_restore_whose_event_was_lost(world: RestoreWorld) -> None:
    # Given the sample objects restored in S3 (requested at 09:15) but no completion event
    waiting_on_samples(world)
    world.flow().restore_chunk(
        chunk_body(archived(key=SAMPLE_KEYS[0]), archived(key=SAMPLE_KEYS[1], storage_class="DEEP_ARCHIVE"))
    )

    # When the 18:00 check runs (Flexible Retrieval Bulk takes 5 h at least; Deep Archive Bulk, 12 h)
    result = world.invoke("reconcile_restores", event("reconcile_restores", "scheduled_check"))

    # Then the Glacier object is completed; the Deep Archive one is not looked at yet
    assert result == {
        "requests": 1,
        "completed": 1,
        "requested_again": 0,
        "synced": 0,
        "readied": 0,
        "timed_out": [],
        "indexing_failed": [],
    }
    assert world.statuses() == {SAMPLE_KEYS[0]: "RESTORED", SAMPLE_KEYS[1]: "RESTORING"}


def test_the_reconciler_does_nothing_without_time_left(world: RestoreWorld) -> None:
    waiting_on_samples(world)

    result = world.invoke(
        "reconcile_restores", event("reconcile_restores", "scheduled_check"), remaining_millis=14_000
    )

    assert result == {
        "requests": 0,
        "completed": 0,
        "requested_again": 0,
        "synced": 0,
        "readied": 0,
        "timed_out": [],
        "indexing_failed": [],
    }


# --- enable_bucket_events ----------------------------------------------------------------------------


def test_enabling_bucket_events_keeps_the_bucket_notifications(world: RestoreWorld) -> None:
    # Given the data bucket sends new objects to a queue
    queue_arn = "arn:aws:sqs:us-east-1:123456789012:genomics-ingest"
    client("sqs").create_queue(QueueName="genomics-ingest")
    queue = {"Id": "ingest", "QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}
    client("s3").put_bucket_notification_configuration(
        Bucket=ARCHIVE_BUCKET, NotificationConfiguration={"QueueConfigurations": [queue]}
    )

    # When the sample request enables EventBridge on it
    result = world.invoke("enable_bucket_events", event("enable_bucket_events", "data_buckets"))

    # Then it says so, and the queue notification is still there
    assert result == {"enabled": [ARCHIVE_BUCKET], "already_enabled": []}
    kept = client("s3").get_bucket_notification_configuration(Bucket=ARCHIVE_BUCKET)
    assert kept["QueueConfigurations"] == [queue]


def test_enabling_bucket_events_needs_a_bucket(world: RestoreWorld) -> None:
    with pytest.raises(ValidationError, match="buckets"):
        world.invoke("enable_bucket_events", {"buckets": []})


# --- the launches API --------------------------------------------------------------------------------


def test_get_launch_shows_the_restore_progress(
    genomics_core: Genomics, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the sample launch waiting for its two archived inputs (cohort8), indexed, one restored
    world = RestoreWorld(genomics_core.stack, genomics_core, monkeypatch)
    world.waiting_launch()
    uri = f"s3://{REQUEST_BUCKET}/restore/{LAUNCH_ID}.json"
    assert world.registry().update(
        LAUNCH_ID, attempt=1, status=Status.WAITING, now=NOW, set_values={"restore_request_uri": uri}
    )
    flow = world.flow()
    body = request_body(launch_id=LAUNCH_ID, s3_urls=[f"s3://{DATA_BUCKET}/cohort8/"], deadline_hours=48)
    flow.index(LAUNCH_ID, "restore/wf-2024-0042.json#v1", body, at=NOW)
    first = sorted(ARCHIVED_OBJECTS)[0]
    flow.restore_chunk(chunk_body(archived(bucket=DATA_BUCKET, key=first)))
    flow.complete_object(DATA_BUCKET, first, None, None)

    # When the launch is read through the API
    response = genomics_core.invoke("handle_launch_api", event("handle_launch_api", "get_launch"))

    # Then it shows the restore's progress and estimate
    assert response["statusCode"] == 200
    shown = json.loads(response["body"])
    sizes = sum(len(body) for body in ARCHIVED_OBJECTS.values())
    assert shown["status"] == "WAITING"
    assert shown["restore"] == {
        "status": "WAITING",
        "total": 2,
        "remaining": 1,
        "restored": 1,
        "readable": 0,
        "unsupported": 0,
        "attempt": 1,
        "tier": "Bulk",
        "days": 7,
        "deadline_at": "2026-12-02T09:15:03+00:00",
        "estimate": {"objects": 2, "bytes": sizes, "cost_usd": "0.0001", "hours": 12},
    }
