"""The broker's decision for one SQS delivery: validate, check the retry limit, launch, classify.

``Dispatcher.dispatch`` returns the outcome when the message is done with (submitted, duplicate,
failed permanently: the queue may delete it) and raises ``RetryLaterError`` when it must come back, after
hiding it for a backoff period computed from its receive count.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from blueprints.broker.backoff import visibility_timeout
from blueprints.broker.classify import classify_failures
from blueprints.broker.errors import (
    BrokerPermanentError,
    FailureClass,
    FieldError,
    InvalidArgumentsError,
    LaunchCapacityError,
    LaunchRejectedError,
    LaunchThrottledError,
    LaunchUnknownError,
    RetryLimitExceededError,
)
from blueprints.broker.failures import FailedMessage, Invocation, PermanentPath, record_failure
from blueprints.broker.ports import Launcher, Notifier, Queues, Store
from blueprints.broker.request import (
    BrokerPolicy,
    RunRequest,
    check_against_task_definition,
    parse_request,
    redacted_overrides,
    request_id_of,
    run_task_arguments,
    with_network_defaults,
)
from blueprints.broker.state import DuplicateRequestError, LastError, Status
from blueprints.core.errors import RetryableError
from blueprints.core.observability import count, logger

RERUN_ATTRIBUTE = "blueprints-rerun"
MAX_RERUN = 1000


class Outcome(StrEnum):
    SUBMITTED = "SUBMITTED"
    DUPLICATE = "DUPLICATE"
    FAILED = "FAILED"


class RetryLaterError(RetryableError):
    """The delivery failed for a retryable reason; the message was hidden for ``visibility`` seconds."""

    def __init__(self, cause: RetryableError, visibility: int) -> None:
        self.cause = cause
        self.visibility = visibility
        super().__init__(f"{cause.code}: {cause}; retry in {visibility}s")


@dataclass(frozen=True)
class Delivery:
    """What the broker needs of one SQS record."""

    message_id: str
    body: str
    attempt: int
    receipt_handle: str
    queue_url: str
    rerun_attribute: str | None = None


@dataclass(frozen=True)
class RetryPolicy:
    retry_limit: int
    api_base_seconds: int
    capacity_base_seconds: int
    max_backoff_seconds: int


def client_token(request_id: str, rerun: int) -> str:
    """Stable per request and run: SQS retries share it, a deliberate re-run gets a new one."""
    return hashlib.sha256(f"{request_id}:{rerun}".encode()).hexdigest()[:64]


class Dispatcher:
    def __init__(
        self,
        *,
        policy: BrokerPolicy,
        retry: RetryPolicy,
        launcher: Launcher,
        store: Store,
        queues: Queues,
        notifier: Notifier,
        invocation: Invocation,
        redact: re.Pattern[str],
        propagate_tags: bool,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.policy = policy
        self.retry = retry
        self.launcher = launcher
        self.store = store
        self.queues = queues
        self.redact = redact
        self.propagate_tags = propagate_tags
        self.now = now
        self.uniform = uniform
        self.permanent = PermanentPath(store, queues, notifier, invocation, now)

    def dispatch(self, delivery: Delivery) -> Outcome:
        logger.append_keys(message_id=delivery.message_id, attempt=delivery.attempt)
        request: RunRequest | None = None
        try:
            request = parse_request(delivery.body, self.policy)
            rerun = _rerun(delivery.rerun_attribute)
            logger.append_keys(request_id=request.request_id)
            self._check_retry_limit(request, delivery)
            self.store.begin_attempt(request.request_id, delivery.body, delivery.attempt, rerun, self.now())
            task_definition = self.launcher.describe(request.taskDefinition, cacheable=request.is_pinned)
            if request.is_fargate or task_definition.network_mode == "awsvpc":
                request = with_network_defaults(request, self.policy)
            check_against_task_definition(request, task_definition)
            logger.info(
                "launching",
                extra={
                    "cluster": request.cluster,
                    "task_definition": request.taskDefinition,
                    "overrides": redacted_overrides(request, self.redact),
                },
            )
            arguments = run_task_arguments(
                request,
                client_token=client_token(request.request_id, rerun),
                propagate_tags=self.propagate_tags,
            )
            result = self.launcher.run(arguments)
            if not result.task_arns:
                raise classify_failures(result.failures)
        except DuplicateRequestError:
            conflict = self._reused_request_id(request, delivery) if request else None
            if conflict is None:
                logger.info("duplicate delivery: request already submitted")
                count("BrokerDuplicate", {})
                return Outcome.DUPLICATE
            self.permanent.route(conflict, self._failed_message(delivery, request))
            return Outcome.FAILED
        except (InvalidArgumentsError, RetryLimitExceededError, LaunchRejectedError) as error:
            self.permanent.route(error, self._failed_message(delivery, request))
            return Outcome.FAILED
        except (LaunchThrottledError, LaunchCapacityError, LaunchUnknownError) as error:
            raise self._retry_later(error, delivery, request) from error
        if result.failures:
            count("BrokerPartialLaunch", {})
            partial = classify_failures(result.failures)
            self.store.record_error(
                request.request_id,
                LastError(str(partial.failure_class), partial.error_code, str(partial)),
                self.now(),
            )
            logger.warning("partial launch: some tasks did not start", extra={"failures": result.failures})
        self.store.mark_submitted(request.request_id, result.task_arns, self.now())
        count("TasksStarted", {}, value=len(result.task_arns))
        logger.info("submitted", extra={"task_arns": result.task_arns})
        return Outcome.SUBMITTED

    def _reused_request_id(self, request: RunRequest, delivery: Delivery) -> InvalidArgumentsError | None:
        """A different body under an already submitted request id is a producer error, not a duplicate."""
        record = self.store.get(request.request_id)
        if record is None or not record.body or _same_request(record.body, delivery.body):
            return None
        return InvalidArgumentsError(
            [FieldError("request_id", "already used by a different request that was submitted")]
        )

    def _check_retry_limit(self, request: RunRequest, delivery: Delivery) -> None:
        if delivery.attempt <= self.retry.retry_limit:
            return
        record = self.store.get(request.request_id)
        if record is not None and record.status == Status.SUBMITTED:
            # The last allowed attempt started the task but its deletion was lost: nothing failed.
            raise DuplicateRequestError(f"request {request.request_id} is already submitted")
        last = record.last_error if record else None
        raise RetryLimitExceededError(
            delivery.attempt,
            last.code if last else "Unknown",
            last.message if last else "no error was recorded",
        )

    def _retry_later(
        self,
        error: LaunchThrottledError | LaunchCapacityError | LaunchUnknownError,
        delivery: Delivery,
        request: RunRequest | None,
    ) -> RetryLaterError:
        record_failure(error.failure_class, error.error_code)
        if isinstance(error, LaunchUnknownError):
            logger.exception("unclassified launch error, retrying", extra={"error_code": error.error_code})
        else:
            logger.warning(
                "retryable launch error", extra={"error_code": error.error_code, "reason": str(error)}
            )
        if request is not None:
            self.store.record_error(
                request.request_id,
                LastError(str(error.failure_class), error.error_code, str(error)),
                self.now(),
            )
        base = (
            self.retry.capacity_base_seconds
            if error.failure_class == FailureClass.RETRYABLE_CAPACITY
            else self.retry.api_base_seconds
        )
        seconds = visibility_timeout(delivery.attempt, base, self.retry.max_backoff_seconds, self.uniform)
        self.queues.hide(delivery.queue_url, delivery.receipt_handle, seconds)
        return RetryLaterError(error, seconds)

    def _failed_message(self, delivery: Delivery, request: RunRequest | None) -> FailedMessage:
        request_id = request.request_id if request else request_id_of(delivery.body)
        return FailedMessage(
            key=request_id or f"invalid:{delivery.message_id}",
            message_id=delivery.message_id,
            body=delivery.body,
            attempt=delivery.attempt,
            cluster=request.cluster if request else "",
            task_definition=request.taskDefinition if request else "",
            extra_topic_arn=request.notify.topic_arn if request and request.notify else None,
            subject=request.notify.subject if request and request.notify else None,
        )


def _same_request(stored: str, received: str) -> bool:
    """Equal bodies, or equal JSON (a producer may re-serialise the same request)."""
    if stored == received:
        return True
    try:
        return bool(json.loads(stored) == json.loads(received))
    except (ValueError, RecursionError):
        return False


def _rerun(attribute: str | None) -> int:
    if attribute is None:
        return 0
    if not attribute.isdigit() or int(attribute) > MAX_RERUN:
        raise InvalidArgumentsError(
            [FieldError(f"messageAttributes.{RERUN_ATTRIBUTE}", f"must be an integer 0..{MAX_RERUN}")]
        )
    return int(attribute)


__all__ = ["BrokerPermanentError", "Delivery", "Dispatcher", "Outcome", "RetryLaterError", "RetryPolicy"]
