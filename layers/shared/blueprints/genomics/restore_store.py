"""DynamoDB adapter of the restore table: one META item per restore request and one row per object.

Completion of an object is one ``TransactWriteItems``: the row moves to RESTORED (or SKIPPED) only from
PENDING or RESTORING, and the META counter drops by one in the same transaction, so duplicate
events, the S3 notification and the reconciler can all report the same object without double counting
(the per-row condition is the dedupe; no growing set of keys is needed). The request flips to READY
with one more conditional write (``remaining = 0 AND status = WAITING``): exactly one caller wins it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from blueprints.core.aws import client as aws_client
from blueprints.core.errors import RetryableError
from blueprints.genomics.records import from_item, to_attribute
from blueprints.genomics.restore_s3 import RestoreThrottledError

OBJECT_INDEX = "object_ref-index"
STATUS_INDEX = "status-deadline_at"
SYNC_INDEX = "launch_sync-index"  # sparse: META items whose launch transition is not confirmed yet
SYNC_PENDING = "PENDING"
META = "META"
BATCH_WRITE = 25
OPEN_ROWS = ("PENDING", "RESTORING")


def request_key(request_id: str) -> str:
    return f"REQ#{request_id}"


def row_key(object_ref: str) -> str:
    return f"OBJ#{object_ref}"


@dataclass(frozen=True)
class Row:
    request_id: str
    object_ref: str
    bucket: str
    key: str
    version_id: str | None
    storage_class: str
    archive_status: str | None
    restore_status: str
    tier: str
    attempts: int
    requested_at: str

    @property
    def sort_key(self) -> str:
        return row_key(self.object_ref)

    @classmethod
    def from_plain(cls, values: Mapping[str, Any]) -> Row:
        return cls(
            request_id=str(values["pk"]).removeprefix("REQ#"),
            object_ref=str(values["object_ref"]),
            bucket=str(values["bucket"]),
            key=str(values["key"]),
            version_id=values.get("version_id") or None,
            storage_class=str(values.get("storage_class", "")),
            archive_status=values.get("archive_status") or None,
            restore_status=str(values["restore_status"]),
            tier=str(values.get("tier", "")),
            attempts=int(values.get("attempts", 0)),
            requested_at=str(values.get("requested_at", "")),
        )


DUPLICATE_REASONS = frozenset({"None", "ConditionalCheckFailed"})


class RestoreConflictError(RetryableError):
    """A completion transaction was cancelled by a concurrent write or throttling (TransactionConflict,
    ThrottlingError, ...), not by its conditions: the event or chunk is retried, never taken as a
    duplicate."""


def _conditional(exc: ClientError) -> bool:
    """A single-item write refused by its condition."""
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _duplicate(exc: ClientError) -> bool:
    """A transaction cancelled only by its conditions (every reason ConditionalCheckFailed or None); any
    other reason (TransactionConflict, ThrottlingError, ...) raises ``RestoreConflictError``."""
    if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return False
    reasons = [str(reason.get("Code") or "None") for reason in exc.response.get("CancellationReasons", [])]
    others = sorted({code for code in reasons if code not in DUPLICATE_REASONS})
    if others:
        raise RestoreConflictError(f"completion transaction cancelled: {', '.join(others)}") from exc
    return True


class RestoreStore:
    def __init__(self, table_name: str, client: Any = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("dynamodb")
        return self._client

    # -- META ---------------------------------------------------------------------------------------

    def begin(self, request_id: str, values: Mapping[str, Any]) -> bool:
        """Create the META item; False when this request was already indexed (a repeated delivery)."""
        item = {"pk": request_key(request_id), "sk": META, "request_id": request_id, **values}
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={name: to_attribute(value) for name, value in item.items()},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if _conditional(exc):
                return False
            raise
        return True

    def restart(self, request_id: str, values: Mapping[str, Any], previous_source: str) -> bool:
        """Replace META for a new round (a higher attempt): counters, cursor and sync state start over.
        False when another delivery replaced it first (its ``source`` is no longer ``previous_source``)."""
        item = {"pk": request_key(request_id), "sk": META, "request_id": request_id, **values}
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={name: to_attribute(value) for name, value in item.items()},
                ConditionExpression="#source = :previous",
                ExpressionAttributeNames={"#source": "source"},
                ExpressionAttributeValues={":previous": {"S": previous_source}},
            )
        except ClientError as exc:
            if _conditional(exc):
                return False
            raise
        return True

    def meta(self, request_id: str) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self.table_name,
            Key={"pk": {"S": request_key(request_id)}, "sk": {"S": META}},
            ConsistentRead=True,
        ).get("Item")
        return from_item(item) if item else None

    def set_status(
        self,
        request_id: str,
        status: str,
        *,
        expected: Sequence[str],
        values: Mapping[str, Any] | None = None,
        when_remaining_zero: bool = False,
    ) -> bool:
        """Move META to ``status`` from one of ``expected``; False when the condition failed."""
        key = {"pk": {"S": request_key(request_id)}, "sk": {"S": META}}
        extra = " AND remaining = :zero" if when_remaining_zero else ""
        return self._move(key, "status", status, expected, values, extra)

    def waiting(self) -> Iterator[dict[str, Any]]:
        """Every META in WAITING (the status index is sparse: only META items have ``status``)."""
        return self.by_status("WAITING")

    def by_status(self, status: str) -> Iterator[dict[str, Any]]:
        """Every META in ``status`` with a deadline (the status index needs both keys)."""
        return self._query_meta(STATUS_INDEX, "#s = :status", {"#s": "status"}, {":status": {"S": status}})

    def unsynced(self) -> Iterator[dict[str, Any]]:
        """Every META that reached READY or FAILED whose launch transition is not confirmed yet."""
        return self._query_meta(
            SYNC_INDEX, "#l = :pending", {"#l": "launch_sync"}, {":pending": {"S": SYNC_PENDING}}
        )

    def _query_meta(
        self, index: str, condition: str, names: dict[str, str], values: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        while True:
            page = self.client.query(**request)
            yield from (from_item(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def mark_synced(self, request_id: str) -> None:
        """The launch transition of a READY or FAILED request is applied (or found applied): it leaves the
        sync index."""
        self.client.update_item(
            TableName=self.table_name,
            Key={"pk": {"S": request_key(request_id)}, "sk": {"S": META}},
            UpdateExpression="SET launch_synced = :true REMOVE launch_sync",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":true": {"BOOL": True}},
        )

    def note_reconciled(self, request_id: str, at: str, cursor: str | None) -> None:
        """A reconciler run visited the request at ``at`` and stopped after the row ``cursor`` (None: it
        looked at every open row, the next run starts over)."""
        update = "SET reconciled_at = :at" + (
            ", reconcile_cursor = :cursor" if cursor else " REMOVE reconcile_cursor"
        )
        values: dict[str, Any] = {":at": {"S": at}}
        if cursor:
            values[":cursor"] = {"S": cursor}
        self.client.update_item(
            TableName=self.table_name,
            Key={"pk": {"S": request_key(request_id)}, "sk": {"S": META}},
            UpdateExpression=update,
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=values,
        )

    # -- rows ---------------------------------------------------------------------------------------

    def put_rows(self, request_id: str, rows: Sequence[Mapping[str, Any]]) -> int:
        """Write the object rows with BatchWriteItem (25 a call); returns the number of calls."""
        return self._batch_write(
            request_id,
            [
                {"PutRequest": {"Item": {name: to_attribute(value) for name, value in row.items()}}}
                for row in rows
            ],
        )

    def delete_rows(self, request_id: str) -> int:
        """Delete every object row of a request (a new round indexes it again); returns the calls."""
        keys: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :obj)",
            "ExpressionAttributeValues": {":pk": {"S": request_key(request_id)}, ":obj": {"S": "OBJ#"}},
            "ProjectionExpression": "pk, sk",
            "ConsistentRead": True,
        }
        while True:
            page = self.client.query(**request)
            keys.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return self._batch_write(request_id, [{"DeleteRequest": {"Key": key}} for key in keys])

    def _batch_write(self, request_id: str, requests: Sequence[dict[str, Any]]) -> int:
        calls = 0
        for start in range(0, len(requests), BATCH_WRITE):
            batch = list(requests[start : start + BATCH_WRITE])
            for _ in range(5):  # unprocessed items are re-sent at once; throttling beyond that retries
                calls += 1
                response = self.client.batch_write_item(RequestItems={self.table_name: batch})
                batch = response.get("UnprocessedItems", {}).get(self.table_name, [])
                if not batch:
                    break
            else:
                raise RestoreThrottledError(f"{len(batch)} rows of {request_id} stayed unprocessed")
        return calls

    def rows(
        self, request_id: str, *, open_only: bool = True, start_after: str | None = None
    ) -> Iterator[Row]:
        """The rows of a request in key order; ``start_after``: the sort key of a row already seen."""
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :obj)",
            "ExpressionAttributeValues": {":pk": {"S": request_key(request_id)}, ":obj": {"S": "OBJ#"}},
            "ConsistentRead": True,
        }
        if start_after:
            request["ExclusiveStartKey"] = {"pk": {"S": request_key(request_id)}, "sk": {"S": start_after}}
        if open_only:
            request["FilterExpression"] = "restore_status IN (:pending, :restoring)"
            request["ExpressionAttributeValues"].update(
                {":pending": {"S": "PENDING"}, ":restoring": {"S": "RESTORING"}}
            )
        while True:
            page = self.client.query(**request)
            yield from (Row.from_plain(from_item(item)) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def rows_of_object(self, object_ref: str, statuses: Sequence[str] = OPEN_ROWS) -> list[Row]:
        """Every row of an object in one of ``statuses`` (open by default), whichever request it belongs
        to (several launches may share it)."""
        found: list[Row] = []
        values: dict[str, Any] = {":ref": {"S": object_ref}}
        values.update({f":s{index}": {"S": status} for index, status in enumerate(statuses)})
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": OBJECT_INDEX,
            "KeyConditionExpression": "object_ref = :ref",
            "FilterExpression": f"restore_status IN ({', '.join(f':s{i}' for i in range(len(statuses)))})",
            "ExpressionAttributeValues": values,
        }
        while True:
            page = self.client.query(**request)
            found.extend(Row.from_plain(from_item(item)) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return found
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def mark_row(
        self,
        row: Row,
        status: str,
        *,
        expected: Sequence[str] = OPEN_ROWS,
        values: Mapping[str, Any] | None = None,
    ) -> bool:
        """A row's state without touching the counter (RESTORING, FAILED); False when it moved on."""
        key = {"pk": {"S": request_key(row.request_id)}, "sk": {"S": row_key(row.object_ref)}}
        return self._move(key, "restore_status", status, expected, values)

    def _move(
        self,
        key: dict[str, Any],
        attribute: str,
        status: str,
        expected: Sequence[str],
        values: Mapping[str, Any] | None,
        extra_condition: str = "",
    ) -> bool:
        """``attribute`` from one of ``expected`` to ``status``, with ``values``; False when the condition
        failed."""
        names = {"#s": attribute}
        attributes: dict[str, Any] = {":status": {"S": status}}
        assignments = ["#s = :status"]
        for index, (name, value) in enumerate((values or {}).items()):
            names[f"#v{index}"] = name
            attributes[f":v{index}"] = to_attribute(value)
            assignments.append(f"#v{index} = :v{index}")
        placeholders = []
        for index, source in enumerate(expected):
            attributes[f":e{index}"] = {"S": source}
            placeholders.append(f":e{index}")
        if extra_condition:
            attributes[":zero"] = {"N": "0"}
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=key,
                UpdateExpression="SET " + ", ".join(assignments),
                ConditionExpression=f"#s IN ({', '.join(placeholders)}){extra_condition}",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=attributes,
            )
        except ClientError as exc:
            if _conditional(exc):
                return False
            raise
        return True

    def resolve(self, row: Row, status: str, counter: str, values: Mapping[str, Any]) -> bool:
        """The row leaves PENDING/RESTORING for ``status`` (RESTORED, SKIPPED) and META's ``remaining``
        drops by one while ``counter`` (restored, skipped) grows, atomically; False for a duplicate."""
        names = {"#r": "restore_status"}
        attributes: dict[str, Any] = {
            ":status": {"S": status},
            ":pending": {"S": "PENDING"},
            ":restoring": {"S": "RESTORING"},
        }
        assignments = ["#r = :status"]
        for index, (name, value) in enumerate(values.items()):
            names[f"#v{index}"] = name
            attributes[f":v{index}"] = to_attribute(value)
            assignments.append(f"#v{index} = :v{index}")
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": {
                                "pk": {"S": request_key(row.request_id)},
                                "sk": {"S": row_key(row.object_ref)},
                            },
                            "UpdateExpression": "SET " + ", ".join(assignments),
                            "ConditionExpression": "#r IN (:pending, :restoring)",
                            "ExpressionAttributeNames": names,
                            "ExpressionAttributeValues": attributes,
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": {"pk": {"S": request_key(row.request_id)}, "sk": {"S": META}},
                            "UpdateExpression": (
                                "SET remaining = remaining - :one, #c = if_not_exists(#c, :zero) + :one"
                            ),
                            "ConditionExpression": "remaining > :zero",
                            "ExpressionAttributeNames": {"#c": counter},
                            "ExpressionAttributeValues": {":one": {"N": "1"}, ":zero": {"N": "0"}},
                        }
                    },
                ]
            )
        except ClientError as exc:
            if _duplicate(exc):
                return False
            raise
        return True

    def reopen(self, row: Row, requested_at: str) -> bool:
        """A RESTORED row whose copy expired goes back to PENDING and its request's counter up by one,
        atomically, only while the request still WAITs (its launch has not started); False otherwise."""
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": {
                                "pk": {"S": request_key(row.request_id)},
                                "sk": {"S": row_key(row.object_ref)},
                            },
                            "UpdateExpression": (
                                "SET restore_status = :pending, requested_at = :at "
                                "REMOVE completed_at, expiry_at"
                            ),
                            "ConditionExpression": "restore_status = :restored",
                            "ExpressionAttributeValues": {
                                ":pending": {"S": "PENDING"},
                                ":restored": {"S": "RESTORED"},
                                ":at": {"S": requested_at},
                            },
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": {"pk": {"S": request_key(row.request_id)}, "sk": {"S": META}},
                            "UpdateExpression": (
                                "SET remaining = remaining + :one, restored = restored - :one, "
                                "expired = if_not_exists(expired, :zero) + :one"
                            ),
                            "ConditionExpression": "#s = :waiting AND restored > :zero",
                            "ExpressionAttributeNames": {"#s": "status"},
                            "ExpressionAttributeValues": {
                                ":one": {"N": "1"},
                                ":zero": {"N": "0"},
                                ":waiting": {"S": "WAITING"},
                            },
                        }
                    },
                ]
            )
        except ClientError as exc:
            if _duplicate(exc):
                return False
            raise
        return True

    def count_failed(self, request_id: str) -> None:
        self.client.update_item(
            TableName=self.table_name,
            Key={"pk": {"S": request_key(request_id)}, "sk": {"S": META}},
            UpdateExpression="ADD failed :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
