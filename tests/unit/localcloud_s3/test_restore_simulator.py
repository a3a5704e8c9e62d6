"""The S3 Glacier restore simulator: RestoreObject's outcomes, restores on the virtual clock, S3's events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel, S3Model
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.retries.standard import ExponentialBackoff
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws
from moto.s3.exceptions import MalformedXML

from localcloud.clock import VirtualClock, isoformat
from localcloud.s3_events import S3Notifications, encode_key
from localcloud.simulators.s3_restore import (
    DEFAULT_DURATIONS,
    RestoreParameters,
    S3RestoreSimulator,
    parse_restore_request,
)
from localcloud.sources import EventSources

START = 1_700_000_000.0  # 2023-11-14T22:13:20Z
HOUR, DAY = 3600.0, 86400.0
REGION = "us-east-1"
BUCKET, VERSIONED = "archive-data", "archive-versions"
RESTORE_EVENTS = ["Object Restore Initiated", "Object Restore Completed", "Object Restore Expired"]


def _at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@dataclass
class Archive:
    """moto with the virtual clock, S3's event shapes, the event sources (and so the simulator), and
    two buckets whose restore notifications go to a queue and whose EventBridge events reach another."""

    clock: VirtualClock
    sources: EventSources
    s3: Any
    sqs: Any
    notices_url: str
    bus_url: str
    notices: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def simulator(self) -> S3RestoreSimulator:
        return self.sources.s3_restore

    def put(self, key: str, storage_class: str = "GLACIER", bucket: str = BUCKET, **extra: Any) -> str:
        response = self.s3.put_object(
            Bucket=bucket, Key=key, Body=b"data", StorageClass=storage_class, **extra
        )
        return str(response.get("VersionId"))

    def restore(self, key: str, bucket: str = BUCKET, **request: Any) -> int:
        """RestoreObject; the HTTP status of S3's answer."""
        version = request.pop("VersionId", None)
        extra = {} if version is None else {"VersionId": version}
        response = self.s3.restore_object(Bucket=bucket, Key=key, RestoreRequest=request, **extra)
        return int(response["ResponseMetadata"]["HTTPStatusCode"])

    def refused(self, key: str, bucket: str = BUCKET, **request: Any) -> tuple[int, dict[str, Any]]:
        """A RestoreObject S3 refuses: its HTTP status and error."""
        with pytest.raises(ClientError) as refusal:
            self.restore(key, bucket, **request)
        answer = refusal.value.response
        return answer["ResponseMetadata"]["HTTPStatusCode"], dict(answer["Error"])

    def head(self, key: str, bucket: str = BUCKET, **extra: Any) -> dict[str, Any]:
        response: dict[str, Any] = self.s3.head_object(Bucket=bucket, Key=key, **extra)
        return response

    def read_error(self, key: str, bucket: str = BUCKET, **extra: Any) -> dict[str, Any] | None:
        """GetObject: None when it reads, else the error."""
        try:
            self.s3.get_object(Bucket=bucket, Key=key, **extra)["Body"].read()
        except ClientError as exc:
            return dict(exc.response["Error"])
        return None

    def _drain(self, url: str, into: list[dict[str, Any]]) -> list[dict[str, Any]]:
        while messages := self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                into.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return into

    def records(self, key: str, bucket: str = BUCKET) -> list[dict[str, Any]]:
        """The notification records the queue received for one object, in order."""
        return [
            record
            for body in self._drain(self.notices_url, self.notices)
            for record in body.get("Records", [])
            if (record["s3"]["bucket"]["name"], record["s3"]["object"]["key"]) == (bucket, encode_key(key))
        ]

    def bus_events(self, key: str, bucket: str = BUCKET) -> list[dict[str, Any]]:
        """The EventBridge restore events the rule's queue received for one object, in order."""
        return [
            event
            for event in self._drain(self.bus_url, self.events)
            if (event["detail"]["bucket"]["name"], event["detail"]["object"]["key"]) == (bucket, key)
        ]


