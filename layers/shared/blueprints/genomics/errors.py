"""Typed errors of the genomics blueprint. The class name is the ``error_code`` stored on a launch."""

from __future__ import annotations

from blueprints.core.errors import PermanentError, RetryableError


class MissingRequiredParametersError(PermanentError):
    """The launch id or the configuration path is missing, or the configuration cannot be read
    (404/403). Permanent: never retried automatically."""


class InvalidLaunchConfigError(PermanentError):
    """The configuration is readable but violates the schema or the engine's rules."""


class LaunchRejectedError(PermanentError):
    """The compute service refused the launch for a reason a retry will not change."""

    def __init__(self, error_code: str, message: str) -> None:
        self.error_code = error_code
        super().__init__(message)


class LaunchTransientError(RetryableError):
    """Starting compute failed transiently (throttling, capacity, a dependency briefly down)."""

    def __init__(self, error_code: str, message: str) -> None:
        self.error_code = error_code
        super().__init__(message)


class LaunchNotFoundError(PermanentError):
    """No launch with this id."""


class RetryNotAllowedError(PermanentError):
    """A retry was asked for a launch that is not FAILED."""


class LaunchConflictError(PermanentError):
    """The launch id is already registered from a different request."""
