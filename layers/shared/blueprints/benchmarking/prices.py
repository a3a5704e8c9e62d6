"""Unit prices: the Price List queries the blueprint makes (exactly one product each), the price read
from a product, and Spot prices integrated over time.

Every query pins the product with ``TERM_MATCH`` filters and ``regionCode`` (never the ``location`` long
names, which differ per Region). A query must match exactly one product with exactly one On-Demand price
dimension in the expected unit; anything else is a typed error (``PriceNotFoundError``,
``AmbiguousPriceError``, ``PriceUnitMismatchError``) that leaves the price missing, never 0.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from blueprints.benchmarking.errors import (
    AmbiguousPriceError,
    PriceNotFoundError,
    PriceUnitMismatchError,
    SpotPriceMissingError,
    UnknownRegionError,
)
from blueprints.benchmarking.money import amount, hours
from blueprints.benchmarking.timing import Interval, iso

Filter = tuple[str, str, str]  # (Type, Field, Value), as GetProducts takes them

# The Region part of AWS usage types (Fargate is selected by usage type: its products carry no
# architecture attribute). A Region missing here cannot price Fargate: UnknownRegionError.
USAGE_PREFIXES = {
    "us-east-1": "USE1",
    "us-east-2": "USE2",
    "us-west-1": "USW1",
    "us-west-2": "USW2",
    "ca-central-1": "CAN1",
    "eu-west-1": "EU",
    "eu-west-2": "EUW2",
    "eu-west-3": "EUW3",
    "eu-central-1": "EUC1",
    "eu-north-1": "EUN1",
    "ap-south-1": "APS3",
    "ap-southeast-1": "APS1",
    "ap-southeast-2": "APS2",
    "ap-northeast-1": "APN1",
    "ap-northeast-2": "APN2",
    "sa-east-1": "SAE1",
}
GP3_FREE_IOPS = 3000
GP3_FREE_THROUGHPUT_MIBPS = 125
FARGATE_FREE_EPHEMERAL_GIB = 20
SPOT_PRODUCT = "Linux/UNIX"


def _term(field: str, value: str) -> Filter:
    return ("TERM_MATCH", field, value)


@dataclass(frozen=True)
class PriceQuery:
    """One GetProducts lookup: service code, filters, the units the calculation accepts, a label."""

    service_code: str
    filters: tuple[Filter, ...]
    units: frozenset[str]
    label: str

    @property
    def cache_key(self) -> str:
        """sha256 of the service code and the sorted filters (the price cache's key)."""
        canonical = json.dumps([self.service_code, sorted(self.filters)], separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def api_filters(self) -> list[dict[str, str]]:
        return [{"Type": kind, "Field": field, "Value": value} for kind, field, value in self.filters]


@dataclass(frozen=True)
class UnitPrice:
    """A price per unit in USD, where it came from and whether the cache answered."""

    usd: Decimal
    unit: str
    sku: str
    effective_date: str = ""
    publication: str = ""
    cached: bool = False


# -- queries ------------------------------------------------------------------------------------------


def ec2_on_demand(instance_type: str, region: str) -> PriceQuery:
    """Linux, shared tenancy, no pre-installed software, used capacity, On-Demand: one SKU per type."""
    filters = (
        _term("instanceType", instance_type),
        _term("regionCode", region),
        _term("operatingSystem", "Linux"),
        _term("tenancy", "Shared"),
        _term("preInstalledSw", "NA"),
        _term("capacitystatus", "Used"),
        _term("licenseModel", "No License required"),
        _term("marketoption", "OnDemand"),
    )
    return PriceQuery("AmazonEC2", filters, frozenset({"hrs"}), f"{instance_type} On-Demand Linux")


def ebs_storage(volume_type: str, region: str) -> PriceQuery:
    filters = (
        _term("productFamily", "Storage"),
        _term("volumeApiName", volume_type),
        _term("regionCode", region),
    )
    return PriceQuery("AmazonEC2", filters, frozenset({"gb-mo"}), f"EBS {volume_type} storage")


def ebs_iops(volume_type: str, region: str) -> PriceQuery:
    filters = (
        _term("productFamily", "System Operation"),
        _term("volumeApiName", volume_type),
        _term("regionCode", region),
    )
    return PriceQuery("AmazonEC2", filters, frozenset({"iops-mo"}), f"EBS {volume_type} provisioned IOPS")


def ebs_throughput(volume_type: str, region: str) -> PriceQuery:
    filters = (
        _term("productFamily", "Provisioned Throughput"),
        _term("volumeApiName", volume_type),
        _term("regionCode", region),
    )
    return PriceQuery(
        "AmazonEC2", filters, frozenset({"gibps-mo"}), f"EBS {volume_type} provisioned throughput"
    )


def fsx_lustre(deployment_type: str, per_unit_throughput: int | None, region: str) -> PriceQuery:
    """SSD storage of a Lustre file system; SCRATCH_2 has its fixed 200 MB/s/TiB."""
    throughput = per_unit_throughput or (200 if deployment_type == "SCRATCH_2" else 0)
    filters = (
        _term("fileSystemType", "Lustre"),
        _term("productFamily", "Storage"),
        _term("storageType", "SSD"),
        _term("deploymentOption", deployment_type),
        _term("throughputCapacity", str(throughput)),
        _term("regionCode", region),
    )
    return PriceQuery(
        "AmazonFSx", filters, frozenset({"gb-mo"}), f"FSx Lustre {deployment_type} {throughput} MB/s/TiB"
    )


def fargate(dimension: str, architecture: str, capacity_provider: str, region: str) -> PriceQuery:
    """``dimension`` is ``vCPU``, ``GB`` (memory) or ``EphemeralStorage``; by pinned usage type."""
    prefix = USAGE_PREFIXES.get(region)
    if prefix is None:
        raise UnknownRegionError(f"no usage-type prefix is pinned for Region {region} (Fargate prices)")
    market = "SpotUsage-" if capacity_provider == "FARGATE_SPOT" else ""
    arch = "ARM-" if architecture == "ARM64" and dimension != "EphemeralStorage" else ""
    usage = {
        "vCPU": f"{prefix}-{market}Fargate-{arch}vCPU-Hours:perCPU",
        "GB": f"{prefix}-{market}Fargate-{arch}GB-Hours",
        "EphemeralStorage": f"{prefix}-{market}Fargate-EphemeralStorage-GB-Hours",
    }[dimension]
    units = frozenset({"gb-hours", "hours", "hrs"})
    filters = (_term("usagetype", usage), _term("regionCode", region))
    return PriceQuery("AmazonECS", filters, units, f"Fargate {usage}")


# -- reading a product ----------------------------------------------------------------------------------


def select_price(query: PriceQuery, documents: Iterable[str | Mapping[str, Any]]) -> UnitPrice:
    """The one On-Demand price of the one product GetProducts returned (JSON strings, as AWS sends)."""
    products = [json.loads(doc) if isinstance(doc, str) else dict(doc) for doc in documents]
    if not products:
        raise PriceNotFoundError(query.service_code, query.filters)
    if len(products) > 1:
        raise AmbiguousPriceError(query.service_code, query.filters, len(products))
    product = products[0]
    terms = (product.get("terms") or {}).get("OnDemand") or {}
    dimensions = [
        (term, dimension)
        for term in terms.values()
        for dimension in (term.get("priceDimensions") or {}).values()
    ]
    if not dimensions:
        raise PriceNotFoundError(query.service_code, query.filters)
    if len(dimensions) > 1:
        raise AmbiguousPriceError(query.service_code, query.filters, len(dimensions))
    term, dimension = dimensions[0]
    unit = str(dimension.get("unit", ""))
    if unit.lower() not in query.units:
        raise PriceUnitMismatchError(query.label, "/".join(sorted(query.units)), unit)
    usd = (dimension.get("pricePerUnit") or {}).get("USD")
    if not isinstance(usd, str):
        raise PriceNotFoundError(query.service_code, query.filters)
    return UnitPrice(
        usd=amount(usd),
        unit=unit,
        sku=str((product.get("product") or {}).get("sku") or term.get("sku") or ""),
        effective_date=str(term.get("effectiveDate", "")),
        publication=str(product.get("publicationDate") or product.get("version") or ""),
    )


# -- Spot ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class SpotPoint:
    """A Spot price change: ``usd`` per hour from ``at`` until the next change."""

    at: datetime
    usd: Decimal


@dataclass(frozen=True)
class SpotSegment:
    interval: Interval
    usd_per_hour: Decimal
    changed_at: datetime  # when this price took effect (may be before the interval)

    @property
    def cost(self) -> Decimal:
        return self.usd_per_hour * hours(self.interval.seconds)


def spot_segments(points: Sequence[SpotPoint], interval: Interval) -> list[SpotSegment]:
    """The piecewise-constant Spot price over ``interval``: one segment per price in effect.

    Needs the price in effect at the start (the last change at or before it, which
    DescribeSpotPriceHistory returns with its own earlier timestamp); without it the part before the
    first change has no price, which is ``SpotPriceMissingError``, never a cost of 0.
    """
    series = sorted({point.at: point for point in points}.values())  # one price per instant
    before = [point for point in series if point.at <= interval.start]
    if not before:
        first = f"; first change at {iso(series[0].at)}" if series else ""
        raise SpotPriceMissingError(f"no Spot price in effect at {iso(interval.start)}{first}")
    changes = [before[-1], *(point for point in series if interval.start < point.at < interval.end)]
    segments = []
    for index, point in enumerate(changes):
        start = max(point.at, interval.start)
        end = changes[index + 1].at if index + 1 < len(changes) else interval.end
        if start < end:
            segments.append(SpotSegment(Interval(start, end), point.usd, point.at))
    return segments