@pytest.fixture
def archive(monkeypatch: pytest.MonkeyPatch) -> Iterator[Archive]:
    # SDK retries happen at once (the local cloud does the same), so retried faults cost no time.
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda _self, _context: 0.0)
    clock = VirtualClock(start=START)
    with (
        mock_aws(),
        clock.install(),
        EventSources(clock).install() as sources,
        S3Notifications(clock).install(),
    ):
        config = Config(retries={"mode": "standard", "total_max_attempts": 3})
        s3 = boto3.client("s3", region_name=REGION, config=config)
        sqs = boto3.client("sqs", region_name=REGION)
        queues = {}
        for name in ("notices", "bus"):
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            queues[name] = (url, arn)
        events = boto3.client("events", region_name=REGION)
        pattern = {"source": ["aws.s3"], "detail-type": RESTORE_EVENTS}
        events.put_rule(Name="restores", EventPattern=json.dumps(pattern))
        events.put_targets(Rule="restores", Targets=[{"Id": "queue", "Arn": queues["bus"][1]}])
        for bucket in (BUCKET, VERSIONED):
            s3.create_bucket(Bucket=bucket)
            s3.put_bucket_notification_configuration(
                Bucket=bucket,
                NotificationConfiguration={
                    "QueueConfigurations": [
                        {"QueueArn": queues["notices"][1], "Events": ["s3:ObjectRestore:*"]}
                    ],
                    "EventBridgeConfiguration": {},
                },
            )
        s3.put_bucket_versioning(Bucket=VERSIONED, VersioningConfiguration={"Status": "Enabled"})
        yield Archive(clock, sources, s3, sqs, queues["notices"][0], queues["bus"][0])


# -- a restore's life: request, completion, expiry ---------------------------------------------------


def test_a_first_request_is_accepted_and_the_restore_is_ongoing(archive: Archive) -> None:
    # Given an object archived in Flexible Retrieval
    archive.put("runs/r1.bam")

    # When a restore is requested
    status = archive.restore("runs/r1.bam", Days=2, GlacierJobParameters={"Tier": "Bulk"})

    # Then S3 accepts it (202), the copy is not readable yet, and S3 tells it started
    [record] = archive.records("runs/r1.bam")
    [event] = archive.bus_events("runs/r1.bam")
    initiated = S3EventNotificationEventBridgeModel.model_validate(event)
    assert status == 202
    assert archive.head("runs/r1.bam")["Restore"] == 'ongoing-request="true"'
    assert archive.read_error("runs/r1.bam") == {
        "Code": "InvalidObjectState",
        "Message": "The operation is not valid for the object's storage class",
        "StorageClass": "GLACIER",
    }
    assert record["eventName"] == "ObjectRestore:Post"
    assert record["eventTime"] == isoformat(START, millis=True)
    assert record["requestParameters"] == {"sourceIPAddress": "127.0.0.1"}  # the requester's call
    assert "glacierEventData" not in record
    assert initiated.detail_type == "Object Restore Initiated"
    assert initiated.detail.source_storage_class == "GLACIER"
    assert initiated.detail.restore_expiry_time is None
    assert initiated.detail.requester == "123456789012"


def test_a_request_while_the_restore_runs_gets_409(archive: Archive) -> None:
    # Given a restore in progress
    archive.put("runs/r2.bam")
    archive.restore("runs/r2.bam", Days=1)

    # When the object is asked for again, with another tier, an hour later
    archive.clock.advance(HOUR)
    status, error = archive.refused("runs/r2.bam", Days=3, GlacierJobParameters={"Tier": "Expedited"})

    # Then S3 answers RestoreAlreadyInProgress, starts nothing and sends nothing more
    assert (status, error["Code"]) == (409, "RestoreAlreadyInProgress")
    assert [record["eventName"] for record in archive.records("runs/r2.bam")] == ["ObjectRestore:Post"]
    restore = archive.simulator.restore(BUCKET, "runs/r2.bam")
    assert restore is not None
    assert (restore.tier, restore.days, restore.due_at) == ("Standard", 1, START + 4 * HOUR)
    assert [(call.status, call.error) for call in archive.simulator.calls] == [
        (202, None),
        (409, "RestoreAlreadyInProgress"),
    ]


