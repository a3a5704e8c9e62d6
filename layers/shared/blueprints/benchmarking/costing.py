"""Price what a launch used (``price_resources``): line items, component totals, the breakdown per
resource, and the values the state machine writes.

- EC2 On-Demand: the hourly price times the instance's busy seconds (the union of its spans).
- EC2 Spot: the price history integrated over each span, one line item per price segment.
- EBS (GB-month, and gp3 IOPS above 3,000 and throughput above 125 MiB/s; io1/io2 IOPS) and FSx for
  Lustre (GB-month): ``quantity x price x seconds used / seconds in that calendar month``, per month.
- Fargate: vCPU-hours and GB-hours by architecture and capacity provider, ephemeral storage above the
  free 20 GiB; a task is billed at least one minute.

Amounts stay unrounded ``Decimal`` until the output: each component is rounded half-up to 4 places, and the
total is the rounded sum of the unrounded components. A price that cannot be established is *missing*:
nothing is written as a cost then (the state machine marks the launch PENDING and tries again), so a
failed lookup never looks like a free run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from blueprints.benchmarking import prices
from blueprints.benchmarking.errors import (
    AmbiguousPriceError,
    FsxPriceUnverifiedError,
    MissingPriceError,
    PriceNotFoundError,
)
from blueprints.benchmarking.models import (
    Collection,
    FargateUsage,
    FileSystemUsage,
    InstanceUsage,
    VolumeUsage,
)
from blueprints.benchmarking.money import ZERO, hours, usd
from blueprints.benchmarking.ports import PriceBook, PriceStats
from blueprints.benchmarking.prices import UnitPrice
from blueprints.benchmarking.timing import Interval, iso, month_slices, total_seconds, union

COMPONENTS = ("instance", "volume", "filesystem", "fargate")
PRICING_BASIS = "public list price"
CURRENCY = "USD"
FARGATE_MINIMUM_SECONDS = Decimal(60)
MIB_PER_GIB = Decimal(1024)
_SERIALIZER = TypeSerializer()


@dataclass(frozen=True)
class LineItem:
    """One priced quantity (what ``cost_inputs_uri`` lists, for audit and recomputation)."""

    resource_id: str
    component: str
    description: str
    sku: str
    unit_price: Decimal
    unit: str
    quantity: Decimal
    start: str
    end: str
    price_source: str
    cache_hit: bool

    @property
    def cost(self) -> Decimal:
        return self.unit_price * self.quantity

    def as_json(self) -> dict[str, Any]:
        return {
            "resource_id": self.resource_id,
            "component": self.component,
            "description": self.description,
            "sku": self.sku,
            "unit_price": str(self.unit_price),
            "unit": self.unit,
            "quantity": str(self.quantity),
            "start": self.start,
            "end": self.end,
            "cost": str(self.cost),
            "price_source": self.price_source,
            "cache_hit": self.cache_hit,
        }


@dataclass(frozen=True)
class ResourceSummary:
    component: str
    description: str
    seconds: Decimal


@dataclass
class Costing:
    """The priced launch: line items, what is missing, and the component totals (unrounded)."""

    line_items: list[LineItem] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    resources: dict[str, ResourceSummary] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.missing

    def component(self, name: str) -> Decimal:
        return sum((item.cost for item in self.line_items if item.component == name), ZERO)

    @property
    def total(self) -> Decimal:
        return sum((self.component(name) for name in COMPONENTS), ZERO)

    def resource_cost(self, resource_id: str) -> Decimal:
        return sum((item.cost for item in self.line_items if item.resource_id == resource_id), ZERO)


class Pricer:
    """Prices a ``Collection`` with a ``PriceBook``; every price that fails is recorded as missing."""

    def __init__(self, book: PriceBook) -> None:
        self.book = book

    def price(self, collection: Collection) -> Costing:
        costing = Costing(missing=[*collection.unresolved, *collection.unsupported])
        region = collection.region
        for instance in collection.instances:
            self._guarded(costing, f"instance {instance.instance_id}", self._instance, instance, region)
        for volume in collection.volumes:
            self._guarded(costing, f"volume {volume.volume_id}", self._volume, volume, region)
        for filesystem in collection.filesystems:
            what = f"file system {filesystem.file_system_id}"
            self._guarded(costing, what, self._filesystem, filesystem, region)
        for task in collection.fargate_tasks:
            self._guarded(costing, f"Fargate task {task.task_arn}", self._fargate, task, region)
        summaries = [
            *(self._summary_instance(item) for item in collection.instances),
            *(self._summary_volume(item) for item in collection.volumes),
            *(self._summary_filesystem(item) for item in collection.filesystems),
            *(self._summary_fargate(item) for item in collection.fargate_tasks),
        ]
        costing.resources = dict(summaries)
        costing.missing.sort()
        return costing

    @staticmethod
    def _guarded[UsageT](
        costing: Costing,
        what: str,
        lines: Callable[[UsageT, str], list[LineItem]],
        usage: UsageT,
        region: str,
    ) -> None:
        try:
            costing.line_items.extend(lines(usage, region))
        except MissingPriceError as error:
            costing.missing.append(f"{what}: {type(error).__name__}: {error}")

    # -- per resource ----------------------------------------------------------------------------------

    def _instance(self, usage: InstanceUsage, region: str) -> list[LineItem]:
        spans = union(span.interval for span in usage.spans)
        if usage.market == "spot":
            return self._spot(usage, spans)
        price = self.book.unit_price(prices.ec2_on_demand(usage.instance_type, region))
        seconds = sum((span.seconds for span in spans), ZERO)
        return [
            _line(
                usage.instance_id,
                "instance",
                f"{usage.instance_type} On-Demand in {usage.availability_zone}, {len(spans)} busy span(s)",
                price,
                hours(seconds),
                spans[0].start.isoformat() if spans else "",
                spans[-1].end.isoformat() if spans else "",
            )
        ]

    def _spot(self, usage: InstanceUsage, spans: list[Interval]) -> list[LineItem]:
        if not spans:
            return []
        window = Interval(spans[0].start, spans[-1].end)
        points = self.book.spot_points(usage.instance_type, usage.availability_zone, window)
        items = []
        for span in spans:
            for segment in prices.spot_segments(points, span):
                items.append(
                    LineItem(
                        resource_id=usage.instance_id,
                        component="instance",
                        description=(
                            f"{usage.instance_type} Spot in {usage.availability_zone} at "
                            f"{segment.usd_per_hour}/h (price of {iso(segment.changed_at)})"
                        ),
                        sku=f"spot:{usage.instance_type}:{usage.availability_zone}:{prices.SPOT_PRODUCT}",
                        unit_price=segment.usd_per_hour,
                        unit="Hrs",
                        quantity=hours(segment.interval.seconds),
                        start=iso(segment.interval.start),
                        end=iso(segment.interval.end),
                        price_source="DescribeSpotPriceHistory",
                        cache_hit=False,
                    )
                )
        return items

    def _volume(self, usage: VolumeUsage, region: str) -> list[LineItem]:
        spans = union(span.interval for span in usage.spans)
        storage = self.book.unit_price(prices.ebs_storage(usage.volume_type, region))
        items = _per_month(
            usage.volume_id,
            "volume",
            f"EBS {usage.volume_type} {usage.size_gib} GiB",
            storage,
            Decimal(usage.size_gib),
            spans,
        )
        extra_iops = _extra_iops(usage)
        if extra_iops > 0:
            iops = self.book.unit_price(prices.ebs_iops(usage.volume_type, region))
            items += _per_month(
                usage.volume_id,
                "volume",
                f"EBS {usage.volume_type} {extra_iops} IOPS",
                iops,
                Decimal(extra_iops),
                spans,
            )
        extra_throughput = _extra_throughput(usage)
        if extra_throughput > 0:
            throughput = self.book.unit_price(prices.ebs_throughput(usage.volume_type, region))
            items += _per_month(
                usage.volume_id,
                "volume",
                f"EBS {usage.volume_type} {extra_throughput} MiB/s throughput",
                throughput,
                Decimal(extra_throughput) / MIB_PER_GIB,  # priced per GiBps-month
                spans,
            )
        return items

    def _filesystem(self, usage: FileSystemUsage, region: str) -> list[LineItem]:
        query = prices.fsx_lustre(usage.deployment_type, usage.per_unit_throughput, region)
        try:
            price = self.book.unit_price(query)
        except (PriceNotFoundError, AmbiguousPriceError) as error:
            raise FsxPriceUnverifiedError(
                f"{error} (the FSx filter values are unverified against the live Price List)"
            ) from error
        return _per_month(
            usage.file_system_id,
            "filesystem",
            f"FSx for Lustre {usage.deployment_type} {usage.storage_gib} GiB",
            price,
            Decimal(usage.storage_gib),
            [usage.span.interval],
        )

    def _fargate(self, usage: FargateUsage, region: str) -> list[LineItem]:
        window = usage.span.interval
        billed = hours(max(window.seconds, FARGATE_MINIMUM_SECONDS))
        architecture, provider = usage.architecture, usage.capacity_provider
        vcpu = self.book.unit_price(prices.fargate("vCPU", architecture, provider, region))
        memory = self.book.unit_price(prices.fargate("GB", architecture, provider, region))
        start, end = iso(window.start), iso(window.end)
        what = f"Fargate {architecture} {provider}"
        items = [
            _line(
                usage.task_arn, "fargate", f"{what} {usage.vcpu} vCPU", vcpu, usage.vcpu * billed, start, end
            ),
            _line(
                usage.task_arn,
                "fargate",
                f"{what} {usage.memory_gib} GB",
                memory,
                usage.memory_gib * billed,
                start,
                end,
            ),
        ]
        extra = usage.ephemeral_gib - prices.FARGATE_FREE_EPHEMERAL_GIB
        if extra > 0:
            storage = self.book.unit_price(prices.fargate("EphemeralStorage", architecture, provider, region))
            items.append(
                _line(
                    usage.task_arn,
                    "fargate",
                    f"{what} {extra} GiB ephemeral storage above 20 GiB",
                    storage,
                    Decimal(extra) * billed,
                    start,
                    end,
                )
            )
        return items

    # -- what each resource was ------------------------------------------------------------------------

    @staticmethod
    def _summary_instance(usage: InstanceUsage) -> tuple[str, ResourceSummary]:
        seconds = total_seconds(span.interval for span in usage.spans)
        text = (
            f"{usage.instance_type} {usage.market} in {usage.availability_zone}; jobs {', '.join(usage.jobs)}"
        )
        return usage.instance_id, ResourceSummary("instance", text, seconds)

    @staticmethod
    def _summary_volume(usage: VolumeUsage) -> tuple[str, ResourceSummary]:
        seconds = total_seconds(span.interval for span in usage.spans)
        text = f"EBS {usage.volume_type} {usage.size_gib} GiB on {usage.instance_id}"
        return usage.volume_id, ResourceSummary("volume", text, seconds)

    @staticmethod
    def _summary_filesystem(usage: FileSystemUsage) -> tuple[str, ResourceSummary]:
        text = f"FSx for Lustre {usage.deployment_type} {usage.storage_gib} GiB"
        return usage.file_system_id, ResourceSummary("filesystem", text, usage.span.interval.seconds)

    @staticmethod
    def _summary_fargate(usage: FargateUsage) -> tuple[str, ResourceSummary]:
        text = (
            f"Fargate {usage.architecture} {usage.capacity_provider} {usage.vcpu} vCPU "
            f"{usage.memory_gib} GB ({usage.origin})"
        )
        return usage.task_arn, ResourceSummary("fargate", text, usage.span.interval.seconds)


def _extra_iops(usage: VolumeUsage) -> int:
    if usage.volume_type == "gp3":
        return max(0, (usage.iops or 0) - prices.GP3_FREE_IOPS)
    if usage.volume_type in ("io1", "io2"):
        return usage.iops or 0
    return 0


def _extra_throughput(usage: VolumeUsage) -> int:
    if usage.volume_type == "gp3":
        return max(0, (usage.throughput_mibps or 0) - prices.GP3_FREE_THROUGHPUT_MIBPS)
    return 0


def _source(price: UnitPrice) -> str:
    return "cache" if price.cached else "GetProducts"


def _line(
    resource_id: str,
    component: str,
    description: str,
    price: UnitPrice,
    quantity: Decimal,
    start: str,
    end: str,
) -> LineItem:
    return LineItem(
        resource_id=resource_id,
        component=component,
        description=description,
        sku=price.sku,
        unit_price=price.usd,
        unit=price.unit,
        quantity=quantity,
        start=start,
        end=end,
        price_source=_source(price),
        cache_hit=price.cached,
    )


def _per_month(
    resource_id: str,
    component: str,
    description: str,
    price: UnitPrice,
    size: Decimal,
    spans: list[Interval],
) -> list[LineItem]:
    """``size x seconds used / seconds in the month`` units per calendar month (GB-month prorating)."""
    used: dict[tuple[int, int], Decimal] = defaultdict(lambda: ZERO)
    month_length: dict[tuple[int, int], Decimal] = {}
    bounds: dict[tuple[int, int], list[Interval]] = defaultdict(list)
    for span in spans:
        for piece, seconds_in_month in month_slices(span):
            key = (piece.start.year, piece.start.month)
            used[key] += piece.seconds
            month_length[key] = seconds_in_month
            bounds[key].append(piece)
    return [
        _line(
            resource_id,
            component,
            f"{description}, {used[key]} s of {month_length[key]} s in {key[0]}-{key[1]:02d}",
            price,
            size * used[key] / month_length[key],
            iso(bounds[key][0].start),
            iso(bounds[key][-1].end),
        )
        for key in sorted(used)
    ]


# -- what the state machine receives ------------------------------------------------------------------


def attribute(value: Any) -> Any:
    """A Python value as a DynamoDB attribute value (what the ASL ``UpdateItem`` passes through)."""
    return _SERIALIZER.serialize(value)


def state_output(
    collection: Collection, costing: Costing, stats: PriceStats, cost_inputs_uri: str
) -> dict[str, Any]:
    """The pricing function's answer to the state machine.

    Complete: the amounts as strings (``totalCost`` is written as a string, always: the pipe filter tests
    ``totalCost.S``) and the typed attribute values of the breakdown, pricing source, timings and notes.
    Incomplete: only what is missing; no amount at all, so nothing can write a partial or zero cost.
    ``unsupported``: the launch used compute the collector cannot see; the state machine marks it
    UNSUPPORTED at once (waiting would not make that compute visible).
    """
    notes = list(collection.notes)
    output: dict[str, Any] = {
        "complete": costing.complete,
        "recollect": bool(collection.unresolved),
        "unsupported": bool(collection.unsupported),
        "missing": costing.missing,
        "missing_attribute": attribute(costing.missing),
    }
    if not costing.complete:
        return output
    if costing.total == ZERO:
        notes.append("zero usage")
    breakdown = {
        resource_id: {
            "component": summary.component,
            "description": summary.description,
            "seconds": format(summary.seconds.quantize(Decimal("0.001")), "f"),
            "cost": usd(costing.resource_cost(resource_id)),
        }
        for resource_id, summary in sorted(costing.resources.items())
    }
    source = {
        "basis": PRICING_BASIS,
        "currency": CURRENCY,
        "priceList": f"AWS Price List GetProducts, regionCode {collection.region}",
        "publications": ", ".join(sorted(stats.publications)) or "none",
        "priceListCalls": str(stats.price_list_calls),
        "cacheHits": str(stats.cache_hits + stats.memo_hits),
    }
    if any(item.price_source == "DescribeSpotPriceHistory" for item in costing.line_items):
        source["spot"] = f"EC2 DescribeSpotPriceHistory ({prices.SPOT_PRODUCT}), integrated over each span"
    output.update(
        {
            "total_cost": usd(costing.total),
            **{f"{name}_cost": usd(costing.component(name)) for name in COMPONENTS},
            "cost_breakdown": attribute(breakdown),
            "pricing_source": attribute(source),
            "phase_timings": attribute({name: Decimal(value) for name, value in collection.timings.items()}),
            "cost_notes": attribute(notes),
            "cost_inputs_uri": cost_inputs_uri,
        }
    )
    return output


def audit_document(collection: Collection, costing: Costing, stats: PriceStats) -> dict[str, Any]:
    """Every line item with its unit price, SKU, quantity, window and source (``cost_inputs_uri``)."""
    return {
        "launch_id": collection.launch_id,
        "attempt": collection.attempt,
        "region": collection.region,
        "pricing_basis": PRICING_BASIS,
        "currency": CURRENCY,
        "total_cost": usd(costing.total),
        "components": {name: usd(costing.component(name)) for name in COMPONENTS},
        "line_items": [item.as_json() for item in costing.line_items],
        "collection": collection.model_dump(mode="json"),
        "price_list_calls": stats.price_list_calls,
        "cache_hits": stats.cache_hits + stats.memo_hits,
    }
