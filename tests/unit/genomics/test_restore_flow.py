"""The Glacier restore flow on moto (spec glacier-restore §3-§8 and Acceptance): index a request, restore
its chunks with the outcome matrix, complete objects exactly once, reconcile lost and stuck restores.

S3 objects are put with their storage class, the launch and restore tables and the restore queue come
from the template, and launches are made WAITING with the registry. What moto never answers (409, 503,
SlowDown, AccessDenied, classes it refuses to store, a restore still running) is scripted on the flow's
own S3 client; everything else is moto's real behaviour (202 then 200, 403 for a readable object)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from blueprints.genomics.restore import estimate
from blueprints.genomics.restore_flow import RestoreConfig, RestoreFlow
from blueprints.genomics.restore_s3 import RestoreThrottledError
from blueprints.genomics.status import Status
from tests.support.botocore_hooks import PASS, Reply, Script, record_calls
from tests.unit.genomics.builders import LAUNCH_ID, NOW
from tests.unit.genomics.conftest import client
from tests.unit.genomics.restore_support import (
    ARCHIVE_BUCKET,
    ARCHIVE_PATH,
    RestoreWorld,
    archived,
    build_world,
    chunk_body,
    request_body,
    row_values,
)

SOURCE = f"restore/{LAUNCH_ID}.json#v1"
OTHER = "wf-2024-0043"
HOUR = timedelta(hours=1)


@pytest.fixture
def world(aws: None, monkeypatch: pytest.MonkeyPatch) -> RestoreWorld:
    return build_world(monkeypatch)


def keys(count: int, prefix: str = "cohort7/reads/") -> list[str]:
    return [f"{prefix}S{n:03}.fastq.gz" for n in range(count)]


def index(
    world: RestoreWorld, flow: RestoreFlow | None = None, *, source: str = SOURCE, **fields: Any
) -> Any:
    """Index the launch's restore request for the archive path (``fields`` change the request)."""
    return (flow or world.flow()).index(
        LAUNCH_ID, source, request_body(launch_id=LAUNCH_ID, **fields), at=NOW
    )


def history(world: RestoreWorld, launch_id: str = LAUNCH_ID) -> list[str]:
    return [entry["status"] for entry in world.genomics.item(launch_id)["status_history"]]


def restore_all(world: RestoreWorld, flow: RestoreFlow) -> None:
    """Run every queued chunk through the restore step (moto starts each restore: 202)."""
    for message in world.messages():
        flow.restore_chunk(json.dumps(message))


# --- index -------------------------------------------------------------------------------------------


def test_nothing_archived_sets_the_launch_ready_at_once_without_queueing(world: RestoreWorld) -> None:
    # Given a waiting launch whose inputs are Standard, Glacier Instant Retrieval and Intelligent-Tiering
    # (in an access tier)
    world.waiting_launch()
    world.put_objects(keys(2), "STANDARD")
    world.put_objects(["cohort7/ref/hg38.fa"], "GLACIER_IR")
    world.put_objects(["cohort7/ref/hg38.fa.fai"], "INTELLIGENT_TIERING")

    # When its restore request is indexed
    report = index(world)

    # Then the launch is READY, nothing is queued or tracked, and the request says READY
    assert (report.outcome, report.total, report.readable) == ("ready", 0, 4)
    assert world.launch().status is Status.READY
    assert history(world) == ["REGISTERED", "WAITING", "READY"]
    assert world.messages() == []
    assert world.rows() == {}
    assert (world.meta()["status"], world.meta()["total"], world.meta()["remaining"]) == ("READY", 0, 0)


def test_250_flexible_retrieval_objects_make_three_chunks_and_250_rows(world: RestoreWorld) -> None:
    # Given a waiting launch whose 250 inputs are in Glacier Flexible Retrieval, asking for Standard
    world.waiting_launch()
    written = world.put_objects(keys(250), body=b"A" * 100)

    # When its request is indexed
    report = index(world, tier="Standard", days=5)

    # Then 250 rows wait, in 3 messages of at most 100 objects, restored with Bulk (no retrieval charge)
    messages = world.messages()
    assert sorted(len(message["objects"]) for message in messages) == [50, 100, 100]
    assert sorted(item["key"] for message in messages for item in message["objects"]) == written
    assert {(message["request_id"], message["tier"], message["days"]) for message in messages} == {
        (LAUNCH_ID, "Bulk", 5)
    }
    rows = world.rows()
    assert len(rows) == 250
    assert {(row["restore_status"], row["tier"], row["days"], row["attempts"]) for row in rows.values()} == {
        ("PENDING", "Bulk", 5, 0)
    }
    # and the request waits for 250 objects, with the estimate of the set
    meta = world.meta()
    expected = estimate([archived(key=key, size=100) for key in written], "Bulk", 5).as_map()
    assert (meta["status"], meta["total"], meta["remaining"], meta["tier"], meta["days"]) == (
        "WAITING",
        250,
        250,
        "Bulk",
        5,
    )
    assert meta["estimate"] == expected
    assert meta["deadline_at"] == (NOW + 24 * HOUR).isoformat()  # Bulk: 12 h, twice
    assert meta["chunks_sent"] is True
    assert (report.outcome, report.total, report.messages, report.send_calls, report.row_write_calls) == (
        "indexed",
        250,
        3,
        1,
        10,
    )
    assert world.launch().status is Status.WAITING


def test_a_repeated_delivery_of_the_same_upload_writes_nothing(world: RestoreWorld) -> None:
    # Given a request indexed once
    world.waiting_launch()
    world.put_objects(keys(3))
    index(world)
    first_messages = world.messages()
    dynamodb, sqs = world.client("dynamodb"), world.client("sqs")
    writes = record_calls(dynamodb, "BatchWriteItem") + record_calls(dynamodb, "PutItem")
    sends = record_calls(sqs, "SendMessageBatch")

    # When the same upload is delivered again
    report = index(world)

    # Then it is a duplicate: no row, META or message is written again
    assert report.outcome == "duplicate"
    assert (len(first_messages), writes, sends, world.messages()) == (1, [], [], [])
    assert world.meta()["total"] == 3


def test_an_indexing_interrupted_before_its_chunks_resumes_by_sending_them(world: RestoreWorld) -> None:
    # Given an indexing that wrote its rows and META but could not queue its chunks
    world.waiting_launch()
    world.put_objects(keys(150))
    Script(world.client("sqs"), "SendMessageBatch", [Reply.error("KMS.ThrottlingException", status=400)])
    with pytest.raises(ClientError, match=r"KMS\.ThrottlingException"):
        index(world)
    assert (world.meta()["status"], world.meta().get("chunks_sent")) == ("WAITING", None)

    # When the upload is delivered again
    report = index(world)

    # Then the rows still PENDING are queued, and the request is marked as sent
    assert report.outcome == "resumed"
    assert sorted(len(message["objects"]) for message in world.messages()) == [50, 100]
    assert world.meta()["chunks_sent"] is True


def test_an_indexing_interrupted_before_its_rows_starts_over(world: RestoreWorld) -> None:
    # Given an indexing that began its META but failed writing its rows
    world.waiting_launch()
    world.put_objects(keys(3))
    Script(world.client("dynamodb"), "BatchWriteItem", [Reply.error("InternalServerError", status=500)])
    with pytest.raises(ClientError, match="InternalServerError"):
        index(world)
    assert world.meta()["status"] == "INDEXING"

    # When the upload is delivered again
    report = index(world)

    # Then it is indexed in full
    assert (report.outcome, report.total) == ("indexed", 3)
    assert len(world.rows()) == 3
    assert [len(message["objects"]) for message in world.messages()] == [3]
    assert world.meta()["status"] == "WAITING"