@pytest.mark.parametrize(
    ("storage_class", "tier", "seconds"),
    [
        ("GLACIER", "Expedited", 3 * 60),
        ("GLACIER", "Standard", 4 * HOUR),
        ("GLACIER", "Bulk", 8 * HOUR),
        ("DEEP_ARCHIVE", "Standard", 12 * HOUR),
        ("DEEP_ARCHIVE", "Bulk", 48 * HOUR),
    ],
)
def test_a_restore_completes_after_its_tier_duration(
    archive: Archive, storage_class: str, tier: str, seconds: float
) -> None:
    # Given a restore requested at START with a tier
    archive.put("tiers/object", storage_class)
    archive.restore("tiers/object", Days=1, GlacierJobParameters={"Tier": tier})

    # When the clock reaches one second before the tier's duration, then runs until idle
    archive.clock.advance(seconds - 1)
    before = archive.head("tiers/object")["Restore"]
    archive.sources.run_until_idle(max_virtual_seconds=2 * seconds)

    # Then the restore is ongoing until then, and complete at exactly the duration
    restore = archive.simulator.restore(BUCKET, "tiers/object")
    assert restore is not None
    assert before == 'ongoing-request="true"'
    assert (restore.source, restore.state, restore.completed_at) == (
        storage_class,
        "RESTORED",
        START + seconds,
    )
    assert archive.head("tiers/object")["Restore"].startswith('ongoing-request="false", expiry-date=')
    assert DEFAULT_DURATIONS[storage_class, tier] == seconds


def test_without_a_tier_a_restore_is_standard(archive: Archive) -> None:
    # Given an object in Deep Archive
    archive.put("deep/object", "DEEP_ARCHIVE")

    # When a restore without GlacierJobParameters is requested
    archive.restore("deep/object", Days=1)

    # Then it runs as a Standard retrieval (12 hours)
    restore = archive.simulator.restore(BUCKET, "deep/object")
    assert restore is not None
    assert (restore.tier, restore.due_at) == ("Standard", START + 12 * HOUR)


def test_a_restored_copy_is_readable_until_its_expiry_then_expires_with_s3s_events(archive: Archive) -> None:
    # Given a Standard restore for 2 days, requested at 2023-11-14T22:13:20Z
    archive.put("cohort/sample.cram")
    archive.restore("cohort/sample.cram", Days=2)

    # When the clock passes the completion (4 hours later)
    archive.sources.run_until_idle(max_virtual_seconds=5 * HOUR)

    # Then the copy is readable, its expiry is completion + 2 days rounded up to midnight UTC,
    # and the completion notification and EventBridge event carry that expiry
    completed, expiry = START + 4 * HOUR, _at("2023-11-18T00:00:00")
    [_, record] = archive.records("cohort/sample.cram")
    parsed = S3Model.model_validate({"Records": [record]}).Records[0]
    [_, event] = archive.bus_events("cohort/sample.cram")
    done = S3EventNotificationEventBridgeModel.model_validate(event)
    assert archive.head("cohort/sample.cram")["Restore"] == (
        'ongoing-request="false", expiry-date="Sat, 18 Nov 2023 00:00:00 GMT"'
    )
    assert archive.read_error("cohort/sample.cram") is None
    assert parsed.eventName == "ObjectRestore:Completed"
    assert record["eventTime"] == isoformat(completed, millis=True)
    assert record["requestParameters"] == {"sourceIPAddress": "s3.amazonaws.com"}
    assert parsed.glacierEventData is not None
    assert parsed.glacierEventData.restoreEventData.lifecycleRestorationExpiryTime.timestamp() == expiry
    assert parsed.glacierEventData.restoreEventData.lifecycleRestoreStorageClass == "GLACIER"
    assert done.detail_type == "Object Restore Completed"
    assert event["time"] == isoformat(completed)
    assert done.detail.restore_expiry_time == "2023-11-18T00:00:00Z"
    assert done.detail.requester == "s3.amazonaws.com"
    assert done.detail.source_storage_class == "GLACIER"

    # When the clock passes the expiry (expiry timers never keep run_until_idle going: advance it)
    archive.clock.advance_to(expiry)

    # Then the copy is gone, and S3 says so
    [*_, expired_record] = archive.records("cohort/sample.cram")
    [*_, expired] = archive.bus_events("cohort/sample.cram")
    restore = archive.simulator.restore(BUCKET, "cohort/sample.cram")
    assert restore is not None
    assert (restore.state, restore.expired_at) == ("EXPIRED", expiry)
    assert "Restore" not in archive.head("cohort/sample.cram")
    assert archive.read_error("cohort/sample.cram") is not None
    assert (expired_record["eventName"], expired_record["eventTime"]) == (
        "ObjectRestore:Delete",
        isoformat(expiry, millis=True),
    )
    assert expired_record["requestParameters"] == {"sourceIPAddress": "s3.amazonaws.com"}
    assert expired["detail-type"] == "Object Restore Expired"
    assert expired["detail"]["requester"] == "s3.amazonaws.com"


