"""A launch whose compute the costing cannot see, end to end on the local cloud: a ParallelCluster launch
(an SSM command on the head node; the cluster's nodes are not recorded on the launch) runs to COMPLETE
and its costing marks it UNSUPPORTED with the reason, never a cost of 0."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from demos.genomics import GenomicsWorld, prepare
from localcloud.cloud import LocalCloud
from tests.flows.benchmarking.conftest import OTHER_BLUEPRINTS_OFF
from tests.support.paths import ROOT_TEMPLATE

HEAD_NODE = "i-0a1b2c3d4e5f60718"


@pytest.fixture(scope="module")
def head_node_world() -> Iterator[GenomicsWorld]:
    with LocalCloud(ROOT_TEMPLATE, event_sources=True) as cloud:
        cloud.parameter_overrides.update(prepare(cloud))
        cloud.parameter_overrides.update(
            {**OTHER_BLUEPRINTS_OFF, "GenomicsParallelClusterHeadNodeId": HEAD_NODE}
        )
        cloud.deploy()
        yield GenomicsWorld.create(cloud)


def test_a_parallelcluster_launch_that_ran_is_unsupported_never_costed_zero(
    head_node_world: GenomicsWorld,
) -> None:
    # Given a launch on the ParallelCluster head node
    world = head_node_world
    world.upload_config("bm-pc-1", compute_service="parallelcluster")

    # When its command runs to Success and the costing runs from the stream
    world.settle()

    # Then the launch completed, and its costing wrote no amount but the typed reason
    item = world.item("bm-pc-1")
    assert (item["status"], item["costStatus"]) == ("COMPLETE", "UNSUPPORTED")
    assert not {"totalCost", "instanceCost", "fargateCost"} & set(item)
    assert item["costMissing"] == [
        f"launch bm-pc-1: ParallelCluster launch (SSM command {item['ssm_command_id']}): "
        "the cluster's compute nodes are not visible to the collector"
    ]
    # and the cost route says so
    status, view = world.api("GET", "/launches/bm-pc-1/cost")
    assert (status, view["cost_status"], "total_cost" in view) == (200, "UNSUPPORTED", False)
    # and the execution ended at NotCostable without failing
    sfn = world.cloud.client("stepfunctions")
    machine = next(
        found["stateMachineArn"]
        for found in sfn.list_state_machines()["stateMachines"]
        if "CostLaunchStateMachine" in found["name"]
    )
    [execution] = [
        sfn.describe_execution(executionArn=summary["executionArn"])
        for summary in sfn.list_executions(stateMachineArn=machine)["executions"]
    ]
    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["output"]) == {
        "outcomes": [{"launch_id": "bm-pc-1", "attempt": "1", "outcome": "UNSUPPORTED"}],
        "failed": False,
    }
