"""Glacier restore before launch, end to end on the local cloud (spec: glacier-restore, Acceptance; issue 5):
archived inputs WAIT and are launched once restored; mixed storage classes; nothing archived means no
restore; duplicate completion events; a lost completion event recovered by the reconciler; the deadline.

The S3 restore simulator completes restores after tier-dependent virtual time and emits the events AWS
emits; the scenarios are those of ``localcloud demo genomics`` (``demos/genomics.py``).
"""

from __future__ import annotations

from demos.genomics import (
    ARCHIVE_BUCKET,
    GenomicsWorld,
    archived_inputs,
    config_upload,
    duplicate_completion_events,
    lost_completion_event,
    mixed_storage_classes,
    restore_deadline,
)

RESTORED_LIFECYCLE = ["REGISTERED", "WAITING", "READY", "LAUNCHING", "RUNNING", "COMPLETE"]
HOUR = 3600.0


def test_enabling_bucket_events_keeps_the_existing_notification(world: GenomicsWorld) -> None:
    configuration = world.cloud.client("s3").get_bucket_notification_configuration(Bucket=ARCHIVE_BUCKET)

    assert world.enabled_buckets == {"enabled": [ARCHIVE_BUCKET], "already_enabled": []}
    assert "EventBridgeConfiguration" in configuration
    assert [item["Events"] for item in configuration["QueueConfigurations"]] == [["s3:ObjectRemoved:*"]]


def test_inputs_in_a_readable_class_start_at_once_without_a_restore(world: GenomicsWorld) -> None:
    facts = config_upload(world)

    launch = facts.launch("wf-qc-0001")
    assert [status for status, _ in launch.history] == ["REGISTERED", "LAUNCHING", "RUNNING", "COMPLETE"]
    assert "restore_request_uri" not in launch.item
    assert world.restore_meta("wf-qc-0001") == {}


def test_archived_inputs_wait_for_their_restore_then_launch_once(world: GenomicsWorld) -> None:
    facts = archived_inputs(world)

    launch = facts.launch("wf-archived-0011")
    assert [status for status, _ in launch.history] == RESTORED_LIFECYCLE
    assert len(launch.run_task_calls) == 1
    assert launch.item["restore_request_uri"] == f"s3://{world.request_bucket}/restore/wf-archived-0011.json"
    # every object was Flexible Retrieval: Bulk, 7 days, one call each, 202
    assert sorted(facts.restore_calls) == [
        (f"cohort8/reads/S{n}.fastq.gz", 202, "", "Bulk", 7) for n in (1, 2, 3)
    ]
    assert set(facts.rows.values()) == {"RESTORED"}
    meta = facts.restore
    assert (meta["status"], meta["tier"], meta["total"], meta["restored"], meta["remaining"]) == (
        "READY",
        "Bulk",
        3,
        3,
        0,
    )
    # the restore took the Bulk tier's time (simulated 8 h), and the API shows the progress and estimate
    waiting, ready = (entry["at"] for entry in launch.item["status_history"][1:3])
    assert 7.9 * HOUR < _seconds(waiting, ready) < 8.5 * HOUR
    assert (facts.api_restore["total"], facts.api_restore["restored"]) == (3, 3)
    assert facts.api_restore["estimate"]["hours"] == 12
    assert facts.api_restore["estimate"]["objects"] == 3


def test_mixed_storage_classes_restore_only_what_is_archived_with_the_rules_of_each_class(
    world: GenomicsWorld,
) -> None:
    facts = mixed_storage_classes(world)

    # STANDARD and GLACIER_IR are readable; GLACIER, DEEP_ARCHIVE and Intelligent-Tiering archive are not
    assert facts.rows == {
        "cohort9/reads/S3.fastq.gz": "RESTORED",
        "cohort9/reads/S4.fastq.gz": "RESTORED",
        "cohort9/ref/hg38.fa": "RESTORED",
    }
    assert (facts.restore["readable"], facts.restore["total"], facts.restore["tier"]) == (2, 3, "Standard")
    calls = {key: (status, tier, days) for key, status, _, tier, days in facts.restore_calls}
    assert calls["cohort9/reads/S4.fastq.gz"] == (202, "Standard", 7)  # Deep Archive: no Expedited anyway
    assert calls["cohort9/ref/hg38.fa"] == (202, "Standard", None)  # Intelligent-Tiering: no Days
    assert facts.launch("wf-mixed-0012").status == "COMPLETE"


def test_duplicate_completion_events_flip_the_launch_once(world: GenomicsWorld) -> None:
    facts = duplicate_completion_events(world)

    launch = facts.launch("wf-dupevents-0013")
    assert [status for status, _ in launch.history] == RESTORED_LIFECYCLE
    assert len(launch.run_task_calls) == 1
    assert (facts.restore["restored"], facts.restore["remaining"], facts.restore["status"]) == (1, 0, "READY")
    completions = [
        call.payload
        for call in world.cloud.calls("Genomics/RecordRestoreCompletionFunction")
        if "cohort10/" in str(call.event)
    ]
    assert sorted(payload["resolved"] for payload in completions) == [0, 0, 1]


def test_a_lost_completion_event_is_recovered_by_the_reconciler(world: GenomicsWorld) -> None:
    facts = lost_completion_event(world)

    launch = facts.launch("wf-lost-0014")
    assert [status for status, _ in launch.history] == RESTORED_LIFECYCLE
    assert facts.notes == ["reconciler runs that completed objects: 1"]
    restore = next(
        r for r in world.cloud.sources.s3_restore.restores if r.key == "cohort11/reads/S1.fastq.gz"
    )
    assert restore.notified is False  # the event really was never sent


def test_a_restore_past_its_deadline_fails_the_launch_with_restore_timeout(world: GenomicsWorld) -> None:
    facts = restore_deadline(world)

    launch = facts.launch("wf-deadline-0015")
    assert [status for status, _ in launch.history] == ["REGISTERED", "WAITING", "FAILED"]
    assert launch.error_code == "RestoreTimeout"
    assert launch.run_task_calls == []
    assert facts.restore["status"] == "FAILED"
    assert [alert["error_code"] for alert in facts.alerts] == ["RestoreTimeout"]


def _seconds(start: str, end: str) -> float:
    from datetime import datetime

    return (
        datetime.fromisoformat(end.replace("Z", "+00:00"))
        - datetime.fromisoformat(start.replace("Z", "+00:00"))
    ).total_seconds()


def test_only_json_documents_under_restore_are_indexed(world: GenomicsWorld) -> None:
    # Given the index function's invocations so far
    before = len(world.cloud.calls("Genomics/IndexRestoreRequestFunction"))

    # When a note and a JSON request without a launch are uploaded under restore/
    s3 = world.cloud.client("s3")
    s3.put_object(Bucket=world.request_bucket, Key="restore/README.txt", Body=b"not a request")
    body = b'{"s3_urls": ["s3://' + ARCHIVE_BUCKET.encode() + b'/cohort8/reads/S1.fastq.gz"]}'
    s3.put_object(Bucket=world.request_bucket, Key="restore/standalone-json-only.json", Body=body)
    world.cloud.run_until_idle(60)

    # Then only the JSON document reached the index function
    calls = world.cloud.calls("Genomics/IndexRestoreRequestFunction")[before:]
    assert [call.payload["request_id"] for call in calls] == ["standalone-json-only"]
    assert world.restore_meta("README") == {}
