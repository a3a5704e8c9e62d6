"""Rollback executions end to end on the local cloud: the failed-deployment, recovery and rework rules.

Each case deploys revision A, then revision B, then a rollback execution (``ManualRollback`` or
``AutomatedRollback``) that redeploys A's commit, with or without an OpsItem about B. Everything arrives
as on AWS (CodePipeline events on the default bus, OpsItem events from OpsCenter); the metrics are read
from ``GET /dora/metrics`` for the day. Each case has its own pipeline and repository.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from demos.dora import PROD_STAGES, DoraWorld
from localcloud.fakes.codepipeline import StageRun

MINUTE = 60.0
DAY = date(2024, 6, 4)


def at(clock: str) -> datetime:
    hours, minutes = (int(part) for part in clock.split(":"))
    return datetime(DAY.year, DAY.month, DAY.day, hours, minutes, tzinfo=UTC)


def deploy_a_b(world: DoraWorld, service: str) -> str:
    """Base (the day before), A at 10:00, B at 11:00; A's commit."""
    world.pipeline(service)
    repo = f"example-org/{service}"
    base = world.commit(repo, "base", at("06:00") - timedelta(days=2))
    world.push(repo)
    world.deploy(service, f"{service}-base", base, at("06:00") - timedelta(days=1), repo=repo)
    a = world.commit(repo, "a", at("09:00"))
    world.push(repo)
    world.deploy(service, f"{service}-a", a, at("10:00"), repo=repo)
    b = world.commit(repo, "b", at("10:30"))
    world.push(repo)
    world.deploy(service, f"{service}-b", b, at("11:00"), repo=repo)
    return a


def roll_back(world: DoraWorld, service: str, commit: str, trigger: str, clock: str) -> dict[str, str]:
    """A rollback execution (``trigger``) redeploying ``commit``, B's as the rolled-back execution."""
    repo = f"example-org/{service}"
    rollback_id = f"{service}-rollback"
    if trigger == "ManualRollback":  # the console's rollback: rollback metadata names the execution undone
        world.deploy(service, rollback_id, commit, at(clock), repo=repo, rollback_of=f"{service}-b")
    else:
        world.deploy(service, rollback_id, commit, at(clock), repo=repo, trigger_type=trigger)
    return {"a": f"{service}-a", "b": f"{service}-b", "rollback": rollback_id}


def deploy_a_b_and_roll_back(
    world: DoraWorld, service: str, trigger: str, *, rollback_clock: str = "11:30"
) -> dict[str, str]:
    return roll_back(world, service, deploy_a_b(world, service), trigger, rollback_clock)


def day_metrics(world: DoraWorld, service: str) -> dict[str, Any]:
    return world.metrics(service, DAY, DAY, benchmark="2021")  # tiers pinned to one edition


TRIGGERS = ("ManualRollback", "AutomatedRollback")


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_a_rollback_without_incident_fails_the_rolled_back_deployment(world: DoraWorld, trigger: str) -> None:
    # Given A at 10:00, B at 11:00 and a rollback execution redeploying A's commit at 11:30, no OpsItem
    service = f"svc-rb-{trigger.lower()}"
    ids = deploy_a_b_and_roll_back(world, service, trigger)
    world.settle()

    # When the metrics of the day are read
    found = day_metrics(world, service)

    # Then three deployments (the rollback counts), B failed, A did not
    assert found["deployment_frequency"]["deployments"] == 3
    assert found["change_failure_rate"] == {"failed": 1, "deployments": 3, "rate": 0.333333, "tier": "low"}
    # and B recovered at the rollback's success: 30 min from B's own deploy time (no incident start)
    assert found["recovery_time"] == {
        "samples": 1,
        "median_seconds": 30 * MINUTE,
        "p90_seconds": 30 * MINUTE,
        "tier": "elite",
    }
    # and the rollback is the one unplanned (rework) deployment
    assert found["rework_rate"] == {"rework": 1, "deployments": 3, "rate": 0.333333}
    views = {d["execution_id"]: d for d in world.drilldown(service, DAY, DAY)["deployments"]}
    assert (views[ids["a"]]["failed"], views[ids["b"]]["failed"]) == (False, True)
    assert views[ids["b"]]["rolled_back_by"] == ids["rollback"]
    assert (views[ids["rollback"]]["rollback"], views[ids["rollback"]]["trigger_type"]) == (True, trigger)
    assert views[ids["rollback"]]["lead_time_seconds"] == []  # a rollback brings no new changes


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_a_rollback_with_a_linked_incident_recovers_it_before_its_resolution(
    world: DoraWorld, trigger: str
) -> None:
    # Given A at 10:00, B at 11:00 and an OpsItem naming B (impact from 11:05, logged 11:10)
    service = f"svc-rbi-{trigger.lower()}"
    a = deploy_a_b(world, service)
    ops_item = world.incident(at("11:10"), deployment=f"{service}-b", ActualStartTime=at("11:05"))
    world.settle()
    # and a rollback at 11:40 restoring A, then the OpsItem resolved at 12:30
    ids = roll_back(world, service, a, trigger, "11:40")
    world.settle()
    world.resolve(ops_item, at("12:30"))
    world.settle()

    # When the metrics of the day are read
    found = day_metrics(world, service)

    # Then B is one failed deployment (linked and rolled back: counted once)
    assert found["change_failure_rate"] == {"failed": 1, "deployments": 3, "rate": 0.333333, "tier": "low"}
    # and it recovered at the rollback (11:40), the earliest recovery, from the incident's start (11:05)
    assert (found["recovery_time"]["samples"], found["recovery_time"]["median_seconds"]) == (1, 35 * MINUTE)
    assert found["rework_rate"] == {"rework": 1, "deployments": 3, "rate": 0.333333}
    b = next(d for d in world.drilldown(service, DAY, DAY)["deployments"] if d["execution_id"] == ids["b"])
    assert (b["incidents"], b["rolled_back_by"], b["recovery_kind"]) == (
        [{"incident": ops_item, "method": "explicit", "confidence": "high"}],
        ids["rollback"],
        "rollback",
    )


