"""Base errors: the class name is the code, retryable and permanent errors are different classes."""

from __future__ import annotations

import pytest

from blueprints.core.errors import BlueprintError, ConfigurationError, PermanentError, RetryableError


class ExampleThrottledError(RetryableError):
    pass


class ExampleRejectedError(PermanentError):
    pass


@pytest.mark.parametrize(
    ("error", "code", "retryable"),
    [
        (BlueprintError("x"), "BlueprintError", False),
        (RetryableError("x"), "RetryableError", True),
        (PermanentError("x"), "PermanentError", False),
        (ConfigurationError("x"), "ConfigurationError", False),
        (ExampleThrottledError("x"), "ExampleThrottledError", True),
        (ExampleRejectedError("x"), "ExampleRejectedError", False),
    ],
)
def test_code_is_the_class_name_and_retryable_follows_the_base(
    error: BlueprintError, code: str, retryable: bool
) -> None:
    assert error.code == code
    assert error.retryable is retryable


def test_configuration_errors_are_permanent() -> None:
    assert issubclass(ConfigurationError, PermanentError)
    assert not issubclass(ConfigurationError, RetryableError)


def test_retryable_and_permanent_are_disjoint() -> None:
    assert not issubclass(RetryableError, PermanentError)
    assert not issubclass(PermanentError, RetryableError)
    assert issubclass(RetryableError, BlueprintError)
    assert issubclass(PermanentError, BlueprintError)


def test_message_is_kept() -> None:
    assert str(ExampleRejectedError("bad task definition")) == "bad task definition"
