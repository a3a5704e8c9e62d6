"""The permanent path, shared by the dispatcher and the ENI re-run: DLQ copy, SNS notice, FAILED.

Each step is remembered per SQS message id, so a retry after a partial failure (the notice failed after
the DLQ copy was sent) repeats only the missing steps: the DLQ gets one copy and subscribers one notice.
If a step raises, the caller reports the record as a batch item failure and nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from blueprints.broker.errors import BrokerPermanentError, InvalidArgumentsError
from blueprints.broker.ports import Notifier, Queues, Store
from blueprints.broker.state import LastError
from blueprints.core.observability import count, logger

SUBJECT_LIMIT = 100


@dataclass(frozen=True)
class Invocation:
    """Where the logs of this invocation are (from the Lambda context), for notices."""

    log_group: str
    log_stream: str
    aws_request_id: str


@dataclass(frozen=True)
class FailedMessage:
    key: str  # request id, or "invalid:<message id>" when the body has no usable request id
    message_id: str
    body: str
    attempt: int
    cluster: str = ""
    task_definition: str = ""
    extra_topic_arn: str | None = None
    subject: str | None = None  # the request's notify.subject, for its extra topic


def record_failure(failure_class: str, code: str) -> None:
    """The BrokerFailure metric, by class and code, plus a by-class series for alarms."""
    count("BrokerFailure", {"class": failure_class, "code": code})
    count("BrokerFailureByClass", {"class": failure_class})


def notice(error: BrokerPermanentError, message: FailedMessage, invocation: Invocation) -> dict[str, Any]:
    body: dict[str, Any] = {
        "request_id": message.key,
        "error_class": str(error.failure_class),
        "error_code": error.error_code,
        "message": str(error),
        "attempt": message.attempt,
        "cluster": message.cluster,
        "taskDefinition": message.task_definition,
        "log_group": invocation.log_group,
        "log_stream": invocation.log_stream,
        "aws_request_id": invocation.aws_request_id,
    }
    if isinstance(error, InvalidArgumentsError):
        body["errors"] = [{"field": e.field, "message": e.message} for e in error.errors]
    return body


class PermanentPath:
    def __init__(
        self,
        store: Store,
        queues: Queues,
        notifier: Notifier,
        invocation: Invocation,
        now: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.queues = queues
        self.notifier = notifier
        self.invocation = invocation
        self.now = now

    def route(self, error: BrokerPermanentError, message: FailedMessage) -> None:
        record_failure(error.failure_class, error.error_code)
        logger.warning(
            "request failed permanently",
            extra={"error_class": error.failure_class, "error_code": error.error_code, "reason": str(error)},
        )
        done = self.store.get(message.key)
        if done is None or done.dead_lettered_message_id != message.message_id:
            self.queues.dead_letter(
                message.body,
                {
                    "error_class": str(error.failure_class),
                    "error_code": error.error_code,
                    "attempt": str(message.attempt),
                },
            )
            self.store.mark_step(message.key, "dead_lettered", message.message_id)
        if done is None or done.notified_message_id != message.message_id:
            subject = f"Blueprints broker {error.failure_class}: {message.key}"[:SUBJECT_LIMIT]
            self.notifier.publish(
                notice(error, message, self.invocation),
                subject,
                message.extra_topic_arn,
                extra_subject=message.subject,
            )
            self.store.mark_step(message.key, "notified", message.message_id)
        last = LastError(str(error.failure_class), error.error_code, str(error))
        if not self.store.mark_failed(message.key, last, self.now(), attempt=message.attempt):
            logger.info("status kept: request is already submitted", extra={"request_key": message.key})
