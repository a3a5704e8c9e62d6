"""Request state: statuses, the one transition table, and the record the requests table holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from blueprints.core.errors import PermanentError


class Status(StrEnum):
    RECEIVED = "RECEIVED"
    SUBMITTED = "SUBMITTED"
    STOPPED = "STOPPED"
    FAILED = "FAILED"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.RECEIVED: frozenset({Status.RECEIVED, Status.SUBMITTED, Status.FAILED}),
    Status.SUBMITTED: frozenset({Status.STOPPED}),
    Status.STOPPED: frozenset({Status.RECEIVED, Status.FAILED}),
    Status.FAILED: frozenset({Status.RECEIVED, Status.FAILED}),
}


def allowed_from(target: Status) -> list[Status]:
    """The statuses from which ``target`` may be reached, in a stable order."""
    return [status for status in Status if target in TRANSITIONS[status]]


class DuplicateRequestError(PermanentError):
    """The request was already submitted for this run: a duplicate delivery, nothing to do."""


class RerunNotApplicableError(PermanentError):
    """The stopped task does not belong to the current run of the request (late or foreign event)."""


@dataclass(frozen=True)
class LastError:
    failure_class: str
    code: str
    message: str


@dataclass(frozen=True)
class RequestRecord:
    request_id: str
    status: Status | None
    body: str = ""
    attempts: int = 0
    reruns: int = 0
    task_arns: frozenset[str] = frozenset()
    last_error: LastError | None = None
    dead_lettered_message_id: str = ""
    notified_message_id: str = ""
    rerun_event_ids: frozenset[str] = field(default_factory=frozenset)
    last_stop_task_arn: str = ""
