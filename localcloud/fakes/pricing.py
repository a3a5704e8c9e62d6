"""Fake of the AWS Price List API (``pricing``): DescribeServices, GetAttributeValues, GetProducts.

Why: cost calculation and cost prediction call the Price List API, and moto has no ``pricing``
backend. The catalogue is a versioned *snapshot* of AWS's public on-demand list prices in the Price
List item format (``product``/``serviceCode``/``terms``/``version``/``publicationDate``), returned by
GetProducts as JSON strings, as AWS returns them: ``data/pricing/<YYYY-MM>.json``, each file naming its
``snapshot`` and the month its prices were valid. It holds exactly the dimensions the benchmarking
blueprint selects (EC2 Linux instances, EBS volumes and gp3 IOPS/throughput, FSx for Lustre storage,
Fargate), for offline runs only; ``tools/refresh_prices.py`` rewrites it from the real API with the same
filters.

Which snapshot: the newest file by default; ``LOCALCLOUD_PRICING_SNAPSHOT=<YYYY-MM>`` (read when a
backend is created) or ``PricingBackend.use_snapshot(name)`` choose another. Tests and demos that need
other prices add them with ``PricingBackend.add_products``.

Semantics kept from AWS:

- ``ServiceCode`` scopes every call; an unknown code is ``NotFoundException``, an empty one
  ``InvalidParameterException``; ``FormatVersion`` must be ``aws_v1``.
- ``Filters`` all have to match. A field is a product attribute (``instanceType``, ``regionCode``...),
  ``productFamily``, ``sku`` or ``ServiceCode``; field names match case-insensitively. ``TERM_MATCH`` and
  ``EQUALS`` are exact, ``CONTAINS`` a substring, ``ANY_OF``/``NONE_OF`` a comma-separated list.
- ``MaxResults`` (1-100, default 100) and ``NextToken`` paginate; a token only works for the request
  that issued it (``InvalidNextTokenException``).
- DescribeServices lists every service code in the catalogue with its attribute names; an unknown
  attribute name in GetAttributeValues is ``NotFoundException``.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult

from localcloud import LocalCloudError
from localcloud.fakes import FakeBackend, FakeResponse, fake_service, paginate

SNAPSHOT_DIR = Path(__file__).parent / "data" / "pricing"
SNAPSHOT_ENV = "LOCALCLOUD_PRICING_SNAPSHOT"
_SNAPSHOT_NAME = re.compile(r"\d{4}-\d{2}")
FORMAT_VERSION = "aws_v1"
MAX_RESULTS = 100


class NotFoundError(ServiceException):
    code = "NotFoundException"


class InvalidParameterError(ServiceException):
    code = "InvalidParameterException"


def snapshots() -> list[str]:
    """The shipped price snapshots, oldest first (``YYYY-MM``, from ``data/pricing/``)."""
    return sorted(path.stem for path in SNAPSHOT_DIR.glob("*.json") if _SNAPSHOT_NAME.fullmatch(path.stem))


def load_snapshot(name: str | None = None) -> Mapping[str, Any]:
    """The snapshot document ``name`` (the newest when ``None``), as stored: header fields + ``priceList``."""
    available = snapshots()
    chosen = name if name is not None else (available[-1] if available else None)
    if chosen is None or chosen not in available:
        raise LocalCloudError(f"no price snapshot {chosen!r} in {SNAPSHOT_DIR} (available: {available})")
    return _read_snapshot(SNAPSHOT_DIR / f"{chosen}.json", chosen)


@cache
def _read_snapshot(path: Path, name: str) -> Mapping[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    if document.get("snapshot") != name:
        raise LocalCloudError(f"price snapshot file {path.name} names snapshot {document.get('snapshot')!r}")
    return document


def _fields(item: Mapping[str, Any]) -> dict[str, str]:
    """The filterable fields of a price list item, by lower-case name."""
    product = item["product"]
    fields = {str(name).lower(): str(value) for name, value in product.get("attributes", {}).items()}
    fields.update(
        {"productfamily": str(product.get("productFamily", "")), "sku": str(product.get("sku", ""))}
    )
    fields["servicecode"] = str(item["serviceCode"])
    return fields


def _matches(fields: Mapping[str, str], flt: Mapping[str, Any]) -> bool:
    kind, value = str(flt["Type"]), str(flt["Value"])
    actual = fields.get(str(flt["Field"]).lower())
    choices = [choice.strip() for choice in value.split(",")]
    if kind == "NONE_OF":
        return actual not in choices
    if actual is None:
        return False
    if kind == "CONTAINS":
        return value in actual
    if kind == "ANY_OF":
        return actual in choices
    return actual == value  # TERM_MATCH, EQUALS


class PricingResponse(FakeResponse):
    """The Price List API's JSON protocol operations."""

    SERVICE = "pricing"

    def _page_size(self) -> int:
        size = int(self.params.get("MaxResults", MAX_RESULTS))
        if not 1 <= size <= MAX_RESULTS:
            raise InvalidParameterError(f"Input Parameters are invalid. maxResults must be 1-{MAX_RESULTS}")
        return size

    def _format_version(self) -> str:
        version = str(self.params.get("FormatVersion", FORMAT_VERSION))
        if version != FORMAT_VERSION:
            raise InvalidParameterError(f"Input Parameters are invalid. formatVersion {version} is not valid")
        return version

    def describe_services(self) -> ActionResult:
        version = self._format_version()
        services = self.backend.describe_services(self.params.get("ServiceCode"))
        page, token = paginate(services, self.params, page_size=self._page_size())
        return ActionResult({"Services": page, "FormatVersion": version, "NextToken": token})

    def get_attribute_values(self) -> ActionResult:
        values = self.backend.attribute_values(self.params["ServiceCode"], self.params["AttributeName"])
        page, token = paginate(
            [{"Value": value} for value in values], self.params, page_size=self._page_size()
        )
        return ActionResult({"AttributeValues": page, "NextToken": token})

    def get_products(self) -> ActionResult:
        version = self._format_version()
        products = self.backend.products(self.params["ServiceCode"], self.params.get("Filters", []))
        page, token = paginate(products, self.params, page_size=self._page_size())
        return ActionResult({"FormatVersion": version, "PriceList": page, "NextToken": token})


