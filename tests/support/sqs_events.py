"""Small edits of SQS Lambda events loaded from the sample files (never hand-built event dicts)."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from typing import Any

Event = dict[str, Any]


def records(event: Event) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = event["Records"]
    return found


def message_ids(event: Event) -> list[str]:
    return [record["messageId"] for record in records(event)]


def _set_body(record: dict[str, Any], body: str) -> None:
    record["body"] = body
    record["md5OfBody"] = hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()


def replace_in_bodies(event: Event, replacements: Mapping[str, str]) -> Event:
    """A copy of ``event`` with each placeholder text replaced in every body (e.g. sample subnet ids)."""
    changed = copy.deepcopy(event)
    for record in records(changed):
        body = record["body"]
        for old, new in replacements.items():
            body = body.replace(old, new)
        _set_body(record, body)
    return changed


def with_body(event: Event, body: str, index: int = 0) -> Event:
    changed = copy.deepcopy(event)
    _set_body(records(changed)[index], body)
    return changed


def with_receive_count(event: Event, count: int) -> Event:
    """A copy of ``event`` as delivered for the ``count``-th time (ApproximateReceiveCount)."""
    changed = copy.deepcopy(event)
    for record in records(changed):
        record["attributes"]["ApproximateReceiveCount"] = str(count)
    return changed


def with_receipt(event: Event, message_id: str, receipt_handle: str, index: int = 0) -> Event:
    """A copy of ``event`` whose record ``index`` is a message really received from a (moto) queue."""
    changed = copy.deepcopy(event)
    record = records(changed)[index]
    record["messageId"] = message_id
    record["receiptHandle"] = receipt_handle
    return changed


def with_queue_arn(event: Event, queue_arn: str) -> Event:
    changed = copy.deepcopy(event)
    for record in records(changed):
        record["eventSourceARN"] = queue_arn
    return changed


def with_message_attribute(event: Event, name: str, value: str, data_type: str = "String") -> Event:
    """A copy of ``event`` with one message attribute set on every record, in the Lambda event shape."""
    changed = copy.deepcopy(event)
    for record in records(changed):
        record.setdefault("messageAttributes", {})[name] = {
            "stringValue": value,
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": data_type,
        }
    return changed
