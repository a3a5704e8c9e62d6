"""DORA metrics end to end on the local cloud, one test per case of the spec's §13 (and its acceptance).

Every fact arrives as it does on AWS: commits in the GitHub fake and signed push webhooks, CodePipeline
pipeline and stage events on the default bus (recorded executions replayed with their own times), OpsItem
events from OpsCenter; metrics are read from the SigV4-signed HTTP API, snapshots after the recompute ran.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from demos.dora import DoraWorld, sha_of
from localcloud.fakes.codepipeline import StageRun

HOUR = 3600.0


def at(day: date, clock: str) -> datetime:
    hours, minutes = (int(part) for part in clock.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=UTC)


def start(world: DoraWorld, service: str, day: date, *, deploy_base: bool = True) -> str:
    """A pipeline for ``service`` and a repository whose first commit was deployed the day before."""
    world.pipeline(service)
    repo = f"example-org/{service}"
    base = world.commit(repo, "base", at(day, "06:00") - timedelta(days=2))
    world.push(repo)
    if deploy_base:
        world.deploy(service, f"{service}-base", base, at(day, "06:00") - timedelta(days=1), repo=repo)
    return repo


def metrics_of(world: DoraWorld, service: str, day: date, **kwargs: str) -> dict[str, Any]:
    return world.metrics(service, day, day, **kwargs)


# -- 1. duplicate delivery ---------------------------------------------------------------------------------


def test_1_duplicate_deliveries_count_once_with_one_data_point(world: DoraWorld) -> None:
    # Given a deployment two hours ago (recent enough for CloudWatch) bringing one commit
    deployed = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    repo = start(world, "svc-dup", deployed.date())
    head = world.commit(repo, "c1", deployed - timedelta(hours=1))
    world.push(repo)
    world.deploy("svc-dup", "svc-dup-1", head, deployed, repo=repo)
    world.settle()

    # When EventBridge delivers its DeployPROD SUCCEEDED event again (same id), and once more with a new id
    [delivered] = [
        call.event
        for call in world.cloud.calls("IngestPipelineEventFunction")
        if call.event["detail"].get("execution-id") == "svc-dup-1"
        and call.event["detail"].get("stage") == "DeployPROD"
    ]
    world.cloud.invoke("IngestPipelineEventFunction", delivered, asynchronous=True)
    world.cloud.client("events").put_events(
        Entries=[
            {
                "Source": delivered["source"],
                "DetailType": delivered["detail-type"],
                "Detail": json.dumps(delivered["detail"]),
                "Resources": delivered["resources"],
                "Time": deployed,
            }
        ]
    )
    world.settle()

    # Then one deployment, one lead-time sample, one Deployments data point at the event time
    found = metrics_of(world, "svc-dup", deployed.date())
    assert found["deployment_frequency"]["deployments"] == 1
    assert found["lead_time"]["samples"] == 1
    stamp = int(deployed.timestamp() * 1000)
    [point] = [doc for doc in world.emf("Deployments", "svc-dup") if doc["_aws"]["Timestamp"] == stamp]
    assert (point["Service"], point["service"], point["Deployments"]) == ("svc-dup", "dora", [1.0])
    assert point["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Service", "service"], ["service"]]
    [lead] = world.emf("LeadTimeSeconds", "svc-dup")
    assert (lead["_aws"]["Timestamp"], lead["LeadTimeSeconds"]) == (stamp, [HOUR])


# -- 2. retry of a failed stage in the same execution ------------------------------------------------------


def test_2_a_failed_then_retried_stage_is_one_deployment_and_no_failure(world: DoraWorld) -> None:
    day = date(2024, 5, 2)
    repo = start(world, "svc-retry", day)
    head = world.commit(repo, "c1", at(day, "08:00"))
    world.push(repo)
    # Given E1: DeployPROD FAILED on attempt 1, the execution RESUMED, DeployPROD SUCCEEDED on attempt 2
    world.deploy("svc-retry", "svc-retry-1", head, at(day, "09:00"), repo=repo, status="Failed")
    world.cloud.client("events").put_events(
        Entries=[
            {
                "Source": "aws.codepipeline",
                "DetailType": "CodePipeline Pipeline Execution State Change",
                "Detail": json.dumps(
                    {
                        "pipeline": "svc-retry",
                        "execution-id": "svc-retry-1",
                        "state": "RESUMED",
                        "pipeline-execution-attempt": 2,
                    }
                ),
                "Resources": ["arn:aws:codepipeline:us-east-1:123456789012:svc-retry"],
                "Time": at(day, "09:10"),
            }
        ]
    )
    world.deploy("svc-retry", "svc-retry-1", head, at(day, "09:30"), repo=repo, attempt=2)
    world.settle()

    # Then DF = 1 (not 2, not 0), deployed at the successful attempt, and CFR = 0/1
    found = metrics_of(world, "svc-retry", day)
    assert found["deployment_frequency"]["deployments"] == 1
    assert found["change_failure_rate"] == {"failed": 0, "deployments": 1, "rate": 0.0, "tier": "elite"}
    assert found["lead_time"]["median_seconds"] == 1.5 * HOUR


# -- 3. multiple commits per deploy ------------------------------------------------------------------------


def test_3_every_commit_of_a_deployment_is_a_sample(world: DoraWorld) -> None:
    # Given commits at 09:00, 11:00 and 13:00 pushed to main, deployed at 14:00
    day = date(2024, 5, 3)
    repo = start(world, "svc-multi", day)
    for label, clock in (("c1", "09:00"), ("c2", "11:00"), ("c3", "13:00")):
        head = world.commit(repo, label, at(day, clock))
    world.push(repo)
    world.deploy("svc-multi", "svc-multi-1", head, at(day, "14:00"), repo=repo)
    world.settle()

    # Then the samples are 5 h, 3 h, 1 h: median 3 h, p90 4.6 h (linear interpolation)
    lead = metrics_of(world, "svc-multi", day)["lead_time"]
    assert lead == {
        "samples": 3,
        "skewed": 0,
        "median_seconds": 3 * HOUR,
        "p90_seconds": 4.6 * HOUR,
        "tier": "elite",
    }
    [deployment] = world.drilldown("svc-multi", day, day)["deployments"]
    assert sorted(deployment["lead_time_seconds"]) == [HOUR, 3 * HOUR, 5 * HOUR]


# -- 4. median vs mean -------------------------------------------------------------------------------------


def test_4_the_tier_uses_the_median_not_the_mean(world: DoraWorld) -> None:
    # Given three deployments whose commits are 1 h, 2 h and 100 h old (mean 34.3 h, median 2 h)
    day = date(2024, 5, 4)
    repo = start(world, "svc-median", day)
    for number, (clock, age) in enumerate((("10:00", 1), ("12:00", 2), ("16:00", 100)), start=1):
        head = world.commit(repo, f"c{number}", at(day, clock) - timedelta(hours=age))
        world.push(repo)
        world.deploy("svc-median", f"svc-median-{number}", head, at(day, clock), repo=repo)
    world.settle()

    # Then with the 2023 edition ("<1 day" is elite) the median makes it elite; the mean would be high
    lead = metrics_of(world, "svc-median", day, benchmark="2023")["lead_time"]
    assert (lead["median_seconds"], lead["tier"]) == (2 * HOUR, "elite")


# -- 5. day bucket boundary --------------------------------------------------------------------------------


def test_5_a_deploy_late_on_march_31_in_los_angeles_counts_on_april_1_in_utc(world: DoraWorld) -> None:
    repo = start(world, "svc-tz", date(2024, 3, 31))
    head = world.commit(repo, "c1", datetime.fromisoformat("2024-03-31T22:00:00-07:00"))
    world.push(repo)
    world.deploy("svc-tz", "svc-tz-1", head, datetime.fromisoformat("2024-03-31T23:30:00-07:00"), repo=repo)
    world.settle()
    counts = [
        metrics_of(world, "svc-tz", day)["deployment_frequency"]["deployments"]
        for day in (date(2024, 3, 31), date(2024, 4, 1))
    ]
    assert counts == [0, 1]


# -- 6. events out of order --------------------------------------------------------------------------------


def test_6_out_of_order_events_give_the_in_order_result(world: DoraWorld) -> None:
    # Given one repository deployed by two pipelines: E1 (09:00, commit 1) and E2 (10:00, commits 2-3)
    day = date(2024, 5, 6)
    repo = "example-org/svc-order"
    world.pipeline("svc-inorder")
    world.pipeline("svc-reversed")
    base = world.commit(repo, "base", at(day, "06:00"))
    c1 = world.commit(repo, "c1", at(day, "08:00"))
    world.commit(repo, "c2", at(day, "08:30"))
    c3 = world.commit(repo, "c3", at(day, "09:30"))
    world.push(repo)
    for service in ("svc-inorder", "svc-reversed"):
        world.deploy(service, f"{service}-0", base, at(day, "07:00"), repo=repo)
    world.settle()

    # When svc-inorder sees E1 then E2, and svc-reversed sees E2's events before E1's
    world.deploy("svc-inorder", "svc-inorder-1", c1, at(day, "09:00"), repo=repo)
    world.deploy("svc-inorder", "svc-inorder-2", c3, at(day, "10:00"), repo=repo)
    world.deploy("svc-reversed", "svc-reversed-2", c3, at(day, "10:00"), repo=repo)
    world.deploy("svc-reversed", "svc-reversed-1", c1, at(day, "09:00"), repo=repo)
    world.settle()

    # Then both have E1 = [c1] and E2 = [c2, c3], and the same metrics
    def changes(service: str) -> list[list[str]]:
        return [[sha[:8] for sha in d["changes"]] for d in world.drilldown(service, day, day)["deployments"]]

    assert (
        changes("svc-reversed")
        == changes("svc-inorder")
        == [[], [c1[:8]], [sha_of(f"{repo}/c2")[:8], c3[:8]]]
    )
    assert {**metrics_of(world, "svc-reversed", day), "service": "-"} == {
        **metrics_of(world, "svc-inorder", day),
        "service": "-",
    }


# -- 7. failed deploy followed by success ------------------------------------------------------------------


def test_7_a_failed_execution_then_a_success_is_one_deployment_and_no_recovery(world: DoraWorld) -> None:
    day = date(2024, 5, 7)
    repo = start(world, "svc-failfirst", day)
    head = world.commit(repo, "c1", at(day, "08:00"))
    world.push(repo)
    world.deploy("svc-failfirst", "svc-failfirst-1", head, at(day, "09:00"), repo=repo, status="Failed")
    world.deploy("svc-failfirst", "svc-failfirst-2", head, at(day, "10:00"), repo=repo)
    world.settle()

    found = metrics_of(world, "svc-failfirst", day)
    assert found["deployment_frequency"]["deployments"] == 1
    assert found["change_failure_rate"]["rate"] == 0.0
    assert found["lead_time"]["median_seconds"] == 2 * HOUR  # ends at 10:00, not 09:00
    assert found["recovery_time"]["samples"] == 0


# -- 8. incident linked to a deploy ------------------------------------------------------------------------


def two_deployments(world: DoraWorld, service: str, day: date) -> None:
    repo = start(world, service, day)
    for number, clock in ((1, "09:00"), (2, "12:00")):
        head = world.commit(repo, f"c{number}", at(day, clock) - timedelta(hours=1))
        world.push(repo)
        world.deploy(service, f"{service}-{number}", head, at(day, clock), repo=repo)


def test_8_an_incident_naming_a_deployment_fails_it_and_recovers_at_resolution(world: DoraWorld) -> None:
    # Given D1 09:00, D2 12:00 and an OpsItem created 12:30 naming D2, resolved at 14:00
    day = date(2024, 5, 8)
    two_deployments(world, "svc-linked", day)
    ops_item = world.incident(at(day, "12:30"), deployment="svc-linked-2")
    world.settle()
    world.resolve(ops_item, at(day, "14:00"))
    world.settle()

    # Then CFR = 1/2 and the recovery sample is 1.5 h (from the OpsItem's creation)
    found = metrics_of(world, "svc-linked", day)
    assert found["change_failure_rate"] == {"failed": 1, "deployments": 2, "rate": 0.5, "tier": "low"}
    assert found["recovery_time"]["median_seconds"] == 1.5 * HOUR
    # and the drill-down shows the explicit link on D2
    d1, d2 = world.drilldown("svc-linked", day, day)["deployments"]
    assert (d1["failed"], d2["incidents"]) == (
        False,
        [{"incident": ops_item, "method": "explicit", "confidence": "high"}],
    )


def test_8_without_an_explicit_link_the_latest_deployment_before_the_incident_is_blamed(
    world: DoraWorld,
) -> None:
    day = date(2024, 5, 8)
    two_deployments(world, "svc-heuristic", day)
    ops_item = world.incident(at(day, "12:30"), service="svc-heuristic")
    world.resolve(ops_item, at(day, "14:00"))
    world.settle()
    found = metrics_of(world, "svc-heuristic", day)
    _, d2 = world.drilldown("svc-heuristic", day, day)["deployments"]
    assert (found["change_failure_rate"]["rate"], found["recovery_time"]["median_seconds"]) == (
        0.5,
        1.5 * HOUR,
    )
    assert d2["incidents"] == [{"incident": ops_item, "method": "heuristic", "confidence": "low"}]


# -- 9. incident unrelated to a change ---------------------------------------------------------------------


def test_9_incidents_not_caused_by_a_change_have_no_effect(world: DoraWorld) -> None:
    day = date(2024, 5, 9)
    two_deployments(world, "svc-health", day)
    world.incident(at(day, "12:30"), service="svc-health", source="aws.health")
    world.incident(at(day, "12:40"), service="svc-health", category="Cost")
    world.settle()
    found = metrics_of(world, "svc-health", day)
    assert (
        found["change_failure_rate"]["failed"],
        found["recovery_time"]["samples"],
        found["rework_rate"]["rework"],
    ) == (0, 0, 0)


# -- 10. OpsItem created after the fix deploy --------------------------------------------------------------


def test_10_an_opsitem_logged_after_the_fix_uses_its_actual_start(world: DoraWorld) -> None:
    # Given D0 07:00 and the fix deployed at 10:00; the OpsItem is logged at 11:00 with the times it had
    day = date(2024, 5, 10)
    for service, start_time in (("svc-late", at(day, "08:00")), ("svc-late-nostart", None)):
        repo = start(world, service, day)
        d0 = world.commit(repo, "c0", at(day, "06:30"))
        world.push(repo)
        world.deploy(service, f"{service}-0", d0, at(day, "07:00"), repo=repo)
        fix = world.commit(repo, "fix", at(day, "09:30"), "Fix checkout timeouts")
        world.push(repo)
        world.deploy(service, f"{service}-fix", fix, at(day, "10:00"), repo=repo)
        times: dict[str, Any] = {"ActualEndTime": at(day, "10:00")} | (
            {"ActualStartTime": start_time} if start_time else {}
        )
        world.incident(at(day, "11:00"), service=service, **times)
    world.settle()

    # Then with ActualStartTime 08:00 the recovery is 2 h; with CreatedTime only it would be negative:
    # the deployment still failed, the sample is flagged and excluded
    with_start = metrics_of(world, "svc-late", day)
    created_only = metrics_of(world, "svc-late-nostart", day)
    assert (with_start["change_failure_rate"]["failed"], with_start["recovery_time"]["median_seconds"]) == (
        1,
        2 * HOUR,
    )
    assert (created_only["change_failure_rate"]["failed"], created_only["recovery_time"]["samples"]) == (1, 0)
    [flagged] = [d for d in world.drilldown("svc-late-nostart", day, day)["deployments"] if d["failed"]]
    assert (flagged["recovery_skewed"], flagged["recovery_seconds"]) == (True, None)


def test_10_a_hotfix_branch_naming_the_opsitem_recovers_it_and_is_rework(world: DoraWorld) -> None:
    day = date(2024, 5, 10)
    repo = start(world, "svc-hotfix", day)
    culprit = world.commit(repo, "c1", at(day, "07:30"))
    world.push(repo)
    world.deploy("svc-hotfix", "svc-hotfix-1", culprit, at(day, "08:00"), repo=repo)
    ops_item = world.incident(at(day, "09:00"), service="svc-hotfix", ActualStartTime=at(day, "08:30"))
    fix = world.commit(repo, "fix", at(day, "09:45"), "Retry the payment call")
    world.push(repo)
    world.deploy("svc-hotfix", "svc-hotfix-2", fix, at(day, "10:00"), repo=repo, branch=f"hotfix/{ops_item}")
    world.settle()

    found = metrics_of(world, "svc-hotfix", day)
    assert found["change_failure_rate"]["failed"] == 1
    assert found["recovery_time"]["median_seconds"] == 1.5 * HOUR  # 08:30 -> the hotfix at 10:00
    assert found["rework_rate"] == {"rework": 1, "deployments": 2, "rate": 0.5}


# -- 11. cross-period attribution and late links -----------------------------------------------------------


def test_11_a_late_link_changes_january_on_recomputation_and_leaves_february(world: DoraWorld) -> None:
    # Given a deploy on Jan 31 23:00Z and one on Feb 10, and their snapshots
    repo = start(world, "svc-cross", date(2024, 1, 30), deploy_base=False)
    january = world.commit(repo, "jan", datetime(2024, 1, 31, 20, tzinfo=UTC))
    world.push(repo)
    world.deploy("svc-cross", "svc-cross-jan", january, datetime(2024, 1, 31, 23, tzinfo=UTC), repo=repo)
    february = world.commit(repo, "feb", datetime(2024, 2, 10, 8, tzinfo=UTC))
    world.push(repo)
    world.deploy("svc-cross", "svc-cross-feb", february, datetime(2024, 2, 10, 9, tzinfo=UTC), repo=repo)
    world.settle()
    world.recompute()
    months = (date(2024, 1, 1), date(2024, 2, 1))
    before = world.snapshots("svc-cross", "month", *months)

    # When an incident created on Feb 1 02:00Z is linked to the January deployment, and the recompute runs
    world.incident(datetime(2024, 2, 1, 2, tzinfo=UTC), deployment="svc-cross-jan")
    world.settle()
    world.recompute()
    after = world.snapshots("svc-cross", "month", *months)

    # Then January's CFR went from 0/1 to 1/1; February's snapshot is unchanged
    assert before["2024-01-01"]["change_failure_rate"]["rate"] == 0.0
    assert after["2024-01-01"]["change_failure_rate"]["rate"] == 1.0
    assert after["2024-02-01"] == before["2024-02-01"]
    assert (
        world.metrics("svc-cross", date(2024, 2, 1), date(2024, 2, 29))["change_failure_rate"]["failed"] == 0
    )


# -- 12. squash merge --------------------------------------------------------------------------------------


def squash_merge(world: DoraWorld, service: str) -> date:
    """A PR with c1 (Mon 09:00) and c2 (Mon 15:00) squash-merged as c3 (Tue 10:00), deployed Tue 11:00."""
    monday = date(2024, 5, 13)
    tuesday = monday + timedelta(days=1)
    repo = start(world, service, monday)
    base = world.repos[repo].head or ""
    c1, c2 = sha_of(f"{repo}/pr-c1"), sha_of(f"{repo}/pr-c2")
    world.github.add_commit(repo, c1, parents=[base], author_date=at(monday, "09:00"), message="Draft")
    world.github.add_commit(repo, c2, parents=[c1], author_date=at(monday, "15:00"), message="Review fixes")
    squashed = world.commit(repo, "squash", at(tuesday, "10:00"), "Add wish lists (#12)")
    world.github.add_pull(repo, 12, [c1, c2], merge_commit=squashed, merged_at=at(tuesday, "10:00"))
    world.push(repo)
    world.deploy(service, f"{service}-1", squashed, at(tuesday, "11:00"), repo=repo)
    world.settle()
    return tuesday


def test_12_commit_mode_measures_the_squash_commit_only(world: DoraWorld) -> None:
    tuesday = squash_merge(world, "svc-squash")
    assert metrics_of(world, "svc-squash", tuesday)["lead_time"]["median_seconds"] == HOUR


# -- 13. first deployment ever -----------------------------------------------------------------------------


def test_13_the_first_deployment_counts_without_attributing_history(world: DoraWorld) -> None:
    day = date(2024, 5, 15)
    repo = start(world, "svc-first", day, deploy_base=False)
    for number in range(1, 4):
        head = world.commit(repo, f"c{number}", at(day, "08:00") - timedelta(days=30 * number))
    world.push(repo)
    world.deploy("svc-first", "svc-first-1", head, at(day, "10:00"), repo=repo)
    world.settle()
    found = metrics_of(world, "svc-first", day)
    assert (found["deployment_frequency"]["deployments"], found["lead_time"]["samples"]) == (1, 0)


# -- 14. non-production and feature-branch pipelines -------------------------------------------------------


def test_14_skipped_production_stages_and_feature_branches_contribute_nothing(world: DoraWorld) -> None:
    day = date(2024, 5, 16)
    repo = start(world, "svc-skip", day, deploy_base=False)
    head = world.commit(repo, "c1", at(day, "08:00"))
    world.push(repo)
    skipped = [
        StageRun(name, start_time=at(day, "09:00"), end_time=at(day, "09:30"))
        for name in ("Source", "Build", "DeployStaging")
    ]
    world.deploy("svc-skip", "svc-skip-1", head, at(day, "09:30"), repo=repo, stages=skipped)
    world.pipeline("svc-feature", ("Source", "Build", "Deploy"))
    world.deploy("svc-feature", "svc-feature-1", head, at(day, "10:00"), repo=repo, branch="feature/cart")
    world.settle()

    status, body = world._get("/dora/services")
    assert status == 200
    assert {"svc-skip", "svc-feature"} & set(body["services"]) == set()


# -- 15. clock skew ----------------------------------------------------------------------------------------


def test_15_a_commit_stamped_after_the_deploy_is_skewed_not_kept(world: DoraWorld) -> None:
    day = date(2024, 5, 17)
    repo = start(world, "svc-skew", day)
    world.commit(repo, "c1", at(day, "09:00"))
    head = world.commit(repo, "c2", at(day, "10:05"))
    world.push(repo)
    world.deploy("svc-skew", "svc-skew-1", head, at(day, "10:00"), repo=repo)
    world.settle()
    lead = metrics_of(world, "svc-skew", day)["lead_time"]
    assert (lead["samples"], lead["skewed"], lead["median_seconds"]) == (1, 1, HOUR)


# -- acceptance: webhooks, backfill, dashboard -------------------------------------------------------------


def test_unsigned_or_wrongly_signed_webhooks_are_refused_and_store_nothing(world: DoraWorld) -> None:
    repo = "example-org/svc-webhook"
    world.commit(repo, "base", datetime(2024, 5, 18, 8, tzinfo=UTC))
    world.push(repo)
    head = world.commit(repo, "c1", datetime(2024, 5, 18, 9, tzinfo=UTC))
    statuses = [world.push(repo, signed=False), world.push(repo, secret=b"not-the-secret")]
    item = world.cloud.client("dynamodb").get_item(
        TableName=world.outputs["FactsTableName"],
        Key={"PK": {"S": f"PUSH#{repo}#{head}"}, "SK": {"S": "META"}},
    )
    assert statuses == [401, 401]
    assert "Item" not in item
    assert world.push(repo) == 202


def test_a_backfill_of_the_same_history_gives_the_same_metrics(world: DoraWorld) -> None:
    # Given a week of svc-history deployed live (with an incident), and its metrics
    first_day = date(2024, 5, 20)
    repo = start(world, "svc-history", first_day)
    for number in range(1, 6):
        deployed = at(first_day + timedelta(days=number), "11:00")
        head = world.commit(repo, f"c{number}", deployed - timedelta(hours=number))
        world.push(repo)
        world.deploy("svc-history", f"svc-history-{number}", head, deployed, repo=repo)
    world.incident(
        at(first_day + timedelta(days=3), "12:00"),
        deployment="svc-history-3",
        ActualEndTime=at(first_day + timedelta(days=3), "13:00"),
    )
    world.settle()
    window = (first_day - timedelta(days=1), first_day + timedelta(days=6))
    live = world.metrics("svc-history", *window)

    # When its facts are lost and the backfill imports the pipeline's history and the OpsItems instead
    dynamodb = world.cloud.client("dynamodb")
    table = world.outputs["FactsTableName"]
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            if "svc-history" in item["PK"]["S"] or item.get("service", {}).get("S") == "svc-history":
                dynamodb.delete_item(TableName=table, Key={"PK": item["PK"], "SK": item["SK"]})
    invoked = world.cloud.invoke(
        "BackfillDoraFunction",
        {"pipelines": ["svc-history"], "since": window[0].isoformat(), "until": window[1].isoformat()},
    )
    world.settle()

    # Then the metrics are those of live ingestion
    assert invoked.payload["recorded"] == 6
    assert world.metrics("svc-history", *window) == live
    assert live["deployment_frequency"]["deployments"] == 6
    assert live["change_failure_rate"]["failed"] == 1


def test_the_dashboard_is_deployed_with_the_widgets_of_every_key_metric(world: DoraWorld) -> None:
    body = json.loads(
        world.cloud.client("cloudwatch").get_dashboard(DashboardName=world.outputs["DashboardName"])[
            "DashboardBody"
        ]
    )
    titles = [widget["properties"]["title"] for widget in body["widgets"]]
    for period in ("day", "week", "month"):
        assert f"Deployments per {period}" in titles
        assert f"Lead time median per {period} (s)" in titles
        assert f"Change failure rate per {period}, all services (%)" in titles
        assert f"Recovery time median per {period} (s)" in titles
    assert {widget["properties"]["region"] for widget in body["widgets"]} == {"us-east-1"}
