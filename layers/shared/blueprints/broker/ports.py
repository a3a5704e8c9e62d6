"""What the broker's domain needs from the outside world (implemented in ``adapters`` and ``records``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from blueprints.broker.request import TaskDefinitionInfo
from blueprints.broker.state import LastError, RequestRecord


@dataclass(frozen=True)
class LaunchResult:
    """What RunTask answered: the tasks started and the ``failures[]`` entries."""

    task_arns: list[str]
    failures: list[dict[str, str]]


class Launcher(Protocol):
    def describe(self, task_definition: str, *, cacheable: bool) -> TaskDefinitionInfo: ...
    def run(self, arguments: dict[str, Any]) -> LaunchResult: ...


class Store(Protocol):
    def get(self, request_id: str) -> RequestRecord | None: ...
    def begin_attempt(self, request_id: str, body: str, attempt: int, run: int, now: datetime) -> None: ...
    def mark_submitted(self, request_id: str, task_arns: list[str], now: datetime) -> bool: ...
    def mark_failed(
        self, request_id: str, error: LastError, now: datetime, *, attempt: int | None = None
    ) -> bool: ...
    def record_error(self, request_id: str, error: LastError, now: datetime) -> None: ...
    def mark_step(self, request_id: str, step: str, message_id: str) -> None: ...
    def mark_stopped(self, request_id: str, task_arn: str, reason: str, now: datetime) -> bool: ...
    def start_rerun(
        self, request_id: str, event_id: str, task_arn: str, reason: str, now: datetime
    ) -> int: ...


class Queues(Protocol):
    def hide(self, queue_url: str, receipt_handle: str, seconds: int) -> bool: ...
    def dead_letter(self, body: str, attributes: dict[str, str]) -> None: ...
    def enqueue(self, queue_url: str, body: str, delay_seconds: int, attributes: dict[str, str]) -> None: ...


class Notifier(Protocol):
    def publish(
        self,
        notice: dict[str, Any],
        subject: str,
        extra_topic_arn: str | None = None,
        *,
        extra_subject: str | None = None,
    ) -> None: ...