@pytest.mark.parametrize("status", [Status.REGISTERED, Status.READY])
def test_a_request_for_a_launch_that_is_not_waiting_is_rejected_with_a_notice(
    world: RestoreWorld, status: Status
) -> None:
    # Given a launch that is not waiting for a restore
    world.waiting_launch(status=status)
    world.put_objects(keys(2))

    # When a restore request names it
    report = index(world)

    # Then nothing is tracked or queued, the launch is left alone, and a notice says why
    assert report.outcome == "rejected"
    assert world.rows() == {}
    assert world.messages() == []
    assert world.launch().status is status
    assert (world.meta()["status"], world.meta()["failure_reason"]) == (
        "FAILED",
        f"launch {LAUNCH_ID} is {status}, not WAITING",
    )
    [notice] = world.notices()
    assert notice["subject"] == f"Blueprints genomics restore request rejected: {LAUNCH_ID}"
    assert notice["message"]["error_code"] == "RestoreRequestError"
    # and a repeated delivery of that upload is a duplicate
    assert index(world).outcome == "duplicate"


def test_a_request_for_an_unknown_launch_or_an_invalid_document_is_rejected(world: RestoreWorld) -> None:
    flow = world.flow()

    nobody = request_body(launch_id="wf-nobody")
    unknown = flow.index("wf-nobody", "restore/wf-nobody.json#v1", nobody, at=NOW)
    invalid = flow.index("broken", "restore/broken.json#v1", b"{ nope", at=NOW)

    assert (unknown.outcome, invalid.outcome) == ("rejected", "rejected")
    assert world.meta("wf-nobody")["failure_reason"] == "launch wf-nobody does not exist"
    assert world.meta("broken")["failure_reason"].startswith("restore request: not valid JSON")
    assert [notice["message"]["error_code"] for notice in world.notices()] == [
        "RestoreRequestError",
        "InvalidLaunchConfigError",
    ]


def test_a_new_upload_for_a_rejected_request_is_rejected_again_without_a_second_meta(
    world: RestoreWorld,
) -> None:
    world.flow().index("broken", "restore/broken.json#v1", b"[]", at=NOW)

    again = world.flow().index("broken", "restore/broken.json#v2", b"[]", at=NOW)

    assert again.outcome == "rejected"
    assert world.meta("broken")["source"] == "restore/broken.json#v1"
    assert len(world.notices()) == 2


def test_a_new_upload_for_a_request_already_indexed_is_rejected_and_changes_nothing(
    world: RestoreWorld,
) -> None:
    # Given a request indexed and partly restored
    world.waiting_launch()
    first, _ = world.put_objects(keys(2))
    index(world)
    world.messages()
    world.flow().restore_chunk(chunk_body(archived(key=first)))
    world.flow().complete_object(ARCHIVE_BUCKET, first, None, None)
    before = (world.meta(), world.rows())

    # When another version of the same request file is uploaded (say with another tier)
    report = index(world, source=f"restore/{LAUNCH_ID}.json#v2", tier="Expedited")

    # Then it is rejected with a notice: the rows, the counter and the queue stay as they were
    assert report.outcome == "rejected"
    assert (world.meta(), world.rows()) == before
    assert world.messages() == []
    [notice] = world.notices()
    assert notice["message"]["error_message"] == f"restore request {LAUNCH_ID} was indexed already (WAITING)"
    assert world.launch().status is Status.WAITING


def test_two_deliveries_racing_index_the_request_once(world: RestoreWorld) -> None:
    # Given a delivery that read no META while another delivery of the same upload created it
    world.waiting_launch()
    world.put_objects(keys(2))
    index(world)
    world.messages()
    Script(world.client("dynamodb"), "GetItem", [Reply.ok({})])

    # When it goes on indexing, Then its conditional META write loses: nothing is written or queued
    assert index(world).outcome == "duplicate"
    assert world.messages() == []


def test_archived_intelligent_tiering_objects_are_tracked_without_days(world: RestoreWorld) -> None:
    # Given a prefix with one Intelligent-Tiering object in Deep Archive Access and one in an access tier
    world.waiting_launch()
    world.put_objects(["cohort7/a.vcf", "cohort7/b.vcf"], "INTELLIGENT_TIERING")
    Script(
        world.client("s3"),
        "HeadObject",
        [
            Reply.ok(
                {
                    "ContentLength": 16,
                    "StorageClass": "INTELLIGENT_TIERING",
                    "ArchiveStatus": "DEEP_ARCHIVE_ACCESS",
                }
            ),
            PASS,
        ],
    )

    # When the request is indexed
    report = index(world, tier="Expedited")

    # Then only the archived one is tracked: no days, Standard (Deep Archive Access has no Expedited)
    assert (report.total, report.readable) == (1, 1)
    row = world.rows()["cohort7/a.vcf"]
    assert (row["archive_status"], row["tier"], "days" in row) == ("DEEP_ARCHIVE_ACCESS", "Standard", False)
    [message] = world.messages()
    assert message["objects"][0]["archive_status"] == "DEEP_ARCHIVE_ACCESS"
    assert world.meta()["deadline_at"] == (NOW + 24 * HOUR).isoformat()


def test_a_request_naming_a_key_that_does_not_exist_fails_its_launch(world: RestoreWorld) -> None:
    # Given a waiting launch whose request names one key that is not in the bucket
    world.waiting_launch()
    world.put_objects(["ref/hg38.fa"])
    urls = [f"s3://{ARCHIVE_BUCKET}/ref/hg38.fa", f"s3://{ARCHIVE_BUCKET}/ref/hg19.fa"]

    # When the request is indexed, twice
    report = index(world, s3_urls=urls)
    again = index(world)

    # Then the launch FAILED with the reason, once, and nothing is tracked or queued
    assert (report.outcome, again.outcome) == ("failed", "duplicate")
    item = world.genomics.item(LAUNCH_ID)
    assert (item["status"], item["error_code"]) == ("FAILED", "RestoreFailed")
    assert item["error_message"] == f"s3://{ARCHIVE_BUCKET}/ref/hg19.fa: 404"
    assert (world.meta()["status"], world.rows(), world.messages()) == ("FAILED", {}, [])
    assert len(world.notices()) == 1


def test_a_key_deleted_before_an_interrupted_indexing_resumes_fails_the_launch(world: RestoreWorld) -> None:
    # Given an indexing interrupted before its rows, and its only key deleted since
    world.waiting_launch()
    [key] = world.put_objects(["ref/hg38.fa"])
    Script(world.client("dynamodb"), "BatchWriteItem", [Reply.error("InternalServerError", status=500)])
    with pytest.raises(ClientError, match="InternalServerError"):
        index(world, s3_urls=[f"s3://{ARCHIVE_BUCKET}/{key}"])
    client("s3").delete_object(Bucket=ARCHIVE_BUCKET, Key=key)

    # When the upload is delivered again
    report = index(world, s3_urls=[f"s3://{ARCHIVE_BUCKET}/{key}"])

    # Then the request and its launch FAILED
    assert report.outcome == "failed"
    assert (world.meta()["status"], world.launch().status) == ("FAILED", Status.FAILED)


def unsupported_listing(world: RestoreWorld) -> None:
    """The listing shows one object on Outposts (moto refuses to store that class) and one in Glacier."""
    Script(
        world.client("s3"),
        "ListObjectsV2",
        [
            Reply.ok(
                {
                    "Contents": [
                        {"Key": "cohort7/edge.bam", "Size": 10, "StorageClass": "OUTPOSTS"},
                        {"Key": "cohort7/old.bam", "Size": 10, "StorageClass": "GLACIER"},
                    ],
                    "IsTruncated": False,
                }
            )
        ],
    )


def test_an_object_in_an_unsupported_class_fails_the_launch(world: RestoreWorld) -> None:
    world.waiting_launch()
    unsupported_listing(world)

    report = index(world)

    assert report.outcome == "failed"
    assert world.statuses() == {"cohort7/edge.bam": "FAILED", "cohort7/old.bam": "PENDING"}
    assert world.rows()["cohort7/edge.bam"]["last_error"] == "UnsupportedStorageClass"
    item = world.genomics.item(LAUNCH_ID)
    assert (item["status"], item["error_code"]) == ("FAILED", "RestoreFailed")
    assert item["error_message"] == (
        f"UnsupportedStorageClass: s3://{ARCHIVE_BUCKET}/cohort7/edge.bam (OUTPOSTS)"
    )
    assert world.meta()["status"] == "FAILED"
    assert world.messages() == []
    [notice] = world.notices()
    assert notice["message"]["error_code"] == "RestoreFailed"