def test_an_expired_copy_can_be_restored_again(archive: Archive) -> None:
    # Given a restored copy that expired
    archive.put("again/object")
    archive.restore("again/object", Days=1)
    archive.sources.run_until_idle(max_virtual_seconds=5 * HOUR)
    archive.clock.advance(2 * DAY)

    # When it is asked for again
    status = archive.restore("again/object", Days=1, GlacierJobParameters={"Tier": "Expedited"})

    # Then a new restore starts (202) and completes on its own schedule
    archive.sources.run_until_idle()
    first, second = [item for item in archive.simulator.restores if item.key == "again/object"]
    assert status == 202
    assert (first.state, second.state) == ("EXPIRED", "RESTORED")
    assert second.completed_at == second.requested_at + 3 * 60


def test_a_request_on_a_restored_copy_gets_200_and_moves_the_expiry(archive: Archive) -> None:
    # Given a copy restored at 2023-11-15T02:13:20Z for 2 days (expiry 2023-11-18T00:00Z)
    archive.put("extend/object")
    archive.restore("extend/object", Days=2)
    archive.sources.run_until_idle(max_virtual_seconds=5 * HOUR)

    # When, a day later, the object is asked for 5 days
    archive.clock.advance(DAY)
    status = archive.restore("extend/object", Days=5)

    # Then S3 answers 200, the expiry is now + 5 days rounded up, and no restore event is sent
    assert status == 200
    assert archive.head("extend/object")["Restore"] == (
        'ongoing-request="false", expiry-date="Wed, 22 Nov 2023 00:00:00 GMT"'
    )
    assert [record["eventName"] for record in archive.records("extend/object")] == [
        "ObjectRestore:Post",
        "ObjectRestore:Completed",
    ]

    # When the first expiry passes, then the later one
    archive.clock.advance_to(_at("2023-11-19T00:00:00"))
    kept = archive.head("extend/object").get("Restore")
    archive.clock.advance_to(_at("2023-11-22T00:00:00"))

    # Then the copy lives until the new expiry only
    assert kept is not None
    assert "Restore" not in archive.head("extend/object")


def test_a_deleted_object_completes_nothing(archive: Archive) -> None:
    # Given a restore in progress
    archive.put("gone/object")
    archive.restore("gone/object", Days=1)

    # When the object is deleted before the restore completes
    archive.s3.delete_object(Bucket=BUCKET, Key="gone/object")
    archive.sources.run_until_idle(max_virtual_seconds=5 * HOUR)

    # Then no completion is reported for it
    restore = archive.simulator.restore(BUCKET, "gone/object")
    assert restore is not None
    assert restore.state == "IN_PROGRESS"
    assert [record["eventName"] for record in archive.records("gone/object")] == ["ObjectRestore:Post"]


def test_a_copy_deleted_before_its_expiry_expires_silently(archive: Archive) -> None:
    # Given a restored copy
    archive.put("gone/restored")
    archive.restore("gone/restored", Days=1)
    archive.sources.run_until_idle(max_virtual_seconds=5 * HOUR)

    # When the object is deleted and its expiry passes
    archive.s3.delete_object(Bucket=BUCKET, Key="gone/restored")
    archive.clock.advance(2 * DAY)

    # Then S3 sends no expiry event for it
    restore = archive.simulator.restore(BUCKET, "gone/restored")
    assert restore is not None
    assert restore.state == "RESTORED"
    assert [record["eventName"] for record in archive.records("gone/restored")] == [
        "ObjectRestore:Post",
        "ObjectRestore:Completed",
    ]


# -- refusals ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("storage_class", ["STANDARD", "STANDARD_IA", "ONEZONE_IA", "GLACIER_IR"])
def test_objects_outside_archive_classes_get_invalid_object_state(
    archive: Archive, storage_class: str
) -> None:
    # Given an object that is readable now
    archive.put("hot/object", storage_class)

    # When a restore is requested
    status, error = archive.refused("hot/object", Days=1)

    # Then S3 refuses it with the object's storage class, and nothing starts
    [call] = archive.simulator.calls
    assert (status, error["Code"]) == (403, "InvalidObjectState")
    assert (call.status, call.error) == (403, "InvalidObjectState")
    assert error["StorageClass"] == storage_class
    assert archive.simulator.restore(BUCKET, "hot/object") is None


