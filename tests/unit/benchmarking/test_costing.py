"""Pricing a collection: each resource kind against the price snapshot, with hand-computed amounts;
missing prices never turn into 0; rounding half-up per component, total from the unrounded parts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from blueprints.benchmarking.costing import LineItem, Pricer, audit_document, state_output
from blueprints.benchmarking.errors import AmbiguousPriceError
from blueprints.benchmarking.models import (
    Collection,
    FargateUsage,
    FileSystemUsage,
    InstanceUsage,
    Span,
    VolumeUsage,
)
from blueprints.benchmarking.money import usd
from blueprints.benchmarking.ports import PriceStats
from blueprints.benchmarking.prices import SpotPoint
from blueprints.benchmarking.timing import Interval
from tests.unit.benchmarking.fakes import T0, SnapshotBook, at

TASK = "arn:aws:ecs:us-east-1:123456789012:task/genomics-dev/0f8d6c1e2b3a4c5d"


def span(start: float, end: float) -> Span:
    return Span.of(Interval(at(start), at(end)))


def collection(**resources: Any) -> Collection:
    return Collection(
        launch_id="wf-1",
        attempt=1,
        status="COMPLETE",
        region="us-east-1",
        timings={"runningSeconds": "900.000", "wallSeconds": "915.500"},
        **resources,
    )


def fargate(**overrides: Any) -> FargateUsage:
    values: dict[str, Any] = {
        "task_arn": TASK,
        "vcpu": Decimal(1),
        "memory_gib": Decimal(4),
        "architecture": "X86_64",
        "span": Span.of(Interval(T0, T0 + timedelta(seconds=910))),
    }
    values.update(overrides)
    return FargateUsage(**values)


def instance(instance_id: str, instance_type: str, market: str, zone: str, *spans: Span) -> InstanceUsage:
    return InstanceUsage(
        instance_id=instance_id,
        instance_type=instance_type,
        market=market,
        availability_zone=zone,
        spans=list(spans),
        jobs=["job-1"],
    )


def test_a_fargate_head_task_is_billed_per_vcpu_hour_and_gb_hour() -> None:
    # Given 1 vCPU and 4 GB on x86 for 910 s (10 s image pull + 900 s run)
    costing = Pricer(SnapshotBook()).price(collection(fargate_tasks=[fargate()]))

    # Then 910/3600 h x (0.04048 + 4 x 0.004445) = 0.0147268333 -> 0.0147
    assert costing.complete
    assert usd(costing.component("fargate")) == "0.0147"
    assert [item.description for item in costing.line_items] == [
        "Fargate X86_64 FARGATE 1 vCPU",
        "Fargate X86_64 FARGATE 4 GB",
    ]
    assert [item.sku[:2] for item in costing.line_items] == ["LC", "LC"]


def test_an_arm_task_shorter_than_a_minute_pays_a_minute_and_its_extra_storage() -> None:
    # Given 2 vCPU, 8 GB, 30 GiB ephemeral storage on ARM for 30 s
    task = fargate(
        vcpu=Decimal(2), memory_gib=Decimal(8), ephemeral_gib=30, architecture="ARM64", span=span(0, 0.5)
    )

    costing = Pricer(SnapshotBook()).price(collection(fargate_tasks=[task]))

    # Then one minute: (2 x 0.03238 + 8 x 0.00356 + 10 x 0.000111) / 60 = 0.0015725 -> 0.0016
    assert usd(costing.component("fargate")) == "0.0016"
    assert costing.line_items[-1].description == "Fargate ARM64 FARGATE 10 GiB ephemeral storage above 20 GiB"


def test_three_jobs_packed_on_one_instance_are_billed_for_the_union_not_the_sum() -> None:
    # Given jobs at minutes 0-120, 30-150 and 60-90 on one On-Demand m5.large
    usage = instance("i-1", "m5.large", "on-demand", "us-east-1a", span(0, 120), span(30, 150), span(60, 90))

    costing = Pricer(SnapshotBook()).price(collection(instances=[usage]))

    # Then 150 minutes (2.5 h x 0.096 = 0.24), not 300 minutes (0.48)
    assert usd(costing.component("instance")) == "0.2400"
    assert costing.line_items[0].quantity == Decimal("2.5")
    assert costing.resources["i-1"].seconds == Decimal(9000)  # the breakdown reports the union too


def test_two_spot_instances_with_price_changes_mid_run_are_integrated_segment_by_segment() -> None:
    # Given m5.large in us-east-1a: 0.0350 then 0.0410 from minute 60, used minutes 30-150;
    # and c5.large in us-east-1b: 0.0300 then 0.0320 from minute 90, used minutes 0-180
    book = SnapshotBook(
        spot={
            ("m5.large", "us-east-1a"): [
                SpotPoint(at(-600), Decimal("0.0350")),
                SpotPoint(at(60), Decimal("0.0410")),
            ],
            ("c5.large", "us-east-1b"): [
                SpotPoint(at(-10), Decimal("0.0300")),
                SpotPoint(at(90), Decimal("0.0320")),
            ],
        }
    )
    usages = [
        instance("i-1", "m5.large", "spot", "us-east-1a", span(30, 150)),
        instance("i-2", "c5.large", "spot", "us-east-1b", span(0, 180)),
    ]

    costing = Pricer(book).price(collection(instances=usages))

    # Then i-1: 0.5 h x 0.0350 + 1.5 h x 0.0410 = 0.0790; i-2: 1.5 h x 0.0300 + 1.5 h x 0.0320 = 0.0930
    assert usd(costing.resource_cost("i-1")) == "0.0790"
    assert usd(costing.resource_cost("i-2")) == "0.0930"
    assert usd(costing.component("instance")) == "0.1720"
    assert [
        (item.resource_id, item.unit_price, item.start[11:16], item.end[11:16]) for item in costing.line_items
    ] == [
        ("i-1", Decimal("0.0350"), "09:30", "10:00"),
        ("i-1", Decimal("0.0410"), "10:00", "11:30"),
        ("i-2", Decimal("0.0300"), "09:00", "10:30"),
        ("i-2", Decimal("0.0320"), "10:30", "12:00"),
    ]
    assert {item.price_source for item in costing.line_items} == {"DescribeSpotPriceHistory"}


def test_a_run_longer_than_a_day_is_billed_for_its_whole_duration() -> None:
    # Given 26 hours on an r5.large with a 100 GiB gp3 volume, in January (31 days)
    whole = span(0, 26 * 60)
    volume = VolumeUsage(
        volume_id="vol-1",
        instance_id="i-1",
        volume_type="gp3",
        size_gib=100,
        iops=3000,
        throughput_mibps=125,
        spans=[whole],
    )

    costing = Pricer(SnapshotBook()).price(
        collection(
            instances=[instance("i-1", "r5.large", "on-demand", "us-east-1a", whole)], volumes=[volume]
        )
    )

    # Then 26 h x 0.126 = 3.276 and 100 GiB x 0.08 x 93600 s / 2678400 s = 0.2795699 -> 0.2796
    assert usd(costing.component("instance")) == "3.2760"
    assert usd(costing.component("volume")) == "0.2796"
    assert len(costing.line_items) == 2  # gp3 at its free baseline: no IOPS or throughput line


def test_ebs_is_prorated_per_calendar_month_with_gp3_iops_and_throughput_above_the_baseline() -> None:
    # Given 500 GiB gp3 at 6000 IOPS and 250 MiB/s from 31 January 23:00 to 1 February 01:00
    window = Span(start=datetime(2025, 1, 31, 23, tzinfo=UTC), end=datetime(2025, 2, 1, 1, tzinfo=UTC))
    volume = VolumeUsage(
        volume_id="vol-1",
        instance_id="i-1",
        volume_type="gp3",
        size_gib=500,
        iops=6000,
        throughput_mibps=250,
        spans=[window],
    )

    costing = Pricer(SnapshotBook()).price(collection(volumes=[volume]))

    # Then per month (January 2678400 s, February 2419200 s), one hour in each:
    #   storage 500 x 0.08 x 3600 x (1/2678400 + 1/2419200)            = 0.1132873
    #   IOPS    3000 x 0.005 x 3600 x (...)                            = 0.0424827
    #   MB/s    (125/1024 GiBps) x 40.96 x 3600 x (...)                = 0.0141609
    #   total                                                          = 0.1699309 -> 0.1699
    assert usd(costing.component("volume")) == "0.1699"
    assert [(item.description.split(",")[0], item.start[:10]) for item in costing.line_items] == [
        ("EBS gp3 500 GiB", "2025-01-31"),
        ("EBS gp3 500 GiB", "2025-02-01"),
        ("EBS gp3 3000 IOPS", "2025-01-31"),
        ("EBS gp3 3000 IOPS", "2025-02-01"),
        ("EBS gp3 125 MiB/s throughput", "2025-01-31"),
        ("EBS gp3 125 MiB/s throughput", "2025-02-01"),
    ]


def test_io2_iops_have_no_snapshot_price_so_the_volume_is_missing_not_free() -> None:
    volume = VolumeUsage(
        volume_id="vol-9", instance_id="i-1", volume_type="io2", size_gib=100, iops=4000, spans=[span(0, 60)]
    )

    costing = Pricer(SnapshotBook()).price(collection(volumes=[volume]))

    assert costing.missing == [
        "volume vol-9: PriceNotFoundError: no product matches AmazonEC2 productFamily=System Operation "
        "volumeApiName=io2 regionCode=us-east-1"
    ]


def test_an_fsx_for_lustre_file_system_is_billed_per_gb_month() -> None:
    # Given 1200 GiB PERSISTENT_2 at 125 MB/s/TiB for 6 hours in January
    filesystem = FileSystemUsage(
        file_system_id="fs-1",
        deployment_type="PERSISTENT_2",
        storage_gib=1200,
        per_unit_throughput=125,
        span=span(0, 360),
    )

    costing = Pricer(SnapshotBook()).price(collection(filesystems=[filesystem]))

    # Then 1200 x 0.145 x 21600 / 2678400 = 1.4032258 -> 1.4032
    assert usd(costing.component("filesystem")) == "1.4032"


def test_a_missing_price_leaves_no_amount_at_all_and_names_what_is_missing() -> None:
    # Given an instance type the Price List does not know, next to a priced Fargate task
    usages = [instance("i-7", "x9.huge", "on-demand", "us-east-1a", span(0, 60))]

    costing = Pricer(SnapshotBook()).price(collection(instances=usages, fargate_tasks=[fargate()]))
    output = state_output(collection(instances=usages), costing, PriceStats(), "")

    # Then the costing is incomplete, the output carries no amount (nothing can be written as 0)
    assert not costing.complete
    assert costing.missing == [
        "instance i-7: PriceNotFoundError: no product matches AmazonEC2 instanceType=x9.huge "
        "regionCode=us-east-1 operatingSystem=Linux tenancy=Shared preInstalledSw=NA capacitystatus=Used "
        "licenseModel=No License required marketoption=OnDemand"
    ]
    assert output == {
        "complete": False,
        "recollect": False,
        "unsupported": False,
        "missing": costing.missing,
        "missing_attribute": {"L": [{"S": costing.missing[0]}]},
    }


def test_a_launch_whose_compute_is_invisible_gets_no_amount_and_says_why() -> None:
    # Given a collection that found only an FSx file system of a launch whose compute is invisible
    reason = "launch wf-1: Step Functions launch (arn): no compute of the execution is recorded on the launch"
    filesystem = FileSystemUsage(
        file_system_id="fs-1", deployment_type="SCRATCH_2", storage_gib=1200, span=span(0, 60)
    )
    unsupported = collection(filesystems=[filesystem], unsupported=[reason])

    costing = Pricer(SnapshotBook()).price(unsupported)
    output = state_output(unsupported, costing, PriceStats(), "")

    # Then nothing is written as a cost (no amount, not even the file system's), and the reason is typed
    assert output == {
        "complete": False,
        "recollect": False,
        "unsupported": True,
        "missing": [reason],
        "missing_attribute": {"L": [{"S": reason}]},
    }


def test_an_ambiguous_price_is_missing_too_and_so_is_anything_the_collection_could_not_resolve() -> None:
    book = SnapshotBook(missing={"m5.large On-Demand Linux": AmbiguousPriceError("AmazonEC2", (), 2)})
    usages = [instance("i-1", "m5.large", "on-demand", "us-east-1a", span(0, 60))]
    unresolved = ["Batch job j-1: container instance arn:...:container-instance/c/1 unknown"]

    costing = Pricer(book).price(collection(instances=usages, unresolved=unresolved))
    output = state_output(collection(instances=usages, unresolved=unresolved), costing, PriceStats(), "")

    assert costing.missing == [
        "Batch job j-1: container instance arn:...:container-instance/c/1 unknown",
        "instance i-1: AmbiguousPriceError: 2 prices match AmazonEC2; exactly one is required",
    ]
    assert (output["complete"], output["recollect"]) == (False, True)


def test_a_launch_that_used_nothing_is_costed_zero_with_a_note() -> None:
    empty = collection()

    costing = Pricer(SnapshotBook()).price(empty)
    output = state_output(empty, costing, PriceStats(), "s3://bucket/costs/wf-1/a1/x.json")

    assert output["total_cost"] == "0.0000"
    assert output["cost_notes"] == {"L": [{"S": "zero usage"}]}


def test_the_state_machine_output_is_typed_for_update_item_with_string_amounts() -> None:
    # Given a priced Fargate task
    usage = collection(fargate_tasks=[fargate()])
    book = SnapshotBook()
    costing = Pricer(book).price(usage)

    output = state_output(
        usage, costing, PriceStats(price_list_calls=2, cache_hits=1, publications={"p"}), "s3://b/k"
    )

    # Then every amount is a string with 4 places (totalCost is S: the pipe filter tests totalCost.S)
    assert {name: output[name] for name in output if name.endswith("_cost")} == {
        "total_cost": "0.0147",
        "instance_cost": "0.0000",
        "volume_cost": "0.0000",
        "filesystem_cost": "0.0000",
        "fargate_cost": "0.0147",
    }
    assert output["cost_breakdown"] == {
        "M": {
            TASK: {
                "M": {
                    "component": {"S": "fargate"},
                    "description": {"S": "Fargate X86_64 FARGATE 1 vCPU 4 GB (head task)"},
                    "seconds": {"S": "910.000"},
                    "cost": {"S": "0.0147"},
                }
            }
        }
    }
    assert output["pricing_source"]["M"]["basis"] == {"S": "public list price"}
    assert output["pricing_source"]["M"]["priceListCalls"] == {"S": "2"}
    assert output["pricing_source"]["M"]["cacheHits"] == {"S": "1"}
    assert output["phase_timings"] == {
        "M": {"runningSeconds": {"N": "900.000"}, "wallSeconds": {"N": "915.500"}}
    }
    assert output["cost_inputs_uri"] == "s3://b/k"
    document = audit_document(usage, costing, PriceStats())
    assert [item["cost"][:6] for item in document["line_items"]] == ["0.0102", "0.0044"]
    assert document["pricing_basis"] == "public list price"


amounts = st.decimals(min_value=0, max_value=1000, places=7)


@given(
    st.lists(
        st.tuples(st.sampled_from(["instance", "volume", "filesystem", "fargate"]), amounts), max_size=12
    )
)
def test_the_total_is_the_rounded_sum_of_unrounded_components_and_within_rounding_of_their_sum(
    lines: list[tuple[str, Decimal]],
) -> None:
    from blueprints.benchmarking.costing import Costing

    costing = Costing(
        line_items=[
            LineItem(f"r{index}", component, "", "", cost, "Hrs", Decimal(1), "", "", "GetProducts", False)
            for index, (component, cost) in enumerate(lines)
        ]
    )

    output = state_output(collection(), costing, PriceStats(), "")

    parts = [Decimal(output[f"{name}_cost"]) for name in ("instance", "volume", "filesystem", "fargate")]
    assert output["total_cost"] == usd(sum((cost for _, cost in lines), Decimal(0)))
    assert abs(sum(parts) - Decimal(output["total_cost"])) <= Decimal("0.0002")
    assert all(len(text.split(".")[1]) == 4 for text in (output["total_cost"], *map(str, parts)))


def test_an_fsx_price_lookup_miss_is_a_typed_pending_reason_naming_the_unverified_filters() -> None:
    # Given a deployment type the price snapshot has no product for
    filesystem = FileSystemUsage(
        file_system_id="fs-2",
        deployment_type="PERSISTENT_1",
        storage_gib=1200,
        per_unit_throughput=50,
        span=span(0, 60),
    )

    costing = Pricer(SnapshotBook()).price(collection(filesystems=[filesystem]))

    # Then the costing is incomplete with a reason that says the FSx filters are unverified
    assert not costing.complete
    [missing] = costing.missing
    assert missing.startswith("file system fs-2: FsxPriceUnverifiedError: no product matches AmazonFSx ")
    assert missing.endswith("(the FSx filter values are unverified against the live Price List)")