def test_an_unsupported_object_is_left_out_when_partial_restores_are_allowed(world: RestoreWorld) -> None:
    world.waiting_launch()
    unsupported_listing(world)

    report = index(world, world.flow(allow_partial=True))

    assert (report.outcome, report.total) == ("indexed", 1)
    assert (world.meta()["status"], world.meta()["unsupported"]) == ("WAITING", 1)
    assert [[item["key"] for item in message["objects"]] for message in world.messages()] == [
        ["cohort7/old.bam"]
    ]
    assert world.launch().status is Status.WAITING


def test_an_object_whose_restore_already_runs_is_tracked_without_a_new_request(world: RestoreWorld) -> None:
    # Given a single key (with its version) whose restore was started earlier
    world.waiting_launch()
    Script(
        world.client("s3"),
        "HeadObject",
        [
            Reply.ok(
                {"ContentLength": 10, "StorageClass": "DEEP_ARCHIVE", "Restore": 'ongoing-request="true"'}
            )
        ],
    )

    # When the request is indexed
    report = index(world, s3_urls=[f"s3://{ARCHIVE_BUCKET}/ref/hg38.fa?versionId=v3"], tier="Expedited")

    # Then its row waits RESTORING (attempt 1), with the deadline of Deep Archive's Standard tier, no chunk
    assert (report.outcome, report.total, report.messages) == ("indexed", 1, 0)
    row = world.rows()["ref/hg38.fa"]
    assert (row["restore_status"], row["version_id"], row["tier"], row["attempts"]) == (
        "RESTORING",
        "v3",
        "Standard",
        1,
    )
    assert world.meta()["deadline_at"] == (NOW + 24 * HOUR).isoformat()


# --- restore: the outcome matrix ---------------------------------------------------------------------


def indexed(world: RestoreWorld, count: int = 2, storage_class: str = "GLACIER") -> list[str]:
    """A waiting launch whose ``count`` archived inputs are indexed; the queue read empty again."""
    world.waiting_launch()
    written = world.put_objects(keys(count), storage_class)
    index(world)
    world.messages()
    return written


def test_a_started_restore_marks_the_row_restoring(world: RestoreWorld) -> None:
    first, second = indexed(world)
    flow = world.flow(now=lambda: NOW + HOUR)

    counts = flow.restore_chunk(chunk_body(archived(key=first), archived(key=second)))

    assert counts == {"STARTED": 2}
    rows = world.rows()
    assert {(row["restore_status"], row["attempts"], row["requested_at"]) for row in rows.values()} == {
        ("RESTORING", 1, (NOW + HOUR).isoformat())
    }
    assert world.meta()["remaining"] == 2


def test_an_object_already_restored_is_counted_and_the_last_one_readies_the_launch(
    world: RestoreWorld,
) -> None:
    # Given two indexed objects, both restored already (S3 answers 200)
    first, second = indexed(world)
    for key in (first, second):
        client("s3").restore_object(
            Bucket=ARCHIVE_BUCKET,
            Key=key,
            RestoreRequest={"Days": 1, "GlacierJobParameters": {"Tier": "Bulk"}},
        )

    # When their chunk is processed
    counts = world.flow().restore_chunk(chunk_body(archived(key=first), archived(key=second)))

    # Then both rows are RESTORED, the counter reached zero and the launch is READY
    assert counts == {"ALREADY_RESTORED": 2}
    assert set(world.statuses().values()) == {"RESTORED"}
    assert (world.meta()["remaining"], world.meta()["restored"], world.meta()["status"]) == (0, 2, "READY")
    assert world.launch().status is Status.READY


def test_a_restore_already_in_progress_is_not_an_error(world: RestoreWorld) -> None:
    [key] = indexed(world, 1)
    Script(world.client("s3"), "RestoreObject", [Reply.error("RestoreAlreadyInProgress", status=409)])

    counts = world.flow().restore_chunk(chunk_body(archived(key=key)))

    assert counts == {"IN_PROGRESS": 1}
    assert world.statuses() == {key: "RESTORING"}
    assert world.launch().status is Status.WAITING


def test_an_object_no_longer_archived_is_skipped_and_counted(world: RestoreWorld) -> None:
    # Given an indexed object that was moved to Standard since (moto answers 403 InvalidObjectState)
    [key] = indexed(world, 1)
    world.put_objects([key], "STANDARD")

    counts = world.flow().restore_chunk(chunk_body(archived(key=key)))

    assert counts == {"NOT_ARCHIVED": 1}
    assert world.statuses() == {key: "SKIPPED"}
    assert (world.meta()["skipped"], world.meta()["remaining"]) == (1, 0)
    assert world.launch().status is Status.READY


def test_no_expedited_capacity_retries_the_object_with_standard(world: RestoreWorld) -> None:
    [key] = indexed(world, 1)
    s3 = world.client("s3")
    Script(s3, "RestoreObject", [Reply.error("GlacierExpeditedRetrievalNotAvailable", status=503), PASS])
    calls = record_calls(s3, "RestoreObject")

    counts = world.flow().restore_chunk(chunk_body(archived(key=key), tier="Expedited"))

    assert counts == {"STARTED": 1}
    assert [call["RestoreRequest"]["GlacierJobParameters"]["Tier"] for call in calls] == [
        "Expedited",
        "Standard",
    ]
    assert (world.rows()[key]["restore_status"], world.rows()[key]["tier"]) == ("RESTORING", "Standard")


def test_deep_archive_is_never_sent_expedited_and_intelligent_tiering_never_with_days(
    world: RestoreWorld,
) -> None:
    world.waiting_launch()
    [deep] = world.put_objects(["cohort7/deep.bam"], "DEEP_ARCHIVE")
    s3 = world.client("s3")
    calls = record_calls(s3, "RestoreObject")
    Script(s3, "RestoreObject", [PASS, Reply(202, {"ResponseMetadata": {"HTTPStatusCode": 202}})])
    tiered = archived(
        key="cohort7/tiered.vcf", storage_class="INTELLIGENT_TIERING", archive_status="ARCHIVE_ACCESS"
    )

    counts = world.flow().restore_chunk(
        chunk_body(archived(key=deep, storage_class="DEEP_ARCHIVE"), tiered, tier="Expedited", days=3)
    )

    assert counts == {"STARTED": 2}
    assert [call["RestoreRequest"] for call in calls] == [
        {"Days": 3, "GlacierJobParameters": {"Tier": "Standard"}},
        {"GlacierJobParameters": {"Tier": "Expedited"}},
    ]


def test_throttling_raises_so_that_the_chunk_is_retried(world: RestoreWorld) -> None:
    first, second = indexed(world)
    Script(world.client("s3"), "RestoreObject", [PASS, Reply.error("SlowDown", status=503)])

    with pytest.raises(RestoreThrottledError, match="SlowDown"):
        world.flow().restore_chunk(chunk_body(archived(key=first), archived(key=second)))

    # the first object's outcome is kept; the whole chunk may come again safely
    assert world.statuses() == {first: "RESTORING", second: "PENDING"}
    assert world.flow().restore_chunk(chunk_body(archived(key=first), archived(key=second))) == {
        "ALREADY_RESTORED": 1,
        "STARTED": 1,
    }


def test_a_permanent_error_fails_the_object_and_the_launch(world: RestoreWorld) -> None:
    first, second = indexed(world)
    Script(world.client("s3"), "RestoreObject", [Reply.error("AccessDenied", "no s3:RestoreObject", 403)])

    counts = world.flow().restore_chunk(chunk_body(archived(key=first), archived(key=second)))

    assert counts == {"FAILED": 1, "STARTED": 1}
    assert world.statuses() == {first: "FAILED", second: "RESTORING"}
    assert world.rows()[first]["last_error"] == "AccessDenied: no s3:RestoreObject"
    item = world.genomics.item(LAUNCH_ID)
    assert (item["status"], item["error_code"]) == ("FAILED", "RestoreFailed")
    assert item["error_message"] == f"{ARCHIVE_BUCKET}/{first}#null: AccessDenied: no s3:RestoreObject"
    assert (world.meta()["status"], world.meta()["failed"]) == ("FAILED", 1)
    [notice] = world.notices()
    assert notice["subject"] == f"Blueprints genomics restore failed: {LAUNCH_ID}"