@fake_service
class PricingBackend(FakeBackend):
    """The price list of one account and region: a price snapshot plus anything added."""

    SERVICE = "pricing"
    RESPONSE = PricingResponse

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.snapshot = ""
        self.items: list[dict[str, Any]] = []
        self.use_snapshot(os.environ.get(SNAPSHOT_ENV) or None)

    def use_snapshot(self, name: str | None = None) -> None:
        """Serve snapshot ``name`` (the newest when ``None``) instead of the current catalogue."""
        document = load_snapshot(name)
        self.snapshot = str(document["snapshot"])
        self.items = [copy.deepcopy(dict(item)) for item in document["priceList"]]

    def add_products(self, items: Iterable[Mapping[str, Any]]) -> None:
        """Add price list items (same format as the catalogue's) for a scenario."""
        self.items.extend(copy.deepcopy(dict(item)) for item in items)

    def _service_items(self, service_code: str) -> list[dict[str, Any]]:
        if not service_code:
            raise InvalidParameterError("Input Parameters are invalid. serviceCode cannot be null or empty")
        found = [item for item in self.items if item["serviceCode"] == service_code]
        if not found:
            raise NotFoundError(f"Requested service code {service_code} is not found")
        return found

    def describe_services(self, service_code: str | None) -> list[dict[str, Any]]:
        codes = [service_code] if service_code is not None else sorted({i["serviceCode"] for i in self.items})
        services = []
        for code in codes:
            names = {"productFamily"}
            for item in self._service_items(code):
                names.update(item["product"].get("attributes", {}))
            services.append({"ServiceCode": code, "AttributeNames": sorted(names)})
        return services

    def attribute_values(self, service_code: str, attribute: str) -> list[str]:
        values = {
            value
            for item in self._service_items(service_code)
            if (value := _fields(item).get(attribute.lower())) is not None
        }
        if not values:
            raise NotFoundError(f"Requested attribute name {attribute} is not found")
        return sorted(values)

    def products(self, service_code: str, filters: Iterable[Mapping[str, Any]]) -> list[str]:
        """The matching items as AWS returns them: one compact JSON document per product."""
        wanted = list(filters)
        return [
            json.dumps(item, separators=(",", ":"))
            for item in self._service_items(service_code)
            if all(_matches(_fields(item), flt) for flt in wanted)
        ]
