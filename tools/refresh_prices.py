"""Refresh the local cloud's Price List snapshot from the real AWS Price List API.

    .venv/bin/python -m tools.refresh_prices --snapshot 2025-06            # writes data/pricing/2025-06.json

Run it by hand, with AWS credentials allowed to call ``pricing:GetProducts``: it is the one way the
snapshot meets AWS, and no test or ``make`` target runs it against AWS (the tests point it at the local
cloud's own Price List fake). It asks GetProducts for exactly what the benchmarking blueprint prices, with
the blueprint's filters, so the snapshot holds every product those filters can return and nothing else:

- EC2 Linux On-Demand instance hours per instance type (``instanceType``, ``regionCode``,
  ``operatingSystem=Linux``, ``tenancy=Shared``, ``preInstalledSw=NA``, ``licenseModel=No License
  required``, ``marketoption=OnDemand``), every ``capacitystatus`` kept so that a lookup without it is
  ambiguous offline as it is on AWS;
- EBS storage per GB-month (``productFamily=Storage``, ``volumeApiName`` gp2, gp3, io1, io2, st1, sc1),
  gp3 IOPS (``System Operation``) and gp3 throughput (``Provisioned Throughput``);
- FSx for Lustre storage per GB-month (``AmazonFSx``, ``fileSystemType=Lustre``, ``productFamily=Storage``);
- Fargate vCPU-hours and GB-hours, x86 and ARM, and ephemeral storage GB-hours (``AmazonECS``).

Only the ``OnDemand`` terms are kept (Reserved terms would multiply the file for nothing the local cloud
serves). Review the diff before committing: a price that moved is a real change for every offline run.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SNAPSHOT_DIR = Path(__file__).resolve().parent.parent / "localcloud" / "fakes" / "data" / "pricing"
PRICING_REGION = "us-east-1"  # the Price List API is served from us-east-1, eu-central-1 and ap-south-1
INSTANCE_TYPES = (
    "m5.large",
    "m5.xlarge",
    "m5.2xlarge",
    "c5.large",
    "c5.xlarge",
    "c5.2xlarge",
    "r5.large",
    "r5.xlarge",
    "r5.2xlarge",
    "m6g.large",
    "c6g.large",
    "r6g.large",
    "m7g.large",
    "c7g.xlarge",
)
EBS_VOLUME_TYPES = ("gp2", "gp3", "io1", "io2", "st1", "sc1")
FARGATE_USAGE_SUFFIXES = (
    "-Fargate-vCPU-Hours:perCPU",
    "-Fargate-GB-Hours",
    "-Fargate-ARM-vCPU-Hours:perCPU",
    "-Fargate-ARM-GB-Hours",
    "-Fargate-EphemeralStorage-GB-Hours",
)
_SNAPSHOT_NAME = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def _term(field_name: str, value: str, kind: str = "TERM_MATCH") -> dict[str, str]:
    return {"Type": kind, "Field": field_name, "Value": value}


@dataclass(frozen=True)
class Query:
    """One GetProducts query, and which of its products the snapshot keeps (all by default)."""

    service_code: str
    filters: list[dict[str, str]]
    keep: Callable[[Mapping[str, Any]], bool] = field(default=lambda _item: True)


def _fargate_usage(item: Mapping[str, Any]) -> bool:
    usage = str(item["product"].get("attributes", {}).get("usagetype", ""))
    return usage.endswith(FARGATE_USAGE_SUFFIXES)


def queries(region: str, instance_types: Sequence[str] = INSTANCE_TYPES) -> list[Query]:
    """The benchmarking blueprint's Price List queries for ``region``."""
    in_region = _term("regionCode", region)
    ec2 = [
        Query(
            "AmazonEC2",
            [
                _term("instanceType", instance_type),
                in_region,
                _term("operatingSystem", "Linux"),
                _term("tenancy", "Shared"),
                _term("preInstalledSw", "NA"),
                _term("licenseModel", "No License required"),
                _term("marketoption", "OnDemand"),
            ],
        )
        for instance_type in instance_types
    ]
    return [
        *ec2,
        Query(
            "AmazonEC2",
            [
                _term("productFamily", "Storage"),
                _term("volumeApiName", ",".join(EBS_VOLUME_TYPES), "ANY_OF"),
                in_region,
            ],
        ),
        Query(
            "AmazonEC2",
            [_term("productFamily", "System Operation"), _term("volumeApiName", "gp3"), in_region],
        ),
        Query(
            "AmazonEC2",
            [_term("productFamily", "Provisioned Throughput"), _term("volumeApiName", "gp3"), in_region],
        ),
        Query(
            "AmazonFSx",
            [_term("fileSystemType", "Lustre"), _term("productFamily", "Storage"), in_region],
        ),
        Query(
            "AmazonECS",
            [_term("productFamily", "Compute"), _term("usagetype", "Fargate", "CONTAINS"), in_region],
            keep=_fargate_usage,
        ),
    ]