def test_a_missing_object_fails_once_even_when_its_chunk_comes_again(world: RestoreWorld) -> None:
    # Given an indexed object deleted since (moto answers NoSuchKey)
    [key] = indexed(world, 1)
    client("s3").delete_object(Bucket=ARCHIVE_BUCKET, Key=key)

    # When its chunk is processed twice
    world.flow().restore_chunk(chunk_body(archived(key=key)))
    world.flow().restore_chunk(chunk_body(archived(key=key)))

    # Then the launch failed once, with one notice
    assert world.genomics.item(LAUNCH_ID)["error_code"] == "RestoreFailed"
    assert world.meta()["failed"] == 1
    assert len(world.notices()) == 1


def test_with_partial_restores_allowed_a_failed_object_stops_holding_the_launch(world: RestoreWorld) -> None:
    first, second = indexed(world)
    Script(world.client("s3"), "RestoreObject", [Reply.error("AccessDenied", status=403)])
    flow = world.flow(allow_partial=True)

    flow.restore_chunk(chunk_body(archived(key=first), archived(key=second)))
    flow.complete_object(ARCHIVE_BUCKET, second, None, "2026-12-08T00:00:00Z", at=NOW + 8 * HOUR)

    assert world.statuses() == {first: "FAILED", second: "RESTORED"}
    meta = world.meta()
    assert (meta["failed"], meta["restored"], meta["remaining"], meta["status"]) == (1, 1, 0, "READY")
    assert world.launch().status is Status.READY
    assert world.notices() == []


def test_a_chunk_delivered_again_after_completion_counts_nothing_twice(world: RestoreWorld) -> None:
    # Given an object restored and completed
    [key] = indexed(world, 1)
    flow = world.flow()
    flow.restore_chunk(chunk_body(archived(key=key)))
    flow.complete_object(ARCHIVE_BUCKET, key, None, None)

    # When its chunk comes again (S3 answers 200: already restored)
    counts = flow.restore_chunk(chunk_body(archived(key=key)))

    # Then nothing is counted again
    assert counts == {"ALREADY_RESTORED": 1}
    assert (world.meta()["restored"], world.meta()["remaining"]) == (1, 0)
    assert history(world) == ["REGISTERED", "WAITING", "READY"]


def test_two_failed_objects_fail_the_launch_once(world: RestoreWorld) -> None:
    first, second = indexed(world)
    Script(world.client("s3"), "RestoreObject", [Reply.error("AccessDenied", status=403)] * 2)

    world.flow().restore_chunk(chunk_body(archived(key=first), archived(key=second)))

    assert world.statuses() == {first: "FAILED", second: "FAILED"}
    assert world.meta()["failed"] == 2
    assert len(world.notices()) == 1


def test_a_failed_standalone_request_is_announced_under_its_own_name(world: RestoreWorld) -> None:
    [key] = world.put_objects(["cohort7/a.bam"])
    world.flow().index("cohort7-reanalysis", "restore/cohort7-reanalysis.json#v1", request_body(), at=NOW)
    Script(world.client("s3"), "RestoreObject", [Reply.error("AccessDenied", status=403)])

    world.flow().restore_chunk(chunk_body(archived(key=key), request_id="cohort7-reanalysis"))

    assert world.meta("cohort7-reanalysis")["status"] == "FAILED"
    [notice] = world.notices()
    assert notice["subject"] == "Blueprints genomics restore failed: cohort7-reanalysis"
    assert (notice["message"]["launch_id"], notice["message"]["error_code"]) == (None, "RestoreFailed")


def test_a_request_whose_launch_was_deleted_still_completes_and_fails(world: RestoreWorld) -> None:
    # Given two requests whose launches were deleted after indexing
    for launch_id, key in ((LAUNCH_ID, "cohort7/a.bam"), (OTHER, "cohort7/b.bam")):
        world.waiting_launch(launch_id)
        world.put_objects([key])
        url = f"s3://{ARCHIVE_BUCKET}/{key}"
        world.flow().index(
            launch_id, f"restore/{launch_id}.json#v1", request_body(launch_id=launch_id, s3_urls=[url])
        )
        client("dynamodb").delete_item(
            TableName=world.stack.ref("LaunchTable"), Key={"launch_id": {"S": launch_id}}
        )
    Script(world.client("s3"), "RestoreObject", [PASS, Reply.error("AccessDenied", status=403)])

    # When one object completes and the other fails
    world.flow().restore_chunk(chunk_body(archived(key="cohort7/a.bam")))
    world.flow().complete_object(ARCHIVE_BUCKET, "cohort7/a.bam", None, None)
    world.flow().restore_chunk(chunk_body(archived(key="cohort7/b.bam"), request_id=OTHER))

    # Then the requests record it, with a notice for the failure
    assert (world.meta()["status"], world.meta(OTHER)["status"]) == ("READY", "FAILED")
    assert [notice["message"]["launch_id"] for notice in world.notices()] == [OTHER]


# --- completion --------------------------------------------------------------------------------------


def test_the_last_completion_readies_the_launch_exactly_once_even_when_delivered_twice(
    world: RestoreWorld,
) -> None:
    # Given two objects being restored
    first, second = indexed(world)
    flow = world.flow()
    flow.restore_chunk(chunk_body(archived(key=first), archived(key=second)))

    # When every completion event comes twice
    resolved = [
        flow.complete_object(ARCHIVE_BUCKET, key, None, "2026-12-08T00:00:00Z", at=NOW + 8 * HOUR)
        for key in (first, first, second, second)
    ]

    # Then each object counted once, and the launch went WAITING -> READY once, at the event's time
    assert resolved == [1, 0, 1, 0]
    assert history(world) == ["REGISTERED", "WAITING", "READY"]
    assert world.genomics.item(LAUNCH_ID)["status_history"][-1]["at"] == (NOW + 8 * HOUR).isoformat()
    meta = world.meta()
    assert (meta["status"], meta["remaining"], meta["restored"], meta["ready_at"]) == (
        "READY",
        0,
        2,
        (NOW + 8 * HOUR).isoformat(),
    )
    assert world.rows()[first]["expiry_at"] == "2026-12-08T00:00:00Z"


def test_two_launches_sharing_an_object_both_become_ready_after_one_event(world: RestoreWorld) -> None:
    # Given two waiting launches whose requests name the same archived key
    [key] = world.put_objects(["ref/hg38.fa"])
    url = f"s3://{ARCHIVE_BUCKET}/{key}"
    flow = world.flow()
    for launch_id in (LAUNCH_ID, OTHER):
        world.waiting_launch(launch_id)
        flow.index(
            launch_id, f"restore/{launch_id}.json#v1", request_body(launch_id=launch_id, s3_urls=[url])
        )
    # the first restore starts it; the second finds it running (S3's 409; moto would answer 200)
    Script(world.client("s3"), "RestoreObject", [PASS, Reply.error("RestoreAlreadyInProgress", status=409)])
    restore_all(world, flow)
    assert set(world.statuses(LAUNCH_ID).values()) | set(world.statuses(OTHER).values()) == {"RESTORING"}

    # When the object's restore completes once
    resolved = flow.complete_object(ARCHIVE_BUCKET, key, None, None)

    # Then both launches are READY
    assert resolved == 2
    assert (world.launch(LAUNCH_ID).status, world.launch(OTHER).status) == (Status.READY, Status.READY)


def test_a_versioned_completion_also_finds_the_row_indexed_without_its_version(world: RestoreWorld) -> None:
    # Given an object indexed under a prefix (rows carry no version id)
    [key] = indexed(world, 1)

    # When the completion event names the object's version
    resolved = world.flow().complete_object(ARCHIVE_BUCKET, key, "3HL4kqtJvjVBH40Nrjfkd", None)

    # Then the row is found and the launch is READY
    assert resolved == 1
    assert world.launch().status is Status.READY