def test_glacier_restores_need_days(archive: Archive) -> None:
    # Given an object in Flexible Retrieval
    archive.put("days/object")

    # When restores without Days and with 0 days are requested
    missing = archive.refused("days/object", GlacierJobParameters={"Tier": "Bulk"})
    zero = archive.refused("days/object", Days=0)

    # Then S3 refuses both
    assert (missing[0], missing[1]["Code"]) == (400, "MalformedXML")
    assert (zero[0], zero[1]["Code"], zero[1]["ArgumentName"]) == (400, "InvalidArgument", "Days")


def test_expedited_is_refused_for_deep_archive(archive: Archive) -> None:
    # Given an object in Deep Archive
    archive.put("deep/expedited", "DEEP_ARCHIVE")

    # When an Expedited restore is requested
    status, error = archive.refused("deep/expedited", Days=1, GlacierJobParameters={"Tier": "Expedited"})

    # Then S3 refuses the tier (the blueprint sends Standard instead) and nothing starts
    assert (status, error["Code"], error["ArgumentName"]) == (400, "InvalidArgument", "Tier")
    assert archive.simulator.restore(BUCKET, "deep/expedited") is None


def test_missing_objects_and_versions_are_404(archive: Archive) -> None:
    # Given a versioned bucket with one object
    archive.put("present", bucket=VERSIONED)

    # When restores of an unknown key and an unknown version are requested
    no_key = archive.refused("absent", VERSIONED, Days=1)
    no_version = archive.refused("present", VERSIONED, Days=1, VersionId="3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrH")

    # Then S3 answers NoSuchKey and NoSuchVersion, as the simulator's call log says
    assert (no_key[0], no_key[1]["Code"]) == (404, "NoSuchKey")
    assert (no_version[0], no_version[1]["Code"]) == (404, "NoSuchVersion")
    assert [(call.key, call.status, call.error) for call in archive.simulator.calls] == [
        ("absent", 404, "NoSuchKey"),
        ("present", 404, "NoSuchVersion"),
    ]


# -- versioned objects -----------------------------------------------------------------------------------


def test_a_version_id_restores_that_version_only(archive: Archive) -> None:
    # Given two archived versions of one key
    old = archive.put("v/genome.fa", bucket=VERSIONED)
    new = archive.put("v/genome.fa", bucket=VERSIONED)

    # When the old version is restored and the clock passes its completion
    status = archive.restore("v/genome.fa", VERSIONED, Days=1, VersionId=old)
    ongoing = archive.head("v/genome.fa", VERSIONED, VersionId=old)["Restore"]
    archive.sources.run_until_idle(max_virtual_seconds=5 * HOUR)

    # Then only that version is restored, and S3's records and events name it
    records = archive.records("v/genome.fa", VERSIONED)
    events = archive.bus_events("v/genome.fa", VERSIONED)
    assert status == 202
    assert ongoing == 'ongoing-request="true"'
    assert archive.head("v/genome.fa", VERSIONED, VersionId=old)["Restore"].startswith(
        'ongoing-request="false"'
    )
    assert "Restore" not in archive.head("v/genome.fa", VERSIONED, VersionId=new)
    assert archive.read_error("v/genome.fa", VERSIONED, VersionId=old) is None
    assert archive.read_error("v/genome.fa", VERSIONED) is not None  # the current version is archived
    assert [(r["eventName"], r["s3"]["object"]["versionId"]) for r in records] == [
        ("ObjectRestore:Post", old),
        ("ObjectRestore:Completed", old),
    ]
    assert [(e["detail-type"], e["detail"]["object"]["version-id"]) for e in events] == [
        ("Object Restore Initiated", old),
        ("Object Restore Completed", old),
    ]
    assert [item.version_id for item in archive.simulator.restores] == [old]


def test_without_a_version_id_the_current_version_is_restored(archive: Archive) -> None:
    # Given two archived versions of one key
    old = archive.put("v/current", bucket=VERSIONED)
    new = archive.put("v/current", bucket=VERSIONED)

    # When a restore names no version
    archive.restore("v/current", VERSIONED, Days=1)

    # Then the current version is the one restoring
    assert archive.head("v/current", VERSIONED, VersionId=new)["Restore"] == 'ongoing-request="true"'
    assert "Restore" not in archive.head("v/current", VERSIONED, VersionId=old)


