"""The price book of one costing: an in-memory memo, the DynamoDB price cache, then the AWS APIs.

Unit prices are cached under ``PriceQuery.cache_key`` (sha256 of the service code and sorted filters)
until their expiry, so a burst of launches of the same shapes calls the Price List API once per product,
not once per launch. Spot prices are cached per (instance type, Availability Zone, hour): an hour's points
are the price in effect at its start and the changes inside it. The history is fetched for the whole hours
the window touches, and only hours entirely inside the fetched window that ended before the
lookup (by ``SPOT_SETTLE``) are stored: an hour fetched in part would lack its later changes, and a
current hour can still change. Nothing that failed is cached:
a missing price is looked up again on the next attempt.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from blueprints.benchmarking.ports import PriceStats
from blueprints.benchmarking.prices import SPOT_PRODUCT, PriceQuery, SpotPoint, UnitPrice, select_price
from blueprints.benchmarking.timing import Interval

HOUR = timedelta(hours=1)
SPOT_SETTLE = timedelta(minutes=10)


class PriceList(Protocol):
    def products(self, query: PriceQuery) -> list[str]: ...


class SpotHistory(Protocol):
    def history(self, instance_type: str, zone: str, window: Interval) -> list[SpotPoint]: ...


class PriceCache(Protocol):
    def get_price(self, key: str, now: datetime) -> UnitPrice | None: ...
    def put_price(self, key: str, query: PriceQuery, price: UnitPrice, now: datetime) -> None: ...
    def get_spot_hours(self, keys: Sequence[str], now: datetime) -> dict[str, list[SpotPoint]]: ...
    def put_spot_hours(self, hours: Mapping[str, list[SpotPoint]], now: datetime) -> None: ...


def spot_hour_key(instance_type: str, zone: str, hour: datetime) -> str:
    return f"spot#{instance_type}#{zone}#{SPOT_PRODUCT}#{hour.strftime('%Y-%m-%dT%H')}"


def hours_of(window: Interval) -> list[datetime]:
    """The starts of the whole hours that ``window`` touches."""
    first = window.start.replace(minute=0, second=0, microsecond=0)
    starts = []
    hour = first
    while hour < window.end or hour == first:
        starts.append(hour)
        hour += HOUR
    return starts


def hour_points(points: Sequence[SpotPoint], hour: datetime) -> list[SpotPoint] | None:
    """The points an hour needs (in effect at its start, then its changes); None when the start's
    price is not among ``points``."""
    ordered = sorted(points)
    before = [point for point in ordered if point.at <= hour]
    if not before:
        return None
    return [before[-1], *(point for point in ordered if hour < point.at < hour + HOUR)]


@dataclass
class PriceBook:
    """``PriceBook`` port implementation (see the module docstring); one per invocation."""

    price_list: PriceList
    spot: SpotHistory
    cache: PriceCache
    now: Callable[[], datetime]

    def __post_init__(self) -> None:
        self.stats = PriceStats()
        self._memo: dict[str, UnitPrice] = {}

    def unit_price(self, query: PriceQuery) -> UnitPrice:
        key = query.cache_key
        if key in self._memo:
            self.stats.memo_hits += 1
            return self._memo[key]
        cached = self.cache.get_price(key, self.now())
        if cached is not None:
            self.stats.cache_hits += 1
            price = cached
        else:
            self.stats.price_list_calls += 1
            price = select_price(query, self.price_list.products(query))
            self.cache.put_price(key, query, price, self.now())
        if price.publication:
            self.stats.publications.add(price.publication)
        self._memo[key] = price
        return price

    def spot_points(self, instance_type: str, zone: str, window: Interval) -> list[SpotPoint]:
        starts = hours_of(window)
        keys = {spot_hour_key(instance_type, zone, hour): hour for hour in starts}
        now = self.now()
        cached = self.cache.get_spot_hours(sorted(keys), now)
        if len(cached) == len(keys):
            self.stats.cache_hits += 1
            return sorted({point for points in cached.values() for point in points})
        self.stats.spot_calls += 1
        # whole hours, so that the hours it covers can be cached (pricing clips to the spans); an end after
        # now is fine: the history simply has no change there yet, and such an hour is not cached
        fetched = Interval(starts[0], starts[-1] + HOUR)
        points = self.spot.history(instance_type, zone, fetched)
        settled = now - SPOT_SETTLE
        complete = {
            key: found
            for key, hour in keys.items()
            if fetched.start <= hour
            and hour + HOUR <= fetched.end  # entirely fetched
            and hour + HOUR <= settled  # and over
            and (found := hour_points(points, hour)) is not None
        }
        if complete:
            self.cache.put_spot_hours(complete, now)
        return points
