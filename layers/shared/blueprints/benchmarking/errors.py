"""Typed errors of the benchmarking blueprint. The class name is the code that ASL ``ErrorEquals``,
``costMissing`` entries and logs use."""

from __future__ import annotations

from collections.abc import Sequence

from blueprints.core.errors import PermanentError, RetryableError


def describe_filters(service_code: str, filters: Sequence[tuple[str, str, str]]) -> str:
    """``AmazonEC2 instanceType=m5.large regionCode=us-east-1 ...`` (the filter set, for messages)."""
    shown = " ".join(
        f"{field}={value}" if kind in ("TERM_MATCH", "EQUALS") else f"{field} {kind} {value}"
        for kind, field, value in filters
    )
    return f"{service_code} {shown}".strip()


class MissingPriceError(PermanentError):
    """A unit price could not be established; the costing stays PENDING and is retried later.

    Permanent for this attempt (the same call gives the same answer now), never turned into a price of 0.
    """


class PriceNotFoundError(MissingPriceError):
    """The Price List filters matched no product."""

    def __init__(self, service_code: str, filters: Sequence[tuple[str, str, str]]) -> None:
        self.filters = describe_filters(service_code, filters)
        super().__init__(f"no product matches {self.filters}")


class AmbiguousPriceError(MissingPriceError):
    """The Price List filters matched several products (or a product with several prices)."""

    def __init__(self, service_code: str, filters: Sequence[tuple[str, str, str]], found: int) -> None:
        self.filters = describe_filters(service_code, filters)
        super().__init__(f"{found} prices match {self.filters}; exactly one is required")


class PriceUnitMismatchError(MissingPriceError):
    """The one product found is priced in another unit than the calculation needs."""

    def __init__(self, what: str, expected: str, actual: str) -> None:
        super().__init__(f"{what} is priced per {actual!r}, expected {expected!r}")


class PriceListUnavailableError(MissingPriceError):
    """The Price List API failed (throttled after retries, unavailable) and no cached price exists."""


class FsxPriceUnverifiedError(MissingPriceError):
    """No single FSx for Lustre price matched. The FSx filter values (``deploymentOption``,
    ``throughputCapacity``) follow the FSx API's spelling and are not verified against the live Price List:
    the costing stays PENDING, naming the filters, until they are pinned (docs/blueprints/benchmarking.md)."""


class SpotPriceMissingError(MissingPriceError):
    """The Spot price history does not cover the whole time an instance was used."""


class UnknownRegionError(MissingPriceError):
    """A Region whose Fargate usage-type prefix is not pinned (see ``prices.USAGE_PREFIXES``)."""


class LaunchNotFoundError(PermanentError):
    """No launch with this id in the launch table."""


class InvalidQueryError(PermanentError):
    """A report query parameter is missing or invalid."""


class RecostNotAllowedError(PermanentError):
    """A re-cost was asked for a launch that has not finished, or whose costing is under way."""


class CollectionThrottledError(RetryableError):
    """An AWS describe call stayed throttled after the SDK's retries; the state machine retries it."""