# -- Intelligent-Tiering ----------------------------------------------------------------------------------


def test_an_intelligent_tiering_object_in_an_access_tier_has_nothing_to_restore(archive: Archive) -> None:
    # Given an Intelligent-Tiering object in its Frequent Access tier
    archive.put("it/active", "INTELLIGENT_TIERING")

    # When a restore is requested
    status, error = archive.refused("it/active")

    # Then S3 answers ObjectAlreadyInActiveTierError, and the object reads
    assert (status, error["Code"]) == (403, "ObjectAlreadyInActiveTierError")
    assert "ArchiveStatus" not in archive.head("it/active")
    assert archive.read_error("it/active") is None


def test_an_intelligent_tiering_archive_tier_restores_without_days_back_to_the_access_tier(
    archive: Archive,
) -> None:
    # Given an Intelligent-Tiering object the tag puts in the Archive Access tier
    archive.put("it/archived", "INTELLIGENT_TIERING", Tagging="LOCALCLOUD_ARCHIVE_STATUS=ARCHIVE_ACCESS")
    archived = archive.head("it/archived")["ArchiveStatus"]
    unreadable = archive.read_error("it/archived")

    # When a restore with Days is requested, then one without Days
    with_days = archive.refused("it/archived", Days=1)
    status = archive.restore("it/archived", GlacierJobParameters={"Tier": "Bulk"})
    ongoing = archive.head("it/archived")
    archive.sources.run_until_idle(max_virtual_seconds=9 * HOUR)

    # Then only the request without Days starts, it completes as a Flexible Retrieval Bulk restore, and
    # the object is back in an access tier for good: no archive status, no restore header, no expiry
    [_, record] = archive.records("it/archived")
    [_, event] = archive.bus_events("it/archived")
    restore = archive.simulator.restore(BUCKET, "it/archived")
    assert restore is not None
    assert archived == "ARCHIVE_ACCESS"
    assert unreadable == {
        "Code": "InvalidObjectState",
        "Message": "The operation is not valid for the object's storage class",
        "StorageClass": "INTELLIGENT_TIERING",
        "AccessTier": "ARCHIVE_ACCESS",
    }
    assert (with_days[0], with_days[1]["Code"], with_days[1]["ArgumentName"]) == (
        400,
        "InvalidArgument",
        "Days",
    )
    assert status == 202
    assert (ongoing["Restore"], ongoing["ArchiveStatus"]) == ('ongoing-request="true"', "ARCHIVE_ACCESS")
    assert (restore.source, restore.days, restore.completed_at) == ("ARCHIVE_ACCESS", None, START + 8 * HOUR)
    after = archive.head("it/archived")
    assert "ArchiveStatus" not in after
    assert "Restore" not in after
    assert archive.read_error("it/archived") is None
    assert record["eventName"] == "ObjectRestore:Completed"
    assert "glacierEventData" not in record  # nothing expires
    assert event["detail-type"] == "Object Restore Completed"
    assert event["detail"]["source-storage-class"] == "INTELLIGENT_TIERING"
    assert "restore-expiry-time" not in event["detail"]
    assert archive.refused("it/archived")[1]["Code"] == "ObjectAlreadyInActiveTierError"


def test_deep_archive_access_takes_the_deep_archive_times_and_refuses_expedited(archive: Archive) -> None:
    # Given an Intelligent-Tiering object the helper puts in the Deep Archive Access tier
    archive.put("it/deep", "INTELLIGENT_TIERING")
    archive.simulator.archive(BUCKET, "it/deep", "DEEP_ARCHIVE_ACCESS")

    # When an Expedited restore is requested, then a Standard one
    expedited = archive.refused("it/deep", GlacierJobParameters={"Tier": "Expedited"})
    archive.restore("it/deep")

    # Then Expedited is refused and Standard takes 12 hours
    restore = archive.simulator.restore(BUCKET, "it/deep")
    assert restore is not None
    assert archive.head("it/deep")["ArchiveStatus"] == "DEEP_ARCHIVE_ACCESS"
    assert (expedited[0], expedited[1]["Code"]) == (400, "InvalidArgument")
    assert (restore.source, restore.due_at) == ("DEEP_ARCHIVE_ACCESS", START + 12 * HOUR)


