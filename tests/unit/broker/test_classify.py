"""Failure classification: error codes of ClientError and failures[].reason of RunTask, nothing else."""

from __future__ import annotations

import pytest

from blueprints.broker.classify import (
    CAPACITY_REASONS,
    CONCURRENT_TASK_LIMIT_PHRASE,
    PERMANENT_CODES,
    RETRYABLE_CODES,
    classify_error_code,
    classify_failures,
)
from blueprints.broker.errors import (
    FailureClass,
    LaunchCapacityError,
    LaunchRejectedError,
    LaunchThrottledError,
    LaunchUnknownError,
)
from blueprints.core.errors import PermanentError, RetryableError

# The spec's lists (§5), spelled out so that a code dropped from the module fails a test.
SPEC_RETRYABLE = ["ThrottlingException", "ServerException"]
SPEC_PERMANENT = [
    "ClientException",
    "InvalidParameterException",
    "AccessDeniedException",
    "PlatformTaskDefinitionIncompatibilityException",
    "PlatformUnknownException",
    "ClusterNotFoundException",
    "UnsupportedFeatureException",
    "BlockedException",
]
SPEC_CAPACITY_REASONS = ["AGENT", "RESOURCE:CPU", "RESOURCE:MEMORY", "RESOURCE:ENI"]


@pytest.mark.parametrize("code", sorted(set(SPEC_RETRYABLE) | RETRYABLE_CODES))
def test_retryable_codes_are_retryable_api_errors(code: str) -> None:
    error = classify_error_code(code, "Rate exceeded")

    assert type(error) is LaunchThrottledError
    assert (error.failure_class, error.error_code, str(error)) == (
        FailureClass.RETRYABLE_API,
        code,
        "Rate exceeded",
    )
    assert isinstance(error, RetryableError)


@pytest.mark.parametrize("code", sorted(set(SPEC_PERMANENT) | PERMANENT_CODES))
def test_permanent_codes_are_rejected_launches(code: str) -> None:
    error = classify_error_code(code, "bad request")

    assert type(error) is LaunchRejectedError
    assert (error.failure_class, error.error_code) == (FailureClass.PERMANENT_API, code)
    assert isinstance(error, PermanentError)


def test_invalid_parameter_is_never_retried() -> None:
    error = classify_error_code("InvalidParameterException", "Network Configuration must be provided")
    assert error.retryable is False


@pytest.mark.parametrize("code", ["LimitExceededException", "SomethingNew", "Unknown", ""])
def test_unlisted_codes_are_unknown_and_retryable(code: str) -> None:
    error = classify_error_code(code, "what is this")

    assert type(error) is LaunchUnknownError
    assert (error.failure_class, error.error_code, error.retryable) == (FailureClass.UNKNOWN, code, True)


def test_the_concurrency_phrase_is_not_matched_in_error_messages() -> None:
    # The phrase means "capacity" only in failures[].reason; in an error message it classifies nothing
    error = classify_error_code("LimitExceededException", CONCURRENT_TASK_LIMIT_PHRASE)
    assert type(error) is LaunchUnknownError


def test_the_phrase_is_one_constant_with_the_documented_wording() -> None:
    assert CONCURRENT_TASK_LIMIT_PHRASE == (
        "You've reached the limit on the number of tasks you can run concurrently"
    )


@pytest.mark.parametrize("reason", sorted(set(SPEC_CAPACITY_REASONS) | CAPACITY_REASONS))
def test_capacity_reasons_are_capacity_errors(reason: str) -> None:
    error = classify_failures(
        [{"arn": "arn:aws:ecs:us-east-1:123456789012:container-instance/x", "reason": reason}]
    )

    assert type(error) is LaunchCapacityError
    assert (error.failure_class, error.error_code, error.retryable) == (
        FailureClass.RETRYABLE_CAPACITY,
        reason,
        True,
    )


def test_the_concurrency_phrase_in_a_reason_is_capacity() -> None:
    failures = [{"arn": "", "reason": f"{CONCURRENT_TASK_LIMIT_PHRASE}.", "detail": "quota 500"}]

    error = classify_failures(failures)

    assert type(error) is LaunchCapacityError
    assert error.error_code == "ConcurrentTaskLimit"
    assert str(error) == f"{CONCURRENT_TASK_LIMIT_PHRASE}. quota 500"


def test_capacity_wins_over_unknown_reasons_in_one_response() -> None:
    error = classify_failures([{"reason": "MISSING"}, {"reason": "RESOURCE:MEMORY", "detail": "need 4096"}])

    assert type(error) is LaunchCapacityError
    assert error.error_code == "RESOURCE:MEMORY"
    assert str(error) == "MISSING; RESOURCE:MEMORY need 4096"


def test_unable_to_describe_security_groups_is_a_transient_api_failure() -> None:
    failures = [{"arn": "arn:x", "reason": "Unable to describe security groups: sg-0c2d3e4f5a6b7c8d9"}]

    error = classify_failures(failures)

    assert type(error) is LaunchThrottledError
    assert (error.failure_class, error.error_code) == (
        FailureClass.RETRYABLE_API,
        "TransientPlacementFailure",
    )


def test_capacity_wins_over_transient_reasons() -> None:
    error = classify_failures([{"reason": "Unable to describe security groups"}, {"reason": "RESOURCE:ENI"}])
    assert type(error) is LaunchCapacityError


@pytest.mark.parametrize("reason", ["MISSING", "INACTIVE", "ATTRIBUTE", "resource:cpu"])
def test_other_reasons_are_unknown(reason: str) -> None:
    error = classify_failures([{"arn": "arn:x", "reason": reason}])

    assert type(error) is LaunchUnknownError
    assert error.error_code == reason


def test_a_long_reason_is_truncated_in_the_code_but_kept_in_the_message() -> None:
    reason = "R" * 300
    error = classify_failures([{"reason": reason}])

    assert error.error_code == "R" * 64
    assert str(error) == reason


@pytest.mark.parametrize("failures", [[], [{"arn": "arn:x"}], [{"reason": ""}]])
def test_empty_failures_are_unknown(failures: list[dict[str, str]]) -> None:
    error = classify_failures(failures)

    assert type(error) is LaunchUnknownError
    assert error.error_code == "EmptyFailure"
