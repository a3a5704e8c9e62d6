"""Benchmarking end to end on the local cloud, from the real templates (spec: benchmarking, Acceptance;
issue: Fargate launch, Batch launch on Spot with a price change mid-run, FAILED launch, no recomputation
on the second stream record, the pending path).

Every expected cost is computed by hand from the price snapshot (localcloud/fakes/data/pricing/2025-01.json)
and the simulators' fixed timings: a Fargate task is billed from its image pull, 10 s before it runs; a
Batch job starts 17 s after its upload (SUBMITTED 1 s, PENDING 1 s, RUNNABLE 5 s, STARTING 10 s).
"""

from __future__ import annotations

import calendar
import copy
import json
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from localcloud.fakes.spot import set_spot_prices
from tests.flows.benchmarking.conftest import MAX_PRICE_ATTEMPTS, CostingWorld
from tests.support.cfn import ACCOUNT_ID, REGION

OOM = "OutOfMemoryError: Container killed due to memory usage"
ARM_VCPU_HOUR = Decimal("0.03238")  # USE1-Fargate-ARM-vCPU-Hours:perCPU
ARM_GB_HOUR = Decimal("0.00356")  # USE1-Fargate-ARM-GB-Hours
STRAIGHT_PATH = [
    "CostEachLaunch",
    "ClaimCosting",
    "CollectResources",
    "PriceResources",
    "AllPriced",
    "WriteCost",
    "Costed",
    "AnyFailed",
    "Done",
]


def container(world: CostingWorld, launch_id: str, **environment: str) -> None:
    """A container workflow on the ARM Fargate head task (1 vCPU, 4 GB)."""
    world.genomics.upload_config(
        launch_id,
        workflow_type="container",
        parameters={"command": ["bash", "-c", "fastqc reads/*"]},
        environment=environment,
    )


def test_a_fargate_launch_is_costed_once_by_the_state_machine_with_its_timings(world: CostingWorld) -> None:
    # Given a container workflow that runs 900 s on the ARM head task (1 vCPU, 4 GB)
    container(world, "bm-fargate-1", LOCALCLOUD_RUN_SECONDS="900")

    # When the launch completes and the event sources run until idle
    world.genomics.settle()

    # Then 910 s (10 s image pull + 900 s) x (1 x 0.03238 + 4 x 0.00356) / 3600 = 0.0117842 -> 0.0118
    item = world.genomics.item("bm-fargate-1")
    assert (item["status"], item["costStatus"]) == ("COMPLETE", "COSTED")
    assert (item["totalCost"], item["fargateCost"], item["instanceCost"], item["volumeCost"]) == (
        "0.0118",
        "0.0118",
        "0.0000",
        "0.0000",
    )
    assert item["filesystemCost"] == "0.0000"
    [(task_arn, breakdown)] = item["costBreakdown"].items()
    assert task_arn == item["task_arn"]
    assert breakdown == {
        "component": "fargate",
        "description": "Fargate ARM64 FARGATE 1 vCPU 4 GB (head task)",
        "seconds": "910.000",
        "cost": "0.0118",
    }
    assert item["pricingSource"]["basis"] == "public list price"
    assert item["phaseTimings"]["runningSeconds"] == 900
    assert item["phaseTimings"]["wallSeconds"] >= 915
    # and exactly one execution ran, straight through: writing the cost started no other one
    [execution] = world.executions("bm-fargate-1")
    assert execution["status"] == "SUCCEEDED"
    assert world.states_entered(execution["executionArn"]) == STRAIGHT_PATH
    # and the audit object lists the two priced quantities with their SKUs and unit prices
    audit = world.audit(item["costInputsUri"])
    assert [(line["description"], line["unit_price"]) for line in audit["line_items"]] == [
        ("Fargate ARM64 FARGATE 1 vCPU", "0.0323800000"),
        ("Fargate ARM64 FARGATE 4 GB", "0.0035600000"),
    ]