def test_an_incident_resolved_before_the_rollback_recovers_at_its_resolution(world: DoraWorld) -> None:
    # Given A, B and an OpsItem about B (no explicit link: B is the latest deployment before it), resolved
    # at 11:20, then an automated rollback at 11:45
    service = "svc-rb-resolved-first"
    a = deploy_a_b(world, service)
    ops_item = world.incident(at("11:10"), service=service)
    world.settle()
    world.resolve(ops_item, at("11:20"))
    world.settle()
    ids = roll_back(world, service, a, "AutomatedRollback", "11:45")
    world.settle()

    # When the metrics of the day are read
    found = day_metrics(world, service)

    # Then B failed once, and recovered at the resolution: 10 min after the OpsItem's creation
    assert (found["change_failure_rate"]["failed"], found["recovery_time"]["median_seconds"]) == (
        1,
        10 * MINUTE,
    )
    assert found["rework_rate"]["rework"] == 1
    b = next(d for d in world.drilldown(service, DAY, DAY)["deployments"] if d["execution_id"] == ids["b"])
    assert (b["incidents"][0]["method"], b["recovery_kind"]) == ("heuristic", "resolved")


def test_a_redeploy_of_the_same_commit_without_rollback_trigger_fails_nothing(world: DoraWorld) -> None:
    # Given A, B, then a normal (webhook) execution deploying A's commit again: not a rollback execution
    service = "svc-rb-plain-redeploy"
    deploy_a_b_and_roll_back(world, service, "StartPipelineExecution")
    world.settle()

    # When the metrics of the day are read
    found = day_metrics(world, service)

    # Then three deployments, no failure, no recovery sample, no rework
    assert found["change_failure_rate"] == {"failed": 0, "deployments": 3, "rate": 0.0, "tier": "elite"}
    assert found["recovery_time"]["samples"] == 0
    assert found["rework_rate"] == {"rework": 0, "deployments": 3, "rate": 0.0}


def test_a_backfill_of_a_rolled_back_history_with_a_failed_later_stage_gives_the_live_metrics(
    world: DoraWorld,
) -> None:
    # Given a pipeline with a Verify stage after DeployPROD: A deployed; B's DeployPROD succeeded at 11:00
    # and then its Verify stage failed (the execution FAILED); an automated rollback to A's commit at 11:30
    service = "svc-rb-backfill"
    stages = (*PROD_STAGES, "Verify")
    world.pipeline(service, stages=stages)
    repo = f"example-org/{service}"
    base = world.commit(repo, "base", at("06:00") - timedelta(days=2))
    world.push(repo)
    world.deploy(service, f"{service}-base", base, at("06:00") - timedelta(days=1), repo=repo)
    a = world.commit(repo, "a", at("09:00"))
    world.push(repo)
    world.deploy(service, f"{service}-a", a, at("10:00"), repo=repo)
    b = world.commit(repo, "b", at("10:30"))
    world.push(repo)
    step = timedelta(minutes=5)
    runs = [
        StageRun(
            name,
            start_time=at("11:00") - step * (len(PROD_STAGES) - i),
            end_time=at("11:00") - step * (len(PROD_STAGES) - i - 1),
        )
        for i, name in enumerate(PROD_STAGES)
    ]
    runs.append(StageRun("Verify", state="FAILED", start_time=at("11:00"), end_time=at("11:10")))
    world.deploy(service, f"{service}-b", b, at("11:10"), repo=repo, status="Failed", stages=runs)
    world.deploy(service, f"{service}-rollback", a, at("11:30"), repo=repo, trigger_type="AutomatedRollback")
    world.settle()
    live = day_metrics(world, service)

    # When the service's facts are lost and the backfill imports the pipeline's history instead
    dynamodb = world.cloud.client("dynamodb")
    table = world.outputs["FactsTableName"]
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            if service in item["PK"]["S"] or item.get("service", {}).get("S") == service:
                dynamodb.delete_item(TableName=table, Key={"PK": item["PK"], "SK": item["SK"]})
    assert world.drilldown(service, DAY, DAY)["deployments"] == []
    invoked = world.cloud.invoke(
        "BackfillDoraFunction",
        {
            "pipelines": [service],
            "since": (DAY - timedelta(days=1)).isoformat(),
            "until": DAY.isoformat(),
            "incidents": False,
        },
    )
    world.settle()

    # Then live ingestion counted B (its production stage succeeded), and so does the backfill, at the same
    # time: the same metrics, with B failed by the rollback
    assert invoked.payload["recorded"] == 4
    assert live["change_failure_rate"] == {"failed": 1, "deployments": 3, "rate": 0.333333, "tier": "low"}
    # (the rollback's DeployPROD ends at 11:25, its Verify stage at 11:30: recovery is 25 min after 11:00)
    assert live["recovery_time"]["median_seconds"] == 25 * MINUTE
    assert day_metrics(world, service) == live