def fetch(client: Any, query: Query) -> Iterator[dict[str, Any]]:
    """Every product of ``query`` (all pages), trimmed to the fields the snapshot keeps."""
    pages = client.get_paginator("get_products").paginate(
        ServiceCode=query.service_code, Filters=query.filters, FormatVersion="aws_v1"
    )
    for page in pages:
        for document in page["PriceList"]:
            item = json.loads(document)
            if query.keep(item):
                yield trim(item)


def trim(item: Mapping[str, Any]) -> dict[str, Any]:
    """A Price List item with only its ``OnDemand`` terms."""
    kept = {key: item[key] for key in ("product", "serviceCode", "version", "publicationDate") if key in item}
    kept["terms"] = {"OnDemand": item.get("terms", {}).get("OnDemand", {})}
    return kept


def _sort_key(item: Mapping[str, Any]) -> tuple[str, str, str, str]:
    product = item["product"]
    usage = str(product.get("attributes", {}).get("usagetype", ""))
    return str(item["serviceCode"]), str(product.get("productFamily", "")), usage, str(product["sku"])


def build_snapshot(
    client: Any, *, snapshot: str, region: str, instance_types: Sequence[str], fetched_at: datetime
) -> dict[str, Any]:
    """The snapshot document: header, then every product of every query, deduplicated by SKU."""
    if not _SNAPSHOT_NAME.fullmatch(snapshot):
        raise ValueError(f"snapshot must be YYYY-MM, not {snapshot!r}")
    products: dict[str, dict[str, Any]] = {}
    for query in queries(region, instance_types):
        found = list(fetch(client, query))
        if not found:
            raise LookupError(f"GetProducts {query.service_code} {query.filters} returned no product")
        products.update((item["product"]["sku"], item) for item in found)
    day = fetched_at.astimezone(UTC).date().isoformat()
    return {
        "snapshot": snapshot,
        "pricesValidAsOf": day,
        "regions": [region],
        "formatVersion": "aws_v1",
        "source": f"AWS Price List Query API (GetProducts, aws_v1), {region}, fetched {day}",
        "notice": (
            "A snapshot for offline runs of the local cloud, not a live price feed: AWS changes prices, so "
            "never use it for real cost decisions. Only OnDemand terms are kept; credits, Savings Plans and "
            "discounts are not reflected."
        ),
        "refresh": ".venv/bin/python -m tools.refresh_prices --snapshot YYYY-MM",
        "priceList": sorted(products.values(), key=_sort_key),
    }


def main(argv: Sequence[str] | None = None, *, client: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--snapshot", required=True, help="the snapshot's name, YYYY-MM")
    parser.add_argument("--region", default="us-east-1", help="the region priced (default us-east-1)")
    parser.add_argument("--instance-types", nargs="+", default=list(INSTANCE_TYPES))
    parser.add_argument("--out", type=Path, help="default: localcloud/fakes/data/pricing/<snapshot>.json")
    args = parser.parse_args(argv)
    if client is None:
        import boto3

        client = boto3.client("pricing", region_name=PRICING_REGION)
    document = build_snapshot(
        client,
        snapshot=args.snapshot,
        region=args.region,
        instance_types=args.instance_types,
        fetched_at=datetime.now(UTC),
    )
    out: Path = args.out or SNAPSHOT_DIR / f"{args.snapshot}.json"
    out.write_text(json.dumps(document, indent=1) + "\n")
    print(f"{out}: {len(document['priceList'])} products", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
