"""The launches read model and retry requests (the HTTP API's domain; the handler maps errors to codes)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from blueprints.genomics.errors import InvalidLaunchConfigError, LaunchNotFoundError, RetryNotAllowedError
from blueprints.genomics.registry import LaunchRegistry
from blueprints.genomics.restore_store import RestoreStore
from blueprints.genomics.status import Status

HIDDEN = ("request_json", "dedupe_key", "status_rank")


def view(values: dict[str, Any]) -> dict[str, Any]:
    """A launch as the API shows it: the stored request parsed, bookkeeping fields left out."""
    shown = {name: value for name, value in values.items() if name not in HIDDEN}
    if values.get("request_json"):
        shown["request"] = json.loads(values["request_json"])
    return shown


@dataclass(frozen=True)
class ListQuery:
    status: str | None
    limit: int
    next_token: str | None

    @classmethod
    def parse(cls, params: dict[str, str]) -> ListQuery:
        status = params.get("status")
        if status is None:
            raise InvalidLaunchConfigError("status: required (one of " + ", ".join(Status) + ")")
        if status not in Status.__members__:
            raise InvalidLaunchConfigError(f"status: {status!r} is not one of {', '.join(Status)}")
        try:
            limit = int(params.get("limit", "50"))
        except ValueError as exc:
            raise InvalidLaunchConfigError("limit: not an integer") from exc
        if not 1 <= limit <= 100:
            raise InvalidLaunchConfigError("limit: must be between 1 and 100")
        return cls(status, limit, params.get("next_token"))


RESTORE_FIELDS = (
    "status",
    "total",
    "remaining",
    "restored",
    "skipped",
    "failed",
    "readable",
    "tier",
    "days",
    "deadline_at",
    "estimate",
    "failure_reason",
)


TOKEN_KEYS = frozenset({"launch_id", "status", "updated_at"})  # the status index's LastEvaluatedKey


def _start_key(token: str, status: str) -> dict[str, str]:
    """The key a ``next_token`` stands for; anything this API did not issue for this status is refused
    here, as the caller's mistake (a malformed start key would fail in DynamoDB, as a server error)."""
    try:
        start = json.loads(token)
    except ValueError as exc:
        raise InvalidLaunchConfigError("next_token: not a token this API issued") from exc
    if (
        not isinstance(start, dict)
        or set(start) != TOKEN_KEYS
        or not all(isinstance(value, str) and value for value in start.values())  # keys are never empty
        or start["status"] != status
    ):
        raise InvalidLaunchConfigError("next_token: not a token this API issued")
    return start


class LaunchesApi:
    def __init__(
        self, registry: LaunchRegistry, now: Callable[[], datetime], restores: RestoreStore | None = None
    ) -> None:
        self.registry = registry
        self.now = now
        self.restores = restores

    def get(self, launch_id: str) -> dict[str, Any]:
        values = self.registry.get_plain(launch_id)
        if values is None:
            raise LaunchNotFoundError(f"no launch {launch_id}")
        shown = view(values)
        if self.restores is not None and values.get("restore_request_uri"):
            meta = self.restores.meta(launch_id)
            if meta is not None:  # restore progress: objects total / restored / failed, and the estimate
                shown["restore"] = {name: meta[name] for name in RESTORE_FIELDS if name in meta}
        return shown

    def list(self, query: ListQuery) -> dict[str, Any]:
        start = _start_key(query.next_token, query.status or "") if query.next_token else None
        page = self.registry.by_status(Status(query.status or ""), limit=query.limit, start_key=start)
        return {"launches": [view(item) for item in page.items], "next_token": page.next_token}

    def retry(self, launch_id: str) -> dict[str, Any]:
        launch = self.registry.get(launch_id)
        if launch is None:
            raise LaunchNotFoundError(f"no launch {launch_id}")
        if launch.status is not Status.FAILED:
            raise RetryNotAllowedError(
                f"launch {launch_id} is {launch.status}; only FAILED launches can be retried"
            )
        moved = self.registry.transition(
            launch_id,
            attempt=launch.attempt,
            sources={Status.FAILED},
            target=Status.RETRY_REQUESTED,
            now=self.now(),
        )
        if moved is None:
            raise RetryNotAllowedError(
                f"launch {launch_id} changed while the retry was requested; read it again"
            )
        return {"launch_id": launch_id, "status": moved.status.value, "attempt": launch.attempt + 1}
