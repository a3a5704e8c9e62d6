"""Launches whose compute is not ECS or Batch, end to end on the local cloud: a ParallelCluster head-node
launch (SSM Run Command, simulated by the local cloud with the status-change events AWS emits) is tracked
to COMPLETE or FAILED by its events, not failed by the hard timeout."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from demos.genomics import GenomicsWorld, prepare
from localcloud.cloud import LocalCloud
from tests.support.paths import ROOT_TEMPLATE

LIFECYCLE = ["REGISTERED", "LAUNCHING", "RUNNING", "COMPLETE"]
HEAD_NODE = "i-0a1b2c3d4e5f60718"


@pytest.fixture(scope="module")
def head_node_world() -> Iterator[GenomicsWorld]:
    """The application deployed with a ParallelCluster head node configured (its own local cloud)."""
    with LocalCloud(ROOT_TEMPLATE, event_sources=True) as cloud:
        cloud.parameter_overrides.update(prepare(cloud))
        cloud.parameter_overrides["GenomicsParallelClusterHeadNodeId"] = HEAD_NODE
        cloud.deploy()
        yield GenomicsWorld.create(cloud)


def command_events(world: GenomicsWorld, command_id: str) -> list[tuple[str, str]]:
    return [
        (str(event["detail-type"]), str(event["status"]))
        for event in world.cloud.sources.ssm.events
        if event["command-id"] == command_id
    ]


def test_a_parallelcluster_launch_is_tracked_to_complete(head_node_world: GenomicsWorld) -> None:
    # Given a launch configuration for the ParallelCluster head node
    world = head_node_world
    world.upload_config("pc-run-1", compute_service="parallelcluster")

    # When it is registered, sent to the head node, and the command runs to Success
    world.settle()

    # Then the command's status changes walked the launch to COMPLETE (no LaunchTimeout)
    item = world.item("pc-run-1")
    assert [entry["status"] for entry in item["status_history"]] == LIFECYCLE
    command = item["ssm_command_id"]
    assert item["compute_ref"] == f"ssm:{command}"
    assert item["compute_resources"] == {"kind": "ssm", "command_id": command, "instance_id": HEAD_NODE}
    invocation = "EC2 Command Invocation Status-change Notification"
    assert [status for kind, status in command_events(world, command) if kind == invocation] == [
        "Pending",
        "InProgress",
        "Success",
    ]


def test_a_failed_head_node_command_fails_its_launch(head_node_world: GenomicsWorld) -> None:
    # Given a head-node launch whose command ends Failed (steered by its own environment)
    world = head_node_world
    world.upload_config(
        "pc-run-2", compute_service="parallelcluster", environment={"LOCALCLOUD_COMMAND_STATUS": "Failed"}
    )

    world.settle()

    # Then the launch is FAILED with the command's status as the reason
    item = world.item("pc-run-2")
    assert (item["status"], item["error_code"]) == ("FAILED", "CommandFailed")
    assert item["error_message"] == f"SSM command {item['ssm_command_id']} on {HEAD_NODE} ended Failed"
