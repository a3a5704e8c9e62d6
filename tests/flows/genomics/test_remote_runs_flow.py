"""Launches whose compute is not ECS or Batch, end to end on the local cloud: a ParallelCluster head-node
launch (SSM Run Command, simulated by the local cloud with the status-change events AWS emits) and a
regenie launch (a Step Functions execution, run by the local cloud's interpreter) are tracked to COMPLETE
or FAILED by their status-change events, not failed by the hard timeout."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from demos.genomics import GenomicsWorld, prepare
from localcloud.cloud import LocalCloud
from tests.support.paths import ROOT_TEMPLATE

LIFECYCLE = ["REGISTERED", "LAUNCHING", "RUNNING", "COMPLETE"]
HEAD_NODE = "i-0a1b2c3d4e5f60718"
PIPELINE = {  # a stand-in for the regenie blueprint's state machine: fails when the input says so
    "StartAt": "Check",
    "States": {
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.parameters.fail", "IsPresent": True, "Next": "Fail"}],
            "Default": "Done",
        },
        "Fail": {"Type": "Fail", "Error": "RegenieStepFailed", "Cause": "step 2 exited with code 1"},
        "Done": {"Type": "Succeed"},
    },
}


@pytest.fixture(scope="module")
def head_node_world() -> Iterator[GenomicsWorld]:
    """The application deployed with a ParallelCluster head node and a regenie state machine (its own
    local cloud)."""
    with LocalCloud(ROOT_TEMPLATE, event_sources=True) as cloud:
        cloud.parameter_overrides.update(prepare(cloud))
        cloud.parameter_overrides["GenomicsParallelClusterHeadNodeId"] = HEAD_NODE
        machine = cloud.client("stepfunctions").create_state_machine(
            name="regenie-pipeline",
            definition=json.dumps(PIPELINE),
            roleArn="arn:aws:iam::123456789012:role/regenie-pipeline",
        )
        cloud.parameter_overrides["GenomicsRegenieStateMachineArn"] = machine["stateMachineArn"]
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


def test_a_regenie_execution_is_tracked_to_complete(head_node_world: GenomicsWorld) -> None:
    # Given a regenie launch, started as the execution <launch id>-a1
    world = head_node_world
    world.upload_config("rg-run-1", workflow_type="regenie", parameters={"phenotypes": ["bmi"]})

    # When the execution runs to its end
    world.settle()

    # Then its status-change events walked the launch to COMPLETE
    item = world.item("rg-run-1")
    assert [entry["status"] for entry in item["status_history"]] == LIFECYCLE
    assert item["sfn_execution_arn"].endswith(":rg-run-1-a1")
    assert item["compute_resources"]["kind"] == "stepfunctions"


def test_a_failed_regenie_execution_fails_its_launch_with_the_error(head_node_world: GenomicsWorld) -> None:
    world = head_node_world
    world.upload_config("rg-run-2", workflow_type="regenie", parameters={"phenotypes": ["bmi"], "fail": True})

    world.settle()

    item = world.item("rg-run-2")
    assert (item["status"], item["error_code"]) == ("FAILED", "RegenieStepFailed")
    assert item["error_message"] == "execution FAILED: RegenieStepFailed; step 2 exited with code 1"
