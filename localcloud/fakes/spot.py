"""Spot price history on moto's EC2: seeded, piecewise-constant series that DescribeSpotPriceHistory
answers as AWS does.

Why: costing a Spot instance integrates its price over the run (the benchmarking blueprint), and moto's
``describe_spot_price_history`` answers every instance type and zone with one fixed price and timestamp,
ignoring ``StartTime``/``EndTime``, ``ProductDescriptions`` and ``AvailabilityZone``. moto implements EC2,
so this is not a fake: ``extend()`` patches the operation into moto's EC2 response class while the local
cloud runs (``install_fakes`` enters it), and the series live on moto's EC2 backend of each account and
region, so ``mock_aws`` and ``/moto-api/reset`` reset them with everything else. Plain boto3 works
in-process and served alike.

A test or demo seeds a series per (instance type, Availability Zone, product description)::

    day = datetime(2025, 1, 6, tzinfo=UTC)
    set_spot_prices(account, "us-east-1", "m5.large", "us-east-1a",
                    [(day, "0.0350"), (day.replace(hour=9), "0.0410")])

Each point is a price change: the price holds from its timestamp until the next point. Semantics kept
from AWS:

- Window: a point is visible when its timestamp is at or before ``EndTime`` (default: now, on the local
  cloud's clock, virtual when installed: a change seeded in the future appears when the clock reaches
  it). Without ``StartTime`` every visible point is returned. With it, the points after ``StartTime`` are
  returned together with the last change at or before it, the price in effect at ``StartTime``, with its
  own (earlier) timestamp.
- Filters, all ANDed: ``InstanceTypes``, ``ProductDescriptions`` (exact), ``AvailabilityZone`` or
  ``AvailabilityZoneId`` (not both: ``InvalidParameterCombination``) and ``Filters`` ``availability-zone``,
  ``availability-zone-id``, ``instance-type``, ``product-description``, ``spot-price`` (the string as
  returned) and ``timestamp`` (``2025-01-06T09:00:00Z`` or ``Mon Jan 06 09:00:00 UTC 2025``), each with
  ``*`` and ``?`` wildcards; another filter name is ``InvalidParameterValue``.
- Newest first (ties by zone, instance type, product description); ``SpotPrice`` is a string with at
  least six decimals (``"0.035000"``); ``MaxResults`` (1-1000, default 1000) and ``NextToken`` paginate,
  a token only working for the request that issued it (``InvalidNextToken``); ``DryRun`` is honoured.
- Instance types with no seeded series in the account and region keep moto's answer (its fixed rows
  follow the seeded ones); an account and region with no series at all is answered by moto alone.

Not emulated: the 90-day retention (old points stay visible), and any price model: the series is
exactly what was seeded.
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, cast
from unittest import mock

from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError, InvalidNextToken
from moto.ec2.models import ec2_backends
from moto.ec2.responses.spot_instances import SpotInstances

from localcloud import LocalCloudError
from localcloud.fakes import InvalidNextTokenError, paginate
from localcloud.fakes.bus import now, to_datetime

__all__ = [
    "DEFAULT_PRODUCT_DESCRIPTION",
    "MAX_RESULTS",
    "SpotPoint",
    "extend",
    "set_spot_prices",
    "spot_prices",
]

DEFAULT_PRODUCT_DESCRIPTION = "Linux/UNIX"
MAX_RESULTS = 1000
_FILTERS = frozenset(
    {
        "availability-zone",
        "availability-zone-id",
        "instance-type",
        "product-description",
        "spot-price",
        "timestamp",
    }
)
_STORE = "_localcloud_spot_prices"
_lock = threading.RLock()  # _store() takes it too, inside callers that hold it

Price = Decimal | str | float
SeriesKey = tuple[str, str, str]  # instance type, Availability Zone, product description


@dataclass(frozen=True, order=True)
class SpotPoint:
    """One price change: ``price`` (USD per hour) from ``timestamp`` until the next point."""

    timestamp: datetime
    price: Decimal


def _store(account_id: str, region: str) -> dict[SeriesKey, list[SpotPoint]]:
    backend = ec2_backends[account_id][region]
    with _lock:
        store: dict[SeriesKey, list[SpotPoint]] | None = getattr(backend, _STORE, None)
        if store is None:
            store = {}
            setattr(backend, _STORE, store)
    return store


def _zones(account_id: str, region: str) -> dict[str, str]:
    """The region's Availability Zones as moto knows them: name -> zone id."""
    return {
        zone.name: zone.zone_id for zone in ec2_backends[account_id][region].describe_availability_zones()
    }


