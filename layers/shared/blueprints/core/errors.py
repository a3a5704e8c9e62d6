"""Base error types.

Every blueprint raises typed exceptions derived from these two classes. The class name is the error
code: it is what logs, metrics, notices and Step Functions ``ErrorEquals`` use. Retryable and
permanent failures are different classes, so that no caller ever classifies an error by its message.
"""

from __future__ import annotations


class BlueprintError(Exception):
    """Root of every error raised on purpose by Blueprints code."""

    retryable: bool = False

    @property
    def code(self) -> str:
        return type(self).__name__


class RetryableError(BlueprintError):
    """The same input may succeed later (throttling, capacity, a dependency briefly unavailable)."""

    retryable = True


class PermanentError(BlueprintError):
    """The same input will fail again: retrying only burns budget."""


class ConfigurationError(PermanentError):
    """The function is deployed with missing or invalid settings."""