def test_a_completion_for_an_object_nobody_waits_for_does_nothing(world: RestoreWorld) -> None:
    indexed(world, 1)

    assert world.flow().complete_object(ARCHIVE_BUCKET, "elsewhere/x.bam", None, None) == 0
    assert world.launch().status is Status.WAITING


def test_a_standalone_request_becomes_ready_without_a_launch(world: RestoreWorld) -> None:
    [key] = world.put_objects(["cohort7/a.bam"])
    flow = world.flow()
    flow.index("cohort7-reanalysis", "restore/cohort7-reanalysis.json#v1", request_body(), at=NOW)

    flow.complete_object(ARCHIVE_BUCKET, key, None, None)

    assert (world.meta("cohort7-reanalysis")["status"], world.meta("cohort7-reanalysis")["launch_id"]) == (
        "READY",
        "",
    )


# --- reconcile ---------------------------------------------------------------------------------------


def restoring(world: RestoreWorld, count: int = 1, storage_class: str = "GLACIER") -> list[str]:
    """Indexed objects whose restore was requested at NOW (moto keeps each readable at once)."""
    written = indexed(world, count, storage_class)
    world.flow().restore_chunk(
        chunk_body(*(archived(key=key, storage_class=storage_class) for key in written))
    )
    return written


def always() -> bool:
    return True


def test_a_finished_restore_whose_event_was_lost_is_completed(world: RestoreWorld) -> None:
    # Given a restore requested 6 hours ago (Bulk takes at least 5) whose completion event never came
    [key] = restoring(world)

    # When the reconciler runs
    report = world.flow().reconcile(NOW + 6 * HOUR, always)

    # Then HeadObject shows the copy: the object is completed and the launch READY
    assert (report.requests, report.completed, report.requested_again, report.timed_out) == (1, 1, 0, [])
    assert world.statuses() == {key: "RESTORED"}
    assert world.rows()[key]["expiry_at"].endswith("+00:00")
    assert world.launch().status is Status.READY


def test_a_restore_still_running_is_left_alone(world: RestoreWorld) -> None:
    [key] = restoring(world)
    Script(
        world.client("s3"),
        "HeadObject",
        [Reply.ok({"ContentLength": 16, "StorageClass": "GLACIER", "Restore": 'ongoing-request="true"'})],
    )

    report = world.flow().reconcile(NOW + 6 * HOUR, always)

    assert (report.completed, report.requested_again) == (0, 0)
    assert world.statuses() == {key: "RESTORING"}


def test_rows_younger_than_the_fastest_retrieval_are_not_looked_at(world: RestoreWorld) -> None:
    restoring(world)
    heads = record_calls(world.client("s3"), "HeadObject")

    report = world.flow().reconcile(NOW + 4 * HOUR, always)  # Bulk needs 5 h at least

    assert (report.requests, report.completed, heads) == (1, 0, [])


def test_a_lost_restore_is_requested_again(world: RestoreWorld) -> None:
    # Given a row RESTORING whose object shows no restore at all (the request was lost or expired)
    [key] = indexed(world, 1)
    store = world.store()
    [row] = store.rows(LAUNCH_ID)
    store.mark_row(row, "RESTORING", values={"attempts": 1})
    calls = record_calls(world.client("s3"), "RestoreObject")

    # When the reconciler runs
    report = world.flow().reconcile(NOW + 6 * HOUR, always)

    # Then the object is requested again, as indexed (Bulk, 7 days), and the attempt counted
    assert report.requested_again == 1
    assert [call["RestoreRequest"] for call in calls] == [
        {"Days": 7, "GlacierJobParameters": {"Tier": "Bulk"}}
    ]
    row_after = world.rows()[key]
    assert (row_after["restore_status"], row_after["attempts"], row_after["requested_at"]) == (
        "RESTORING",
        2,
        (NOW + 6 * HOUR).isoformat(),
    )


def test_a_chunk_that_never_arrived_is_requested_after_the_grace_period(world: RestoreWorld) -> None:
    # Given rows still PENDING 20 minutes after indexing (their chunk was lost)
    first, second = indexed(world)

    # When the reconciler runs before and after the 15 minutes of grace
    early = world.flow().reconcile(NOW + timedelta(minutes=10), always)
    late = world.flow().reconcile(NOW + timedelta(minutes=20), always)

    # Then only the late run requests them
    assert (early.requested_again, late.requested_again) == (0, 2)
    assert world.statuses() == {first: "RESTORING", second: "RESTORING"}
    assert {row["attempts"] for row in world.rows().values()} == {1}


def test_a_restore_lost_too_often_fails_the_launch(world: RestoreWorld) -> None:
    [key] = indexed(world, 1)
    store = world.store()
    [row] = store.rows(LAUNCH_ID)
    store.mark_row(row, "RESTORING", values={"attempts": 3})

    report = world.flow().reconcile(NOW + 6 * HOUR, always)

    assert report.requested_again == 0
    assert world.rows()[key]["last_error"] == "restore lost 3 times"
    assert world.genomics.item(LAUNCH_ID)["error_code"] == "RestoreFailed"


def test_an_object_deleted_while_restoring_fails_its_launch_and_the_run_goes_on(world: RestoreWorld) -> None:
    # Given a restoring object deleted since (its request's deadline comes first), and another request,
    # with a later deadline, whose restore finished without an event
    [key] = restoring(world)
    client("s3").delete_object(Bucket=ARCHIVE_BUCKET, Key=key)
    world.waiting_launch(OTHER)
    [other] = world.put_objects(["ref/hg38.fa"])
    other_request = request_body(
        launch_id=OTHER, s3_urls=[f"s3://{ARCHIVE_BUCKET}/{other}"], deadline_hours=48
    )
    flow = world.flow()
    flow.index(OTHER, f"restore/{OTHER}.json#v1", other_request, at=NOW)
    flow.restore_chunk(chunk_body(archived(key=other), request_id=OTHER))

    # When the reconciler runs
    report = flow.reconcile(NOW + 6 * HOUR, always)

    # Then the first launch FAILED (its object is gone), and the second was still completed in the same run
    item = world.genomics.item(LAUNCH_ID)
    assert (item["status"], item["error_code"]) == ("FAILED", "RestoreFailed")
    assert world.rows()[key]["last_error"] == f"s3://{ARCHIVE_BUCKET}/{key}: 404"
    assert (report.requests, report.completed) == (2, 1)
    assert world.launch(OTHER).status is Status.READY


def test_an_intelligent_tiering_object_back_in_an_access_tier_is_completed(world: RestoreWorld) -> None:
    # Given an Intelligent-Tiering row restoring; HeadObject now shows no archive status (moto's default)
    world.waiting_launch()
    [key] = world.put_objects(["cohort7/tiered.vcf"], "INTELLIGENT_TIERING")
    tiered = archived(key=key, storage_class="INTELLIGENT_TIERING", archive_status="DEEP_ARCHIVE_ACCESS")
    world.store().put_rows(LAUNCH_ID, [row_values(tiered, status="RESTORING")])
    world.store().begin(
        LAUNCH_ID,
        {
            "launch_id": LAUNCH_ID,
            "status": "WAITING",
            "total": 1,
            "remaining": 1,
            "deadline_at": (NOW + 96 * HOUR).isoformat(),
        },
    )

    # When the reconciler runs after the 12 hours Deep Archive Access Bulk needs at least
    early = world.flow().reconcile(NOW + 11 * HOUR, always)
    late = world.flow().reconcile(NOW + 13 * HOUR, always)

    assert (early.completed, late.completed) == (0, 1)
    assert world.launch().status is Status.READY


