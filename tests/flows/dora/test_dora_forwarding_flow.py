"""The multi-account layout on one local cloud: dora-tooling's rules forward CodePipeline and OpsItem events
from the default bus to the DORA bus (EventBusMode central), where the DORA rules pick them up. Cross-account
forwarding is simulated with the two buses in one account (the local cloud has one); events happen "now"
on the virtual clock, as forwarded events do on AWS."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from demos.dora import DoraWorld, prepare
from localcloud.cloud import LocalCloud
from tests.support.paths import ROOT_TEMPLATE


@pytest.fixture(scope="module")
def world() -> Iterator[DoraWorld]:
    with LocalCloud(ROOT_TEMPLATE, event_sources=True) as cloud:
        cloud.parameter_overrides.update(prepare(cloud))
        cloud.parameter_overrides.update({"EnableDoraTooling": "true", "DoraEventBusMode": "central"})
        cloud.deploy()
        yield DoraWorld.create(cloud)


def test_events_from_the_default_bus_reach_the_dora_bus_and_are_ingested(world: DoraWorld) -> None:
    # Given the DORA bus and the forwarding rules of dora-tooling
    events = world.cloud.client("events")
    assert world.outputs["DoraEventBusName"] == "blueprints-dora-dev"
    forwarding = [
        rule for rule in events.list_rules(EventBusName="default")["Rules"] if "Forward" in rule["Name"]
    ]
    assert len(forwarding) == 2

    # When a production deployment and an incident naming it happen now, in the tooling account
    started = datetime.fromtimestamp(world.cloud.clock.now(), UTC).replace(microsecond=0)
    now = started
    repo = "example-org/svc-forwarded"
    world.pipeline("svc-forwarded")
    base = world.commit(repo, "base", now - timedelta(days=1))
    head = world.commit(repo, "c1", now - timedelta(hours=2))
    world.push(repo)
    world.deploy("svc-forwarded", "svc-forwarded-0", base, now, repo=repo)
    world.settle(60)
    now = datetime.fromtimestamp(world.cloud.clock.now(), UTC).replace(microsecond=0)
    world.deploy("svc-forwarded", "svc-forwarded-1", head, now, repo=repo)
    world.incident(now, deployment="svc-forwarded-1")
    world.settle(60)

    # Then both deployments and the incident were recorded through the DORA bus, at their times
    drill = world.drilldown("svc-forwarded", (now - timedelta(days=1)).date(), now.date())
    found = [(d["execution_id"], d["failed"]) for d in drill["deployments"]]
    assert found == [("svc-forwarded-0", False), ("svc-forwarded-1", True)]
    assert drill["deployments"][1]["deploy_time"] == now.strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    assert drill["deployments"][1]["lead_time_seconds"] == [
        (now - (started - timedelta(hours=2))).total_seconds()
    ]
