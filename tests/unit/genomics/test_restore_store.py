"""The restore table adapter on the table of templates/genomics.yaml (moto): the conditional META, rows
written 25 a call with unprocessed items sent again, the completion transaction that counts each object
once, the READY flip that one caller wins, rows shared by two requests, and paging."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from blueprints.core.errors import RetryableError
from blueprints.genomics.records import to_attribute
from blueprints.genomics.restore_s3 import RestoreThrottledError
from blueprints.genomics.restore_store import RestoreConflictError, RestoreStore, Row
from tests.support.botocore_hooks import Reply, Script, record_calls
from tests.unit.genomics.builders import LAUNCH_ID, NOW
from tests.unit.genomics.restore_support import (
    RestoreWorld,
    archived,
    build_world,
    fresh_client,
    page_size,
    row_values,
)

OTHER = "wf-2024-0043"


@pytest.fixture
def world(aws: None, monkeypatch: pytest.MonkeyPatch) -> RestoreWorld:
    return build_world(monkeypatch)


def waiting(store: RestoreStore, total: int, request_id: str = LAUNCH_ID, **values: Any) -> None:
    """A META item waiting for ``total`` objects."""
    assert store.begin(
        request_id,
        {"status": "WAITING", "total": total, "remaining": total, "deadline_at": NOW.isoformat(), **values},
    )


def open_row(store: RestoreStore, key: str, request_id: str = LAUNCH_ID, status: str = "PENDING") -> Row:
    """A row written by the index step, as the store reads it back."""
    store.put_rows(request_id, [row_values(archived(key=key), request_id=request_id, status=status)])
    return next(row for row in store.rows(request_id, open_only=False) if row.key == key)


# --- META --------------------------------------------------------------------------------------------


def test_a_request_is_begun_once(world: RestoreWorld) -> None:
    store = world.store()

    # When the same request is begun twice
    first = store.begin(LAUNCH_ID, {"status": "INDEXING", "total": 3, "source": "restore/a.json#v1"})
    second = store.begin(LAUNCH_ID, {"status": "INDEXING", "total": 9, "source": "restore/a.json#v2"})

    # Then only the first writes its META
    assert (first, second) == (True, False)
    meta = store.meta(LAUNCH_ID)
    assert meta is not None
    assert (meta["request_id"], meta["total"], meta["source"]) == (LAUNCH_ID, 3, "restore/a.json#v1")


def test_an_unknown_request_has_no_meta(world: RestoreWorld) -> None:
    assert world.store().meta("never-indexed") is None


def test_set_status_moves_only_from_an_expected_status_and_writes_values(world: RestoreWorld) -> None:
    store = world.store()
    store.begin(LAUNCH_ID, {"status": "INDEXING", "total": 2, "remaining": 2})

    moved = store.set_status(LAUNCH_ID, "WAITING", expected=["INDEXING"], values={"chunks_sent": True})
    refused = store.set_status(LAUNCH_ID, "FAILED", expected=["INDEXING", "READY"])

    assert (moved, refused) == (True, False)
    assert world.meta()["status"] == "WAITING"
    assert world.meta()["chunks_sent"] is True


def test_the_ready_flip_needs_remaining_zero_and_is_won_once(world: RestoreWorld) -> None:
    # Given a request with one object left, then none
    store = world.store()
    waiting(store, 1)
    early = store.set_status(LAUNCH_ID, "READY", expected=["WAITING"], when_remaining_zero=True)
    store.resolve(open_row(store, "a"), "RESTORED", "restored", {})

    # When two callers try to flip it to READY
    first = store.set_status(LAUNCH_ID, "READY", expected=["WAITING"], when_remaining_zero=True)
    second = store.set_status(LAUNCH_ID, "READY", expected=["WAITING"], when_remaining_zero=True)

    # Then it could not flip before, and exactly one caller wins now
    assert (early, first, second) == (False, True, False)
    assert world.meta()["status"] == "READY"


def test_waiting_pages_through_every_waiting_request_only(world: RestoreWorld) -> None:
    # Given five waiting requests and one ready, read two a page
    store = world.store()
    for n in range(5):
        waiting(store, 1, request_id=f"wf-{n}")
    store.begin("wf-ready", {"status": "READY", "deadline_at": NOW.isoformat()})
    store.put_rows("wf-0", [row_values(archived(key="a"), request_id="wf-0")])  # rows have no status
    dynamodb = world.client("dynamodb")
    page_size(dynamodb, "Query", 2)
    queries = record_calls(dynamodb, "Query")

    # When the waiting requests are read
    found = sorted(meta["request_id"] for meta in store.waiting())

    # Then all five come back over three pages
    assert found == [f"wf-{n}" for n in range(5)]
    assert len(queries) == 3


# --- rows --------------------------------------------------------------------------------------------


def test_rows_are_written_25_a_call(world: RestoreWorld) -> None:
    store = world.store()
    writes = record_calls(world.client("dynamodb"), "BatchWriteItem")
    rows = [row_values(archived(key=f"cohort7/{n:02}.bam")) for n in range(60)]

    calls = store.put_rows(LAUNCH_ID, rows)

    assert calls == 3
    assert [len(call["RequestItems"][world.table_name]) for call in writes] == [25, 25, 10]
    assert len(world.rows()) == 60


def test_unprocessed_rows_are_sent_again_at_once() -> None:
    # Given DynamoDB leaves 2 of 3 rows unprocessed once
    dynamodb = fresh_client("dynamodb")
    store = RestoreStore("restores", client=dynamodb)
    rows = [row_values(archived(key=key)) for key in ("a", "b", "c")]
    puts = [
        {"PutRequest": {"Item": {name: to_attribute(value) for name, value in row.items()}}} for row in rows
    ]
    with Stubber(dynamodb) as stub:
        stub.add_response(
            "batch_write_item",
            {"UnprocessedItems": {"restores": puts[1:]}},
            {"RequestItems": {"restores": puts}},
        )
        stub.add_response(
            "batch_write_item", {"UnprocessedItems": {}}, {"RequestItems": {"restores": puts[1:]}}
        )

        # When the rows are written
        calls = store.put_rows(LAUNCH_ID, rows)

        # Then only the unprocessed rows were sent again, in a second call
        stub.assert_no_pending_responses()
    assert calls == 2


def test_rows_left_unprocessed_five_times_raise_for_a_retry() -> None:
    dynamodb = fresh_client("dynamodb")
    store = RestoreStore("restores", client=dynamodb)
    rows = [row_values(archived(key="a"))]
    puts = [
        {"PutRequest": {"Item": {name: to_attribute(value) for name, value in row.items()}}} for row in rows
    ]
    with Stubber(dynamodb) as stub:
        for _ in range(5):
            stub.add_response("batch_write_item", {"UnprocessedItems": {"restores": puts}})

        with pytest.raises(RestoreThrottledError, match=f"1 rows of {LAUNCH_ID} stayed unprocessed"):
            store.put_rows(LAUNCH_ID, rows)

        stub.assert_no_pending_responses()


def test_rows_read_back_open_only_or_all_across_pages(world: RestoreWorld) -> None:
    store = world.store()
    statuses = ["PENDING", "RESTORING", "RESTORED", "SKIPPED", "FAILED"]
    store.put_rows(
        LAUNCH_ID,
        [row_values(archived(key=f"k{n}"), status=status) for n, status in enumerate(statuses)],
    )
    page_size(world.client("dynamodb"), "Query", 2)

    open_rows = list(store.rows(LAUNCH_ID))
    every_row = list(store.rows(LAUNCH_ID, open_only=False))

    assert [(row.key, row.restore_status) for row in open_rows] == [("k0", "PENDING"), ("k1", "RESTORING")]
    assert [row.restore_status for row in every_row] == statuses


def test_a_row_reads_back_with_its_object_identity(world: RestoreWorld) -> None:
    store = world.store()
    obj = archived(
        key="it/x.vcf", storage_class="INTELLIGENT_TIERING", archive_status="ARCHIVE_ACCESS", version_id="v7"
    )
    store.put_rows(LAUNCH_ID, [row_values(obj, tier="Standard")])

    assert list(store.rows(LAUNCH_ID)) == [
        Row(
            request_id=LAUNCH_ID,
            object_ref=obj.ref,
            bucket=obj.bucket,
            key="it/x.vcf",
            version_id="v7",
            storage_class="INTELLIGENT_TIERING",
            archive_status="ARCHIVE_ACCESS",
            restore_status="PENDING",
            tier="Standard",
            attempts=0,
            requested_at=NOW.isoformat(),
        )
    ]


def test_rows_of_one_object_are_found_across_requests_while_open(world: RestoreWorld) -> None:
    # Given two requests sharing one object (one of them already resolved it) and another object
    store = world.store()
    shared = archived(key="ref/hg38.fa")
    store.put_rows(LAUNCH_ID, [row_values(shared), row_values(archived(key="other"))])
    store.put_rows(OTHER, [row_values(shared, request_id=OTHER, status="RESTORING")])
    store.put_rows("wf-done", [row_values(shared, request_id="wf-done", status="RESTORED")])
    page_size(world.client("dynamodb"), "Query", 1)

    # When the object's rows are looked up
    found = store.rows_of_object(shared.ref)

    # Then both open rows come back, whichever request they belong to
    assert sorted((row.request_id, row.restore_status) for row in found) == [
        (LAUNCH_ID, "PENDING"),
        (OTHER, "RESTORING"),
    ]


def test_mark_row_moves_an_open_row_only(world: RestoreWorld) -> None:
    store = world.store()
    row = open_row(store, "a")

    moved = store.mark_row(row, "RESTORING", values={"attempts": 1, "requested_at": NOW.isoformat()})
    again = store.mark_row(row, "RESTORING", expected=["PENDING"])

    assert (moved, again) == (True, False)
    assert (world.rows()["a"]["restore_status"], world.rows()["a"]["attempts"]) == ("RESTORING", 1)


# --- completion --------------------------------------------------------------------------------------


def test_the_first_resolve_counts_and_a_duplicate_changes_nothing(world: RestoreWorld) -> None:
    # Given a request waiting for two objects
    store = world.store()
    waiting(store, 2)
    row = open_row(store, "a", status="RESTORING")
    open_row(store, "b")
    values = {"completed_at": NOW.isoformat(), "expiry_at": "2026-12-08T00:00:00Z"}

    # When the same object is resolved twice
    first = store.resolve(row, "RESTORED", "restored", values)
    after_first = world.meta()
    second = store.resolve(row, "RESTORED", "restored", values)

    # Then the first counts it, and the duplicate is refused without a change
    assert (first, second) == (True, False)
    assert (after_first["remaining"], after_first["restored"]) == (1, 1)
    assert world.meta() == after_first
    assert world.rows()["a"]["restore_status"] == "RESTORED"
    assert world.rows()["a"]["expiry_at"] == "2026-12-08T00:00:00Z"


def test_a_skipped_object_counts_apart_from_restored_ones(world: RestoreWorld) -> None:
    store = world.store()
    waiting(store, 2)

    store.resolve(open_row(store, "a"), "RESTORED", "restored", {})
    store.resolve(open_row(store, "b"), "SKIPPED", "skipped", {})

    meta = world.meta()
    assert (meta["remaining"], meta["restored"], meta["skipped"]) == (0, 1, 1)
    assert world.statuses() == {"a": "RESTORED", "b": "SKIPPED"}


def test_resolve_never_takes_the_counter_below_zero(world: RestoreWorld) -> None:
    # Given a request whose counter is already zero, and a row still open
    store = world.store()
    waiting(store, 0)
    row = open_row(store, "a")

    # When it is resolved, Then the transaction is refused as a whole: the row stays open
    assert store.resolve(row, "RESTORED", "restored", {}) is False
    assert world.statuses() == {"a": "PENDING"}
    assert world.meta()["remaining"] == 0


def test_count_failed_adds_one(world: RestoreWorld) -> None:
    store = world.store()
    waiting(store, 1)

    store.count_failed(LAUNCH_ID)
    store.count_failed(LAUNCH_ID)

    assert world.meta()["failed"] == 2


# --- errors that are not conditions ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "call"),
    [
        ("PutItem", lambda store, row: store.begin(LAUNCH_ID, {"status": "INDEXING"})),
        ("UpdateItem", lambda store, row: store.set_status(LAUNCH_ID, "READY", expected=["WAITING"])),
        ("UpdateItem", lambda store, row: store.mark_row(row, "RESTORING")),
        ("TransactWriteItems", lambda store, row: store.resolve(row, "RESTORED", "restored", {})),
    ],
)
def test_throttling_is_raised_not_taken_for_a_duplicate(
    world: RestoreWorld, operation: str, call: Any
) -> None:
    # Given a request and an open row, and DynamoDB throttling the next write
    store = world.store()
    waiting(store, 1)
    row = open_row(store, "a")
    Script(
        world.client("dynamodb"),
        operation,
        [Reply.error("ProvisionedThroughputExceededException", status=400)],
    )

    # When the write is made, Then the error reaches the caller (the record is retried)
    with pytest.raises(ClientError, match="ProvisionedThroughputExceededException"):
        call(store, row)


def cancelled(*codes: str | None) -> Reply:
    """A TransactionCanceledException with one cancellation reason per item of the transaction."""
    reasons = [{"Code": code} if code is not None else {} for code in codes]
    body = Reply.error("TransactionCanceledException", "Transaction cancelled", 400).body
    return Reply(400, {**body, "CancellationReasons": reasons})


@pytest.mark.parametrize("codes", [("None", "ConditionalCheckFailed"), ("ConditionalCheckFailed", None)])
def test_a_transaction_cancelled_by_its_conditions_only_is_a_duplicate(
    world: RestoreWorld, codes: tuple[str | None, ...]
) -> None:
    # Given a request and an open row, and the completion transaction refused by its conditions
    store = world.store()
    waiting(store, 1)
    row = open_row(store, "a")
    Script(world.client("dynamodb"), "TransactWriteItems", [cancelled(*codes)])

    # When the object is resolved, Then it is a duplicate report: nothing changes
    assert store.resolve(row, "RESTORED", "restored", {}) is False
    assert (world.statuses(), world.meta()["remaining"]) == ({"a": "PENDING"}, 1)


@pytest.mark.parametrize(
    "codes",
    [
        ("TransactionConflict", "None"),
        ("None", "ThrottlingError"),
        ("ConditionalCheckFailed", "TransactionConflict"),
    ],
)
def test_a_transaction_cancelled_by_a_conflict_or_throttling_is_retried_not_dropped(
    world: RestoreWorld, codes: tuple[str, ...]
) -> None:
    # Given a completion racing another completion on the same META (DynamoDB cancels the transaction)
    store = world.store()
    waiting(store, 1)
    row = open_row(store, "a")
    Script(world.client("dynamodb"), "TransactWriteItems", [cancelled(*codes)])

    # When the object is resolved, Then a retryable error names the reason, and the row stays open
    reason = r"cancelled: (TransactionConflict|ThrottlingError)$"
    with pytest.raises(RestoreConflictError, match=reason) as raised:
        store.resolve(row, "RESTORED", "restored", {})
    assert isinstance(raised.value, RetryableError)
    assert world.statuses() == {"a": "PENDING"}

    # and the retried report counts the object once
    assert store.resolve(row, "RESTORED", "restored", {}) is True
    assert world.meta()["remaining"] == 0


def test_a_new_round_replaces_meta_only_from_the_upload_it_read(world: RestoreWorld) -> None:
    # Given a request indexed from its first upload, with counters
    store = world.store()
    waiting(store, 2, source="restore/a.json#v1", failed=1, attempt=1)
    fresh = {"status": "INDEXING", "source": "restore/a.json#v2", "attempt": 2, "total": 0}

    # When a new round replaces it after reading another upload, then after reading the first one
    stale = store.restart(LAUNCH_ID, fresh, "restore/a.json#v0")
    replaced = store.restart(LAUNCH_ID, fresh, "restore/a.json#v1")

    # Then only the second replaces it, and nothing of the previous round stays
    assert (stale, replaced) == (False, True)
    meta = world.meta()
    assert (meta["status"], meta["attempt"], meta["source"], "failed" in meta) == (
        "INDEXING",
        2,
        "restore/a.json#v2",
        False,
    )


def test_delete_rows_removes_every_row_across_pages_and_keeps_meta(world: RestoreWorld) -> None:
    store = world.store()
    waiting(store, 3)
    store.put_rows(LAUNCH_ID, [row_values(archived(key=key)) for key in ("a", "b", "c")])
    page_size(world.client("dynamodb"), "Query", 2)

    calls = store.delete_rows(LAUNCH_ID)

    assert (calls, world.rows(), world.meta()["total"]) == (1, {}, 3)