def test_a_request_past_its_deadline_fails_its_launch_with_a_notice(world: RestoreWorld) -> None:
    # Given a request with a 48-hour deadline
    world.waiting_launch()
    world.put_objects(keys(2))
    index(world, deadline_hours=48)

    # When the reconciler runs after it, twice
    first = world.flow().reconcile(NOW + 49 * HOUR, always)
    second = world.flow().reconcile(NOW + 50 * HOUR, always)

    # Then the launch FAILED with RestoreTimeout once, and one notice went out
    assert (first.timed_out, second.timed_out, second.requests) == ([LAUNCH_ID], [], 0)
    item = world.genomics.item(LAUNCH_ID)
    assert (item["status"], item["error_code"], item["log_scan"]) == (
        "FAILED",
        "RestoreTimeout",
        "NOT_APPLICABLE",
    )
    assert item["error_message"] == f"not restored by {(NOW + 48 * HOUR).isoformat()}"
    [notice] = world.notices()
    assert notice["message"]["error_code"] == "RestoreTimeout"
    assert world.meta()["status"] == "FAILED"


def test_a_request_that_finished_while_its_deadline_passed_is_not_failed(world: RestoreWorld) -> None:
    # Given a request past its deadline that another writer moves out of WAITING meanwhile
    world.waiting_launch()
    world.put_objects(keys(1))
    index(world, deadline_hours=1)
    Script(world.client("dynamodb"), "UpdateItem", [Reply.error("ConditionalCheckFailedException")])

    # When the reconciler finds it, Then it loses the conditional write and fails nothing
    report = world.flow().reconcile(NOW + 2 * HOUR, always)

    assert (report.requests, report.timed_out) == (1, [])
    assert world.launch().status is Status.WAITING
    assert world.notices() == []


def test_the_reconciler_stops_when_time_runs_out(world: RestoreWorld) -> None:
    restoring(world, 2)
    budget = iter([True, True, False])  # one request, one row, then no time left

    report = world.flow().reconcile(NOW + 6 * HOUR, lambda: next(budget, False))
    nothing = world.flow().reconcile(NOW + 6 * HOUR, lambda: False)

    assert (report.requests, report.completed) == (1, 1)
    assert list(world.statuses().values()).count("RESTORED") == 1
    assert (nothing.requests, nothing.completed) == (0, 0)


def test_reconcile_without_waiting_requests_does_nothing(world: RestoreWorld) -> None:
    report = world.flow().reconcile(NOW, always)

    assert (report.requests, report.completed, report.requested_again, report.timed_out) == (0, 0, 0, [])


def test_a_throttled_head_object_defers_that_object_and_the_run_goes_on(world: RestoreWorld) -> None:
    # Given two restores requested 6 hours ago, the first HeadObject of the run throttled
    first, second = restoring(world, 2)
    Script(world.client("s3"), "HeadObject", [Reply.error("SlowDown", status=503)])

    # When the reconciler runs
    report = world.flow().reconcile(NOW + 6 * HOUR, always)

    # Then one object is deferred to the next run, the other completed
    assert (report.deferred, report.completed) == (1, 1)
    assert sorted(world.statuses().values()) == ["RESTORED", "RESTORING"]
    assert {first, second} == set(world.statuses())


# --- the launch transition is part of completion (launch_sync) ---------------------------------------


def launch_write_fails(world: RestoreWorld, after: int) -> None:
    """The ``after``+1-th UpdateItem of the flow's DynamoDB client fails (the launch transition)."""
    Script(
        world.client("dynamodb"),
        "UpdateItem",
        [*([PASS] * after), Reply.error("InternalServerError", status=500)],
    )


def test_a_lost_launch_transition_after_the_last_completion_is_applied_by_the_reconciler(
    world: RestoreWorld,
) -> None:
    # Given one object restoring, and the launch write failing after the request flipped READY
    [key] = restoring(world)
    launch_write_fails(world, after=1)  # 1: META READY, 2: the launch
    with pytest.raises(ClientError, match="InternalServerError"):
        world.flow().complete_object(ARCHIVE_BUCKET, key, None, None)
    assert (world.meta()["status"], world.meta()["launch_sync"]) == ("READY", "PENDING")
    assert world.launch().status is Status.WAITING

    # When the event is retried (it finds no open row), then the reconciler runs, twice
    retried = world.flow().complete_object(ARCHIVE_BUCKET, key, None, None)
    first = world.flow().reconcile(NOW + HOUR, always)
    second = world.flow().reconcile(NOW + 2 * HOUR, always)

    # Then the launch is READY once, and the request is marked synced
    assert (retried, first.synced, second.synced) == (0, 1, 0)
    assert history(world) == ["REGISTERED", "WAITING", "READY"]
    assert (world.meta()["launch_synced"], "launch_sync" in world.meta()) == (True, False)


def test_a_lost_launch_failure_is_applied_by_the_reconciler_with_one_notice(world: RestoreWorld) -> None:
    # Given a request past its deadline, and the launch write failing after the request FAILED
    world.waiting_launch()
    world.put_objects(keys(1))
    index(world, deadline_hours=1)
    launch_write_fails(world, after=1)
    with pytest.raises(ClientError, match="InternalServerError"):
        world.flow().reconcile(NOW + 2 * HOUR, always)
    assert (world.meta()["status"], world.launch().status, world.notices()) == ("FAILED", Status.WAITING, [])

    # When the reconciler runs again
    report = world.flow().reconcile(NOW + 3 * HOUR, always)

    # Then the launch FAILED with RestoreTimeout, and one notice went out
    assert (report.synced, report.requests) == (1, 0)
    item = world.genomics.item(LAUNCH_ID)
    assert (item["status"], item["error_code"]) == ("FAILED", "RestoreTimeout")
    assert [notice["message"]["error_code"] for notice in world.notices()] == ["RestoreTimeout"]
    assert world.meta()["launch_synced"] is True


def test_a_crash_before_the_ready_flip_of_a_request_with_nothing_to_restore_is_resumed(
    world: RestoreWorld,
) -> None:
    # Given a request with nothing archived whose indexing stopped between WAITING and READY
    world.waiting_launch()
    world.put_objects(keys(2), "STANDARD")
    launch_write_fails(world, after=2)  # 1: META's values, 2: META WAITING, 3: META READY
    with pytest.raises(ClientError, match="InternalServerError"):
        index(world)
    assert (world.meta()["status"], world.meta()["remaining"]) == ("WAITING", 0)

    # When the upload is delivered again
    report = index(world)

    # Then the resumed indexing flips the request and its launch READY, with nothing queued
    assert report.outcome == "resumed"
    assert (world.meta()["status"], world.launch().status, world.messages()) == ("READY", Status.READY, [])


def test_the_reconciler_readies_a_waiting_request_with_nothing_remaining(world: RestoreWorld) -> None:
    # Given the same stop between WAITING and READY, and no redelivery
    world.waiting_launch()
    world.put_objects(keys(1), "STANDARD")
    launch_write_fails(world, after=2)
    with pytest.raises(ClientError, match="InternalServerError"):
        index(world)

    # When the reconciler runs
    report = world.flow().reconcile(NOW + HOUR, always)

    # Then the request and its launch are READY
    assert (report.requests, report.readied) == (1, 1)
    assert (world.meta()["status"], world.launch().status) == ("READY", Status.READY)


def test_a_redelivered_upload_applies_a_launch_transition_that_was_lost(world: RestoreWorld) -> None:
    # Given a request with nothing archived, READY, whose launch write failed
    world.waiting_launch()
    world.put_objects(keys(1), "STANDARD")
    launch_write_fails(world, after=3)  # META's values, WAITING, READY, then 4: the launch
    with pytest.raises(ClientError, match="InternalServerError"):
        index(world)
    assert (world.meta()["status"], world.launch().status) == ("READY", Status.WAITING)

    # When the upload is delivered again, Then it is a duplicate that still readies the launch
    assert index(world).outcome == "duplicate"
    assert world.launch().status is Status.READY
    assert world.meta()["launch_synced"] is True


# --- reconciler: cursor, fairness, stuck indexing ----------------------------------------------------


def still_running(world: RestoreWorld, count: int) -> list[dict[str, Any]]:
    """The next ``count`` HeadObject calls show a restore still running; returns the calls made."""
    s3 = world.client("s3")
    running = Reply.ok({"ContentLength": 16, "StorageClass": "GLACIER", "Restore": 'ongoing-request="true"'})
    Script(s3, "HeadObject", [running] * count)
    return record_calls(s3, "HeadObject")


