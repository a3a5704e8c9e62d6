"""Re-run of the original message when a task stopped on an ENI provisioning timeout.

The ECS event cannot be turned back into a RunTask request, so the stored original body is sent to the
request queue again, with a delay growing per re-run and the re-run number as a message attribute (a new
``clientToken``). After ``max_reruns`` the request takes the permanent path with ``EniTimeout``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from blueprints.broker.dispatcher import RERUN_ATTRIBUTE
from blueprints.broker.errors import EniRerunLimitError
from blueprints.broker.failures import FailedMessage, Invocation, PermanentPath
from blueprints.broker.ports import Notifier, Queues, Store
from blueprints.broker.state import RequestRecord, RerunNotApplicableError, Status
from blueprints.core.observability import count, logger

ENI_TIMEOUT_PREFIX = "Timeout waiting for network interface provisioning"
MAX_DELAY_SECONDS = 900  # SQS DelaySeconds maximum


class RerunOutcome(StrEnum):
    RERUN = "RERUN"
    FAILED = "FAILED"
    IGNORED = "IGNORED"


@dataclass(frozen=True)
class TaskStopped:
    event_id: str
    task_arn: str
    started_by: str
    stopped_reason: str


class Rerunner:
    def __init__(
        self,
        *,
        store: Store,
        queues: Queues,
        notifier: Notifier,
        invocation: Invocation,
        request_queue_url: str,
        max_reruns: int,
        delay_seconds: int,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.queues = queues
        self.request_queue_url = request_queue_url
        self.max_reruns = max_reruns
        self.delay_seconds = delay_seconds
        self.now = now
        self.permanent = PermanentPath(store, queues, notifier, invocation, now)

    def handle(self, event: TaskStopped) -> RerunOutcome:
        logger.append_keys(request_id=event.started_by, event_id=event.event_id, task_arn=event.task_arn)
        if not event.stopped_reason.startswith(ENI_TIMEOUT_PREFIX):
            logger.info("ignored: not an ENI provisioning timeout")
            return RerunOutcome.IGNORED
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", event.started_by):
            logger.info("ignored: task not started by the broker")
            return RerunOutcome.IGNORED
        record = self.store.get(event.started_by)
        if record is None or not record.body:
            logger.info("ignored: unknown request")
            return RerunOutcome.IGNORED
        if record.status == Status.FAILED:
            logger.info("ignored: request already failed")
            return RerunOutcome.IGNORED
        if record.reruns >= self.max_reruns and event.event_id not in record.rerun_event_ids:
            return self._give_up(event, record)
        try:
            run = self.store.start_rerun(
                event.started_by, event.event_id, event.task_arn, event.stopped_reason, self.now()
            )
        except RerunNotApplicableError:
            logger.info("ignored: task is not part of the current run")
            return RerunOutcome.IGNORED
        delay = min(MAX_DELAY_SECONDS, self.delay_seconds * run)
        self.queues.enqueue(self.request_queue_url, record.body, delay, {RERUN_ATTRIBUTE: str(run)})
        count("EniRerun", {})
        logger.info("re-run enqueued", extra={"rerun": run, "delay_seconds": delay})
        return RerunOutcome.RERUN

    def _give_up(self, event: TaskStopped, record: RequestRecord) -> RerunOutcome:
        if record.status == Status.SUBMITTED:
            if not self.store.mark_stopped(
                event.started_by, event.task_arn, event.stopped_reason, self.now()
            ):
                logger.info("ignored: task is not part of the current run")
                return RerunOutcome.IGNORED
        elif record.status != Status.STOPPED or record.last_stop_task_arn != event.task_arn:
            # STOPPED by another task's event: its re-run is pending, this late event changes nothing.
            logger.info("ignored: a re-run of this request is already pending")
            return RerunOutcome.IGNORED
        message = FailedMessage(
            key=event.started_by,
            message_id=f"event:{event.event_id}",
            body=record.body,
            attempt=record.attempts,
        )
        self.permanent.route(EniRerunLimitError(record.reruns, event.stopped_reason), message)
        return RerunOutcome.FAILED
