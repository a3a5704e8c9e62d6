"""Seeded Spot price history through a plain boto3 EC2 client, as the Spot cost integration reads it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from localcloud import LocalCloudError
from localcloud.clock import VirtualClock
from localcloud.cloud import LocalCloud
from localcloud.fakes import install_fakes
from localcloud.fakes.spot import SpotPoint, set_spot_prices, spot_price_text, spot_prices

ACCOUNT = "123456789012"
REGION = "us-east-1"
DAY = datetime(2025, 1, 6, tzinfo=UTC)
SERIES = [
    (DAY, "0.0350"),
    (DAY + timedelta(hours=6), "0.0410"),
    (DAY + timedelta(hours=12), "0.0380"),
    (DAY + timedelta(hours=18), "0.0500"),
]


def _client(endpoint_url: str | None = None, region: str = REGION) -> Any:
    return boto3.client(
        "ec2",
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def ec2() -> Iterator[Any]:
    with mock_aws(), install_fakes():
        yield _client()


def _points(response: dict[str, Any]) -> list[tuple[datetime, str]]:
    return [(row["Timestamp"], row["SpotPrice"]) for row in response["SpotPriceHistory"]]


def _window(
    ec2: Any, start: datetime | None, end: datetime | None, **params: Any
) -> list[tuple[datetime, str]]:
    times = {"StartTime": start, "EndTime": end}
    request = {
        "InstanceTypes": ["m5.large"],
        "AvailabilityZone": "us-east-1a",
        "ProductDescriptions": ["Linux/UNIX"],
        **{key: value for key, value in times.items() if value is not None},
        **params,
    }
    return _points(ec2.describe_spot_price_history(**request))


# -- window semantics ---------------------------------------------------------------------------------


def test_a_window_starts_with_the_price_in_effect_at_its_start(ec2: Any) -> None:
    # Given a series changing at 00:00, 06:00, 12:00 and 18:00
    set_spot_prices(ACCOUNT, REGION, "m5.large", "us-east-1a", SERIES)

    # When the history from 08:00 to 15:00 is asked for
    response = ec2.describe_spot_price_history(
        InstanceTypes=["m5.large"],
        AvailabilityZone="us-east-1a",
        ProductDescriptions=["Linux/UNIX"],
        StartTime=DAY + timedelta(hours=8),
        EndTime=DAY + timedelta(hours=15),
    )

    # Then the 12:00 change comes first, then the 06:00 change in effect at 08:00, with its own time;
    # neither the 00:00 change nor the 18:00 one after the end is returned
    assert _points(response) == [
        (DAY + timedelta(hours=12), "0.038000"),
        (DAY + timedelta(hours=6), "0.041000"),
    ]
    [newest, _] = response["SpotPriceHistory"]
    assert newest["InstanceType"] == "m5.large"
    assert newest["AvailabilityZone"] == "us-east-1a"
    assert newest["ProductDescription"] == "Linux/UNIX"
    assert newest["AvailabilityZoneId"].startswith("use1-az")
    assert "NextToken" not in response


@pytest.mark.parametrize(
    ("start", "end", "expected_hours"),
    [
        (
            DAY + timedelta(hours=6),
            DAY + timedelta(hours=15),
            [12, 6],
        ),  # a change at the start is the one in effect
        (DAY - timedelta(hours=1), DAY + timedelta(hours=15), [12, 6, 0]),  # nothing before the first change
        (DAY + timedelta(hours=19), DAY + timedelta(hours=20), [18]),  # no change inside: the price in effect
        (DAY + timedelta(hours=7), DAY + timedelta(hours=12), [12, 6]),  # the end is inclusive
        (None, DAY + timedelta(hours=7), [6, 0]),  # no start: every change up to the end
        (DAY + timedelta(hours=13), None, [18, 12]),  # no end: up to now
    ],
)
def test_window_bounds(
    ec2: Any, start: datetime | None, end: datetime | None, expected_hours: list[int]
) -> None:
    # Given the series, When a window is asked for, Then these changes come back, newest first
    set_spot_prices(ACCOUNT, REGION, "m5.large", "us-east-1a", SERIES)

    found = _window(ec2, start, end)

    assert [stamp for stamp, _ in found] == [DAY + timedelta(hours=hour) for hour in expected_hours]


def test_without_an_end_a_change_after_now_is_not_history_yet(ec2: Any) -> None:
    # Given a series whose last change is tomorrow
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    set_spot_prices(ACCOUNT, REGION, "m5.large", "us-east-1a", [(DAY, "0.035"), (tomorrow, "0.090")])

    # When the history is asked for without an end, Then only the past change is returned
    assert _window(ec2, None, None) == [(DAY, "0.035000")]


def test_the_default_end_follows_the_virtual_clock() -> None:
    # Given the local cloud's clock at 10:00 and a change seeded for 12:00
    clock = VirtualClock(start=(DAY + timedelta(hours=10)).timestamp())
    with mock_aws(), install_fakes(), clock.install():
        set_spot_prices(ACCOUNT, REGION, "m5.large", "us-east-1a", SERIES[:3])
        client = _client()
        before = _window(client, DAY + timedelta(hours=9), None)

        # When the clock passes 12:00
        clock.advance(3 * 3600)
        after = _window(client, DAY + timedelta(hours=9), None)

    # Then the change appears once it has happened
    assert before == [(DAY + timedelta(hours=6), "0.041000")]
    assert after == [(DAY + timedelta(hours=12), "0.038000"), (DAY + timedelta(hours=6), "0.041000")]


# -- filters ------------------------------------------------------------------------------------------


@pytest.fixture
def market(ec2: Any) -> Any:
    """m5.large and c5.large in two zones, Linux/UNIX and Linux/UNIX (Amazon VPC)."""
    for instance_type in ("m5.large", "c5.large"):
        for zone in ("us-east-1a", "us-east-1b"):
            for description in ("Linux/UNIX", "Linux/UNIX (Amazon VPC)"):
                set_spot_prices(ACCOUNT, REGION, instance_type, zone, SERIES, product_description=description)
    return ec2


def _series(response: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (row["InstanceType"], row["AvailabilityZone"], row["ProductDescription"])
        for row in response["SpotPriceHistory"]
    }


def test_request_parameters_select_one_series(market: Any) -> None:
    # When the instance type, zone and product description are named
    response = market.describe_spot_price_history(
        InstanceTypes=["c5.large"],
        AvailabilityZone="us-east-1b",
        ProductDescriptions=["Linux/UNIX (Amazon VPC)"],
    )

    # Then only that series answers, with all its changes
    assert _series(response) == {("c5.large", "us-east-1b", "Linux/UNIX (Amazon VPC)")}
    assert len(response["SpotPriceHistory"]) == len(SERIES)


def test_a_zone_id_selects_like_its_zone_name(market: Any) -> None:
    # Given the id of us-east-1a
    [zone] = market.describe_availability_zones(ZoneNames=["us-east-1a"])["AvailabilityZones"]

    # When the history is asked for by zone id, as a parameter or a filter
    by_parameter = market.describe_spot_price_history(
        AvailabilityZoneId=zone["ZoneId"], InstanceTypes=["m5.large"]
    )
    by_filter = market.describe_spot_price_history(
        Filters=[{"Name": "availability-zone-id", "Values": [zone["ZoneId"]]}], InstanceTypes=["m5.large"]
    )

    # Then only that zone's series answer
    expected = {
        ("m5.large", "us-east-1a", "Linux/UNIX"),
        ("m5.large", "us-east-1a", "Linux/UNIX (Amazon VPC)"),
    }
    assert _series(by_parameter) == _series(by_filter) == expected


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (
            [
                {"Name": "product-description", "Values": ["Linux/UNIX"]},
                {"Name": "instance-type", "Values": ["c5.*"]},
            ],
            {("c5.large", "us-east-1a", "Linux/UNIX"), ("c5.large", "us-east-1b", "Linux/UNIX")},
        ),
        (
            [
                {"Name": "availability-zone", "Values": ["us-east-1?"]},
                {"Name": "product-description", "Values": ["*VPC*"]},
            ],
            {
                ("m5.large", "us-east-1a", "Linux/UNIX (Amazon VPC)"),
                ("m5.large", "us-east-1b", "Linux/UNIX (Amazon VPC)"),
                ("c5.large", "us-east-1a", "Linux/UNIX (Amazon VPC)"),
                ("c5.large", "us-east-1b", "Linux/UNIX (Amazon VPC)"),
            },
        ),
        (
            [
                {"Name": "instance-type", "Values": ["m5.large", "r5.large"]},
                {"Name": "availability-zone", "Values": ["us-east-1b"]},
            ],
            {
                ("m5.large", "us-east-1b", "Linux/UNIX"),
                ("m5.large", "us-east-1b", "Linux/UNIX (Amazon VPC)"),
                ("r5.large", "us-east-1b", "Linux/UNIX (Amazon VPC)"),  # never seeded: moto's own row
            },
        ),
    ],
)
def test_filters_with_wildcards(
    market: Any, filters: list[dict[str, Any]], expected: set[tuple[str, str, str]]
) -> None:
    # When Filters select series (values ORed, filters ANDed, * and ? wildcards), Then exactly those answer
    assert _series(market.describe_spot_price_history(Filters=filters)) == expected


@pytest.mark.parametrize(
    ("name", "value", "hours"),
    [
        ("spot-price", "0.04*", [6]),
        ("spot-price", "0.0?0000", [18]),
        ("spot-price", "0.038000", [12]),
        ("timestamp", "2025-01-06T06:*", [6]),
        ("timestamp", "Mon Jan 06 1?:00:00 UTC 2025", [18, 12]),
    ],
)
def test_price_and_timestamp_filters(market: Any, name: str, value: str, hours: list[int]) -> None:
    # When one series is filtered on its price or timestamp text, Then only the matching changes answer
    found = _window(market, None, None, Filters=[{"Name": name, "Values": [value]}])

    assert [stamp for stamp, _ in found] == [DAY + timedelta(hours=hour) for hour in hours]


# -- paging and errors --------------------------------------------------------------------------------


def test_pages_follow_next_token_newest_first(ec2: Any) -> None:
    # Given two zones with four changes each
    for zone in ("us-east-1a", "us-east-1b"):
        set_spot_prices(ACCOUNT, REGION, "m5.large", zone, SERIES)
    everything = ec2.describe_spot_price_history(InstanceTypes=["m5.large"])["SpotPriceHistory"]

    # When they are read three at a time
    first = ec2.describe_spot_price_history(InstanceTypes=["m5.large"], MaxResults=3)
    second = ec2.describe_spot_price_history(
        InstanceTypes=["m5.large"], MaxResults=3, NextToken=first["NextToken"]
    )
    pages = ec2.get_paginator("describe_spot_price_history").paginate(
        InstanceTypes=["m5.large"], PaginationConfig={"PageSize": 3}
    )

    # Then pages split the same newest-first list, ties ordered by zone, and the last page has no token
    assert [(row["Timestamp"], row["AvailabilityZone"]) for row in everything[:4]] == [
        (DAY + timedelta(hours=18), "us-east-1a"),
        (DAY + timedelta(hours=18), "us-east-1b"),
        (DAY + timedelta(hours=12), "us-east-1a"),
        (DAY + timedelta(hours=12), "us-east-1b"),
    ]
    assert first["SpotPriceHistory"] + second["SpotPriceHistory"] == everything[:6]
    assert [len(page["SpotPriceHistory"]) for page in pages] == [3, 3, 2]
    assert [
        row
        for page in ec2.get_paginator("describe_spot_price_history").paginate(
            InstanceTypes=["m5.large"], PaginationConfig={"PageSize": 3}
        )
        for row in page["SpotPriceHistory"]
    ] == everything


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"AvailabilityZone": "us-east-1a", "AvailabilityZoneId": "use1-az1"}, "InvalidParameterCombination"),
        ({"Filters": [{"Name": "price", "Values": ["1"]}]}, "InvalidParameterValue"),
        ({"MaxResults": 0}, "InvalidParameterValue"),
        ({"NextToken": "not-a-token"}, "InvalidNextToken"),
        ({"DryRun": True}, "DryRunOperation"),
    ],
)
def test_errors_have_ec2_codes(ec2: Any, params: dict[str, Any], code: str) -> None:
    # Given a seeded series, When a request is invalid (or a dry run), Then EC2's error code answers
    set_spot_prices(ACCOUNT, REGION, "m5.large", "us-east-1a", SERIES)

    with pytest.raises(ClientError) as raised:
        ec2.describe_spot_price_history(**params)

    assert raised.value.response["Error"]["Code"] == code


def test_a_token_from_another_query_is_refused(ec2: Any) -> None:
    # Given a token issued for one instance type
    set_spot_prices(ACCOUNT, REGION, "m5.large", "us-east-1a", SERIES)
    token = ec2.describe_spot_price_history(InstanceTypes=["m5.large"], MaxResults=1)["NextToken"]

    # When it is replayed for another, Then it is refused
    with pytest.raises(ClientError) as raised:
        ec2.describe_spot_price_history(InstanceTypes=["c5.large"], MaxResults=1, NextToken=token)

    assert raised.value.response["Error"]["Code"] == "InvalidNextToken"


# -- moto's answer for the rest -----------------------------------------------------------------------


def test_unseeded_instance_types_keep_motos_answer(ec2: Any) -> None:
    # Given only m5.large seeded
    set_spot_prices(ACCOUNT, REGION, "m5.large", "us-east-1a", SERIES)

    # When c5.large alone, then both, are asked for
    moto_only = ec2.describe_spot_price_history(InstanceTypes=["c5.large"])["SpotPriceHistory"]
    mixed = ec2.describe_spot_price_history(InstanceTypes=["m5.large", "c5.large"])["SpotPriceHistory"]

    # Then c5.large has moto's fixed rows, after the seeded m5.large series
    assert moto_only
    assert {(row["InstanceType"], row["SpotPrice"]) for row in moto_only} == {("c5.large", "0.00001")}
    assert [row["InstanceType"] for row in mixed] == ["m5.large"] * len(SERIES) + ["c5.large"] * len(
        moto_only
    )


def test_a_region_without_series_is_answered_by_moto_and_state_resets_with_moto() -> None:
    # Given a series seeded in us-east-1
    with mock_aws(), install_fakes():
        set_spot_prices(ACCOUNT, REGION, "m5.large", "us-east-1a", SERIES)
        elsewhere = _client(region="eu-west-1").describe_spot_price_history(InstanceTypes=["m5.large"])

    # When a new mock starts
    with mock_aws(), install_fakes():
        fresh = _client().describe_spot_price_history(
            InstanceTypes=["m5.large"], AvailabilityZone="us-east-1a"
        )

    # Then another region, and the reset state, answer as moto does
    assert {row["SpotPrice"] for row in elsewhere["SpotPriceHistory"]} == {"0.00001"}
    assert {row["SpotPrice"] for row in fresh["SpotPriceHistory"]} == {"0.00001"}
    assert spot_prices_after_reset() == []


def spot_prices_after_reset() -> list[SpotPoint]:
    with mock_aws():
        return spot_prices(ACCOUNT, REGION, "m5.large", "us-east-1a")


# -- seeding ------------------------------------------------------------------------------------------


def test_seeding_sorts_replaces_and_keeps_decimal_prices(ec2: Any) -> None:
    # Given a series seeded out of order, then replaced by one given with floats
    set_spot_prices(ACCOUNT, REGION, "m5.large", "us-east-1a", list(reversed(SERIES)))
    first = spot_prices(ACCOUNT, REGION, "m5.large", "us-east-1a")
    set_spot_prices(
        ACCOUNT, REGION, "m5.large", "us-east-1a", [(DAY, 0.1), (DAY + timedelta(hours=1), 0.12345678)]
    )

    # When the history is read
    found = _window(ec2, None, None)

    # Then the first was kept oldest first, and the replacement answers with EC2's price text
    assert [point.timestamp for point in first] == [stamp for stamp, _ in SERIES]
    assert spot_prices(ACCOUNT, REGION, "m5.large", "us-east-1a")[0].price == Decimal("0.1")
    assert found == [(DAY + timedelta(hours=1), "0.12345678"), (DAY, "0.100000")]


@pytest.mark.parametrize(
    ("zone", "points", "message"),
    [
        ("eu-west-1a", SERIES, "not an Availability Zone of us-east-1"),
        ("us-east-1a", [(datetime(2025, 1, 6), "0.03")], "timezone-aware"),  # naive
        ("us-east-1a", [(DAY, "0.03"), (DAY, "0.04")], "same time"),
        ("us-east-1a", [], "at least one point"),
        ("us-east-1a", [(DAY, "-0.01")], "non-negative"),
        ("us-east-1a", [(DAY, "cheap")], "not a number"),
    ],
)
def test_seeding_refuses_bad_series(ec2: Any, zone: str, points: list[Any], message: str) -> None:
    # When a series is not one AWS could publish, Then seeding it says why
    with pytest.raises(LocalCloudError, match=message):
        set_spot_prices(ACCOUNT, REGION, "m5.large", zone, points)


def test_seeding_needs_an_instance_type_and_a_product_description(ec2: Any) -> None:
    with pytest.raises(LocalCloudError, match="instance type and a product description"):
        set_spot_prices(ACCOUNT, REGION, "m5.large", "us-east-1a", SERIES, product_description="")


@pytest.mark.parametrize(
    ("price", "text"),
    [(Decimal("0.035"), "0.035000"), (Decimal("1"), "1.000000"), (Decimal("0.12345678"), "0.12345678")],
)
def test_spot_price_text_has_at_least_six_decimals(price: Decimal, text: str) -> None:
    assert spot_price_text(price) == text


# -- served -------------------------------------------------------------------------------------------


@pytest.mark.enable_socket
def test_the_history_is_served_on_the_endpoint() -> None:
    # Given the local cloud served over HTTP with a seeded series
    with LocalCloud("template.yaml", serve=True, port=0, event_sources=False) as cloud:
        set_spot_prices(ACCOUNT, REGION, "m5.large", "us-east-1a", SERIES)

        # When an external client reads a window
        found = _window(_client(cloud.endpoint_url), DAY + timedelta(hours=8), DAY + timedelta(hours=15))

    # Then it gets the same answer as in-process
    assert found == [(DAY + timedelta(hours=12), "0.038000"), (DAY + timedelta(hours=6), "0.041000")]
