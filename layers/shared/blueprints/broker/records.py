"""DynamoDB adapter of the requests table: the original message by request id, attempts, task ARNs.

Status changes are conditional writes derived from one transition table, so a late or repeated
delivery can never move a request backwards (a FAILED duplicate cannot overwrite SUBMITTED).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from blueprints.broker.state import (
    DuplicateRequestError,
    LastError,
    RequestRecord,
    RerunNotApplicableError,
    Status,
    allowed_from,
)
from blueprints.core.aws import client as aws_client

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class RequestStore:
    """DynamoDB adapter of the requests table (low-level client: no resource layer at cold start)."""

    def __init__(self, table_name: str, ttl_days: int, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self.ttl = timedelta(days=ttl_days)
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        if self._client is None:
            self._client = aws_client("dynamodb")
        return self._client

    def get(self, request_id: str) -> RequestRecord | None:
        item = self.client.get_item(
            TableName=self.table_name, Key={"request_id": {"S": request_id}}, ConsistentRead=True
        ).get("Item")
        return _record(item) if item else None

    def begin_attempt(self, request_id: str, body: str, attempt: int, run: int, now: datetime) -> None:
        """Store the original message on first sight, else count the attempt.

        Raises ``DuplicateRequestError`` when the request is already submitted (this run or a later one).
        """
        stamp = now.isoformat()
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={
                    "request_id": {"S": request_id},
                    "body": {"S": body},
                    "status": {"S": Status.RECEIVED},
                    "attempts": {"N": str(attempt)},
                    "reruns": {"N": str(run)},
                    "created_at": {"S": stamp},
                    "updated_at": {"S": stamp},
                    "expires_at": {"N": str(self._expiry(now))},
                },
                ConditionExpression="attribute_not_exists(request_id)",
            )
            return
        except ClientError as exc:
            if not _conditional_failure(exc):
                raise
        sources = allowed_from(Status.RECEIVED)
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"request_id": {"S": request_id}},
                UpdateExpression=(
                    "SET #status = :received, attempts = :attempt, body = :body, "
                    "updated_at = :now, expires_at = :expires"
                ),
                ConditionExpression=f"#status IN ({', '.join(f':from{i}' for i in range(len(sources)))})",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":received": {"S": Status.RECEIVED},
                    ":attempt": {"N": str(attempt)},
                    ":body": {"S": body},
                    ":now": {"S": stamp},
                    ":expires": {"N": str(self._expiry(now))},
                    **{f":from{i}": {"S": status} for i, status in enumerate(sources)},
                },
            )
        except ClientError as exc:
            if _conditional_failure(exc):
                raise DuplicateRequestError(f"request {request_id} is already submitted") from exc
            raise

    def mark_submitted(self, request_id: str, task_arns: list[str], now: datetime) -> bool:
        """RECEIVED → SUBMITTED with the task ARNs; False if the request was not RECEIVED any more."""
        return self._transition(
            request_id,
            Status.SUBMITTED,
            now,
            extra_set="task_arns = :arns",
            values={":arns": {"SS": task_arns}},
        )

    def mark_failed(
        self, request_id: str, error: LastError, now: datetime, *, attempt: int | None = None
    ) -> bool:
        """Move to FAILED with the root cause (and the delivery that failed, when known); creates the
        record for messages never stored before."""
        sources = allowed_from(Status.FAILED)
        placeholders = ", ".join(f":from{i}" for i in range(len(sources)))
        attempts = {} if attempt is None else {":attempt": {"N": str(attempt)}}
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"request_id": {"S": request_id}},
                UpdateExpression=(
                    "SET #status = :failed, last_error = :error, updated_at = :now, "
                    "created_at = if_not_exists(created_at, :now), expires_at = :expires"
                    + (", attempts = :attempt" if attempts else "")
                ),
                ConditionExpression=f"attribute_not_exists(#status) OR #status IN ({placeholders})",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":failed": {"S": Status.FAILED},
                    ":error": _error_value(error),
                    ":now": {"S": now.isoformat()},
                    ":expires": {"N": str(self._expiry(now))},
                    **attempts,
                    **{f":from{i}": {"S": status} for i, status in enumerate(sources)},
                },
            )
        except ClientError as exc:
            if _conditional_failure(exc):
                return False
            raise
        return True

    def record_error(self, request_id: str, error: LastError, now: datetime) -> None:
        self.client.update_item(
            TableName=self.table_name,
            Key={"request_id": {"S": request_id}},
            UpdateExpression="SET last_error = :error, updated_at = :now",
            ExpressionAttributeValues={":error": _error_value(error), ":now": {"S": now.isoformat()}},
        )

    def mark_step(self, request_id: str, step: str, message_id: str) -> None:
        """Remember that a permanent-path step (``dead_lettered`` or ``notified``) is done for a message."""
        if step not in {"dead_lettered", "notified"}:
            raise ValueError(f"unknown step {step}")
        self.client.update_item(
            TableName=self.table_name,
            Key={"request_id": {"S": request_id}},
            UpdateExpression="SET #step = :message_id",
            ExpressionAttributeNames={"#step": f"{step}_message_id"},
            ExpressionAttributeValues={":message_id": {"S": message_id}},
        )

    def mark_stopped(self, request_id: str, task_arn: str, reason: str, now: datetime) -> bool:
        """SUBMITTED → STOPPED for a task of the current run; False if it is not (late or foreign event)."""
        return self._transition(
            request_id,
            Status.STOPPED,
            now,
            extra_set="last_stop = :stop",
            values={":stop": _stop_value(task_arn, reason)},
            condition="contains(task_arns, :task)",
            condition_values={":task": {"S": task_arn}},
        )

    def start_rerun(self, request_id: str, event_id: str, task_arn: str, reason: str, now: datetime) -> int:
        """SUBMITTED → STOPPED and ``reruns + 1``, once per EventBridge event id; returns the new run.

        A repeated event id returns the run it already started, so a crash between this write and the
        re-enqueue is repaired by the retry. Raises ``RerunNotApplicableError`` when the task is not part
        of the request's current submitted run.
        """
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key={"request_id": {"S": request_id}},
                UpdateExpression=(
                    "SET #status = :stopped, reruns = reruns + :one, updated_at = :now, "
                    "last_stop = :stop ADD rerun_event_ids :event"
                ),
                ConditionExpression=(
                    "#status = :submitted AND contains(task_arns, :task) "
                    "AND NOT contains(rerun_event_ids, :event_id)"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":stopped": {"S": Status.STOPPED},
                    ":submitted": {"S": Status.SUBMITTED},
                    ":one": {"N": "1"},
                    ":now": {"S": now.isoformat()},
                    ":stop": _stop_value(task_arn, reason),
                    ":event": {"SS": [event_id]},
                    ":event_id": {"S": event_id},
                    ":task": {"S": task_arn},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if not _conditional_failure(exc):
                raise
            record = self.get(request_id)
            if record is not None and event_id in record.rerun_event_ids:
                return record.reruns
            raise RerunNotApplicableError(
                f"task {task_arn} is not in the current submitted run of {request_id}"
            ) from exc
        return int(response["Attributes"]["reruns"]["N"])

    def _transition(
        self,
        request_id: str,
        target: Status,
        now: datetime,
        *,
        extra_set: str,
        values: dict[str, Any],
        condition: str = "",
        condition_values: dict[str, Any] | None = None,
    ) -> bool:
        sources = allowed_from(target)
        placeholders = ", ".join(f":from{i}" for i in range(len(sources)))
        extra_condition = f" AND {condition}" if condition else ""
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"request_id": {"S": request_id}},
                UpdateExpression=f"SET #status = :target, updated_at = :now, {extra_set}",
                ConditionExpression=f"#status IN ({placeholders}){extra_condition}",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":target": {"S": target},
                    ":now": {"S": now.isoformat()},
                    **values,
                    **(condition_values or {}),
                    **{f":from{i}": {"S": status} for i, status in enumerate(sources)},
                },
            )
        except ClientError as exc:
            if _conditional_failure(exc):
                return False
            raise
        return True

    def _expiry(self, now: datetime) -> int:
        return int((now + self.ttl).timestamp())


def _conditional_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _stop_value(task_arn: str, reason: str) -> Any:
    return {"M": {"task_arn": {"S": task_arn}, "reason": {"S": reason[:1024]}}}


def _error_value(error: LastError) -> Any:
    return {
        "M": {
            "class": {"S": error.failure_class},
            "code": {"S": error.code},
            "message": {"S": error.message[:2048]},
        }
    }


def _record(item: dict[str, Any]) -> RequestRecord:
    error = item.get("last_error", {}).get("M")
    return RequestRecord(
        request_id=item["request_id"]["S"],
        status=Status(item["status"]["S"]) if "status" in item else None,
        body=item.get("body", {}).get("S", ""),
        attempts=int(item.get("attempts", {}).get("N", "0")),
        reruns=int(item.get("reruns", {}).get("N", "0")),
        task_arns=frozenset(item.get("task_arns", {}).get("SS", [])),
        last_error=LastError(error["class"]["S"], error["code"]["S"], error["message"]["S"])
        if error
        else None,
        dead_lettered_message_id=item.get("dead_lettered_message_id", {}).get("S", ""),
        notified_message_id=item.get("notified_message_id", {}).get("S", ""),
        rerun_event_ids=frozenset(item.get("rerun_event_ids", {}).get("SS", [])),
        last_stop_task_arn=item.get("last_stop", {}).get("M", {}).get("task_arn", {}).get("S", ""),
    )
