"""Typed errors of the DORA blueprint. The class name is the error code (logs, ASL ``ErrorEquals``)."""

from __future__ import annotations

from blueprints.core.errors import PermanentError, RetryableError


class InvalidEventError(PermanentError):
    """An event or payload does not have the documented shape; it is rejected, never half-processed."""


class InvalidRequestError(PermanentError):
    """An API request has a missing or malformed parameter (HTTP 400)."""


class UnknownServiceError(PermanentError):
    """The API was asked about a service that has no facts (HTTP 404)."""


class UnknownEditionError(PermanentError):
    """No benchmark data file for the requested DORA report edition."""


class SignatureError(PermanentError):
    """A webhook call is unsigned or wrongly signed (HTTP 401)."""


class SourceUnavailableError(RetryableError):
    """A source API (GitHub, CodePipeline, OpsCenter) failed transiently; retry later."""

    def __init__(self, message: str, *, retry_after_seconds: int | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class RateLimitedError(SourceUnavailableError):
    """GitHub's rate limit is exhausted until ``retry_after_seconds`` from now."""


class SourceNotFoundError(PermanentError):
    """A source object (commit, pipeline, execution, OpsItem) does not exist or is not readable."""


class IncidentWriteConflictError(RetryableError):
    """An incident kept being changed by concurrent writers while it was merged; retry the event."""