def _point(timestamp: datetime, price: Price) -> SpotPoint:
    if not isinstance(timestamp, datetime) or timestamp.tzinfo is None:
        raise LocalCloudError(f"Spot price timestamps must be timezone-aware datetimes, not {timestamp!r}")
    try:
        amount = Decimal(str(price))
    except InvalidOperation as exc:
        raise LocalCloudError(f"Spot price {price!r} is not a number") from exc
    if not amount.is_finite() or amount < 0:
        raise LocalCloudError(f"Spot price {price!r} must be a non-negative number")
    return SpotPoint(timestamp.astimezone(UTC), amount)


def set_spot_prices(
    account_id: str,
    region: str,
    instance_type: str,
    availability_zone: str,
    points: Iterable[tuple[datetime, Price]],
    product_description: str = DEFAULT_PRODUCT_DESCRIPTION,
) -> None:
    """Seed (or replace) the Spot price series of one instance type, zone and product description.

    ``points`` are ``(timestamp, price)`` price changes in any order; timestamps are timezone-aware and
    distinct; prices are USD per hour, given as ``Decimal``, string or float (floats through ``str``).
    """
    zones = _zones(account_id, region)
    if availability_zone not in zones:
        raise LocalCloudError(
            f"{availability_zone!r} is not an Availability Zone of {region} ({sorted(zones)})"
        )
    if not instance_type or not product_description:
        raise LocalCloudError("a Spot price series needs an instance type and a product description")
    series = sorted(_point(timestamp, price) for timestamp, price in points)
    if not series:
        raise LocalCloudError("a Spot price series needs at least one point")
    stamps = [point.timestamp for point in series]
    if len(set(stamps)) != len(stamps):
        raise LocalCloudError(
            f"two Spot price changes at the same time in {instance_type} {availability_zone}"
        )
    store = _store(account_id, region)
    with _lock:
        store[(instance_type, availability_zone, product_description)] = series


def spot_prices(
    account_id: str,
    region: str,
    instance_type: str,
    availability_zone: str,
    product_description: str = DEFAULT_PRODUCT_DESCRIPTION,
) -> list[SpotPoint]:
    """The seeded series (oldest first; empty when none was seeded)."""
    with _lock:
        return list(
            _store(account_id, region).get((instance_type, availability_zone, product_description), [])
        )


def spot_price_text(price: Decimal) -> str:
    """The price as EC2 writes it: at least six decimals (``0.035`` -> ``"0.035000"``)."""
    exponent = price.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -6:
        return format(price, "f")
    return format(price.quantize(Decimal("0.000001")), "f")


# -- the request --------------------------------------------------------------------------------------


class _InvalidParameterValueError(EC2ClientError):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidParameterValue", message)


class _InvalidParameterCombinationError(EC2ClientError):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidParameterCombination", message)


@dataclass(frozen=True)
class _Row:
    """One answer row, with the fields every filter reads."""

    instance_type: str
    zone: str
    zone_id: str
    product_description: str
    price: str
    timestamp: datetime

    def field(self, name: str) -> list[str]:
        """The values a ``Filters`` entry named ``name`` is matched against."""
        if name == "timestamp":
            return [
                self.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
                self.timestamp.strftime("%a %b %d %H:%M:%S UTC %Y"),
            ]
        return [
            {
                "availability-zone": self.zone,
                "availability-zone-id": self.zone_id,
                "instance-type": self.instance_type,
                "product-description": self.product_description,
                "spot-price": self.price,
            }[name]
        ]

    def to_api(self) -> dict[str, Any]:
        return {
            "AvailabilityZone": self.zone,
            "AvailabilityZoneId": self.zone_id,
            "InstanceType": self.instance_type,
            "ProductDescription": self.product_description,
            "SpotPrice": self.price,
            "Timestamp": self.timestamp,
        }


