"""Price List queries (exactly one product each), reading a product's price, and Spot integration."""

from __future__ import annotations

import copy
import itertools
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blueprints.benchmarking import prices
from blueprints.benchmarking.errors import (
    AmbiguousPriceError,
    PriceNotFoundError,
    PriceUnitMismatchError,
    SpotPriceMissingError,
    UnknownRegionError,
)
from blueprints.benchmarking.money import usd
from blueprints.benchmarking.prices import PriceQuery, SpotPoint, select_price, spot_segments
from blueprints.benchmarking.timing import Interval
from tests.unit.benchmarking.fakes import matching

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def test_the_ec2_query_pins_one_linux_on_demand_product_by_region_code() -> None:
    query = prices.ec2_on_demand("m5.large", "us-east-1")

    assert query.api_filters() == [
        {"Type": "TERM_MATCH", "Field": "instanceType", "Value": "m5.large"},
        {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "us-east-1"},
        {"Type": "TERM_MATCH", "Field": "operatingSystem", "Value": "Linux"},
        {"Type": "TERM_MATCH", "Field": "tenancy", "Value": "Shared"},
        {"Type": "TERM_MATCH", "Field": "preInstalledSw", "Value": "NA"},
        {"Type": "TERM_MATCH", "Field": "capacitystatus", "Value": "Used"},
        {"Type": "TERM_MATCH", "Field": "licenseModel", "Value": "No License required"},
        {"Type": "TERM_MATCH", "Field": "marketoption", "Value": "OnDemand"},
    ]
    price = select_price(query, matching(query))
    assert (price.usd, price.unit, price.cached) == (Decimal("0.096"), "Hrs", False)
    assert price.sku.startswith("LC")
    assert (price.effective_date, price.publication) == ("2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z")


@pytest.mark.parametrize(
    ("query", "usd"),
    [
        (prices.ebs_storage("gp3", "us-east-1"), "0.08"),
        (prices.ebs_storage("gp2", "us-east-1"), "0.10"),
        (prices.ebs_iops("gp3", "us-east-1"), "0.005"),
        (prices.ebs_throughput("gp3", "us-east-1"), "40.96"),
        (prices.fsx_lustre("PERSISTENT_2", 125, "us-east-1"), "0.145"),
        (prices.fsx_lustre("SCRATCH_2", None, "us-east-1"), "0.140"),
        (prices.fargate("vCPU", "X86_64", "FARGATE", "us-east-1"), "0.04048"),
        (prices.fargate("GB", "X86_64", "FARGATE", "us-east-1"), "0.004445"),
        (prices.fargate("vCPU", "ARM64", "FARGATE", "us-east-1"), "0.03238"),
        (prices.fargate("GB", "ARM64", "FARGATE", "us-east-1"), "0.00356"),
        (prices.fargate("EphemeralStorage", "ARM64", "FARGATE", "us-east-1"), "0.000111"),
    ],
    ids=lambda value: value.label if isinstance(value, PriceQuery) else value,
)
def test_every_query_of_the_blueprint_selects_exactly_one_snapshot_product(
    query: PriceQuery, usd: str
) -> None:
    assert len(matching(query)) == 1
    assert select_price(query, matching(query)).usd == Decimal(usd)


def test_fargate_spot_and_unpinned_regions_are_named_precisely() -> None:
    spot = prices.fargate("vCPU", "X86_64", "FARGATE_SPOT", "eu-west-1")

    assert spot.filters[0] == ("TERM_MATCH", "usagetype", "EU-SpotUsage-Fargate-vCPU-Hours:perCPU")
    with pytest.raises(UnknownRegionError, match="mars-north-1"):
        prices.fargate("GB", "X86_64", "FARGATE", "mars-north-1")


def test_no_product_is_a_typed_error_naming_the_filters() -> None:
    query = prices.ec2_on_demand("x9.huge", "us-east-1")

    with pytest.raises(PriceNotFoundError) as raised:
        select_price(query, matching(query))

    assert str(raised.value).startswith(
        "no product matches AmazonEC2 instanceType=x9.huge regionCode=us-east-1"
    )


def test_two_products_are_ambiguous_never_the_first_one() -> None:
    # Given a lookup without capacitystatus: AWS returns Used, UnusedCapacityReservation and
    # AllocatedCapacityReservation products
    full = prices.ec2_on_demand("m5.large", "us-east-1")
    loose = PriceQuery(
        full.service_code,
        tuple(item for item in full.filters if item[1] != "capacitystatus"),
        full.units,
        full.label,
    )

    with pytest.raises(AmbiguousPriceError, match=r"3 prices match AmazonEC2 instanceType=m5\.large"):
        select_price(loose, matching(loose))


