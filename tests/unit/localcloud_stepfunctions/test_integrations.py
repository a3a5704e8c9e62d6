"""The interpreter's integrations as AWS runs them: nested executions (``.sync``, ``.sync:2``, unnamed),
Batch ``.sync``, definite JSONPaths giving values, and the ECS ``.sync`` outcome rules."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import boto3
import pytest

from localcloud.stepfunctions import StepFunctions, wait_for_executions
from localcloud.stepfunctions_integrations import epoch_millis, task_failed
from tests.unit.localcloud_stepfunctions.conftest import REGION, client, describe, machine, start


def test_nested_executions_run_with_generated_names_and_their_outputs(sfn: StepFunctions) -> None:
    child = machine(
        {
            "StartAt": "Hold",
            "States": {
                "Hold": {"Type": "Wait", "Seconds": 600, "Next": "Echo"},
                "Echo": {"Type": "Pass", "Parameters": {"got.$": "$.n"}, "End": True},
            },
        },
        name="child",
    )
    nested = {"StateMachineArn": child, "Input": {"n.$": "$.n"}}  # no Name: AWS generates one
    parent = machine(
        {
            "StartAt": "Sync",
            "States": {
                "Sync": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution.sync",
                    "Parameters": nested,
                    "ResultSelector": {"output.$": "$.Output", "status.$": "$.Status"},
                    "ResultPath": "$.sync",
                    "Next": "Sync2",
                },
                "Sync2": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution.sync:2",
                    "Parameters": nested,
                    "ResultSelector": {"output.$": "$.Output"},
                    "ResultPath": "$.sync2",
                    "Next": "FireAndForget",
                },
                "FireAndForget": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution",
                    "Parameters": nested,
                    "ResultSelector": {"arn.$": "$.ExecutionArn"},
                    "ResultPath": "$.started",
                    "End": True,
                },
            },
        },
        name="parent",
    )
    execution = start(parent, {"n": 5})

    wait_for_executions(sfn)

    described = describe(execution)
    output = json.loads(described["output"])
    assert output["sync"]["status"] == "SUCCEEDED"
    assert json.loads(output["sync"]["output"]) == {"got": 5}  # .sync: Output is a JSON string
    assert output["sync2"] == {"output": {"got": 5}}  # .sync:2: parsed JSON
    children = client().list_executions(stateMachineArn=child)["executions"]
    assert len({run["name"] for run in children}) == 3
    assert all(run["status"] == "SUCCEEDED" for run in children)
    # The parent saw each child end at the child's own stop time: 600 s each for the two synchronous ones.
    assert (described["stopDate"] - described["startDate"]).total_seconds() == 1200


def batch_queue() -> tuple[str, str]:
    role = boto3.client("iam", region_name=REGION).create_role(
        RoleName="batch", AssumeRolePolicyDocument="{}"
    )
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="jobs", Description="jobs", VpcId=vpc)["GroupId"]
    batch = boto3.client("batch", region_name=REGION)
    environment = batch.create_compute_environment(
        computeEnvironmentName="jobs",
        type="MANAGED",
        state="ENABLED",
        computeResources={"type": "FARGATE", "maxvCpus": 4, "subnets": [subnet], "securityGroupIds": [group]},
        serviceRole=role["Role"]["Arn"],
    )["computeEnvironmentArn"]
    queue = batch.create_job_queue(
        jobQueueName="jobs",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
    )["jobQueueArn"]
    definition = batch.register_job_definition(
        jobDefinitionName="job",
        type="container",
        containerProperties={"image": "job:1", "vcpus": 1, "memory": 512},
    )["jobDefinitionArn"]
    return queue, definition


def test_a_batch_job_runs_synchronously(sfn: StepFunctions) -> None:
    queue, definition = batch_queue()
    flow = machine(
        {
            "StartAt": "Submit",
            "States": {
                "Submit": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::batch:submitJob.sync",
                    "Parameters": {"JobName": "job", "JobQueue": queue, "JobDefinition": definition},
                    "ResultSelector": {"status.$": "$.Status", "name.$": "$.JobName"},
                    "End": True,
                }
            },
        }
    )
    execution = start(flow)

    wait_for_executions(sfn)

    assert json.loads(describe(execution)["output"]) == {"status": "SUCCEEDED", "name": "job"}


def test_definite_paths_give_values_and_queries_keep_lists(sfn: StepFunctions) -> None:
    paths = {
        "index.$": "$.items[0].id",
        "bracket.$": "$['items'][1]['id']",
        "wildcard.$": "$.items[*].id",
        "filter.$": "$.items[?(@.id == 'b')].id",
        "context.$": "$$.Execution.Input.items[1].id",
    }
    flow = machine(
        {"StartAt": "Pick", "States": {"Pick": {"Type": "Pass", "Parameters": paths, "End": True}}}
    )
    execution = start(flow, {"items": [{"id": "a"}, {"id": "b"}]})

    wait_for_executions(sfn)

    assert json.loads(describe(execution)["output"]) == {
        "index": "a",
        "bracket": "b",
        "wildcard": ["a", "b"],
        "filter": ["b"],
        "context": "b",
    }


@pytest.mark.parametrize(
    ("task", "failed"),
    [
        ({"StopCode": "EssentialContainerExited", "Containers": [{"ExitCode": 0}, {"ExitCode": 0}]}, False),
        ({"StopCode": "EssentialContainerExited", "Containers": [{"ExitCode": 0}, {"ExitCode": 137}]}, True),
        ({"StopCode": "TaskFailedToStart", "Containers": [{}]}, True),
        ({"StopCode": "UserInitiated", "Containers": [{}]}, False),
    ],
)
def test_which_stopped_ecs_tasks_fail_a_sync_state(task: dict[str, Any], failed: bool) -> None:
    assert task_failed(task) is failed


def test_datetimes_become_epoch_milliseconds_at_any_depth() -> None:
    moment = dt.datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=dt.UTC)
    response: dict[str, Any] = {"StartDate": moment, "Tasks": [{"At": moment, "Name": "x"}], "N": 1}

    epoch_millis(response)

    assert response == {"StartDate": 1700000000500, "Tasks": [{"At": 1700000000500, "Name": "x"}], "N": 1}
