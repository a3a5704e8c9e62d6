"""The S3 adapter of the restore flow (spec glacier-restore §3, §5, §7): the RestoreObject outcome matrix
and request shape (botocore Stubber: moto answers neither 409 nor 503), the Restore header, the listing
with its pagination and HeadObject calls, and enabling EventBridge without dropping other notifications."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from hypothesis import given, settings
from hypothesis import strategies as st

from blueprints.genomics.restore import ObjectState, Target
from blueprints.genomics.restore_s3 import (
    Outcome,
    RestoreObjectMissingError,
    RestoreResult,
    RestoreS3,
    RestoreThrottledError,
    restore_header,
)
from tests.support.botocore_hooks import record_calls
from tests.unit.genomics.restore_support import ARCHIVE_BUCKET, archived, fresh_client

EXPIRY = datetime(2026, 12, 8, tzinfo=UTC)
EXPIRY_HEADER = "Tue, 08 Dec 2026 00:00:00 GMT"


@pytest.fixture
def stubbed() -> Iterator[tuple[RestoreS3, Stubber]]:
    """The adapter on a stubbed client: every call must be planned, and every plan used."""
    s3 = fresh_client("s3")
    with Stubber(s3) as stub:
        yield RestoreS3(s3), stub
        stub.assert_no_pending_responses()


def restore_params(obj: ObjectState, tier: str, days: int | None) -> dict[str, Any]:
    request: dict[str, Any] = {"GlacierJobParameters": {"Tier": tier}}
    if days is not None:
        request["Days"] = days
    params: dict[str, Any] = {"Bucket": obj.bucket, "Key": obj.key, "RestoreRequest": request}
    if obj.version_id:
        params["VersionId"] = obj.version_id
    return params


# --- RestoreObject: the outcome matrix ----------------------------------------------------------------


@pytest.mark.parametrize(("status", "outcome"), [(202, Outcome.STARTED), (200, Outcome.ALREADY_RESTORED)])
def test_a_restore_accepted_or_already_done(
    stubbed: tuple[RestoreS3, Stubber], status: int, outcome: Outcome
) -> None:
    s3, stub = stubbed
    obj = archived()
    stub.add_response(
        "restore_object", {"ResponseMetadata": {"HTTPStatusCode": status}}, restore_params(obj, "Bulk", 7)
    )

    assert s3.restore(obj, "Bulk", 7) == RestoreResult(outcome)


@pytest.mark.parametrize(
    ("code", "status", "outcome"),
    [
        ("RestoreAlreadyInProgress", 409, Outcome.IN_PROGRESS),
        ("InvalidObjectState", 403, Outcome.NOT_ARCHIVED),
        ("ObjectAlreadyInActiveTierError", 403, Outcome.NOT_ARCHIVED),
        ("GlacierExpeditedRetrievalNotAvailable", 503, Outcome.EXPEDITED_UNAVAILABLE),
        ("AccessDenied", 403, Outcome.FAILED),
        ("NoSuchKey", 404, Outcome.FAILED),
        ("NoSuchVersion", 404, Outcome.FAILED),
    ],
)
def test_restore_errors_that_are_outcomes(
    stubbed: tuple[RestoreS3, Stubber], code: str, status: int, outcome: Outcome
) -> None:
    # Given S3 answers RestoreObject with an error that says something about the object
    s3, stub = stubbed
    stub.add_client_error("restore_object", code, f"{code} said S3", status)

    # When the object is restored
    result = s3.restore(archived(), "Bulk", 7)

    # Then the error is an outcome, with its code and message kept
    assert result == RestoreResult(outcome, code, f"{code} said S3")


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("SlowDown", 503),
        ("InternalError", 500),
        ("ServiceUnavailable", 503),
        ("Throttling", 400),
        ("RequestTimeout", 400),
        ("BadGateway", 502),  # any 5xx
    ],
)
def test_transient_restore_errors_raise_for_a_retry_of_the_chunk(
    stubbed: tuple[RestoreS3, Stubber], code: str, status: int
) -> None:
    s3, stub = stubbed
    stub.add_client_error("restore_object", code, "please reduce your request rate", status)

    with pytest.raises(RestoreThrottledError, match=code) as raised:
        s3.restore(archived(), "Bulk", 7)

    assert raised.value.retryable is True


@pytest.mark.parametrize(
    ("obj", "tier", "days"),
    [
        (archived(), "Bulk", 7),
        (archived(storage_class="DEEP_ARCHIVE", version_id="3HL4kqtJ"), "Standard", 30),
        (archived(storage_class="INTELLIGENT_TIERING", archive_status="ARCHIVE_ACCESS"), "Standard", None),
    ],
)
def test_the_request_names_the_version_and_days_only_when_they_apply(
    stubbed: tuple[RestoreS3, Stubber], obj: ObjectState, tier: str, days: int | None
) -> None:
    # Given the exact request S3 must receive (the Stubber checks it)
    s3, stub = stubbed
    stub.add_response(
        "restore_object", {"ResponseMetadata": {"HTTPStatusCode": 202}}, restore_params(obj, tier, days)
    )

    # When the object is restored, Then the request matched: no Days for Intelligent-Tiering
    assert s3.restore(obj, tier, days).outcome is Outcome.STARTED


# --- the Restore header ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, (None, None)),
        ("", (None, None)),
        ('ongoing-request="true"', (True, None)),
        (f'ongoing-request="false", expiry-date="{EXPIRY_HEADER}"', (False, EXPIRY)),
        (f'expiry-date="{EXPIRY_HEADER}", ongoing-request="false"', (False, EXPIRY)),
        ('ongoing-request="maybe"', (None, None)),
        ('ongoing-request="false", expiry-date="next week"', (False, None)),
        ('ongoing-request="false", expiry-date="Tue, 08 Dec 2026 00:00:00 -0000"', (False, EXPIRY)),
    ],
)
def test_the_restore_header_is_read_leniently(
    header: str | None, expected: tuple[bool | None, datetime | None]
) -> None:
    assert restore_header(header) == expected


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(),
        st.builds(lambda inner: f'ongoing-request="false", expiry-date="{inner}"', st.text()),
        st.builds(lambda inner: f'ongoing-request="{inner}"', st.text()),
    )
)
def test_no_restore_header_text_raises(header: str) -> None:
    # When any header text is read
    ongoing, expiry = restore_header(header)

    # Then the answer is a state or "unknown", and an expiry, when read, can be compared with UTC times
    assert ongoing in (True, False, None)
    assert expiry is None or expiry.utcoffset() is not None


# --- listing and HeadObject --------------------------------------------------------------------------


def listed(key: str, storage_class: str, **extra: Any) -> dict[str, Any]:
    return {"Key": key, "Size": 2048, "StorageClass": storage_class, **extra}


def test_a_prefix_is_listed_page_by_page_asking_for_the_restore_status(
    stubbed: tuple[RestoreS3, Stubber],
) -> None:
    # Given a prefix whose listing takes two pages
    s3, stub = stubbed
    first = {"Bucket": ARCHIVE_BUCKET, "Prefix": "cohort7/", "OptionalObjectAttributes": ["RestoreStatus"]}
    stub.add_response(
        "list_objects_v2",
        {
            "Contents": [
                listed("cohort7/a.bam", "GLACIER"),
                listed(
                    "cohort7/b.bam",
                    "DEEP_ARCHIVE",
                    RestoreStatus={"IsRestoreInProgress": False, "RestoreExpiryDate": EXPIRY},
                ),
            ],
            "IsTruncated": True,
            "NextContinuationToken": "page-2",
        },
        first,
    )
    stub.add_response(
        "list_objects_v2",
        {
            "Contents": [
                listed("cohort7/c.bam", "STANDARD"),
                listed("cohort7/d.bam", "GLACIER", RestoreStatus={"IsRestoreInProgress": True}),
            ],
            "IsTruncated": False,
        },
        {**first, "ContinuationToken": "page-2"},
    )

    # When its objects are read
    found = list(s3.objects(Target(ARCHIVE_BUCKET, "cohort7/", None, prefix=True)))

    # Then every object comes with its class and restore state, without one HeadObject call
    assert found == [
        ObjectState(ARCHIVE_BUCKET, "cohort7/a.bam", None, 2048, "GLACIER"),
        ObjectState(ARCHIVE_BUCKET, "cohort7/b.bam", None, 2048, "DEEP_ARCHIVE", None, False, EXPIRY),
        ObjectState(ARCHIVE_BUCKET, "cohort7/c.bam", None, 2048, "STANDARD"),
        ObjectState(ARCHIVE_BUCKET, "cohort7/d.bam", None, 2048, "GLACIER", None, True, None),
    ]
    assert s3.list_pages == 2


def test_listed_intelligent_tiering_objects_get_one_head_object_each(
    stubbed: tuple[RestoreS3, Stubber],
) -> None:
    # Given a listing with two Intelligent-Tiering objects (the listing does not say their tier)
    s3, stub = stubbed
    stub.add_response(
        "list_objects_v2",
        {
            "Contents": [
                listed("it/archived.vcf", "INTELLIGENT_TIERING"),
                listed("it/frequent.vcf", "INTELLIGENT_TIERING"),
                listed("it/old.vcf", "GLACIER"),
                {"Key": "it/no-class"},
            ],
            "IsTruncated": False,
        },
    )
    stub.add_response(
        "head_object",
        {
            "ContentLength": 4096,
            "StorageClass": "INTELLIGENT_TIERING",
            "ArchiveStatus": "DEEP_ARCHIVE_ACCESS",
        },
        {"Bucket": ARCHIVE_BUCKET, "Key": "it/archived.vcf"},
    )
    stub.add_response(
        "head_object",
        {"ContentLength": 8, "StorageClass": "INTELLIGENT_TIERING"},
        {"Bucket": ARCHIVE_BUCKET, "Key": "it/frequent.vcf"},
    )

    # When the prefix is read
    found = list(s3.objects(Target(ARCHIVE_BUCKET, "it/", None, prefix=True)))

    # Then the Intelligent-Tiering objects carry their archive status from HeadObject; the others none
    assert [(obj.key, obj.storage_class, obj.archive_status, obj.size) for obj in found] == [
        ("it/archived.vcf", "INTELLIGENT_TIERING", "DEEP_ARCHIVE_ACCESS", 4096),
        ("it/frequent.vcf", "INTELLIGENT_TIERING", None, 8),
        ("it/old.vcf", "GLACIER", None, 2048),
        ("it/no-class", "STANDARD", None, 0),  # S3 leaves the class out for STANDARD
    ]
    assert found[0].deep is True


def test_an_empty_prefix_yields_nothing(stubbed: tuple[RestoreS3, Stubber]) -> None:
    s3, stub = stubbed
    stub.add_response("list_objects_v2", {"IsTruncated": False, "KeyCount": 0})

    assert list(s3.objects(Target(ARCHIVE_BUCKET, "nothing/", None, prefix=True))) == []


def test_a_single_versioned_key_is_read_with_head_object(stubbed: tuple[RestoreS3, Stubber]) -> None:
    # Given one key with a version, already restored until EXPIRY
    s3, stub = stubbed
    stub.add_response(
        "head_object",
        {
            "ContentLength": 3_000_000_000,
            "StorageClass": "GLACIER",
            "Restore": f'ongoing-request="false", expiry-date="{EXPIRY_HEADER}"',
        },
        {"Bucket": ARCHIVE_BUCKET, "Key": "ref/hg38.fa", "VersionId": "v3"},
    )

    # When the target is read
    found = list(s3.objects(Target(ARCHIVE_BUCKET, "ref/hg38.fa", "v3", prefix=False)))

    # Then HeadObject (with the version) tells its size, class and the restored copy's expiry
    assert found == [
        ObjectState(ARCHIVE_BUCKET, "ref/hg38.fa", "v3", 3_000_000_000, "GLACIER", None, False, EXPIRY)
    ]
    assert s3.list_pages == 0


@pytest.mark.parametrize("code", ["404", "403", "NoSuchVersion"])
def test_head_object_of_an_object_gone_or_unreadable_is_a_typed_error(
    stubbed: tuple[RestoreS3, Stubber], code: str
) -> None:
    s3, stub = stubbed
    stub.add_client_error("head_object", code, "", int(code) if code.isdigit() else 404)

    with pytest.raises(
        RestoreObjectMissingError, match=f"s3://{ARCHIVE_BUCKET}/ref/hg38.fa: {code}"
    ) as raised:
        s3.head(ARCHIVE_BUCKET, "ref/hg38.fa", None)

    assert raised.value.retryable is False


def test_head_object_throttled_or_failing_on_the_server_side_is_retryable(
    stubbed: tuple[RestoreS3, Stubber],
) -> None:
    s3, stub = stubbed
    stub.add_client_error("head_object", "500", "", 500)

    with pytest.raises(RestoreThrottledError, match="500"):
        s3.head(ARCHIVE_BUCKET, "ref/hg38.fa", None)


def test_head_object_failing_otherwise_raises_as_is(stubbed: tuple[RestoreS3, Stubber]) -> None:
    s3, stub = stubbed
    stub.add_client_error("head_object", "400", "", 400)

    with pytest.raises(ClientError, match="400"):
        s3.head(ARCHIVE_BUCKET, "ref/hg38.fa", None)


# --- EventBridge delivery ----------------------------------------------------------------------------

LAMBDA_NOTIFICATION = {
    "Id": "ingest",
    "LambdaFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:ingest",
    "Events": ["s3:ObjectCreated:*"],
    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "incoming/"}]}},
}


@pytest.mark.usefixtures("aws")
def test_enabling_eventbridge_keeps_the_existing_lambda_notification() -> None:
    # Given a bucket that notifies a Lambda function of new objects
    s3 = fresh_client("s3")
    s3.create_bucket(Bucket=ARCHIVE_BUCKET)
    s3.put_bucket_notification_configuration(
        Bucket=ARCHIVE_BUCKET,
        NotificationConfiguration={"LambdaFunctionConfigurations": [LAMBDA_NOTIFICATION]},
    )
    puts = record_calls(s3, "PutBucketNotificationConfiguration")

    # When EventBridge delivery is enabled
    enabled = RestoreS3(s3).enable_eventbridge(ARCHIVE_BUCKET)

    # Then the configuration written is the old one plus EventBridge, and the Lambda notification stays
    assert enabled is True
    assert [call["NotificationConfiguration"] for call in puts] == [
        {"LambdaFunctionConfigurations": [LAMBDA_NOTIFICATION], "EventBridgeConfiguration": {}}
    ]
    kept = s3.get_bucket_notification_configuration(Bucket=ARCHIVE_BUCKET)
    assert kept["LambdaFunctionConfigurations"] == [LAMBDA_NOTIFICATION]


def test_enabling_eventbridge_again_writes_nothing(stubbed: tuple[RestoreS3, Stubber]) -> None:
    # Given a bucket with EventBridge delivery on (plain moto never returns that part: stubbed)
    s3, stub = stubbed
    stub.add_response(
        "get_bucket_notification_configuration",
        {"EventBridgeConfiguration": {}, "QueueConfigurations": []},
        {"Bucket": ARCHIVE_BUCKET},
    )

    # When it is enabled again, Then nothing is written (the Stubber allows no put) and it says so
    assert s3.enable_eventbridge(ARCHIVE_BUCKET) is False