def test_a_product_with_two_price_dimensions_or_none_is_not_a_price() -> None:
    query = prices.ebs_storage("gp3", "us-east-1")
    product = json.loads(matching(query)[0])
    term = next(iter(product["terms"]["OnDemand"].values()))
    dimension = next(iter(term["priceDimensions"].values()))
    tiered = copy.deepcopy(product)
    next(iter(tiered["terms"]["OnDemand"].values()))["priceDimensions"]["second"] = dimension
    empty = copy.deepcopy(product)
    empty["terms"] = {"OnDemand": {}}

    with pytest.raises(AmbiguousPriceError):
        select_price(query, [tiered])
    with pytest.raises(PriceNotFoundError):
        select_price(query, [empty])


def test_a_price_in_another_unit_is_refused() -> None:
    query = prices.ebs_storage("gp3", "us-east-1")
    product = json.loads(matching(query)[0])
    next(iter(next(iter(product["terms"]["OnDemand"].values()))["priceDimensions"].values()))["unit"] = "Hrs"

    with pytest.raises(PriceUnitMismatchError, match="EBS gp3 storage is priced per 'Hrs', expected 'gb-mo'"):
        select_price(query, [product])


def test_the_cache_key_does_not_depend_on_the_filter_order() -> None:
    query = prices.ec2_on_demand("m5.large", "us-east-1")
    shuffled = PriceQuery(query.service_code, tuple(reversed(query.filters)), query.units, "other label")

    assert query.cache_key == shuffled.cache_key
    assert len(query.cache_key) == 64
    assert query.cache_key != prices.ec2_on_demand("m5.xlarge", "us-east-1").cache_key


# -- Spot -------------------------------------------------------------------------------------------


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_price_change_mid_run_gives_two_segments_at_their_own_prices() -> None:
    # Given 0.0350/h from before the run and 0.0410/h from minute 60; a run from minute 30 to 150
    points = [
        SpotPoint(at(-600), Decimal("0.0350")),
        SpotPoint(at(60), Decimal("0.0410")),
        SpotPoint(at(300), Decimal("0.0500")),
    ]

    segments = spot_segments(points, Interval(at(30), at(150)))

    # Then 30 minutes at 0.0350 and 90 minutes at 0.0410: 0.0175 + 0.0615 = 0.0790
    assert [(s.interval, s.usd_per_hour, s.changed_at) for s in segments] == [
        (Interval(at(30), at(60)), Decimal("0.0350"), at(-600)),
        (Interval(at(60), at(150)), Decimal("0.0410"), at(60)),
    ]
    assert sum((segment.cost for segment in segments), Decimal(0)) == Decimal("0.0790")


def test_the_latest_price_alone_would_be_wrong_for_a_long_run() -> None:
    points = [SpotPoint(at(0), Decimal("0.03")), SpotPoint(at(26 * 60 - 1), Decimal("0.09"))]

    segments = spot_segments(points, Interval(at(0), at(26 * 60)))

    # 1559 minutes at 0.03 (0.7795) and one minute at 0.09 (0.0015), not 26 hours at 0.09 (2.34)
    assert usd(sum((segment.cost for segment in segments), Decimal(0))) == "0.7810"


def test_without_the_price_in_effect_at_the_start_the_price_is_missing() -> None:
    with pytest.raises(SpotPriceMissingError, match="no Spot price in effect at 2025-01-06T09:30:00"):
        spot_segments([SpotPoint(at(45), Decimal("0.04"))], Interval(at(30), at(90)))
    with pytest.raises(SpotPriceMissingError):
        spot_segments([], Interval(at(30), at(90)))


prices_st = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(5), places=4)


@given(
    st.lists(st.tuples(st.integers(-120, 600), prices_st), min_size=1, max_size=10),
    st.integers(0, 300),
    st.integers(0, 600),
)
def test_segments_tile_the_interval_and_cost_between_the_cheapest_and_dearest_price(
    changes: list[tuple[int, Decimal]], start: int, length: int
) -> None:
    points = [SpotPoint(at(minute), price) for minute, price in changes]
    points.append(SpotPoint(at(-121), Decimal("0.05")))  # a price in effect before any window
    interval = Interval(at(start), at(start + length))

    segments = spot_segments(points, interval)

    assert sum((segment.interval.seconds for segment in segments), Decimal(0)) == interval.seconds
    assert all(left.interval.end == right.interval.start for left, right in itertools.pairwise(segments))
    cost = sum((segment.cost for segment in segments), Decimal(0))
    hours = interval.seconds / 3600
    used = [segment.usd_per_hour for segment in segments] or [Decimal(0)]
    tolerance = Decimal("1e-20")  # Decimal's 28 significant digits round the hour fractions
    assert min(used) * hours - tolerance <= cost <= max(used) * hours + tolerance
