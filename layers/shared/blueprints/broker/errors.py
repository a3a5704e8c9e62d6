"""Typed broker errors. ``failure_class`` is what notices, DLQ attributes and metrics carry."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from blueprints.core.errors import PermanentError, RetryableError


class FailureClass(StrEnum):
    INVALID = "Invalid"
    RETRY_LIMIT = "RetryLimitExceeded"
    RETRYABLE_API = "RetryableApi"
    RETRYABLE_CAPACITY = "RetryableCapacity"
    PERMANENT_API = "PermanentApi"
    UNKNOWN = "Unknown"
    ENI_TIMEOUT = "EniTimeout"


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class InvalidArgumentsError(PermanentError):
    """The message is not a valid run request. Retrying cannot fix it."""

    failure_class = FailureClass.INVALID

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        self.error_code = "InvalidArguments"
        super().__init__("; ".join(str(error) for error in errors))


class RetryLimitExceededError(PermanentError):
    """The request was tried ``RETRY_LIMIT`` times; carries the last root cause."""

    failure_class = FailureClass.RETRY_LIMIT

    def __init__(self, attempt: int, last_code: str, last_message: str) -> None:
        self.attempt = attempt
        self.error_code = last_code
        super().__init__(f"attempt {attempt} exceeds the retry limit; last error {last_code}: {last_message}")


class EniRerunLimitError(PermanentError):
    """Tasks of the request kept stopping on ENI provisioning timeouts."""

    failure_class = FailureClass.ENI_TIMEOUT

    def __init__(self, reruns: int, reason: str) -> None:
        self.error_code = "EniProvisioningTimeout"
        super().__init__(f"stopped after {reruns} re-runs: {reason}")


class LaunchRejectedError(PermanentError):
    """ECS rejected the request for a reason that will not change (bad task definition, access denied)."""

    failure_class = FailureClass.PERMANENT_API

    def __init__(self, error_code: str, message: str) -> None:
        self.error_code = error_code
        super().__init__(message)


class LaunchThrottledError(RetryableError):
    """ECS throttled or failed transiently; retry with the API backoff base."""

    failure_class = FailureClass.RETRYABLE_API

    def __init__(self, error_code: str, message: str) -> None:
        self.error_code = error_code
        super().__init__(message)


class LaunchCapacityError(RetryableError):
    """No capacity to place the task right now; retry with the capacity backoff base."""

    failure_class = FailureClass.RETRYABLE_CAPACITY

    def __init__(self, error_code: str, message: str) -> None:
        self.error_code = error_code
        super().__init__(message)


class LaunchUnknownError(RetryableError):
    """An error nobody classified: retried until the retry limit, logged with full context."""

    failure_class = FailureClass.UNKNOWN

    def __init__(self, error_code: str, message: str) -> None:
        self.error_code = error_code
        super().__init__(message)


LaunchRetryableError = LaunchThrottledError | LaunchCapacityError | LaunchUnknownError
BrokerPermanentError = (
    InvalidArgumentsError | RetryLimitExceededError | EniRerunLimitError | LaunchRejectedError
)
