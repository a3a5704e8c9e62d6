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


WORKFLOW_TYPES = ("snakemake", "nextflow", "container", "regenie")


@dataclass(frozen=True)
class ListQuery:
    """``GET /launches?status=&workflow_type=&limit=&next_token=``: at least one of status and workflow
    type; with both, the launches of the workflow type are filtered by status."""

    status: str | None
    limit: int
    next_token: str | None
    workflow_type: str | None = None

    @classmethod
    def parse(cls, params: dict[str, str]) -> ListQuery:
        status = params.get("status")
        workflow_type = params.get("workflow_type")
        if status is None and workflow_type is None:
            raise InvalidLaunchConfigError(
                "status: required unless workflow_type is given (one of " + ", ".join(Status) + ")"
            )
        if status is not None and status not in Status.__members__:
            raise InvalidLaunchConfigError(f"status: {status!r} is not one of {', '.join(Status)}")
        if workflow_type is not None and workflow_type not in WORKFLOW_TYPES:
            raise InvalidLaunchConfigError(
                f"workflow_type: {workflow_type!r} is not one of {', '.join(WORKFLOW_TYPES)}"
            )
        try:
            limit = int(params.get("limit", "50"))
        except ValueError as exc:
            raise InvalidLaunchConfigError("limit: not an integer") from exc
        if not 1 <= limit <= 100:
            raise InvalidLaunchConfigError("limit: must be between 1 and 100")
        return cls(status, limit, params.get("next_token"), workflow_type)


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
    "unsupported",
    "expired",
    "attempt",
)


TOKEN_KEYS = frozenset({"launch_id", "status", "updated_at"})  # the status index's LastEvaluatedKey
WORKFLOW_TOKEN_KEYS = frozenset({"launch_id", "workflow_type", "created_at"})  # the workflow index's


def _start_key(token: str, keys: frozenset[str], partition: tuple[str, str]) -> dict[str, str]:
    """The key a ``next_token`` stands for; anything this API did not issue for this query (its index
    keys, and ``partition``: the queried status or workflow type) is refused here, as the caller's
    mistake (a malformed start key would fail in DynamoDB, as a server error)."""
    try:
        start = json.loads(token)
    except ValueError as exc:
        raise InvalidLaunchConfigError("next_token: not a token this API issued") from exc
    if (
        not isinstance(start, dict)
        or set(start) != keys
        or not all(isinstance(value, str) and value for value in start.values())  # keys are never empty
        or start[partition[0]] != partition[1]
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
        status = Status(query.status) if query.status is not None else None
        if query.workflow_type is not None:
            start = (
                _start_key(query.next_token, WORKFLOW_TOKEN_KEYS, ("workflow_type", query.workflow_type))
                if query.next_token
                else None
            )
            page = self.registry.by_workflow_type(
                query.workflow_type, status=status, limit=query.limit, start_key=start
            )
        else:
            start = (
                _start_key(query.next_token, TOKEN_KEYS, ("status", query.status or ""))
                if query.next_token
                else None
            )
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
