"""Event source mapping ``FilterCriteria``, evaluated with moto's own EventBridge pattern matcher.

Lambda filters with EventBridge pattern syntax, so moto's ``EventPattern`` (prefix, numeric,
anything-but, exists, ``$or``...) is the matcher; the local cloud only decides what a record looks
like to a filter. A record passes when any filter matches; a mapping without filters passes all.
For SQS, Lambda matches ``body`` as JSON when the body is a JSON object, and as plain text otherwise.
"""

from __future__ import annotations

import json
from typing import Any, cast

from moto.events.models import EventPattern


class RecordFilter:
    """The compiled ``FilterCriteria`` of one mapping (``{"Filters": [{"Pattern": "<json>"}]}``)."""

    def __init__(self, criteria: dict[str, Any] | None) -> None:
        filters = (criteria or {}).get("Filters") or []
        self._patterns = [EventPattern.load(item["Pattern"]) for item in filters if item.get("Pattern")]

    def __bool__(self) -> bool:
        return bool(self._patterns)

    def matches(self, record: dict[str, Any]) -> bool:
        return not self._patterns or any(
            pattern.matches_event(cast(Any, record)) for pattern in self._patterns
        )


def sqs_filter_view(record: dict[str, Any]) -> dict[str, Any]:
    """The SQS record as Lambda's filter sees it: a JSON object body is matched as data."""
    try:
        body = json.loads(record["body"])
    except ValueError:
        return record
    return {**record, "body": body} if isinstance(body, dict) else record
