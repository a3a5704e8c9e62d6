"""The Price List snapshot: AWS's us-east-1 list prices for what the benchmarking blueprint prices.

The prices asserted here are AWS's published us-east-1 on-demand list prices of the pinned snapshot; the
lookups are the benchmarking spec's filters, each of which must select exactly one product.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud import LocalCloudError
from localcloud.fakes import fake_backend, install_fakes
from localcloud.fakes import pricing as pricing_fake
from tests.unit.localcloud_fakes.conftest import PINNED_SNAPSHOT
from tools import refresh_prices

ACCOUNT = "123456789012"


def _term(field: str, value: str) -> dict[str, str]:
    return {"Type": "TERM_MATCH", "Field": field, "Value": value}


def _only_price(pricing: Any, service: str, filters: list[dict[str, str]]) -> tuple[str, str]:
    """(USD, unit) of the one product the filters select; fails if they select zero or several."""
    [document] = pricing.get_products(ServiceCode=service, Filters=filters)["PriceList"]
    [term] = json.loads(document)["terms"]["OnDemand"].values()
    [dimension] = term["priceDimensions"].values()
    return str(dimension["pricePerUnit"]["USD"]), str(dimension["unit"])


def _ec2_filters(instance_type: str) -> list[dict[str, str]]:
    return [
        _term("instanceType", instance_type),
        _term("regionCode", "us-east-1"),
        _term("operatingSystem", "Linux"),
        _term("tenancy", "Shared"),
        _term("preInstalledSw", "NA"),
        _term("capacitystatus", "Used"),
        _term("licenseModel", "No License required"),
        _term("marketoption", "OnDemand"),
    ]


def test_the_snapshot_says_what_it_is_and_holds_price_list_items() -> None:
    # When the pinned snapshot is read
    document = pricing_fake.load_snapshot(PINNED_SNAPSHOT)
    items = document["priceList"]

    # Then it names itself, the month its prices were valid and its region, and every item is a
    # Price List item of us-east-1 with one on-demand price dimension whose price is a decimal string
    assert document["snapshot"] == PINNED_SNAPSHOT
    assert document["pricesValidAsOf"] == "January 2025"
    assert document["regions"] == ["us-east-1"]
    assert "offline" in document["notice"]
    assert "tools.refresh_prices" in document["refresh"]
    assert len({item["product"]["sku"] for item in items}) == len(items) == 58
    for item in items:
        assert set(item) == {"product", "serviceCode", "terms", "version", "publicationDate"}
        assert item["product"]["attributes"]["regionCode"] == "us-east-1"
        [term] = item["terms"]["OnDemand"].values()
        [dimension] = term["priceDimensions"].values()
        assert Decimal(dimension["pricePerUnit"]["USD"]) >= 0
        assert dimension["rateCode"].startswith(f"{item['product']['sku']}.{term['offerTermCode']}.")


@pytest.mark.parametrize(
    ("instance_type", "usd"),
    [
        ("m5.large", "0.0960000000"),
        ("m5.xlarge", "0.1920000000"),
        ("m5.2xlarge", "0.3840000000"),
        ("c5.large", "0.0850000000"),
        ("c5.xlarge", "0.1700000000"),
        ("c5.2xlarge", "0.3400000000"),
        ("r5.large", "0.1260000000"),
        ("r5.xlarge", "0.2520000000"),
        ("r5.2xlarge", "0.5040000000"),
        ("m6g.large", "0.0770000000"),
        ("c6g.large", "0.0680000000"),
        ("r6g.large", "0.1008000000"),
        ("m7g.large", "0.0816000000"),
        ("c7g.xlarge", "0.1450000000"),
    ],
)
def test_ec2_linux_on_demand_filters_select_one_hourly_price(
    pricing: Any, instance_type: str, usd: str
) -> None:
    # When an instance type is looked up with the benchmarking spec's EC2 filters
    price = _only_price(pricing, "AmazonEC2", _ec2_filters(instance_type))

    # Then exactly one product answers, with AWS's hourly list price
    assert price == (usd, "Hrs")


def test_without_capacitystatus_an_ec2_lookup_is_ambiguous_as_on_aws(pricing: Any) -> None:
    # Given the EC2 filters without capacitystatus
    filters = [flt for flt in _ec2_filters("c5.large") if flt["Field"] != "capacitystatus"]

    # When the lookup runs
    documents = pricing.get_products(ServiceCode="AmazonEC2", Filters=filters)["PriceList"]

    # Then the capacity-reservation products come back too (cost code must raise AmbiguousPrice)
    statuses = {json.loads(document)["product"]["attributes"]["capacitystatus"] for document in documents}
    assert statuses == {"Used", "UnusedCapacityReservation", "AllocatedCapacityReservation"}


@pytest.mark.parametrize(
    ("volume_type", "usd"),
    [
        ("gp3", "0.0800000000"),
        ("gp2", "0.1000000000"),
        ("io1", "0.1250000000"),
        ("io2", "0.1250000000"),
        ("st1", "0.0450000000"),
        ("sc1", "0.0150000000"),
    ],
)
def test_ebs_storage_is_priced_per_gb_month(pricing: Any, volume_type: str, usd: str) -> None:
    # When a volume type's storage is looked up as the benchmarking spec does
    filters = [
        _term("productFamily", "Storage"),
        _term("volumeApiName", volume_type),
        _term("regionCode", "us-east-1"),
    ]

    # Then one GB-month price answers
    assert _only_price(pricing, "AmazonEC2", filters) == (usd, "GB-Mo")


@pytest.mark.parametrize(
    ("family", "usd", "unit"),
    [
        ("System Operation", "0.0050000000", "IOPS-Mo"),
        ("Provisioned Throughput", "40.9600000000", "GiBps-mo"),
    ],
)
def test_gp3_iops_and_throughput_above_the_baseline(pricing: Any, family: str, usd: str, unit: str) -> None:
    # When gp3's provisioned IOPS or throughput is looked up
    filters = [
        _term("productFamily", family),
        _term("volumeApiName", "gp3"),
        _term("regionCode", "us-east-1"),
    ]

    # Then one price answers, in AWS's unit (throughput per GiBps-month: 0.04 USD per MiBps-month x 1024)
    assert _only_price(pricing, "AmazonEC2", filters) == (usd, unit)


@pytest.mark.parametrize(
    ("deployment", "throughput", "usd"),
    [
        ("SCRATCH_2", "200", "0.1400000000"),
        ("PERSISTENT_2", "125", "0.1450000000"),
        ("PERSISTENT_2", "250", "0.2100000000"),
    ],
)
def test_fsx_for_lustre_storage_by_deployment_type_and_throughput(
    pricing: Any, deployment: str, throughput: str, usd: str
) -> None:
    # Given the attribute values pinned from GetAttributeValues, as the benchmarking spec asks
    options = pricing.get_attribute_values(ServiceCode="AmazonFSx", AttributeName="deploymentOption")

    # When a Lustre file system's storage is looked up by deployment type and throughput
    filters = [
        _term("fileSystemType", "Lustre"),
        _term("deploymentOption", deployment),
        _term("throughputCapacity", throughput),
        _term("regionCode", "us-east-1"),
    ]

    # Then one GB-month price answers
    assert [value["Value"] for value in options["AttributeValues"]] == ["PERSISTENT_2", "SCRATCH_2"]
    assert _only_price(pricing, "AmazonFSx", filters) == (usd, "GB-Mo")


@pytest.mark.parametrize(
    ("usage_type", "usd", "unit"),
    [
        ("USE1-Fargate-vCPU-Hours:perCPU", "0.0404800000", "hours"),
        ("USE1-Fargate-GB-Hours", "0.0044450000", "hours"),
        ("USE1-Fargate-ARM-vCPU-Hours:perCPU", "0.0323800000", "hours"),
        ("USE1-Fargate-ARM-GB-Hours", "0.0035600000", "hours"),
        ("USE1-Fargate-EphemeralStorage-GB-Hours", "0.0001110000", "GB-Hours"),
    ],
)
def test_fargate_usage_types(pricing: Any, usage_type: str, usd: str, unit: str) -> None:
    # When a Fargate usage type is looked up in the region
    filters = [_term("usagetype", usage_type), _term("regionCode", "us-east-1")]

    # Then one price answers
    assert _only_price(pricing, "AmazonECS", filters) == (usd, unit)


# -- choosing a snapshot ----------------------------------------------------------------------------


@pytest.fixture
def snapshot_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A snapshot folder with the pinned snapshot and a later one where m5.large costs 0.1."""
    pinned = dict(pricing_fake.load_snapshot(PINNED_SNAPSHOT))
    (tmp_path / f"{PINNED_SNAPSHOT}.json").write_text(json.dumps(pinned))
    later = json.loads(json.dumps(pinned))
    later["snapshot"] = "2025-07"
    for item in later["priceList"]:
        if item["product"]["attributes"].get("usagetype") == "BoxUsage:m5.large":
            [term] = item["terms"]["OnDemand"].values()
            [dimension] = term["priceDimensions"].values()
            dimension["pricePerUnit"]["USD"] = "0.1000000000"
    (tmp_path / "2025-07.json").write_text(json.dumps(later))
    (tmp_path / "notes.json").write_text("{}")  # not a snapshot name: ignored
    monkeypatch.setattr(pricing_fake, "SNAPSHOT_DIR", tmp_path)
    monkeypatch.delenv(pricing_fake.SNAPSHOT_ENV, raising=False)
    return tmp_path