def test_a_second_delivery_of_the_same_record_ends_at_the_claim_without_writing(world: CostingWorld) -> None:
    # Given a costed launch and the array the pipe delivered for it
    container(world, "bm-dup-1", LOCALCLOUD_RUN_SECONDS="300")
    world.genomics.settle()
    before = world.genomics.item("bm-dup-1")
    [first] = world.executions("bm-dup-1")

    # When the same record is delivered once more (a pipe retry after a lost acknowledgement)
    world.cloud.client("stepfunctions").start_execution(
        stateMachineArn=world.state_machine, input=first["input"]
    )
    world.genomics.settle()

    # Then the second execution ended at the claim and nothing on the item changed
    first_again, second = world.executions("bm-dup-1")
    assert (first_again["executionArn"], second["status"]) == (first["executionArn"], "SUCCEEDED")
    assert json.loads(second["output"])["outcomes"][0]["outcome"] == "ALREADY_COSTED"
    assert world.states_entered(second["executionArn"]) == [
        "CostEachLaunch",
        "ClaimCosting",
        "AlreadyCosted",
        "AnyFailed",
        "Done",
    ]
    assert world.genomics.item("bm-dup-1") == before


def test_a_batch_launch_on_spot_is_integrated_over_a_price_change_mid_run(world: CostingWorld) -> None:
    # Given m5.large Spot in us-east-1a at 0.0350/h, then 0.0410/h from 30 minutes after the upload
    # (EC2 stamps price changes to the second)
    uploaded = world.now()
    changed = (uploaded + timedelta(minutes=30)).replace(microsecond=0)
    set_spot_prices(
        ACCOUNT_ID,
        REGION,
        "m5.large",
        "us-east-1a",
        [(uploaded - timedelta(days=1), "0.0350"), (changed, "0.0410")],
    )

    # When a container workflow runs 2 hours on the Batch Spot compute environment
    world.genomics.upload_config(
        "bm-spot-1",
        workflow_type="container",
        compute_service="batch",
        parameters={"command": ["bash", "-c", "fastqc reads/*"]},
        environment={"LOCALCLOUD_RUN_SECONDS": "7200"},
    )
    world.genomics.settle()

    # Then the job ran 7200 s from about upload + 17 s, so about 1783 s at 0.0350 and 5417 s at 0.0410:
    #   (1783 x 0.0350 + 5417 x 0.0410) / 3600 = (62.405 + 222.097) / 3600 = 0.0790283 -> 0.0790
    # and its instance's 8 GiB gp2 root volume for 7200 s: 8 x 0.10 x 7200 / seconds in the month
    #   = 0.0021505 (31 days) or 0.0022222 (30 days) -> 0.0022
    job = next(
        job.detail()
        for job in world.cloud.sources.batch.jobs.values()
        if job.detail()["jobName"] == "bm-spot-1-a1"
    )
    started, stopped = Decimal(job["startedAt"]) / 1000, Decimal(job["stoppedAt"]) / 1000
    change = Decimal(str(changed.timestamp()))
    assert abs(started - Decimal(str(uploaded.timestamp())) - 17) < 1
    assert stopped - started == Decimal(7200)
    item = world.genomics.item("bm-spot-1")
    days = calendar.monthrange(uploaded.year, uploaded.month)[1]
    volume = Decimal(8) * Decimal("0.10") * 7200 / (days * 86400)
    assert (item["status"], item["costStatus"]) == ("COMPLETE", "COSTED")
    assert (item["instanceCost"], item["volumeCost"]) == ("0.0790", "0.0022")
    assert item["totalCost"] == str(
        (Decimal("0.0790283") + volume).quantize(Decimal("0.0001"), ROUND_HALF_UP)
    )
    assert item["pricingSource"]["spot"].startswith("EC2 DescribeSpotPriceHistory")
    instance = next(name for name, entry in item["costBreakdown"].items() if entry["component"] == "instance")
    assert item["costBreakdown"][instance]["seconds"] == "7200.000"
    # and the line items show each price segment, split at the change
    lines = world.audit(item["costInputsUri"])["line_items"]
    segments = [line for line in lines if line["component"] == "instance"]
    hours = Decimal(3600)
    assert [(line["unit_price"], Decimal(line["quantity"])) for line in segments] == [
        ("0.035000", (change - started) / hours),
        ("0.041000", (stopped - change) / hours),
    ]


