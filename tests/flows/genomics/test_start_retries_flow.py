"""Transient start failures end to end on the local cloud: a launch whose RunTask is throttled is parked
(no stream loop), re-driven by the scheduled stuck check when its next try is due, and runs; a launch
whose RunTask keeps failing for capacity ends FAILED ``StartRetriesExhausted`` after a bounded number of
tries. The faults follow the local cloud's convention: the task definition's own container environment
(``LOCALCLOUD_RUNTASK_THROTTLE``, ``LOCALCLOUD_RUNTASK_FAILURE``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto.ecs.models import ecs_backends

from demos.genomics import GenomicsWorld, prepare
from localcloud.cloud import LocalCloud
from tests.support.paths import ROOT_TEMPLATE

ACCOUNT, REGION = "123456789012", "us-east-1"


@pytest.fixture(scope="module")
def world() -> Iterator[GenomicsWorld]:
    with LocalCloud(ROOT_TEMPLATE, event_sources=True) as cloud:
        cloud.parameter_overrides.update(prepare(cloud))
        cloud.deploy()
        yield GenomicsWorld.create(cloud)


def head_definition_environment(family: str, **environment: str) -> None:
    """Give the head task definition of ``family`` these container variables (as if the template set
    them): the local cloud's ECS simulator reads RunTask faults from there."""
    for definition in ecs_backends[ACCOUNT][REGION].task_definitions[family].values():
        container: dict[str, Any] = definition.container_definitions[0]
        container["environment"] = [{"name": k, "value": v} for k, v in environment.items()]


def statuses(item: dict[str, Any]) -> list[str]:
    return [str(entry["status"]) for entry in item["status_history"]]


def test_a_throttled_start_is_parked_re_driven_and_runs(world: GenomicsWorld) -> None:
    # Given the Snakemake 8 head definition throttled on its first two RunTask calls
    head_definition_environment("genomics-dev-snakemake8", LOCALCLOUD_RUNTASK_THROTTLE="2")

    # When a launch is uploaded and time goes by (the stuck check runs every 5 minutes)
    world.upload_config("retry-start-1")
    world.settle()
    parked = world.item("retry-start-1")
    world.pass_time(3600, step=300)

    # Then the first try parked it (no loop: one claim and one release), two re-drives later it ran
    assert (parked["status"], parked["start_tries"]) == ("REGISTERED", 1)
    assert parked["last_start_error"].startswith("ThrottlingException")
    item = world.item("retry-start-1")
    assert (item["status"], item["start_tries"], item["attempt"]) == ("COMPLETE", 2, 1)
    assert statuses(item) == [
        "REGISTERED",
        *(["LAUNCHING", "REGISTERED"] * 2),
        "LAUNCHING",
        "RUNNING",
        "COMPLETE",
    ]
    assert "next_try_at" not in item


def test_a_start_that_keeps_failing_ends_after_the_bounded_tries(world: GenomicsWorld) -> None:
    # Given the container head definition out of capacity on every RunTask call
    head_definition_environment(
        "genomics-dev-container",
        LOCALCLOUD_RUNTASK_FAILURE="RESOURCE:MEMORY",
        LOCALCLOUD_RUNTASK_FAILURE_COUNT="1000",
    )

    # When a container launch is uploaded and a day goes by
    world.upload_config("retry-start-2", workflow_type="container", parameters={"command": ["run-qc"]})
    world.settle()
    world.pass_time(24 * 3600, step=300)

    # Then it was tried the template's number of times and ended FAILED with the last reason
    item = world.item("retry-start-2")
    tries = 6  # LaunchStartMaxTries' default
    assert (item["status"], item["error_code"], item["start_tries"]) == (
        "FAILED",
        "StartRetriesExhausted",
        tries,
    )
    assert item["error_message"].startswith(
        f"compute did not start after {tries} tries; last error RESOURCE:MEMORY"
    )
    assert len(statuses(item)) == 1 + 2 * tries
