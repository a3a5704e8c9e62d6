"""The three handlers with their template environment and sample events (moto, the Price List fake,
the Spot history extension)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3

from blueprints.benchmarking.adapters import LaunchTable
from localcloud.fakes.spot import set_spot_prices
from tests.support.cfn import ACCOUNT_ID, REGION
from tests.support.events import load_event
from tests.unit.benchmarking.conftest import COST_INPUTS_BUCKET, Benchmarking

TASK = "arn:aws:ecs:us-east-1:123456789012:task/genomics-dev/0f8d6c1e2b3a4c5d6e7f8091a2b3c4d5"


def fargate_launch() -> dict[str, Any]:
    return {
        "launch_id": "wf-2024-0042",
        "status": "COMPLETE",
        "attempt": 1,
        "workflow_type": "snakemake",
        "compute_service": "fargate",
        "created_at": "2026-11-30T09:15:03.120000+00:00",
        "task_arn": TASK,
        "compute_resources": {
            "kind": "ecs",
            "task_arn": TASK,
            "cpu": "1024",
            "memory": "4096",
            "launch_type": "FARGATE",
            "cpu_architecture": "X86_64",
            "started_at": "2026-11-30T09:15:18.000Z",
            "stopped_at": "2026-11-30T09:30:18.000Z",
        },
        "status_history": [
            {"status": "REGISTERED", "at": "2026-11-30T09:15:03.120000+00:00", "attempt": 1},
            {"status": "LAUNCHING", "at": "2026-11-30T09:15:03.500000+00:00", "attempt": 1},
            {"status": "RUNNING", "at": "2026-11-30T09:15:18.000000+00:00", "attempt": 1},
            {"status": "COMPLETE", "at": "2026-11-30T09:30:18.000000+00:00", "attempt": 1},
        ],
    }


def test_collect_resources_returns_the_head_task_and_the_timings(benchmarking: Benchmarking) -> None:
    # Given a finished Fargate launch whose task is no longer described
    benchmarking.put_launch(fargate_launch())

    # When the state machine asks for its resources (attempt "1": the pipe passes DynamoDB's N as text)
    collected = benchmarking.invoke(
        "collect_resources", load_event("benchmarking", "collect_resources", "fargate_launch")
    )

    # Then the recorded start and stop bound the task, and the phases come from the status history
    assert collected["fargate_tasks"] == [
        {
            "task_arn": TASK,
            "vcpu": "1",
            "memory_gib": "4",
            "ephemeral_gib": 20,
            "architecture": "X86_64",
            "capacity_provider": "FARGATE",
            "span": {"start": "2026-11-30T09:15:18Z", "end": "2026-11-30T09:30:18Z"},
            "origin": "head task",
        }
    ]
    assert collected["timings"] == {
        "registeredSeconds": "0.380",
        "waitingSeconds": "0.000",
        "readySeconds": "0.000",
        "launchingSeconds": "14.500",
        "runningSeconds": "900.000",
        "wallSeconds": "914.880",
    }
    assert (collected["region"], collected["attempt"], collected["unresolved"]) == ("us-east-1", 1, [])


def test_collect_resources_lists_a_batch_job_that_cannot_be_found(benchmarking: Benchmarking) -> None:
    benchmarking.put_launch(
        {"launch_id": "wf-batch-0007", "status": "FAILED", "attempt": 2, "batch_job_ids": {"6f3c1a2b"}}
    )

    collected = benchmarking.invoke(
        "collect_resources", load_event("benchmarking", "collect_resources", "batch_launch")
    )

    assert collected["unresolved"] == ["Batch job 6f3c1a2b: not found"]


def test_price_resources_prices_a_fargate_task_keeps_the_line_items_and_caches_the_prices(
    benchmarking: Benchmarking,
) -> None:
    event = load_event("benchmarking", "price_resources", "fargate_task")

    first = benchmarking.invoke("price_resources", event)
    again = benchmarking.invoke("price_resources", event)

    # Then 910 s x (0.04048 + 4 x 0.004445) / 3600 = 0.0147268 -> "0.0147", written as strings
    assert (first["complete"], first["total_cost"], first["fargate_cost"]) == (True, "0.0147", "0.0147")
    assert first["pricing_source"]["M"]["priceListCalls"] == {"S": "2"}
    assert again["pricing_source"]["M"]["priceListCalls"] == {"S": "0"}
    assert again["pricing_source"]["M"]["cacheHits"] == {"S": "2"}
    bucket, key = first["cost_inputs_uri"].removeprefix("s3://").split("/", 1)
    assert bucket == COST_INPUTS_BUCKET
    document = json.loads(
        boto3.client("s3", region_name=REGION).get_object(Bucket=bucket, Key=key)["Body"].read()
    )
    assert [item["unit_price"] for item in document["line_items"]] == ["0.0404800000", "0.0044450000"]
    assert again["cost_inputs_uri"] == first["cost_inputs_uri"]  # same line items, same audit object


def test_price_resources_integrates_the_spot_price_over_the_run(benchmarking: Benchmarking) -> None:
    # Given m5.large Spot in us-east-1a at 0.0350/h, then 0.0410/h from 10:00; the run 09:00:17-11:00:17
    from datetime import UTC, datetime

    set_spot_prices(
        ACCOUNT_ID,
        REGION,
        "m5.large",
        "us-east-1a",
        [
            (datetime(2026, 11, 30, 6, tzinfo=UTC), "0.0350"),
            (datetime(2026, 11, 30, 10, tzinfo=UTC), "0.0410"),
        ],
    )

    priced = benchmarking.invoke(
        "price_resources", load_event("benchmarking", "price_resources", "spot_instance")
    )

    # Then (3583 s x 0.0350 + 3617 s x 0.0410) / 3600 = 0.0348347 + 0.0411935 = 0.0760282 -> 0.0760;
    # the 100 GiB gp3 volume: 100 x 0.08 x 7200 / (30 x 86400) = 0.0222222 -> 0.0222 (November: 30 days)
    assert (priced["instance_cost"], priced["volume_cost"], priced["total_cost"]) == (
        "0.0760",
        "0.0222",
        "0.0983",
    )
    assert priced["pricing_source"]["M"]["spot"] == {
        "S": "EC2 DescribeSpotPriceHistory (Linux/UNIX), integrated over each span"
    }


def test_price_resources_reports_what_is_missing_and_counts_it(
    benchmarking: Benchmarking, logs: io.StringIO
) -> None:
    priced = benchmarking.invoke(
        "price_resources", load_event("benchmarking", "price_resources", "unresolved_instance")
    )

    assert (priced["complete"], priced["recollect"]) == (False, True)
    assert "total_cost" not in priced
    assert priced["missing"][0].startswith(
        "Batch job 6f3c1a2b-0d4e-4f5a-9b8c-7d6e5f4a3b2c: container instance"
    )
    emitted = [json.loads(line) for line in logs.getvalue().splitlines() if line.startswith("{")]
    assert any(line.get("message") == "Prices missing; the costing stays pending" for line in emitted)


def test_price_resources_answers_unsupported_for_invisible_compute_without_counting_it_pending(
    benchmarking: Benchmarking, logs: io.StringIO
) -> None:
    priced = benchmarking.invoke(
        "price_resources", load_event("benchmarking", "price_resources", "parallelcluster_launch")
    )

    assert (priced["complete"], priced["recollect"], priced["unsupported"]) == (False, False, True)
    assert "total_cost" not in priced
    assert priced["missing"][0].startswith("launch wf-2024-0051: ParallelCluster launch (SSM command ")
    emitted = [json.loads(line) for line in logs.getvalue().splitlines() if line.startswith("{")]
    messages = [line.get("message") for line in emitted]
    assert "Compute not visible; the launch is not costed" in messages
    assert "Prices missing; the costing stays pending" not in messages


def costed_launch() -> dict[str, Any]:
    item = fargate_launch()
    item.update(
        {
            "costStatus": "COSTED",
            "totalCost": "0.0147",
            "instanceCost": "0.0000",
            "volumeCost": "0.0000",
            "filesystemCost": "0.0000",
            "fargateCost": "0.0147",
            "phaseTimings": {"runningSeconds": Decimal("900.000"), "wallSeconds": Decimal("914.880")},
        }
    )
    return item


def response(result: dict[str, Any]) -> tuple[int, Any]:
    return result["statusCode"], json.loads(result["body"])


def test_the_cost_route_answers_the_launch_cost_and_404_for_an_unknown_launch(
    benchmarking: Benchmarking,
) -> None:
    benchmarking.put_launch(costed_launch())
    event = load_event("benchmarking", "handle_cost_api", "launch_cost")
    unknown = json.loads(json.dumps(event).replace("wf-2024-0042", "wf-404"))

    status, body = response(benchmarking.invoke("handle_cost_api", event))
    missing_status, missing = response(benchmarking.invoke("handle_cost_api", unknown))

    assert (status, body["total_cost"], body["pricing_basis"], body["phase_timings"]["runningSeconds"]) == (
        200,
        "0.0147",
        "public list price",
        900.0,
    )
    assert (missing_status, missing) == (
        404,
        {"error_code": "LaunchNotFoundError", "message": "no launch wf-404"},
    )


def test_the_benchmarks_route_groups_runs_and_refuses_an_invalid_query(benchmarking: Benchmarking) -> None:
    benchmarking.put_launch(costed_launch())

    status, body = response(
        benchmarking.invoke("handle_cost_api", load_event("benchmarking", "handle_cost_api", "benchmarks"))
    )
    bad_status, bad = response(
        benchmarking.invoke(
            "handle_cost_api", load_event("benchmarking", "handle_cost_api", "benchmarks_invalid")
        )
    )

    assert status == 200
    assert body["groups"] == [
        {
            "workflow_type": "snakemake",
            "compute_service": "fargate",
            "runs": 1,
            "failed_runs": 0,
            "not_costed_yet": 0,
            "not_costable": 0,
            "never_launched": 0,
            "failed_cost_usd": "0.0000",
            "wall_seconds": {"median": 914.88, "p90": 914.88},
            "run_seconds": {"median": 900.0, "p90": 900.0},
            "cost_usd": {"median": "0.0147", "p90": "0.0147", "total": "0.0147"},
        }
    ]
    assert (bad_status, bad["error_code"]) == (400, "InvalidQueryError")


def test_the_re_cost_route_clears_a_finished_cost_and_refuses_a_costing_under_way(
    benchmarking: Benchmarking,
) -> None:
    benchmarking.put_launch(costed_launch())
    event = load_event("benchmarking", "handle_cost_api", "recost")

    accepted = response(benchmarking.invoke("handle_cost_api", event))
    benchmarking.put_launch({**costed_launch(), "costStatus": "IN_PROGRESS"})
    refused = response(benchmarking.invoke("handle_cost_api", event))

    assert accepted == (202, {"launch_id": "wf-2024-0042", "cost_status": "REQUESTED"})
    assert refused[0] == 409
    assert refused[1]["error_code"] == "RecostNotAllowedError"


RECOST_CALLER = "arn:aws:sts::123456789012:assumed-role/Scientist/scientist"


def test_the_re_cost_route_replaces_a_costing_whose_execution_is_gone(benchmarking: Benchmarking) -> None:
    # Given a launch left IN_PROGRESS by a costing execution that no longer exists (it died outside its
    # Catch handlers, or was stopped and has expired), and one whose execution still runs
    gone = "arn:aws:states:us-east-1:123456789012:execution:CostLaunch-1A2B:0a1b2c3d"
    benchmarking.put_launch(
        {
            **fargate_launch(),
            "costStatus": "IN_PROGRESS",
            "costOwner": f"{gone}#a87ff679a2f3e71d9181a67b7542122c",
            "costStartedAt": datetime.now(UTC).isoformat(),  # recent: Step Functions is asked
        }
    )
    event = load_event("benchmarking", "handle_cost_api", "recost")

    # When an operator asks for a re-cost
    accepted = response(benchmarking.invoke("handle_cost_api", event))

    # Then the costing under way is replaced: its attributes are gone, so the pipe costs the launch again
    assert accepted == (
        202,
        {
            "launch_id": "wf-2024-0042",
            "cost_status": "REQUESTED",
            "replaced_costing": f"{gone}#a87ff679a2f3e71d9181a67b7542122c",
        },
    )
    item = LaunchTable(benchmarking.launch_table).launch("wf-2024-0042") or {}
    assert ("costStatus" in item, "costOwner" in item, "costStartedAt" in item) == (False, False, False)
    assert item["costResetBy"] == RECOST_CALLER