def test_a_failed_launch_is_costed_too_and_one_that_never_ran_costs_zero(world: CostingWorld) -> None:
    # Given a run killed for memory after 600 s, and a launch refused before any compute
    container(world, "bm-oom-1", LOCALCLOUD_STOPPED_REASON=OOM, LOCALCLOUD_RUN_SECONDS="600")
    world.genomics.upload_config("bm-nodata-1", s3_data_path="s3://genomics-cohort-data/cohort99/")

    world.genomics.settle()

    # Then the failed run cost 610 s x (0.03238 + 4 x 0.00356) / 3600 = 0.0078998 -> 0.0079
    failed = world.genomics.item("bm-oom-1")
    assert (failed["status"], failed["error_code"], failed["costStatus"]) == (
        "FAILED",
        "OutOfMemoryError",
        "COSTED",
    )
    assert failed["totalCost"] == "0.0079"
    assert failed["phaseTimings"]["runningSeconds"] == 600
    # and a launch that used nothing is written 0.0000 with the reason, never as a failed lookup
    nothing = world.genomics.item("bm-nodata-1")
    assert (nothing["status"], nothing["totalCost"], nothing["costNotes"]) == (
        "FAILED",
        "0.0000",
        ["zero usage"],
    )
    assert nothing["costBreakdown"] == {}


def ambiguous(world: CostingWorld, usage_type: str) -> dict[str, object]:
    """A second product for one Fargate usage type (as a Price List answering two SKUs would)."""
    original = next(
        item for item in world.pricing().items if item["product"]["attributes"].get("usagetype") == usage_type
    )
    twin: dict[str, object] = copy.deepcopy(original)
    twin["product"] = {**original["product"], "sku": "LCTWIN" + usage_type[-6:]}
    world.pricing().add_products([twin])
    return twin


def test_a_price_that_stays_ambiguous_leaves_the_launch_pending_then_failed_never_zero_until_a_re_cost(
    world: CostingWorld,
) -> None:
    # Given two Price List products for x86 Fargate vCPU-hours, and no cached price
    world.clear_price_cache()
    twin = ambiguous(world, "USE1-Fargate-vCPU-Hours:perCPU")
    try:
        # When a Snakemake launch (x86 head task) completes and its costing tries 3 times, 10 minutes apart
        world.genomics.upload_config("bm-pending-1", environment={"LOCALCLOUD_RUN_SECONDS": "300"})
        world.genomics.settle()
    finally:
        world.pricing().items.remove(twin)

    # Then no cost was written, the item says what is missing, and the execution failed (alarm)
    item = world.genomics.item("bm-pending-1")
    assert item["status"] == "COMPLETE"
    assert "totalCost" not in item
    assert (item["costStatus"], item["costAttempts"]) == ("FAILED", MAX_PRICE_ATTEMPTS)
    assert item["costError"] == "prices still missing after 3 attempts"
    [missing] = item["costMissing"]
    assert missing.startswith(
        f"Fargate task {item['task_arn']}: AmbiguousPriceError: 2 prices match AmazonECS "
    )
    [execution] = world.executions("bm-pending-1")
    assert (execution["status"], execution["error"]) == ("FAILED", "CostNotComputed")
    entered = world.states_entered(execution["executionArn"])
    assert (entered.count("MarkPending"), entered.count("WaitForPrices")) == (3, 2)
    # and each pending attempt was counted for the CostStillPendingAlarm
    assert sum('"CostPricesMissing"' in line for line in world.price_function_logs()) >= 3

    # When, the price sound again, an operator asks for a re-cost on the API
    status, answer = world.genomics.api("POST", "/launches/bm-pending-1/cost")
    world.genomics.settle()

    # Then a new costing ran: 310 s x (0.04048 + 4 x 0.004445) / 3600 = 0.0050168 -> 0.0050
    assert (status, answer) == (202, {"launch_id": "bm-pending-1", "cost_status": "REQUESTED"})
    recosted = world.genomics.item("bm-pending-1")
    assert (recosted["costStatus"], recosted["totalCost"], "costError" in recosted) == (
        "COSTED",
        "0.0050",
        False,
    )
    assert [execution["status"] for execution in world.executions("bm-pending-1")] == ["FAILED", "SUCCEEDED"]


