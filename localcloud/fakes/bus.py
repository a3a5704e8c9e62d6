"""What moto extensions share: the local cloud's time, and events put on a default bus as AWS puts them.

Why: a service that AWS makes emit EventBridge events (OpsCenter, CodePipeline) has to emit them
locally too, through moto's events backend, so rules and the local cloud's EventBridge targets deliver
them like any other event. Their timestamps follow the virtual clock when the local cloud installed
one: ``VirtualClock.install`` makes EventBridge's time source (``moto.events.models.unix_time``) read
it, so reading the time there keeps a resource's timestamps and its events' ``time`` in step.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

__all__ = ["now", "put_event", "to_datetime"]


def now() -> datetime:
    """The local cloud's current time (aware, UTC): the virtual clock's when installed, else real time."""
    from moto.events import models

    return datetime.fromtimestamp(models.unix_time(), UTC)  # type: ignore[attr-defined]


def to_datetime(value: Any) -> datetime:
    """A request timestamp (epoch seconds as JSON protocols send it, ISO 8601, or a datetime) in UTC."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC)
    text = str(value).strip()
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def put_event(
    account_id: str,
    region: str,
    *,
    source: str,
    detail_type: str,
    detail: Mapping[str, Any],
    resources: Sequence[str],
    time: datetime,
) -> None:
    """Put one event on the default bus of ``account_id``/``region``, as the AWS service would."""
    from moto.events.models import events_backends

    entry = {
        "Source": source,
        "DetailType": detail_type,
        "Detail": json.dumps(detail),
        "Resources": list(resources),
        "Time": time.timestamp(),
    }
    events_backends[account_id][region].put_events([entry])
