"""Failure classification for ECS ``RunTask`` and ``DescribeTaskDefinition``.

Classification reads ``error["Code"]`` of a ``ClientError`` and ``failures[].reason`` of a RunTask
response, never free-text error messages. Anything not listed is ``Unknown``: retried until the
retry limit, so an unlisted code can neither loop forever nor be dropped on first sight.
"""

from __future__ import annotations

from collections.abc import Sequence

from blueprints.broker.errors import (
    LaunchCapacityError,
    LaunchRejectedError,
    LaunchRetryableError,
    LaunchThrottledError,
    LaunchUnknownError,
)

# The documented Fargate phrase, matched only in RunTask failures[].reason.
CONCURRENT_TASK_LIMIT_PHRASE = "You've reached the limit on the number of tasks you can run concurrently"
# Transient placement problems ECS reports in failures[].reason; retried with the API backoff base.
TRANSIENT_REASON_PHRASES = ("Unable to describe security groups",)
CAPACITY_REASONS = frozenset({"AGENT", "RESOURCE:CPU", "RESOURCE:MEMORY", "RESOURCE:ENI", "RESOURCE:GPU"})

RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ServerException",
        "ServiceUnavailableException",
        "InternalFailure",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
PERMANENT_CODES = frozenset(
    {
        "ClientException",
        "InvalidParameterException",
        "AccessDeniedException",
        "PlatformTaskDefinitionIncompatibilityException",
        "PlatformUnknownException",
        "ClusterNotFoundException",
        "UnsupportedFeatureException",
        "BlockedException",
    }
)


def classify_error_code(code: str, message: str) -> LaunchRejectedError | LaunchRetryableError:
    """Map an AWS error code to a typed error."""
    if code in RETRYABLE_CODES:
        return LaunchThrottledError(code, message)
    if code in PERMANENT_CODES:
        return LaunchRejectedError(code, message)
    return LaunchUnknownError(code, message)


def classify_failures(
    failures: Sequence[dict[str, str]],
) -> LaunchRejectedError | LaunchRetryableError:
    """Map RunTask ``failures[]`` to one typed error: capacity, then transient, then unknown."""
    reasons = [failure.get("reason", "") for failure in failures]
    detail = "; ".join(
        f"{failure.get('reason', '')} {failure.get('detail', '')}".strip() for failure in failures
    )
    for reason in reasons:
        if reason in CAPACITY_REASONS or CONCURRENT_TASK_LIMIT_PHRASE in reason:
            code = "ConcurrentTaskLimit" if CONCURRENT_TASK_LIMIT_PHRASE in reason else reason
            return LaunchCapacityError(code, detail)
    for reason in reasons:
        if any(phrase in reason for phrase in TRANSIENT_REASON_PHRASES):
            return LaunchThrottledError("TransientPlacementFailure", detail)
    first = reasons[0] if reasons else "EmptyFailure"
    return LaunchUnknownError(first[:64] or "EmptyFailure", detail)