def test_a_run_resumes_a_large_request_from_its_cursor_and_serves_the_others_first(
    world: RestoreWorld,
) -> None:
    # Given a request with 3 restores running and another one (later deadline) with 1
    first, second, third = restoring(world, 3)
    world.waiting_launch(OTHER)
    [other] = world.put_objects(["ref/hg38.fa"])
    flow = world.flow()
    flow.index(
        OTHER,
        f"restore/{OTHER}.json#v1",
        request_body(launch_id=OTHER, s3_urls=[f"s3://{ARCHIVE_BUCKET}/{other}"], deadline_hours=48),
        at=NOW,
    )
    flow.restore_chunk(chunk_body(archived(key=other), request_id=OTHER))
    heads = still_running(world, 6)

    # When a run has time for two rows of the first request only
    budget = iter([True, True, True])
    world.flow().reconcile(NOW + 6 * HOUR, lambda: next(budget, False))
    after_first = [call["Key"] for call in heads]
    cursor = world.meta()["reconcile_cursor"]
    # and the next run has time for everything
    report = world.flow().reconcile(NOW + 7 * HOUR, always)

    # Then the second run serves the request the first one never reached first, then resumes the large
    # one after its cursor; every row was looked at once, and the cursor is cleared
    assert after_first == [first, second]
    assert cursor == f"OBJ#{ARCHIVE_BUCKET}/{second}#null"
    assert [call["Key"] for call in heads][2:] == [other, third]
    assert report.requests == 2
    assert "reconcile_cursor" not in world.meta()
    assert world.meta()["reconciled_at"] == (NOW + 7 * HOUR).isoformat()


def test_a_run_looks_at_a_bounded_number_of_rows_per_request(world: RestoreWorld) -> None:
    # Given a request with 3 restores running, and a reconciler allowed 2 rows a request a run
    first, second, third = restoring(world, 3)
    heads = still_running(world, 5)
    flow = world.flow()
    flow.config = RestoreConfig(allow_partial=False, rows_per_request=2)

    # When it runs three times
    runs = [[call["Key"] for call in heads]]
    for hours in (6, 7, 8):
        flow.reconcile(NOW + hours * HOUR, always)
        runs.append([call["Key"] for call in heads][sum(len(run) for run in runs) :])

    # Then the second run resumes where the first stopped, and the third starts over
    assert runs[1:] == [[first, second], [third], [first, second]]


def test_an_indexing_stuck_past_its_timeout_fails_the_request_and_its_launch(world: RestoreWorld) -> None:
    # Given an indexing that began its META and never finished (its rows could not be written)
    world.waiting_launch()
    world.put_objects(keys(2))
    Script(world.client("dynamodb"), "BatchWriteItem", [Reply.error("InternalServerError", status=500)])
    with pytest.raises(ClientError, match="InternalServerError"):
        index(world)

    # When the reconciler runs 20 and 31 minutes later
    early = world.flow().reconcile(NOW + timedelta(minutes=20), always)
    late = world.flow().reconcile(NOW + timedelta(minutes=31), always)

    # Then only the late run fails it: the request and the launch FAILED with the reason, one notice
    assert (early.indexing_failed, late.indexing_failed) == ([], [LAUNCH_ID])
    item = world.genomics.item(LAUNCH_ID)
    assert (item["status"], item["error_code"]) == ("FAILED", "RestoreFailed")
    assert item["error_message"] == "indexing did not finish within 30 minutes"
    assert world.meta()["status"] == "FAILED"
    assert [notice["message"]["error_code"] for notice in world.notices()] == ["RestoreFailed"]


@pytest.mark.parametrize(
    ("url", "script", "reason"),
    [
        ("s3://no-such-archive/cohort7/", None, "s3://no-such-archive/cohort7/: NoSuchBucket"),
        (ARCHIVE_PATH, Reply.error("AccessDenied", status=403), f"{ARCHIVE_PATH}: AccessDenied"),
    ],
)
def test_a_prefix_that_cannot_be_listed_fails_the_launch_before_any_row(
    world: RestoreWorld, url: str, script: Reply | None, reason: str
) -> None:
    # Given a waiting launch whose request names a bucket that does not exist, or one it may not list
    world.waiting_launch()
    if script is not None:
        Script(world.client("s3"), "ListObjectsV2", [script])

    # When the request is indexed
    report = index(world, s3_urls=[url])

    # Then the request and the launch FAILED with the reason; nothing is tracked
    assert report.outcome == "failed"
    item = world.genomics.item(LAUNCH_ID)
    assert (item["status"], item["error_code"], item["error_message"]) == ("FAILED", "RestoreFailed", reason)
    assert (world.meta()["status"], world.rows()) == ("FAILED", {})


def test_a_throttled_listing_is_retried_and_a_listing_that_never_ends_is_swept(world: RestoreWorld) -> None:
    # Given a listing throttled on every delivery (or an index function that times out while listing)
    world.waiting_launch()
    world.put_objects(keys(1))
    Script(world.client("s3"), "ListObjectsV2", [Reply.error("SlowDown", status=503)] * 2)

    # When the upload is delivered twice (the event is retried 10 minutes later)
    for minutes in (10, 20):
        with pytest.raises(RestoreThrottledError, match="SlowDown"):
            world.flow().index(
                LAUNCH_ID, SOURCE, request_body(launch_id=LAUNCH_ID), at=NOW + timedelta(minutes=minutes)
            )

    # Then the request waits INDEXING (the launch still WAITING), from the first delivery's time
    assert (world.meta()["status"], world.launch().status) == ("INDEXING", Status.WAITING)
    assert world.meta()["created_at"] == (NOW + timedelta(minutes=10)).isoformat()
    # and the reconciler fails it and its launch once the indexing timeout has passed
    assert world.flow().reconcile(NOW + timedelta(minutes=41), always).indexing_failed == [LAUNCH_ID]
    assert world.launch().status is Status.FAILED


def test_a_request_naming_a_launch_must_be_named_after_it(world: RestoreWorld) -> None:
    # Given a waiting launch, and a user upload naming it under another file name
    world.waiting_launch()
    world.put_objects(keys(1))

    # When it is indexed
    report = world.flow().index("my-restore", "restore/my-restore.json#v1", request_body(launch_id=LAUNCH_ID))

    # Then it is rejected with the name it must have; the launch is left alone
    assert report.outcome == "rejected"
    assert world.meta("my-restore")["failure_reason"] == (
        f"a restore request for launch {LAUNCH_ID} must be named restore/{LAUNCH_ID}.json"
    )
    assert (world.rows("my-restore"), world.meta(), world.launch().status) == ({}, {}, Status.WAITING)


# --- a retry of the launch: a new round at a higher attempt ------------------------------------------


def failed_round(world: RestoreWorld, written: list[str]) -> None:
    """The launch's first round failed (AccessDenied on its first object), then the launch was retried:
    the launcher moved it back to WAITING at attempt 2 (written as the launcher will)."""
    Script(world.client("s3"), "RestoreObject", [Reply.error("AccessDenied", status=403)])
    world.flow().restore_chunk(chunk_body(*(archived(key=key) for key in written)))
    assert (world.meta()["status"], world.launch().status) == ("FAILED", Status.FAILED)
    client("dynamodb").update_item(
        TableName=world.stack.ref("LaunchTable"),
        Key={"launch_id": {"S": LAUNCH_ID}},
        UpdateExpression="SET #s = :waiting, attempt = :two",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":waiting": {"S": "WAITING"}, ":two": {"N": "2"}},
    )