@dataclass(frozen=True)
class _Request:
    instance_types: frozenset[str]
    product_descriptions: frozenset[str]
    zone: str | None
    zone_id: str | None
    filters: Mapping[str, Sequence[str]]
    start: datetime | None
    end: datetime

    @classmethod
    def parse(cls, params: Mapping[str, Any]) -> _Request:
        zone, zone_id = params.get("AvailabilityZone"), params.get("AvailabilityZoneId")
        if zone and zone_id:
            raise _InvalidParameterCombinationError(
                "Only one of AvailabilityZone and AvailabilityZoneId can be specified"
            )
        filters: dict[str, list[str]] = {}
        for flt in params.get("Filters") or []:
            name = str(flt.get("Name", ""))
            if name not in _FILTERS:
                raise _InvalidParameterValueError(f"The filter '{name}' is invalid")
            filters.setdefault(name, []).extend(str(value) for value in flt.get("Values") or [])
        start = params.get("StartTime")
        end = params.get("EndTime")
        return cls(
            instance_types=frozenset(params.get("InstanceTypes") or []),
            product_descriptions=frozenset(params.get("ProductDescriptions") or []),
            zone=str(zone) if zone else None,
            zone_id=str(zone_id) if zone_id else None,
            filters=filters,
            start=None if start is None else to_datetime(start),
            end=now() if end is None else to_datetime(end),
        )

    def selects(self, key: SeriesKey, zone_id: str) -> bool:
        instance_type, zone, description = key
        return (
            (not self.instance_types or instance_type in self.instance_types)
            and (not self.product_descriptions or description in self.product_descriptions)
            and (self.zone is None or zone == self.zone)
            and (self.zone_id is None or zone_id == self.zone_id)
        )

    def window(self, series: Sequence[SpotPoint]) -> list[SpotPoint]:
        """The points AWS returns: the visible ones after the start, plus the one in effect at the start."""
        visible = [point for point in series if point.timestamp <= self.end]
        if self.start is None:
            return visible
        start = self.start
        in_effect = [point for point in visible if point.timestamp <= start][-1:]
        return in_effect + [point for point in visible if point.timestamp > start]

    def matches(self, row: _Row) -> bool:
        return all(
            any(
                fnmatch.fnmatchcase(actual, _wildcards(pattern))
                for pattern in patterns
                for actual in row.field(name)
            )
            for name, patterns in self.filters.items()
        )


def _wildcards(pattern: str) -> str:
    """An EC2 filter value as an ``fnmatch`` pattern: only ``*`` and ``?`` are wildcards, ``[`` is literal."""
    return pattern.replace("[", "[[]")


def _seeded_rows(account_id: str, region: str, request: _Request) -> list[_Row]:
    zone_ids = _zones(account_id, region)
    with _lock:
        series = dict(_store(account_id, region))
    rows = [
        _Row(key[0], key[1], zone_ids.get(key[1], ""), key[2], spot_price_text(point.price), point.timestamp)
        for key, points in series.items()
        if request.selects(key, zone_ids.get(key[1], ""))
        for point in request.window(points)
    ]
    rows = [row for row in rows if request.matches(row)]
    rows.sort(key=lambda row: (row.zone, row.instance_type, row.product_description))
    rows.sort(key=lambda row: row.timestamp, reverse=True)  # stable: newest first, then the tie order
    return rows


_ORIGINAL: Callable[[SpotInstances], ActionResult] = SpotInstances.describe_spot_price_history


def _moto_rows(response: SpotInstances, seeded_types: set[str]) -> list[Any]:
    """moto's own answer for the instance types nothing was seeded for."""
    answer = cast(Mapping[str, Any], _ORIGINAL(response).result)
    return [row for row in answer["SpotPriceHistory"] if row["InstanceType"] not in seeded_types]


def describe_spot_price_history(self: SpotInstances) -> ActionResult:
    """DescribeSpotPriceHistory from the seeded series (see the module docstring)."""
    self.error_on_dryrun()
    account_id, region = self.current_account, self.region
    with _lock:
        seeded_types = {key[0] for key in _store(account_id, region)}
    if not seeded_types:
        return _ORIGINAL(self)
    params = dict(self.params)
    size = MAX_RESULTS if params.get("MaxResults") is None else int(params["MaxResults"])
    if size < 1:
        raise _InvalidParameterValueError(
            f"Value ({size}) for parameter maxResults is invalid. Expecting a positive value"
        )
    request = _Request.parse(params)
    rows: list[Any] = [row.to_api() for row in _seeded_rows(account_id, region, request)]
    rows.extend(_moto_rows(self, seeded_types))
    try:
        page, token = paginate(rows, params, page_size=min(size, MAX_RESULTS))
    except InvalidNextTokenError as exc:
        raise InvalidNextToken(str(params.get("NextToken"))) from exc
    return ActionResult({"SpotPriceHistory": page, "NextToken": token})


@contextmanager
def extend() -> Iterator[None]:
    """Answer DescribeSpotPriceHistory from the seeded series (in-process and served) for the block."""
    with mock.patch.object(SpotInstances, "describe_spot_price_history", describe_spot_price_history):
        yield
