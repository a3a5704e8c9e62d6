""" "Step Functions Execution Status Change" events: one when an execution starts (RUNNING), one when it
ends, with the documented detail, put on the default bus when the clock next fires."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import boto3

from localcloud.stepfunctions import StepFunctions, status_change_detail, wait_for_executions
from tests.unit.localcloud_stepfunctions.conftest import REGION, START, machine, start


def listen() -> str:
    """A queue receiving every Step Functions status change; its URL."""
    sqs = boto3.client("sqs", region_name=REGION)
    url: str = sqs.create_queue(QueueName="status-changes")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events", region_name=REGION)
    pattern = {"source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"]}
    events.put_rule(Name="executions", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="executions", Targets=[{"Id": "queue", "Arn": arn}])
    return url


def received(url: str) -> list[dict[str, Any]]:
    messages = boto3.client("sqs", region_name=REGION).receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [json.loads(message["Body"]) for message in messages.get("Messages", [])]


def test_an_execution_announces_its_start_and_its_end(sfn: StepFunctions) -> None:
    # Given a listener and a state machine that ends in a Fail state
    url = listen()
    arn = machine({"StartAt": "Stop", "States": {"Stop": {"Type": "Fail", "Error": "Boom", "Cause": "why"}}})

    # When an execution runs to its end and the clock fires
    execution = start(arn, {"sample": "S1"}, name="run-1")
    wait_for_executions(sfn)
    sfn.clock.advance(0)

    # Then RUNNING and FAILED were put on the bus, with the documented detail
    events = received(url)
    assert [event["detail"]["status"] for event in events] == ["RUNNING", "FAILED"]
    running, failed = (event["detail"] for event in events)
    assert {event["source"] for event in events} == {"aws.states"}
    assert (running["executionArn"], running["stateMachineArn"], running["name"]) == (execution, arn, "run-1")
    assert (running["stopDate"], json.loads(running["input"])) == (None, {"sample": "S1"})
    assert (failed["error"], failed["cause"], failed["output"]) == ("Boom", "why", None)
    assert failed["stopDate"] >= failed["startDate"]
    assert events[0]["resources"] == [execution]
    assert events[0]["time"] == "2023-11-14T22:13:20Z"
    assert sfn.clock.now() == START


def test_the_start_event_says_running_even_when_the_worker_already_ended_the_execution() -> None:
    # Given an execution whose worker thread failed it before its start was announced (a fast Fail state)
    ended = SimpleNamespace(
        exec_arn="arn:aws:states:us-east-1:123456789012:execution:m:run-1",
        state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:m",
        name="run-1",
        exec_status=SimpleNamespace(value="FAILED"),
        start_date=datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC),
        stop_date=datetime(2023, 11, 14, 22, 13, 21, tzinfo=UTC),
        input_data={"sample": "S1"},
        output=None,
        error="Boom",
        cause="why",
    )

    # When the start's and the end's details are taken
    started = status_change_detail(ended, started=True)
    finished = status_change_detail(ended)

    # Then the start says RUNNING with nothing of the end, and the end says FAILED with its error
    assert (started["status"], started["stopDate"], started["error"], started["cause"]) == (
        "RUNNING",
        None,
        None,
        None,
    )
    assert (finished["status"], finished["error"], finished["cause"]) == ("FAILED", "Boom", "why")
    assert finished["stopDate"] == 1_700_000_001_000