def test_a_pending_launch_is_costed_when_its_price_appears(world: CostingWorld) -> None:
    # Given an ambiguous ARM memory price and no cached price
    world.clear_price_cache()
    twin = ambiguous(world, "USE1-Fargate-ARM-GB-Hours")
    container(world, "bm-pending-2", LOCALCLOUD_RUN_SECONDS="600")

    # When the run ends (615 s) and the first pricing attempt finds the price ambiguous
    world.cloud.run_until_idle(max_virtual_seconds=900)
    pending = world.genomics.item("bm-pending-2")
    world.pricing().items.remove(twin)
    # and the price is sound again before the next attempt, 10 minutes later
    world.genomics.settle()

    # Then it was PENDING without any amount, and is now costed: 610 s x 0.04662 / 3600 -> 0.0079
    assert (pending["costStatus"], pending["costAttempts"], "totalCost" in pending) == ("PENDING", 1, False)
    item = world.genomics.item("bm-pending-2")
    assert (item["costStatus"], item["totalCost"], item["costAttempts"]) == ("COSTED", "0.0079", 1)
    assert "costMissing" not in item


def test_the_cost_and_benchmark_routes_answer_on_the_genomics_api(world: CostingWorld) -> None:
    container(world, "bm-api-1", LOCALCLOUD_RUN_SECONDS="1800")
    world.genomics.settle()
    created = world.genomics.item("bm-api-1")["created_at"]

    status, cost = world.genomics.api("GET", "/launches/bm-api-1/cost")
    unsigned, _ = world.genomics.api("GET", "/launches/bm-api-1/cost", signed=False)
    missing, _ = world.genomics.api("GET", "/launches/no-such-launch/cost")
    moment = created.replace("+00:00", "Z")
    bench_status, bench = world.genomics.api(
        "GET", f"/benchmarks?workflow=container&from={moment}&to={moment}"
    )

    # 1810 s x 0.04662 / 3600 = 0.0234395 -> 0.0234
    assert (status, cost["total_cost"], cost["cost_status"], cost["pricing_basis"]) == (
        200,
        "0.0234",
        "COSTED",
        "public list price",
    )
    assert (unsigned, missing) == (403, 404)
    assert bench_status == 200
    assert bench["groups"] == [
        {
            "workflow_type": "container",
            "compute_service": "fargate",
            "runs": 1,
            "failed_runs": 0,
            "not_costed_yet": 0,
            "not_costable": 0,
            "never_launched": 0,
            "failed_cost_usd": "0.0000",
            "wall_seconds": {
                "median": cost["phase_timings"]["wallSeconds"],
                "p90": cost["phase_timings"]["wallSeconds"],
            },
            "run_seconds": {"median": 1800.0, "p90": 1800.0},
            "cost_usd": {"median": "0.0234", "p90": "0.0234", "total": "0.0234"},
        }
    ]


def test_a_costing_stopped_by_hand_is_replaced_by_a_re_cost_instead_of_staying_stuck(
    world: CostingWorld,
) -> None:
    # Given a launch whose costing is PENDING (an ambiguous price) when its execution is stopped by hand
    world.clear_price_cache()
    twin = ambiguous(world, "USE1-Fargate-ARM-GB-Hours")
    container(world, "bm-stopped-1", LOCALCLOUD_RUN_SECONDS="600")
    world.cloud.run_until_idle(max_virtual_seconds=900)
    world.pricing().items.remove(twin)
    [execution] = world.executions("bm-stopped-1")
    world.cloud.client("stepfunctions").stop_execution(executionArn=execution["executionArn"])
    world.genomics.settle()
    stuck = world.genomics.item("bm-stopped-1")

    # When an operator asks for a re-cost
    status, answer = world.genomics.api("POST", "/launches/bm-stopped-1/cost")
    world.genomics.settle()

    # Then the stuck costing (PENDING, owned by a stopped execution) was replaced, and a new one costed it:
    # 610 s x 0.04662 / 3600 = 0.0078998 -> 0.0079
    assert (stuck["costStatus"], "totalCost" in stuck) == ("PENDING", False)
    assert (status, answer["cost_status"], answer["replaced_costing"]) == (
        202,
        "REQUESTED",
        stuck["costOwner"],
    )
    item = world.genomics.item("bm-stopped-1")
    assert (item["costStatus"], item["totalCost"]) == ("COSTED", "0.0079")
    assert [described["status"] for described in world.executions("bm-stopped-1")] == ["ABORTED", "SUCCEEDED"]
