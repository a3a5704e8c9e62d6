"""The interpreter on the virtual clock: waits are timers, nothing sleeps, and time stands still while an
execution works (a timer returns once the work it woke has reached its next wait)."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud.clock import VirtualClock
from localcloud.stepfunctions import ExecutionsStillRunningError, StepFunctions, wait_for_executions
from tests.unit.localcloud_stepfunctions.conftest import (
    MOTO_CONFIG,
    REGION,
    START,
    describe,
    history,
    machine,
    seconds_between,
    start,
)

HOUR = {
    "StartAt": "Hold",
    "States": {
        "Hold": {"Type": "Wait", "Seconds": 3600, "Next": "Done"},
        "Done": {"Type": "Pass", "End": True},
    },
}


def token_machine(timeout: int | None = None) -> dict[str, Any]:
    queue = boto3.client("sqs", region_name=REGION).create_queue(QueueName="tokens")["QueueUrl"]
    ask: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": queue, "MessageBody": {"token.$": "$$.Task.Token"}},
        "End": True,
    }
    if timeout is not None:
        ask["TimeoutSeconds"] = timeout
    return {"StartAt": "Ask", "States": {"Ask": ask}}


def events_of(execution: str, kind: str) -> list[dict[str, Any]]:
    return [event for event in history(execution) if event["type"] == kind]


def test_a_wait_state_ends_when_the_clock_reaches_it_and_not_before(sfn: StepFunctions) -> None:
    execution = start(machine(HOUR))
    sfn.settle()

    assert [row.waiting for row in sfn.running()] == ["Wait until 2023-11-14T23:13:20Z"]
    sfn.clock.advance(3599)
    sfn.settle()
    assert describe(execution)["status"] == "RUNNING"

    sfn.clock.advance(1)  # returns once the woken execution has run to its end

    described = describe(execution)
    assert described["status"] == "SUCCEEDED"
    assert described["startDate"].timestamp() == START
    assert (described["stopDate"] - described["startDate"]).total_seconds() == 3600


def test_retry_intervals_back_off_on_the_clock(sfn: StepFunctions) -> None:
    definition = {
        "StartAt": "Read",
        "States": {
            "Read": {  # the table does not exist: DynamoDB.ResourceNotFoundException every time
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:getItem",
                "Parameters": {"TableName": "missing", "Key": {"pk": {"S": "x"}}},
                "Retry": [
                    {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 60, "BackoffRate": 2, "MaxAttempts": 2}
                ],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "GaveUp"}],
                "End": True,
            },
            "GaveUp": {"Type": "Pass", "End": True},
        },
    }
    execution = start(machine(definition))
    began = time.perf_counter()

    wait_for_executions(sfn)

    assert time.perf_counter() - began < 1.0
    assert describe(execution)["status"] == "SUCCEEDED"
    scheduled = events_of(execution, "TaskScheduled")
    assert [seconds_between(scheduled[0], event) for event in scheduled] == [0, 60, 180]


def test_parallel_branches_and_map_iterations_wait_side_by_side(sfn: StepFunctions) -> None:
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Short", "States": {"Short": {"Type": "Wait", "Seconds": 60, "End": True}}},
                    {"StartAt": "Long", "States": {"Long": {"Type": "Wait", "Seconds": 120, "End": True}}},
                ],
                "ResultPath": None,
                "Next": "Each",
            },
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.delays",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Delay",
                    "States": {"Delay": {"Type": "Wait", "SecondsPath": "$", "End": True}},
                },
                "End": True,
            },
        },
    }
    execution = start(machine(definition), {"delays": [30, 300, 10]})

    wait_for_executions(sfn)

    described = describe(execution)
    assert described["status"] == "SUCCEEDED"
    assert (described["stopDate"] - described["startDate"]).total_seconds() == 120 + 300


def test_a_timestamp_wait_counts_from_the_virtual_now(sfn: StepFunctions) -> None:
    until = {
        "StartAt": "Until",
        "States": {"Until": {"Type": "Wait", "Timestamp": "2023-11-15T00:00:00Z", "End": True}},
    }
    execution = start(machine(until))

    wait_for_executions(sfn)

    assert describe(execution)["stopDate"].isoformat() == "2023-11-15T00:00:00+00:00"


def test_a_task_token_wait_times_out_on_the_clock(sfn: StepFunctions) -> None:
    execution = start(machine(token_machine(timeout=300)))

    wait_for_executions(sfn)

    described = describe(execution)
    assert (described["status"], described["error"]) == ("FAILED", "States.Timeout")
    assert (described["stopDate"] - described["startDate"]).total_seconds() == 300


def test_an_execution_waiting_for_a_token_is_reported_then_resumes_when_it_arrives(
    sfn: StepFunctions,
) -> None:
    execution = start(machine(token_machine()))
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.get_queue_url(QueueName="tokens")["QueueUrl"]

    with pytest.raises(ExecutionsStillRunningError, match="1 execution"):
        wait_for_executions(sfn.clock, timeout_virtual_seconds=3600)

    message = sqs.receive_message(QueueUrl=queue)["Messages"][0]
    token = json.loads(message["Body"])["token"]
    boto3.client("stepfunctions", region_name=REGION).send_task_success(
        taskToken=token, output='{"ok": true}'
    )
    wait_for_executions(sfn)
    described = describe(execution)
    assert (described["status"], json.loads(described["output"])) == ("SUCCEEDED", {"ok": True})


@pytest.mark.parametrize("waiting_for", ["clock", "token"])
def test_a_stopped_execution_is_aborted_at_once_whatever_it_waits_for(
    sfn: StepFunctions, waiting_for: str
) -> None:
    execution = start(machine(HOUR if waiting_for == "clock" else token_machine()))
    sfn.settle()
    assert sfn.time.parks() != []

    boto3.client("stepfunctions", region_name=REGION).stop_execution(executionArn=execution)

    assert describe(execution)["status"] == "ABORTED"
    assert sfn.time.parks() == []


def test_closing_the_runtime_stops_what_still_runs() -> None:
    with mock_aws(config=MOTO_CONFIG):
        runtime = StepFunctions(VirtualClock(start=START))
        with runtime.install():
            execution = start(machine(HOUR))
            runtime.settle()
            assert len(runtime.running()) == 1

        assert describe(execution)["status"] == "ABORTED"
        assert runtime.time.parks() == []


def test_waiting_needs_an_installed_runtime() -> None:
    with pytest.raises(Exception, match="no Step Functions runtime"):
        wait_for_executions(VirtualClock(start=START))