def test_a_retry_at_a_higher_attempt_indexes_the_request_again_as_a_new_round(world: RestoreWorld) -> None:
    # Given a first round that failed with one object restoring, and one input deleted since
    written = indexed(world, 3)
    failed_round(world, written)
    client("s3").delete_object(Bucket=ARCHIVE_BUCKET, Key=written[2])

    # When the launcher writes the request again for attempt 2
    report = index(world, source=f"restore/{LAUNCH_ID}.json#v2", attempt=2)

    # Then it is indexed again: counters from zero, fresh rows (none for the deleted object), chunks queued
    assert (report.outcome, report.total) == ("reindexed", 2)
    meta = world.meta()
    assert (meta["status"], meta["attempt"], meta["total"], meta["remaining"]) == ("WAITING", 2, 2, 2)
    assert ("failed" in meta, "failure_reason" in meta, "launch_sync" in meta) == (False, False, False)
    assert world.statuses() == {written[0]: "PENDING", written[1]: "PENDING"}
    assert [len(message["objects"]) for message in world.messages()] == [2]

    # and when both objects complete, the launch goes WAITING -> READY at attempt 2
    for key in written[:2]:
        world.flow().complete_object(ARCHIVE_BUCKET, key, None, None)
    item = world.genomics.item(LAUNCH_ID)
    assert (item["status"], item["attempt"]) == ("READY", 2)


@pytest.mark.parametrize("attempt", [None, 1])
def test_a_request_at_the_same_or_a_lower_attempt_is_not_a_new_round(
    world: RestoreWorld, attempt: int | None
) -> None:
    # Given a first round that failed, the launch retried at attempt 2 and its round indexed
    written = indexed(world, 2)
    failed_round(world, written)
    index(world, source=f"restore/{LAUNCH_ID}.json#v2", attempt=2)
    world.messages()
    before = (world.meta(), world.rows())

    # When a request for attempt 2 again, or for attempt 1, is uploaded
    fields: dict[str, Any] = {} if attempt is None else {"attempt": attempt}
    same = index(world, source=f"restore/{LAUNCH_ID}.json#v3", attempt=2)
    lower = index(world, source=f"restore/{LAUNCH_ID}.json#v4", **fields)

    # Then neither changes the round
    assert (same.outcome, lower.outcome) == ("rejected", "rejected")
    assert (world.meta(), world.rows(), world.messages()) == (*before, [])
    assert [notice["message"]["error_message"] for notice in world.notices()][-2:] == [
        f"restore request {LAUNCH_ID} was indexed already (WAITING)",
        f"launch {LAUNCH_ID} is at attempt 2, not 1",
    ]


def test_a_new_round_whose_prefix_cannot_be_listed_fails_the_retried_launch(world: RestoreWorld) -> None:
    failed_round(world, indexed(world, 1))
    Script(world.client("s3"), "ListObjectsV2", [Reply.error("NoSuchBucket", status=404)])

    report = index(world, source=f"restore/{LAUNCH_ID}.json#v2", attempt=2)

    assert report.outcome == "failed"
    item = world.genomics.item(LAUNCH_ID)
    assert (item["status"], item["attempt"], item["error_message"]) == (
        "FAILED",
        2,
        f"{ARCHIVE_PATH}: NoSuchBucket",
    )
    assert (world.meta()["attempt"], world.meta()["status"]) == (2, "FAILED")


def test_a_request_naming_the_bucket_owner_passes_it_on_every_s3_call(world: RestoreWorld) -> None:
    # Given a request for data in a bucket that account 123456789012 must own (moto's account)
    world.waiting_launch()
    [listed, single] = world.put_objects(["cohort7/a.bam", "ref/hg38.fa"])
    s3 = world.client("s3")
    calls = {name: record_calls(s3, name) for name in ("ListObjectsV2", "HeadObject", "RestoreObject")}
    owner = "123456789012"

    # When it is indexed, its chunk restored, and a lost restore reconciled
    index(world, s3_urls=[ARCHIVE_PATH, f"s3://{ARCHIVE_BUCKET}/{single}"], expected_bucket_owner=owner)
    [message] = world.messages()
    world.flow().restore_chunk(json.dumps(message))
    store = world.store()
    lost = next(row for row in store.rows(LAUNCH_ID) if row.key == listed)
    client("s3").put_object(Bucket=ARCHIVE_BUCKET, Key=listed, Body=b"A", StorageClass="GLACIER")  # no copy
    world.flow().reconcile(NOW + 6 * HOUR, always)

    # Then every call names the owner, and the request and its chunk carry it
    assert (message["expected_bucket_owner"], world.meta()["expected_bucket_owner"]) == (owner, owner)
    assert {name: {call.get("ExpectedBucketOwner") for call in made} for name, made in calls.items()} == {
        "ListObjectsV2": {owner},
        "HeadObject": {owner},
        "RestoreObject": {owner},
    }
    assert [call["Key"] for call in calls["RestoreObject"]] == [listed, single, listed]
    assert lost.restore_status == "RESTORING"


def test_a_reconciler_without_time_leaves_unsynced_and_indexing_requests_for_the_next_run(
    world: RestoreWorld,
) -> None:
    # Given a READY request whose launch write failed, and another request stuck INDEXING
    [key] = restoring(world)
    launch_write_fails(world, after=1)
    with pytest.raises(ClientError, match="InternalServerError"):
        world.flow().complete_object(ARCHIVE_BUCKET, key, None, None)
    world.waiting_launch(OTHER)
    Script(world.client("dynamodb"), "BatchWriteItem", [Reply.error("InternalServerError", status=500)])
    with pytest.raises(ClientError, match="InternalServerError"):
        world.flow().index(OTHER, f"restore/{OTHER}.json#v1", request_body(launch_id=OTHER), at=NOW)

    # When runs have no time at all, then time for the sync sweep only
    idle = world.flow().reconcile(NOW + HOUR, lambda: False)
    budget = iter([True])
    partial = world.flow().reconcile(NOW + HOUR, lambda: next(budget, False))

    # Then the first changes nothing, and the second applies the launch transition only
    assert (idle.synced, idle.indexing_failed, partial.synced, partial.indexing_failed) == (0, [], 1, [])
    assert (world.launch().status, world.meta(OTHER)["status"]) == (Status.READY, "INDEXING")


def test_an_expired_version_also_reopens_the_row_indexed_without_its_version(world: RestoreWorld) -> None:
    # Given two objects of a waiting request, one restored (indexed under a prefix: no version id)
    first, _ = restoring(world, 2)
    world.flow().complete_object(ARCHIVE_BUCKET, first, None, None)

    # When the copy of its version expires
    reopened = world.flow().expire_object(ARCHIVE_BUCKET, first, "3HL4kqtJvjVBH40Nrjfkd", at=NOW + HOUR)

    # Then the row is PENDING again, requested at the event's time
    assert reopened == 1
    row = world.rows()[first]
    assert (row["restore_status"], row["requested_at"], "completed_at" in row) == (
        "PENDING",
        (NOW + HOUR).isoformat(),
        False,
    )


def test_a_launch_write_failing_again_in_the_reconciler_does_not_stop_the_others(world: RestoreWorld) -> None:
    # Given two READY requests whose launch writes failed
    for launch_id, key in ((LAUNCH_ID, "ref/a.fa"), (OTHER, "ref/b.fa")):
        world.waiting_launch(launch_id)
        world.put_objects([key])
        url = f"s3://{ARCHIVE_BUCKET}/{key}"
        world.flow().index(
            launch_id, f"restore/{launch_id}.json#v1", request_body(launch_id=launch_id, s3_urls=[url])
        )
        launch_write_fails(world, after=1)  # META READY, then the launch
        with pytest.raises(ClientError, match="InternalServerError"):
            world.flow().complete_object(ARCHIVE_BUCKET, key, None, None)
    assert {world.meta(launch_id)["launch_sync"] for launch_id in (LAUNCH_ID, OTHER)} == {"PENDING"}

    # When the reconciler's first launch write fails once more
    launch_write_fails(world, after=0)
    report = world.flow().reconcile(NOW + HOUR, always)

    # Then the other request's launch is still READY in that run, and the next run finishes the first
    assert (report.deferred, report.synced) == (1, 1)
    assert world.flow().reconcile(NOW + 2 * HOUR, always).synced == 1
    assert (world.launch(LAUNCH_ID).status, world.launch(OTHER).status) == (Status.READY, Status.READY)