def test_archive_access_allows_expedited(archive: Archive) -> None:
    # Given an Intelligent-Tiering object in the Archive Access tier
    archive.put("it/fast", "INTELLIGENT_TIERING")
    archive.simulator.archive(BUCKET, "it/fast")

    # When an Expedited restore is requested
    archive.restore("it/fast", GlacierJobParameters={"Tier": "Expedited"})

    # Then it completes in the Expedited time
    restore = archive.simulator.restore(BUCKET, "it/fast")
    assert restore is not None
    assert restore.due_at == START + 3 * 60


def test_the_archive_helper_refuses_what_cannot_be_archived(archive: Archive) -> None:
    # Given a Flexible Retrieval object and an Intelligent-Tiering one
    archive.put("helper/glacier")
    archive.put("helper/it", "INTELLIGENT_TIERING")

    # When the helper is asked for the wrong class, a missing object or an unknown tier
    # Then it says why
    with pytest.raises(ValueError, match="GLACIER, not INTELLIGENT_TIERING"):
        archive.simulator.archive(BUCKET, "helper/glacier")
    with pytest.raises(LookupError, match="no object"):
        archive.simulator.archive(BUCKET, "helper/missing")
    with pytest.raises(ValueError, match="not an Intelligent-Tiering archive tier"):
        archive.simulator.archive(BUCKET, "helper/it", "GLACIER")


# -- ListObjectsV2 RestoreStatus -----------------------------------------------------------------------


def test_list_objects_v2_reports_restore_status_when_asked(archive: Archive) -> None:
    # Given one restored object, one restoring and one untouched
    for key in ("list/done", "list/running", "list/untouched"):
        archive.put(key)
    archive.restore("list/done", Days=3, GlacierJobParameters={"Tier": "Expedited"})
    archive.sources.run_until_idle()
    archive.restore("list/running", Days=3)

    # When the prefix is listed with and without OptionalObjectAttributes
    asked = archive.s3.list_objects_v2(
        Bucket=BUCKET, Prefix="list/", OptionalObjectAttributes=["RestoreStatus"]
    )
    encoded = archive.s3.list_objects_v2(
        Bucket=BUCKET, Prefix="list/", EncodingType="url", OptionalObjectAttributes=["RestoreStatus"]
    )
    plain = archive.s3.list_objects_v2(Bucket=BUCKET, Prefix="list/")

    # Then RestoreStatus appears when asked, for objects with a restore only
    statuses = {item["Key"]: item.get("RestoreStatus") for item in asked["Contents"]}
    assert statuses == {
        "list/done": {
            "IsRestoreInProgress": False,
            "RestoreExpiryDate": datetime(2023, 11, 18, tzinfo=UTC),
        },
        "list/running": {"IsRestoreInProgress": True},
        "list/untouched": None,
    }
    assert encoded["EncodingType"] == "url"  # the SDK decodes the keys S3 encoded
    assert {item["Key"]: item.get("RestoreStatus") for item in encoded["Contents"]} == statuses
    assert [item.get("RestoreStatus") for item in plain["Contents"]] == [None, None, None]


# -- knobs: durations, faults, lost events -------------------------------------------------------------


def test_durations_are_set_on_the_simulator_or_per_object_by_tag(archive: Archive) -> None:
    # Given Bulk restores made to take a minute, and one object tagged to take 30 seconds
    archive.simulator.durations["GLACIER", "Bulk"] = 60
    archive.put("fast/minute")
    archive.put("fast/tagged", Tagging="LOCALCLOUD_RESTORE_SECONDS=30")

    # When both are restored with Bulk
    for key in ("fast/minute", "fast/tagged"):
        archive.restore(key, Days=1, GlacierJobParameters={"Tier": "Bulk"})

    # Then each follows its own duration
    assert [(item.key, item.due_at - item.requested_at) for item in archive.simulator.restores] == [
        ("fast/minute", 60),
        ("fast/tagged", 30),
    ]


