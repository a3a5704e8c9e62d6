"""The pure side of the Glacier restore flow (spec glacier-restore §2, §3, §5): the restore request,
its targets, the classification of every storage class, tiers and days per object, the estimate, the
deadline and the chunks sent to the restore queue."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blueprints.genomics.errors import InvalidLaunchConfigError
from blueprints.genomics.records import to_attribute
from blueprints.genomics.restore import (
    CHUNK_BYTES,
    Decision,
    ObjectState,
    Target,
    chunks,
    classify,
    deadline,
    estimate,
    object_days,
    object_tier,
    parse_request,
    request_tier,
    targets,
)
from tests.unit.genomics.builders import NOW
from tests.unit.genomics.restore_support import ARCHIVE_BUCKET, archived, request_body

GIB = 1024**3
RUN_WINDOW = NOW + timedelta(days=7)

# --- the restore request ---------------------------------------------------------------------------


def test_a_minimal_request_gets_the_documented_defaults() -> None:
    # Given a request naming only its URLs
    body = json.dumps({"s3_urls": [f"s3://{ARCHIVE_BUCKET}/cohort7/"]}).encode()

    # When it is parsed
    request = parse_request(body)

    # Then it is a standalone request, Bulk for 7 days, with the deadline left to the SLA
    assert (request.launch_id, request.tier, request.days, request.deadline_hours) == (None, "Bulk", 7, None)


def test_a_full_request_is_read_as_written() -> None:
    request = parse_request(
        request_body(
            launch_id="wf-2024-0042",
            s3_urls=[f"s3://{ARCHIVE_BUCKET}/cohort7/", f"s3://{ARCHIVE_BUCKET}/ref/hg38.fa?versionId=v3"],
            tier="Standard",
            days=30,
            deadline_hours=72,
        )
    )

    assert (request.launch_id, request.tier, request.days, request.deadline_hours) == (
        "wf-2024-0042",
        "Standard",
        30,
        72,
    )
    assert request.s3_urls[1].endswith("?versionId=v3")


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b"{not json", "not valid JSON"),
        (b'["s3://genomics-archive-example/x/"]', "must be a JSON object"),
        (b'"s3://genomics-archive-example/x/"', "must be a JSON object"),
        (request_body(s3_urls=["https://genomics-archive-example.s3.amazonaws.com/x"]), "s3_urls"),
        (request_body(s3_urls=["s3://Bad_Bucket/x"]), "s3_urls"),
        (request_body(s3_urls=[]), "s3_urls"),
        (request_body(s3_urls=["s3://genomics-archive-example/cohort7/?versionId=v1"]), "s3_urls"),
        (request_body(s3_urls=["s3://genomics-archive-example/?versionId=v1"]), "s3_urls"),
        (request_body(s3_urls=["s3://genomics-archive-example/x.fa?partNumber=2"]), "s3_urls"),
        (request_body(days=0), "days"),
        (request_body(days=31), "days"),
        (request_body(deadline_hours=0), "deadline_hours"),
        (request_body(deadline_hours=721), "deadline_hours"),
        (request_body(tier="Instant"), "tier"),
        (request_body(launch_id="wf 42/../x"), "launch_id"),
        (request_body(priority="high"), "priority"),
    ],
)
def test_an_invalid_request_is_refused_naming_the_problem(body: bytes, named: str) -> None:
    # When an invalid request is parsed
    with pytest.raises(InvalidLaunchConfigError) as raised:
        parse_request(body)

    # Then the error names the field (or the document problem)
    assert named in str(raised.value)
    assert str(raised.value).startswith("restore request: ")


@pytest.mark.parametrize("days", [1, 30])
def test_days_at_the_bounds_are_accepted(days: int) -> None:
    assert parse_request(request_body(days=days)).days == days


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "launch_id": st.text(max_size=70),
        "s3_urls": st.lists(st.text(max_size=80) | st.just(f"s3://{ARCHIVE_BUCKET}/x/"), max_size=3),
        "tier": st.sampled_from(["Bulk", "Standard", "Expedited", "bulk", ""]),
        "days": st.integers(min_value=-5, max_value=40) | st.text(max_size=3),
        "deadline_hours": st.none() | st.integers(min_value=-5, max_value=800),
    },
)


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=200)
    | JSON.map(lambda value: json.dumps(value).encode())
    | FIELDS.map(lambda value: json.dumps(value).encode())
)
def test_any_upload_is_a_request_or_an_invalid_launch_config_error(body: bytes) -> None:
    # When any uploaded bytes are parsed as a restore request
    outcome: str | InvalidLaunchConfigError
    try:
        request = parse_request(body)
        outcome = f"{request.tier}/{request.days}/" + ",".join(url[:5] for url in request.s3_urls)
    except InvalidLaunchConfigError as exc:
        outcome = exc

    # Then they are refused with the typed error, or they are a request within its bounds
    if isinstance(outcome, InvalidLaunchConfigError):
        assert str(outcome).startswith("restore request: ")
    else:
        tier, days, schemes = outcome.split("/", 2)
        assert tier in ("Bulk", "Standard", "Expedited")
        assert 1 <= int(days) <= 30
        assert set(schemes.split(",")) == {"s3://"}


# --- targets ---------------------------------------------------------------------------------------


def test_targets_tell_prefixes_keys_and_versions_apart() -> None:
    # Given a prefix, a whole bucket, a key and a key with a version
    urls = [
        f"s3://{ARCHIVE_BUCKET}/cohort7/",
        "s3://genomics-other-example",
        f"s3://{ARCHIVE_BUCKET}/ref/hg38.fa",
        f"s3://{ARCHIVE_BUCKET}/ref/hg38.fa.fai?versionId=3HL4kqtJ",
    ]

    # When they are read as targets
    found = targets(urls)

    # Then prefixes are listed, keys are looked up one by one, with their version when named
    assert found == [
        Target(ARCHIVE_BUCKET, "cohort7/", None, prefix=True),
        Target("genomics-other-example", "", None, prefix=True),
        Target(ARCHIVE_BUCKET, "ref/hg38.fa", None, prefix=False),
        Target(ARCHIVE_BUCKET, "ref/hg38.fa.fai", "3HL4kqtJ", prefix=False),
    ]


# --- classification --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "storage_class",
    ["STANDARD", "STANDARD_IA", "ONEZONE_IA", "REDUCED_REDUNDANCY", "GLACIER_IR", "EXPRESS_ONEZONE"],
)
def test_objects_in_a_readable_class_need_nothing(storage_class: str) -> None:
    assert classify(archived(storage_class=storage_class), RUN_WINDOW) is Decision.READABLE


@pytest.mark.parametrize(
    ("in_progress", "expiry", "expected"),
    [
        (None, None, Decision.RESTORE),  # never restored (no RestoreStatus, no Restore header)
        (False, None, Decision.RESTORE),
        (True, None, Decision.RESTORING),  # a restore runs already: wait for its completion
        (False, RUN_WINDOW - timedelta(hours=1), Decision.RESTORE),  # the copy expires before the run ends
        (False, RUN_WINDOW, Decision.READABLE),
        (False, RUN_WINDOW + timedelta(days=3), Decision.READABLE),  # the copy outlives the run window
    ],
)
@pytest.mark.parametrize("storage_class", ["GLACIER", "DEEP_ARCHIVE"])
def test_archived_objects_are_restored_unless_a_restore_runs_or_a_copy_outlives_the_run(
    storage_class: str, in_progress: bool | None, expiry: object, expected: Decision
) -> None:
    obj = archived(storage_class=storage_class, restore_in_progress=in_progress, restore_expiry=expiry)

    assert classify(obj, RUN_WINDOW) is expected


@pytest.mark.parametrize(
    ("archive_status", "expected"),
    [
        ("ARCHIVE_ACCESS", Decision.RESTORE),
        ("DEEP_ARCHIVE_ACCESS", Decision.RESTORE),
        (None, Decision.READABLE),  # in an access tier: readable
    ],
)
def test_intelligent_tiering_objects_are_restored_only_from_an_archive_tier(
    archive_status: str | None, expected: Decision
) -> None:
    obj = archived(storage_class="INTELLIGENT_TIERING", archive_status=archive_status)

    assert classify(obj, RUN_WINDOW) is expected


@pytest.mark.parametrize("storage_class", ["OUTPOSTS", "SNOW", "SOMETHING_NEW"])
def test_objects_in_other_classes_are_unsupported(storage_class: str) -> None:
    assert classify(archived(storage_class=storage_class), RUN_WINDOW) is Decision.UNSUPPORTED


def test_an_object_ref_carries_its_version_or_null() -> None:
    assert archived(key="a/b.fa").ref == f"{ARCHIVE_BUCKET}/a/b.fa#null"
    assert archived(key="a/b.fa", version_id="v9").ref == f"{ARCHIVE_BUCKET}/a/b.fa#v9"


# --- tiers and days --------------------------------------------------------------------------------


@pytest.mark.parametrize("requested", ["Bulk", "Standard", "Expedited"])
def test_a_set_all_in_flexible_retrieval_is_restored_with_bulk(requested: str) -> None:
    objects = [archived(key=f"r/{n}") for n in range(3)]

    assert request_tier(requested, objects) == "Bulk"  # type: ignore[arg-type]


@pytest.mark.parametrize("requested", ["Bulk", "Standard", "Expedited"])
def test_a_mixed_set_keeps_the_requested_tier(requested: str) -> None:
    objects = [archived(key="r/1"), archived(key="r/2", storage_class="DEEP_ARCHIVE")]

    assert request_tier(requested, objects) == requested  # type: ignore[arg-type]


def test_an_empty_set_keeps_the_requested_tier() -> None:
    assert request_tier("Standard", []) == "Standard"


@pytest.mark.parametrize(
    ("obj", "tier", "expected"),
    [
        (archived(storage_class="DEEP_ARCHIVE"), "Expedited", "Standard"),  # Deep Archive has no Expedited
        (
            archived(storage_class="INTELLIGENT_TIERING", archive_status="DEEP_ARCHIVE_ACCESS"),
            "Expedited",
            "Standard",
        ),
        (archived(storage_class="DEEP_ARCHIVE"), "Bulk", "Bulk"),
        (archived(storage_class="DEEP_ARCHIVE"), "Standard", "Standard"),
        (archived(storage_class="GLACIER"), "Expedited", "Expedited"),
        (
            archived(storage_class="INTELLIGENT_TIERING", archive_status="ARCHIVE_ACCESS"),
            "Expedited",
            "Expedited",
        ),
    ],
)
def test_the_tier_of_each_object(obj: ObjectState, tier: str, expected: str) -> None:
    assert object_tier(tier, obj) == expected  # type: ignore[arg-type]


def test_intelligent_tiering_objects_are_restored_without_days() -> None:
    assert (
        object_days(7, archived(storage_class="INTELLIGENT_TIERING", archive_status="ARCHIVE_ACCESS")) is None
    )
    assert object_days(7, archived(storage_class="GLACIER")) == 7
    assert object_days(3, archived(storage_class="DEEP_ARCHIVE")) == 3


# --- estimate and deadline -------------------------------------------------------------------------


def test_the_estimate_adds_retrieval_requests_and_the_restored_copy() -> None:
    # Given 10 GiB in Flexible Retrieval, 4 GiB in Deep Archive and 2 GiB in Intelligent-Tiering Archive
    objects = [
        archived(key="a", size=10 * GIB),
        archived(key="b", size=4 * GIB, storage_class="DEEP_ARCHIVE"),
        archived(key="c", size=2 * GIB, storage_class="INTELLIGENT_TIERING", archive_status="ARCHIVE_ACCESS"),
    ]

    # When the Standard tier is estimated for 15 days
    found = estimate(objects, "Standard", 15)

    # Then (list prices): retrieval 10 x 0.01 + 4 x 0.02 + 2 x 0.01, requests 0.05 + 0.10 + 0.05 per
    # thousand, and 15 days of Standard storage for the two copies (not for Intelligent-Tiering)
    retrieval = Decimal("0.10") + Decimal("0.08") + Decimal("0.02")
    requests = (Decimal("0.05") + Decimal("0.10") + Decimal("0.05")) / 1000
    storage = Decimal(14) * Decimal("0.023") * 15 / 30
    assert found.cost_usd == (retrieval + requests + storage).quantize(Decimal("0.0001"))
    assert found.cost_usd == Decimal("0.3612")
    # and the slowest retrieval is Deep Archive Standard: 12 hours
    assert (found.objects, found.bytes, found.hours) == (3, 16 * GIB, 12)
    assert found.as_map() == {"objects": 3, "bytes": 16 * GIB, "cost_usd": "0.3612", "hours": 12}


def test_the_estimate_of_bulk_flexible_retrieval_has_no_retrieval_charge() -> None:
    found = estimate([archived(key=str(n), size=GIB) for n in range(1000)], "Bulk", 30)

    # 1,000 requests at 0.025 per thousand, and 1,000 GiB stored for a month
    assert found.cost_usd == Decimal("0.025") + Decimal("23.000")
    assert found.hours == 12


def test_the_estimate_of_nothing_is_zero() -> None:
    found = estimate([], "Expedited", 7)

    assert (found.objects, found.bytes, found.cost_usd, found.hours) == (0, 0, Decimal("0.0000"), 0.0)
    assert to_attribute(found.as_map())["M"]["hours"] == {"N": "0.0"}


def test_the_estimate_of_an_expedited_retrieval_is_stored_in_fractions_of_an_hour() -> None:
    # Given Intelligent-Tiering Archive Access objects restored with Expedited (5 minutes)
    found = estimate(
        [archived(storage_class="INTELLIGENT_TIERING", archive_status="ARCHIVE_ACCESS")], "Expedited", 7
    )

    # Then the hours are a DynamoDB number (no float), to the fourth decimal
    assert found.as_map()["hours"] == Decimal("0.0833")
    assert to_attribute(found.as_map())["M"]["hours"] == {"N": "0.0833"}


def test_an_explicit_deadline_counts_from_the_request() -> None:
    assert deadline(NOW, [archived()], "Bulk", 72) == NOW + timedelta(hours=72)


@pytest.mark.parametrize(
    ("objects", "tier", "hours"),
    [
        ([archived()], "Bulk", 24),  # Flexible Retrieval Bulk: 12 h
        (
            [archived(), archived(key="d", storage_class="DEEP_ARCHIVE")],
            "Bulk",
            96,
        ),  # Deep Archive Bulk: 48 h
        ([archived(key="d", storage_class="DEEP_ARCHIVE")], "Expedited", 24),  # sent as Standard: 12 h
        ([archived()], "Expedited", 1),  # 5 minutes twice: at least an hour
        ([], "Standard", 1),
    ],
)
def test_the_default_deadline_is_twice_the_slowest_retrieval(
    objects: list[ObjectState], tier: str, hours: int
) -> None:
    assert deadline(NOW, objects, tier, None) == NOW + timedelta(hours=hours)  # type: ignore[arg-type]


# --- chunks ----------------------------------------------------------------------------------------


def test_250_objects_make_three_chunks_of_at_most_100() -> None:
    objects = [archived(key=f"cohort7/reads/S{n:03}.fastq.gz") for n in range(250)]

    found = list(chunks(objects))

    assert [len(chunk.objects) for chunk in found] == [100, 100, 50]
    assert found[2].objects[-1] == {
        "bucket": ARCHIVE_BUCKET,
        "key": "cohort7/reads/S249.fastq.gz",
        "version_id": None,
        "storage_class": "GLACIER",
        "archive_status": None,
    }


def test_long_keys_split_chunks_by_size_before_the_object_limit() -> None:
    # Given 100 objects whose keys are 1,000 characters (S3 allows 1,024 bytes)
    objects = [archived(key=f"{n:04}/" + "k" * 995) for n in range(100)]

    # When they are chunked under 20 KiB
    found = list(chunks(objects, max_bytes=20 * 1024))

    # Then every chunk stays under the limit, and nothing is lost
    # (1,123 bytes an object with its separator: 18 a chunk)
    assert [len(chunk.objects) for chunk in found] == [18, 18, 18, 18, 18, 10]
    assert all(len(json.dumps(chunk.objects)) <= 20 * 1024 for chunk in found)


def test_a_chunk_body_carries_the_request_tier_and_days() -> None:
    chunk = next(chunks([archived(key="x")]))

    assert json.loads(chunk.body("wf-2024-0042", "Bulk", 7)) == {
        "request_id": "wf-2024-0042",
        "tier": "Bulk",
        "days": 7,
        "objects": chunk.objects,
    }


def test_nothing_to_restore_makes_no_chunk() -> None:
    assert list(chunks([])) == []


KEYS = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=1024
).filter(lambda key: len(key.encode()) <= 1024)


@settings(max_examples=60, deadline=None)
@given(
    keys=st.lists(KEYS, max_size=150),
    limit=st.integers(min_value=1, max_value=100),
    max_bytes=st.integers(min_value=7 * 1024, max_value=CHUNK_BYTES),
)
def test_chunks_respect_both_limits_and_keep_every_object_in_order(
    keys: list[str], limit: int, max_bytes: int
) -> None:
    # Given objects with any valid S3 key (up to 1,024 UTF-8 bytes, JSON-escaped up to 6 characters each)
    objects = [archived(key=key, storage_class="DEEP_ARCHIVE") for key in keys]

    # When they are chunked
    found = list(chunks(objects, limit=limit, max_bytes=max_bytes))

    # Then no chunk is empty or over either limit, and the chunks hold every object once, in order
    assert all(1 <= len(chunk.objects) <= limit for chunk in found)
    assert all(len(json.dumps(chunk.objects)) <= max_bytes for chunk in found)
    assert [item["key"] for chunk in found for item in chunk.objects] == keys
    # and a whole message body stays under the SQS limit
    assert all(len(chunk.body("r" * 64, "Standard", 30).encode()) < 256 * 1024 for chunk in found)
