"""DynamoDB adapter of the launch registry.

Every status change is one ``UpdateItem`` conditioned on the expected current statuses and on the
attempt, derived from the transition table (``status.TRANSITIONS``); trackers add the event-time
guard, so a stale or out-of-order event never moves a launch. A failed condition is an answer
(``False``), not an error: the caller decides whether it means "duplicate" or "someone was first".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from blueprints.core.aws import client as aws_client
from blueprints.genomics.errors import LaunchConflictError
from blueprints.genomics.records import Launch, from_item, to_attribute
from blueprints.genomics.status import RANK, Status, check_transition

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

STATUS_INDEX = "status-updated_at"
WORKFLOW_INDEX = "workflow_type-created_at"  # sparse: rejected requests without a workflow type are not in it
COMPUTE_REF_INDEX = "compute_ref-index"  # sparse: launches whose compute events do not name them
MAX_PAGE = 100


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_token: str | None


def _conditional_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _replaces(values: Mapping[str, Any], existing: Mapping[str, Any]) -> bool:
    """Whether ``values`` (a valid request) may replace ``existing``: a request rejected at registration
    (FAILED on attempt 1 with no workflow type: it never launched) of the same S3 object, uploaded
    earlier. Another object, an API request or a launch that ran keeps its id."""
    new_source, old_source = values.get("config_source") or {}, existing.get("config_source") or {}
    return (
        values.get("status") == Status.REGISTERED.value
        and existing.get("status") == Status.FAILED.value
        and existing.get("attempt") == 1
        and "workflow_type" not in existing
        and new_source.get("kind") == old_source.get("kind") == "s3"
        and new_source.get("bucket") == old_source.get("bucket")
        and new_source.get("key") == old_source.get("key")
        and str(existing.get("created_at", "")) <= str(values.get("created_at", ""))
    )


def _rejection(existing: Mapping[str, Any]) -> dict[str, Any]:
    """What the replaced rejection said, kept on the new item for the record."""
    fields = ("dedupe_key", "error_code", "error_message", "created_at")
    return {name: existing[name] for name in fields if name in existing}


class LaunchRegistry:
    """The launches table (low-level client: no resource layer at cold start)."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        if self._client is None:
            self._client = aws_client("dynamodb")
        return self._client

    # -- creation -----------------------------------------------------------------------------------

    def create(self, values: Mapping[str, Any], *, replace_rejected: bool = True) -> bool:
        """Put a new launch item; False when the same request was already registered (a duplicate
        delivery). Raises ``LaunchConflictError`` when the id belongs to a different request, except that
        a newer upload of the same object replaces a request rejected at registration (``_replaces``)."""
        item = {name: to_attribute(value) for name, value in values.items()}
        item["status_rank"] = to_attribute(RANK[Status(values["status"])])
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(launch_id)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return True
        except ClientError as exc:
            if not _conditional_failure(exc):
                raise
            old: dict[str, Any] = dict(exc.response.get("Item") or {})  # type: ignore[call-overload]
            existing = from_item(old)
        if existing.get("dedupe_key") == values.get("dedupe_key"):
            return False
        if replace_rejected and _replaces(values, existing) and self._remove_rejected(existing):
            return self.create({**values, "replaced_rejection": _rejection(existing)}, replace_rejected=False)
        raise LaunchConflictError(
            f"launch id {values['launch_id']} is already registered from {existing.get('dedupe_key', '?')}"
        )

    def _remove_rejected(self, existing: Mapping[str, Any]) -> bool:
        """Delete a request rejected at registration (never launched), exactly as it was read, so its
        fixed version is inserted anew (an INSERT, which the launcher's stream filter starts). False when
        it changed meanwhile (a retry claimed it, or another upload replaced it first)."""
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key={"launch_id": {"S": str(existing["launch_id"])}},
                ConditionExpression=(
                    "#s = :failed AND #attempt = :one AND dedupe_key = :dedupe "
                    "AND attribute_not_exists(workflow_type)"
                ),
                ExpressionAttributeNames={"#s": "status", "#attempt": "attempt"},
                ExpressionAttributeValues={
                    ":failed": {"S": Status.FAILED.value},
                    ":one": {"N": "1"},
                    ":dedupe": {"S": str(existing["dedupe_key"])},
                },
            )
        except ClientError as exc:
            if not _conditional_failure(exc):
                raise
            return False
        return True

    # -- reads --------------------------------------------------------------------------------------

    def get(self, launch_id: str) -> Launch | None:
        item = self.client.get_item(
            TableName=self.table_name, Key={"launch_id": {"S": launch_id}}, ConsistentRead=True
        ).get("Item")
        return Launch.from_item(item) if item else None

    def get_plain(self, launch_id: str) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self.table_name, Key={"launch_id": {"S": launch_id}}, ConsistentRead=True
        ).get("Item")
        return from_item(item) if item else None

    def by_status(
        self,
        status: Status,
        *,
        updated_before: str | None = None,
        limit: int = MAX_PAGE,
        start_key: Mapping[str, Any] | None = None,
    ) -> Page:
        """One page of launches in ``status`` (newest first), from the status index."""
        condition = "#s = :status"
        values: dict[str, Any] = {":status": {"S": status.value}}
        if updated_before is not None:
            condition += " AND updated_at < :before"
            values[":before"] = {"S": updated_before}
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
            "Limit": max(1, min(limit, MAX_PAGE)),
        }
        if start_key:
            request["ExclusiveStartKey"] = {name: to_attribute(value) for name, value in start_key.items()}
        response = self.client.query(**request)
        last = response.get("LastEvaluatedKey")
        token = None
        if last:
            token = json.dumps(from_item(last), sort_keys=True)
        return Page([from_item(item) for item in response.get("Items", [])], token)

    def by_compute_ref(self, ref: str) -> dict[str, Any] | None:
        """The launch whose current attempt recorded ``ref`` (``compute_ref``), from the sparse index."""
        items = self.client.query(
            TableName=self.table_name,
            IndexName=COMPUTE_REF_INDEX,
            KeyConditionExpression="compute_ref = :ref",
            ExpressionAttributeValues={":ref": {"S": ref}},
            Limit=1,
        ).get("Items", [])
        return from_item(items[0]) if items else None

    def by_workflow_type(
        self,
        workflow_type: str,
        *,
        status: Status | None = None,
        limit: int = MAX_PAGE,
        start_key: Mapping[str, Any] | None = None,
    ) -> Page:
        """One page of launches of ``workflow_type`` (newest first), from the workflow index; ``status``
        filters the page (a filtered page may be short, even empty, while ``next_token`` goes on)."""
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": WORKFLOW_INDEX,
            "KeyConditionExpression": "workflow_type = :workflow_type",
            "ExpressionAttributeValues": {":workflow_type": {"S": workflow_type}},
            "ScanIndexForward": False,
            "Limit": max(1, min(limit, MAX_PAGE)),
        }
        if status is not None:
            request["FilterExpression"] = "#s = :status"
            request["ExpressionAttributeNames"] = {"#s": "status"}
            request["ExpressionAttributeValues"][":status"] = {"S": status.value}
        if start_key:
            request["ExclusiveStartKey"] = {name: to_attribute(value) for name, value in start_key.items()}
        response = self.client.query(**request)
        last = response.get("LastEvaluatedKey")
        token = json.dumps(from_item(last), sort_keys=True) if last else None
        return Page([from_item(item) for item in response.get("Items", [])], token)

    # -- status changes -----------------------------------------------------------------------------

    def transition(
        self,
        launch_id: str,
        *,
        attempt: int,
        sources: Iterable[Status],
        target: Status,
        now: datetime,
        set_values: Mapping[str, Any] | None = None,
        remove: Iterable[str] = (),
        event_time: str | None = None,
        next_attempt: int | None = None,
    ) -> Launch | None:
        """Move ``launch_id`` from one of ``sources`` (at ``attempt``) to ``target``.

        ``event_time`` adds the tracker guard (no event older than the last applied one) and records it;
        ``next_attempt`` starts a new attempt (a retry's claim). Returns the new item, or None when the
        condition failed (another writer was first, or the event is stale or from another attempt).
        """
        froms = frozenset(sources)
        check_transition(froms, target)
        stamp = now.isoformat()
        new_attempt = attempt if next_attempt is None else next_attempt
        sets = {
            "status_rank": RANK[target],
            "updated_at": stamp,
            **(set_values or {}),
        }
        names = {"#s": "status", "#attempt": "attempt"}
        values: dict[str, Any] = {
            ":target": {"S": target.value},
            ":attempt": {"N": str(attempt)},
            ":history": to_attribute(
                [{"status": target.value, "at": event_time or stamp, "attempt": new_attempt}]
            ),
            ":empty": {"L": []},
        }
        assignments = [
            "#s = :target",
            "status_history = list_append(if_not_exists(status_history, :empty), :history)",
        ]
        if next_attempt is not None:
            sets["attempt"] = next_attempt
        if event_time is not None:
            sets["last_event_time"] = event_time
        for index, (name, value) in enumerate(sets.items()):
            names[f"#f{index}"] = name
            values[f":v{index}"] = to_attribute(value)
            assignments.append(f"#f{index} = :v{index}")
        placeholders = []
        for index, source in enumerate(sorted(froms)):
            values[f":from{index}"] = {"S": source.value}
            placeholders.append(f":from{index}")
        condition = f"#s IN ({', '.join(placeholders)}) AND #attempt = :attempt"
        if event_time is not None:
            values[":event_time"] = {"S": event_time}
            condition += " AND (attribute_not_exists(last_event_time) OR last_event_time <= :event_time)"
        expression = "SET " + ", ".join(assignments)
        removed = [name for name in remove if name not in sets]
        if removed:
            for index, name in enumerate(removed):
                names[f"#r{index}"] = name
            expression += " REMOVE " + ", ".join(f"#r{index}" for index in range(len(removed)))
        return self._update(launch_id, expression, condition, names, values)

    def update(
        self,
        launch_id: str,
        *,
        attempt: int,
        status: Status | Iterable[Status],
        now: datetime,
        set_values: Mapping[str, Any] | None = None,
        add_to_sets: Mapping[str, set[str]] | None = None,
        only_if_absent: Iterable[str] = (),
        unless_member: tuple[str, str] | None = None,
        remove: Iterable[str] = (),
        expect: Mapping[str, Any] | None = None,
    ) -> Launch | None:
        """Record facts on a launch without changing its status (conditional on status and attempt);
        ``only_if_absent`` names attributes that must not exist yet (first writer wins); ``unless_member``
        is a (set attribute, member) pair that must not be present yet; ``remove`` drops attributes and
        ``expect`` maps attributes to the values they must still hold."""
        statuses = frozenset({status} if isinstance(status, Status) else status)
        names = {"#s": "status", "#attempt": "attempt"}
        values: dict[str, Any] = {":attempt": {"N": str(attempt)}}
        assignments = []
        for index, (name, value) in enumerate({"updated_at": now.isoformat(), **(set_values or {})}.items()):
            names[f"#f{index}"] = name
            values[f":v{index}"] = to_attribute(value)
            assignments.append(f"#f{index} = :v{index}")
        expression = "SET " + ", ".join(assignments)
        if add_to_sets:
            additions = []
            for index, (name, members) in enumerate(add_to_sets.items()):
                names[f"#a{index}"] = name
                values[f":a{index}"] = {"SS": sorted(members)}
                additions.append(f"#a{index} :a{index}")
            expression += " ADD " + ", ".join(additions)
        removed = list(remove)
        if removed:
            for index, name in enumerate(removed):
                names[f"#r{index}"] = name
            expression += " REMOVE " + ", ".join(f"#r{index}" for index in range(len(removed)))
        placeholders = []
        for index, source in enumerate(sorted(statuses)):
            values[f":s{index}"] = {"S": source.value}
            placeholders.append(f":s{index}")
        condition = f"#s IN ({', '.join(placeholders)}) AND #attempt = :attempt"
        for index, name in enumerate(only_if_absent):
            names[f"#n{index}"] = name
            condition += f" AND attribute_not_exists(#n{index})"
        if unless_member is not None:
            names["#m"] = unless_member[0]
            values[":m"] = {"S": unless_member[1]}
            condition += " AND NOT contains(#m, :m)"
        for index, (name, value) in enumerate((expect or {}).items()):
            names[f"#e{index}"] = name
            values[f":e{index}"] = to_attribute(value)
            condition += f" AND #e{index} = :e{index}"
        return self._update(launch_id, expression, condition, names, values)

    def _update(
        self,
        launch_id: str,
        expression: str,
        condition: str,
        names: dict[str, str],
        values: dict[str, Any],
    ) -> Launch | None:
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key={"launch_id": {"S": launch_id}},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if _conditional_failure(exc):
                return None
            raise
        return Launch.from_item(response["Attributes"])
