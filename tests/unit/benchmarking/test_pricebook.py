"""The price book: memo per invocation, the shared cache across invocations, the APIs last; nothing
that failed is cached; Spot hours are cached once they have settled."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from blueprints.benchmarking import prices
from blueprints.benchmarking.errors import PriceNotFoundError
from blueprints.benchmarking.pricebook import PriceBook, hour_points, hours_of, spot_hour_key
from blueprints.benchmarking.prices import PriceQuery, SpotPoint, UnitPrice
from blueprints.benchmarking.timing import Interval
from tests.unit.benchmarking.fakes import at, matching


@dataclass
class CountingPriceList:
    calls: list[str] = field(default_factory=list)

    def products(self, query: PriceQuery) -> list[str]:
        self.calls.append(query.label)
        return matching(query)


@dataclass
class CountingSpot:
    """DescribeSpotPriceHistory as AWS answers it: the price in effect at the window's start and the
    changes inside the window."""

    points: list[SpotPoint]
    calls: int = 0
    windows: list[Interval] = field(default_factory=list)

    def history(self, instance_type: str, zone: str, window: Interval) -> list[SpotPoint]:
        self.calls += 1
        self.windows.append(window)
        ordered = sorted(self.points)
        before = [point for point in ordered if point.at <= window.start]
        return before[-1:] + [point for point in ordered if window.start < point.at <= window.end]


@dataclass
class MemoryCache:
    prices: dict[str, tuple[UnitPrice, datetime]] = field(default_factory=dict)
    hours: dict[str, list[SpotPoint]] = field(default_factory=dict)
    ttl: timedelta = timedelta(days=7)

    def get_price(self, key: str, now: datetime) -> UnitPrice | None:
        found = self.prices.get(key)
        if found is None or found[1] + self.ttl <= now:
            return None
        return UnitPrice(
            found[0].usd, found[0].unit, found[0].sku, found[0].effective_date, found[0].publication, True
        )

    def put_price(self, key: str, query: PriceQuery, price: UnitPrice, now: datetime) -> None:
        self.prices[key] = (price, now)

    def get_spot_hours(self, keys: Sequence[str], now: datetime) -> dict[str, list[SpotPoint]]:
        return {key: self.hours[key] for key in keys if key in self.hours}

    def put_spot_hours(self, hours: Mapping[str, list[SpotPoint]], now: datetime) -> None:
        self.hours.update(hours)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def book(
    price_list: CountingPriceList, cache: MemoryCache, clock: Clock, spot: CountingSpot | None = None
) -> PriceBook:
    return PriceBook(price_list, spot or CountingSpot([]), cache, clock)


def test_a_burst_of_launches_calls_the_price_list_once_per_product() -> None:
    # Given 100 costings (one price book each, as one per invocation) of the same Fargate shape
    price_list, cache, clock = CountingPriceList(), MemoryCache(), Clock(at(0))
    vcpu = prices.fargate("vCPU", "X86_64", "FARGATE", "us-east-1")
    memory = prices.fargate("GB", "X86_64", "FARGATE", "us-east-1")

    books = []
    for _ in range(100):
        current = book(price_list, cache, clock)
        current.unit_price(vcpu)
        current.unit_price(memory)
        current.unit_price(vcpu)  # a second task of the same launch: the memo answers
        books.append(current)

    # Then GetProducts was asked twice in all; the first book fetched, the others hit the cache
    assert price_list.calls == [vcpu.label, memory.label]
    assert (books[0].stats.price_list_calls, books[0].stats.memo_hits, books[0].stats.cache_hits) == (2, 1, 0)
    assert (books[1].stats.price_list_calls, books[1].stats.cache_hits) == (0, 2)
    assert books[1].unit_price(vcpu).cached is True
    assert books[0].stats.publications == {"2025-01-01T00:00:00Z"}


def test_an_expired_price_is_fetched_again() -> None:
    price_list, cache, clock = CountingPriceList(), MemoryCache(), Clock(at(0))
    query = prices.ec2_on_demand("m5.large", "us-east-1")
    book(price_list, cache, clock).unit_price(query)

    clock.now = at(0) + timedelta(days=7, seconds=1)
    price = book(price_list, cache, clock).unit_price(query)

    assert price_list.calls == [query.label, query.label]
    assert price.usd == Decimal("0.096")


def test_a_failed_lookup_is_not_cached() -> None:
    price_list, cache, clock = CountingPriceList(), MemoryCache(), Clock(at(0))
    query = prices.ec2_on_demand("x9.huge", "us-east-1")

    for _ in range(2):
        with pytest.raises(PriceNotFoundError):
            book(price_list, cache, clock).unit_price(query)

    assert (price_list.calls, cache.prices) == ([query.label, query.label], {})


def test_spot_hours_are_cached_once_settled_and_then_answer_without_a_call() -> None:
    # Given a series with a change at minute 70, a window of minutes 30-110, looked up at minute 200
    points = [SpotPoint(at(-600), Decimal("0.035")), SpotPoint(at(70), Decimal("0.041"))]
    spot, cache, clock = CountingSpot(points), MemoryCache(), Clock(at(200))
    window = Interval(at(30), at(110))

    first = book(CountingPriceList(), cache, clock, spot).spot_points("m5.large", "us-east-1a", window)
    second_book = book(CountingPriceList(), cache, clock, spot)
    second = second_book.spot_points("m5.large", "us-east-1a", window)

    # Then hours 09:00 and 10:00 were stored with their own points and the second lookup used them
    assert spot.calls == 1
    assert sorted(cache.hours) == [
        spot_hour_key("m5.large", "us-east-1a", at(0)),
        spot_hour_key("m5.large", "us-east-1a", at(60)),
    ]
    assert (
        cache.hours[spot_hour_key("m5.large", "us-east-1a", at(60))] == points
    )  # in effect at 10:00 + change
    assert first == points
    assert second == points
    assert second_book.stats.cache_hits == 1
    assert spot.windows == [Interval(at(0), at(120))]  # the whole hours the window touches


def test_a_short_run_caches_only_whole_fetched_hours_so_a_later_run_sees_the_change_in_them() -> None:
    # Given a Spot price of 0.035 that changes to 0.041 at 09:30
    points = [SpotPoint(at(-600), Decimal("0.035")), SpotPoint(at(30), Decimal("0.041"))]
    spot, cache = CountingSpot(points), MemoryCache()

    # When run A (09:00-09:20) is priced at 11:00, and run B (09:10-09:50) at 12:00
    book(CountingPriceList(), cache, Clock(at(120)), spot).spot_points(
        "m5.large", "us-east-1a", Interval(at(0), at(20))
    )
    later = book(CountingPriceList(), cache, Clock(at(180)), spot)
    seen = later.spot_points("m5.large", "us-east-1a", Interval(at(10), at(50)))

    # Then A fetched the whole 09:00 hour before caching it, so the hour holds the 09:30 change
    assert spot.windows == [Interval(at(0), at(60))]
    assert cache.hours == {spot_hour_key("m5.large", "us-east-1a", at(0)): points}
    # and B, answered by the cache, is integrated over the old and the new price
    assert later.stats.cache_hits == 1
    segments = prices.spot_segments(seen, Interval(at(10), at(50)))
    assert [(segment.usd_per_hour, segment.interval) for segment in segments] == [
        (Decimal("0.035"), Interval(at(10), at(30))),
        (Decimal("0.041"), Interval(at(30), at(50))),
    ]


def test_an_hour_still_going_on_is_fetched_whole_but_not_cached() -> None:
    # Given run A (09:00-09:20) priced at 09:25, before the 09:30 change
    points = [SpotPoint(at(-600), Decimal("0.035")), SpotPoint(at(30), Decimal("0.041"))]
    spot, cache = CountingSpot(points), MemoryCache()

    book(CountingPriceList(), cache, Clock(at(25)), spot).spot_points(
        "m5.large", "us-east-1a", Interval(at(0), at(20))
    )

    # Then the 09:00 hour, whose history can still change, is not stored
    assert (spot.windows, cache.hours) == ([Interval(at(0), at(60))], {})


def test_an_hour_that_has_not_settled_is_not_cached() -> None:
    points = [SpotPoint(at(-600), Decimal("0.035"))]
    spot, cache, clock = (
        CountingSpot(points),
        MemoryCache(),
        Clock(at(65)),
    )  # 10:05: the 09:00 hour is 5 min old

    book(CountingPriceList(), cache, clock, spot).spot_points(
        "m5.large", "us-east-1a", Interval(at(10), at(50))
    )

    assert cache.hours == {}


def test_an_hour_without_the_price_in_effect_at_its_start_is_not_cached() -> None:
    assert hour_points([SpotPoint(at(10), Decimal(1))], at(0)) is None
    assert hour_points([SpotPoint(at(-5), Decimal(1)), SpotPoint(at(-1), Decimal(2))], at(0)) == [
        SpotPoint(at(-1), Decimal(2))
    ]


def test_the_hours_of_a_window() -> None:
    assert hours_of(Interval(at(30), at(30))) == [at(0)]
    assert hours_of(Interval(at(0), at(120))) == [at(0), at(60)]
    assert hours_of(Interval(at(59), at(61))) == [at(0), at(60)]