@pytest.fixture
def moto_pricing() -> Iterator[Any]:
    with mock_aws(), install_fakes():
        yield boto3.client(
            "pricing", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
        )


def _m5_large(client: Any) -> str:
    return _only_price(client, "AmazonEC2", _ec2_filters("m5.large"))[0]


def test_the_newest_snapshot_is_served_by_default(snapshot_dir: Path, moto_pricing: Any) -> None:
    # Given two snapshots, When nothing chooses one
    price = _m5_large(moto_pricing)

    # Then the newest is served
    assert pricing_fake.snapshots() == [PINNED_SNAPSHOT, "2025-07"]
    assert fake_backend("pricing", ACCOUNT, "us-east-1").snapshot == "2025-07"
    assert price == "0.1000000000"


def test_the_environment_chooses_a_snapshot(snapshot_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given LOCALCLOUD_PRICING_SNAPSHOT names the older snapshot
    monkeypatch.setenv(pricing_fake.SNAPSHOT_ENV, PINNED_SNAPSHOT)

    # When the fake serves a new account and region
    with mock_aws(), install_fakes():
        client = boto3.client(
            "pricing", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        price = _m5_large(client)

    # Then that snapshot's price answers
    assert price == "0.0960000000"


def test_a_scenario_switches_snapshot_and_drops_what_it_added(snapshot_dir: Path, moto_pricing: Any) -> None:
    # Given a backend on the newest snapshot with a scenario's product added
    backend = fake_backend("pricing", ACCOUNT, "us-east-1")
    backend.add_products([{"product": {"sku": "X1", "productFamily": "Storage"}, "serviceCode": "AmazonS3"}])

    # When the scenario switches to the older snapshot
    backend.use_snapshot(PINNED_SNAPSHOT)

    # Then the older prices answer and the catalogue is that snapshot alone
    assert backend.snapshot == PINNED_SNAPSHOT
    assert _m5_large(moto_pricing) == "0.0960000000"
    assert "AmazonS3" not in {item["serviceCode"] for item in backend.items}


def test_an_unknown_or_misnamed_snapshot_is_refused(snapshot_dir: Path) -> None:
    # Given a file whose "snapshot" field does not match its name
    (snapshot_dir / "2024-12.json").write_text(json.dumps({"snapshot": "2024-11", "priceList": []}))

    # When either is loaded, Then the error says which snapshot and what is available
    with pytest.raises(LocalCloudError, match=r"no price snapshot '1999-01'.*2025-07"):
        pricing_fake.load_snapshot("1999-01")
    with pytest.raises(LocalCloudError, match="names snapshot '2024-11'"):
        pricing_fake.load_snapshot("2024-12")


def test_an_empty_snapshot_folder_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no snapshot at all, When the newest is asked for, Then the error says so
    monkeypatch.setattr(pricing_fake, "SNAPSHOT_DIR", tmp_path)

    with pytest.raises(LocalCloudError, match=r"no price snapshot None .*available: \[\]"):
        pricing_fake.load_snapshot()


# -- refreshing it ----------------------------------------------------------------------------------


def test_the_refresh_tool_selects_exactly_the_snapshot(pricing: Any, tmp_path: Path) -> None:
    # Given the Price List API (here the fake, serving the pinned snapshot)
    out = tmp_path / "refreshed.json"

    # When the refresh tool runs its queries against it
    status = refresh_prices.main(["--snapshot", "2025-02", "--out", str(out)], client=pricing)

    # Then its filters select every product of the snapshot and nothing else, OnDemand terms intact
    refreshed = json.loads(out.read_text())
    snapshot = pricing_fake.load_snapshot(PINNED_SNAPSHOT)
    assert status == 0
    assert refreshed["snapshot"] == "2025-02"
    assert refreshed["regions"] == ["us-east-1"]
    assert refreshed["source"].startswith("AWS Price List Query API")
    by_sku = {item["product"]["sku"]: item for item in snapshot["priceList"]}
    assert {item["product"]["sku"] for item in refreshed["priceList"]} == set(by_sku)
    assert all(item["terms"] == by_sku[item["product"]["sku"]]["terms"] for item in refreshed["priceList"])


def test_the_refresh_tool_keeps_only_on_demand_terms() -> None:
    # Given an item as the API returns it, with Reserved terms
    item = {
        "product": {"sku": "A"},
        "serviceCode": "AmazonEC2",
        "terms": {"OnDemand": {"x": {}}, "Reserved": {}},
    }

    # When it is trimmed, Then only the OnDemand terms are left
    assert refresh_prices.trim(item)["terms"] == {"OnDemand": {"x": {}}}


def test_the_refresh_tool_refuses_a_lookup_that_finds_nothing(pricing: Any) -> None:
    # When an instance type has no product (or the snapshot name is malformed), Then nothing is written
    when = datetime(2025, 2, 1, tzinfo=UTC)
    with pytest.raises(LookupError, match=r"x9\.huge"):
        refresh_prices.build_snapshot(
            pricing, snapshot="2025-02", region="us-east-1", instance_types=["x9.huge"], fetched_at=when
        )
    with pytest.raises(ValueError, match="YYYY-MM"):
        refresh_prices.build_snapshot(
            pricing, snapshot="2025-13", region="us-east-1", instance_types=[], fetched_at=when
        )