def test_throttling_fails_the_next_calls_with_slow_down_retries_included(archive: Archive) -> None:
    # Given the next two RestoreObject calls throttled
    archive.put("busy/object")
    archive.simulator.throttle(2)

    # When three calls are made (the SDK tries each up to 3 times)
    first = archive.refused("busy/object", Days=1)
    second = archive.refused("busy/object", Days=1)
    third = archive.restore("busy/object", Days=1)

    # Then the first two calls fail with SlowDown on every attempt, and the third one starts the restore
    calls = list(archive.simulator.calls)
    assert (first[0], first[1]["Code"]) == (503, "SlowDown")
    assert (second[0], second[1]["Code"]) == (503, "SlowDown")
    assert third == 202
    assert [call.error for call in calls] == ["SlowDown"] * 6 + [None]
    assert len({call.invocation_id for call in calls[:3]}) == 1  # one SDK call, three attempts
    assert len({call.invocation_id for call in calls}) == 3


def test_no_expedited_capacity_refuses_the_next_expedited_requests_only(archive: Archive) -> None:
    # Given no Expedited capacity for the next request
    archive.put("urgent/a")
    archive.put("urgent/b")
    archive.simulator.refuse_expedited(1)

    # When a Standard restore, then an Expedited one, then the same object with Standard are requested
    standard = archive.restore("urgent/a", Days=1)
    expedited = archive.refused("urgent/b", Days=1, GlacierJobParameters={"Tier": "Expedited"})
    fallback = archive.restore("urgent/b", Days=1, GlacierJobParameters={"Tier": "Standard"})

    # Then only the Expedited request is refused, and the Standard retry starts
    assert standard == 202
    assert (expedited[0], expedited[1]["Code"]) == (503, "GlacierExpeditedRetrievalNotAvailable")
    assert fallback == 202
    restore = archive.simulator.restore(BUCKET, "urgent/b")
    assert restore is not None
    assert restore.tier == "Standard"


def test_dropped_completion_events_complete_silently(archive: Archive) -> None:
    # Given three restores: the next completion and one named object will be lost
    for key in ("lost/first", "lost/named", "kept/third"):
        archive.put(key)
    archive.restore("lost/first", Days=1, GlacierJobParameters={"Tier": "Expedited"})
    archive.restore("lost/named", Days=1)
    archive.restore("kept/third", Days=1, GlacierJobParameters={"Tier": "Bulk"})
    archive.simulator.drop_next_completion_events(1)
    archive.simulator.drop_completion_events(BUCKET, "lost/named")

    # When every restore completes
    archive.sources.run_until_idle(max_virtual_seconds=9 * HOUR)

    # Then all three are restored, but only the third one is announced
    for key in ("lost/first", "lost/named", "kept/third"):
        assert archive.head(key)["Restore"].startswith('ongoing-request="false"')
    completions = {
        key: [r["eventName"] for r in archive.records(key) if r["eventName"] == "ObjectRestore:Completed"]
        for key in ("lost/first", "lost/named", "kept/third")
    }
    bus = {key: [e["detail-type"] for e in archive.bus_events(key)] for key in ("lost/first", "kept/third")}
    assert completions == {"lost/first": [], "lost/named": [], "kept/third": ["ObjectRestore:Completed"]}
    assert bus == {
        "lost/first": ["Object Restore Initiated"],
        "kept/third": ["Object Restore Initiated", "Object Restore Completed"],
    }
    assert [(item.key, item.notified) for item in archive.simulator.restores] == [
        ("lost/first", False),
        ("lost/named", False),
        ("kept/third", True),
    ]


# -- the request body parser ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "parsed"),
    [
        (
            b'<RestoreRequest xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Days>7</Days>'
            b"<GlacierJobParameters><Tier>Bulk</Tier></GlacierJobParameters></RestoreRequest>",
            RestoreParameters(days=7, tier="Bulk"),
        ),
        (b"<RestoreRequest/>", RestoreParameters(days=None, tier="Standard")),
    ],
)
def test_restore_request_bodies_parse(body: bytes, parsed: RestoreParameters) -> None:
    assert parse_restore_request(body) == parsed


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<RestoreRequest>",
        b"<Other/>",
        b"<RestoreRequest><Days>two</Days></RestoreRequest>",
        b"<RestoreRequest><GlacierJobParameters><Tier>Fast</Tier></GlacierJobParameters></RestoreRequest>",
    ],
)
def test_malformed_restore_request_bodies_are_refused(body: bytes) -> None:
    with pytest.raises(MalformedXML):
        parse_restore_request(body)


@given(st.text(max_size=200))
def test_any_body_parses_or_is_malformed_xml(body: str) -> None:
    try:
        parsed = parse_restore_request(body.encode())
    except MalformedXML:
        return
    assert parsed.tier in ("Expedited", "Standard", "Bulk")
