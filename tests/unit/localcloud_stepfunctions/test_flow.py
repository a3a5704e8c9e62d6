"""The fixture application end to end on the local cloud: state machines deployed from DefinitionUri with
their substitutions, a flow through Lambda, DynamoDB, an hour's Wait, a jittered Retry, a Choice, a nested
``.sync:2`` execution and an ECS ``.sync`` task, in well under a second of wall time."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from localcloud.cloud import LocalCloud
from localcloud.stepfunctions import list_executions, render_executions, wait_for_executions
from tests.unit.localcloud_stepfunctions.conftest import FIXTURE_APP, seconds_between


def outputs(cloud: LocalCloud) -> dict[str, str]:
    assert cloud.deployment is not None
    return cloud.deployment.outputs()


def run(cloud: LocalCloud, payload: dict[str, Any]) -> dict[str, Any]:
    """Start the flow, run it to its end on the virtual clock; its description."""
    sfn = cloud.client("stepfunctions")
    execution = sfn.start_execution(stateMachineArn=outputs(cloud)["FlowArn"], input=json.dumps(payload))
    wait_for_executions(cloud)
    described: dict[str, Any] = sfn.describe_execution(executionArn=execution["executionArn"])
    return described


def history(cloud: LocalCloud, execution: str) -> list[dict[str, Any]]:
    sfn = cloud.client("stepfunctions")
    events: list[dict[str, Any]] = sfn.get_execution_history(executionArn=execution, maxResults=1000)[
        "events"
    ]
    return events


def test_machines_run_under_the_arns_cloudformation_reports_with_their_substitutions(
    flow_cloud: LocalCloud,
) -> None:
    sfn = flow_cloud.client("stepfunctions")
    assert flow_cloud.deployment is not None
    names = {machine["name"] for machine in sfn.list_state_machines()["stateMachines"]}
    flow = sfn.describe_state_machine(stateMachineArn=outputs(flow_cloud)["FlowArn"])
    child = sfn.describe_state_machine(stateMachineArn=outputs(flow_cloud)["ChildArn"])

    assert names == {"fixture-flow", child["name"]}
    assert "${" not in flow["definition"]
    states = json.loads(flow["definition"])["States"]
    assert states["Record"]["Parameters"]["TableName"] == outputs(flow_cloud)["ResultsTable"]
    assert states["Child"]["Parameters"]["StateMachineArn"] == outputs(flow_cloud)["ChildArn"]
    assert states["Work"]["Parameters"]["FunctionName"] == flow_cloud.deployment.function("WorkFunction").arn
    assert flow["roleArn"] == flow_cloud.deployment.resource("Flow").properties["RoleArn"]
    starter = flow_cloud.client("lambda").get_function_configuration(
        FunctionName=flow_cloud.deployment.function("StarterFunction").name
    )
    assert starter["Environment"]["Variables"]["FLOW_ARN"] == flow["stateMachineArn"]
    applied = {resource.logical_id for resource in flow_cloud.deployment.applied}
    assert {"Flow", "Child"} <= applied


def test_the_flow_runs_hours_of_virtual_time_in_well_under_two_seconds(flow_cloud: LocalCloud) -> None:
    before = len(flow_cloud.calls())
    virtual_start, wall_start = flow_cloud.clock.now(), time.perf_counter()

    described = run(flow_cloud, {"id": "big", "value": 7, "exitCode": "0"})

    wall, virtual = time.perf_counter() - wall_start, flow_cloud.clock.now() - virtual_start
    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert json.loads(described["output"]) == {
        "id": "big",
        "value": 7,
        "exitCode": "0",
        "work": {"value": 14},
        "flaky": {"attempts": 3},
        "child": {"output": {"doubled": 28}},
        "container": {"lastStatus": "STOPPED", "exitCode": 0},
    }
    item = flow_cloud.client("dynamodb").get_item(
        TableName=outputs(flow_cloud)["ResultsTable"], Key={"pk": {"S": "big"}}
    )["Item"]
    assert item["result"] == {"N": "14"}
    invoked = [call.function_name for call in flow_cloud.calls()[before:]]
    assert invoked.count(flow_cloud.deployment.function("WorkFunction").name) == 1  # type: ignore[union-attr]
    assert invoked.count(flow_cloud.deployment.function("FlakyFunction").name) == 3  # type: ignore[union-attr]
    # Wait 3600 + retries (<= 60 + 120 with full jitter) + the child's Wait 1800 + the ECS task 5 + 10 + 120.
    assert 3600 + 1800 + 135 <= virtual <= 3600 + 180 + 1800 + 135
    assert (described["stopDate"] - described["startDate"]).total_seconds() == pytest.approx(virtual, abs=1)
    assert wall < 2.0


def test_each_wait_and_retry_takes_its_virtual_time(flow_cloud: LocalCloud) -> None:
    described = run(flow_cloud, {"id": "timed", "value": 7, "exitCode": "0"})
    events = history(flow_cloud, described["executionArn"])

    waits = [event for event in events if event["type"] in ("WaitStateEntered", "WaitStateExited")]
    assert seconds_between(waits[0], waits[1]) == 3600
    after_wait = events[events.index(waits[1]) :]
    flaky = [event for event in after_wait if event["type"] == "TaskScheduled"][:3]  # three attempts
    first, second = seconds_between(flaky[0], flaky[1]), seconds_between(flaky[1], flaky[2])
    assert 0 <= first <= 60
    assert 0 <= second <= 120  # BackoffRate 2, JitterStrategy FULL: anywhere in [0, 120]


def test_the_choice_sends_small_values_past_the_child_and_the_container(flow_cloud: LocalCloud) -> None:
    sfn = flow_cloud.client("stepfunctions")
    children = len(sfn.list_executions(stateMachineArn=outputs(flow_cloud)["ChildArn"])["executions"])

    described = run(flow_cloud, {"id": "small", "value": 2, "exitCode": "0"})

    assert json.loads(described["output"])["route"] == "small"
    assert len(sfn.list_executions(stateMachineArn=outputs(flow_cloud)["ChildArn"])["executions"]) == children


def test_a_container_exiting_non_zero_fails_the_ecs_sync_task(flow_cloud: LocalCloud) -> None:
    described = run(flow_cloud, {"id": "crash", "value": 7, "exitCode": "3"})

    assert (described["status"], described["error"]) == ("FAILED", "States.TaskFailed")
    task = json.loads(described["cause"])
    assert (task["LastStatus"], task["Containers"][0]["ExitCode"]) == ("STOPPED", 3)


def test_handlers_and_rules_start_the_flow_by_the_resolved_arn(flow_cloud: LocalCloud) -> None:
    sfn = flow_cloud.client("stepfunctions")
    started = flow_cloud.invoke("StarterFunction", {"id": "from-lambda", "value": 1, "exitCode": "0"})
    flow_cloud.client("events").put_events(
        Entries=[
            {
                "Source": "fixture.flow",
                "DetailType": "Run",
                "Detail": json.dumps({"id": "from-rule", "value": 1, "exitCode": "0"}),
            }
        ]
    )

    wait_for_executions(flow_cloud)

    by_lambda = sfn.describe_execution(executionArn=started.payload["executionArn"])
    assert (by_lambda["status"], json.loads(by_lambda["output"])["id"]) == ("SUCCEEDED", "from-lambda")
    table = outputs(flow_cloud)["ResultsTable"]
    item = flow_cloud.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": "from-rule"}})
    assert item["Item"]["result"] == {"N": "2"}


def test_status_shows_where_running_executions_are_and_how_long_finished_ones_took(
    flow_cloud: LocalCloud,
) -> None:
    sfn = flow_cloud.client("stepfunctions")
    execution = sfn.start_execution(
        stateMachineArn=outputs(flow_cloud)["FlowArn"],
        name="status-check",
        input=json.dumps({"id": "status", "value": 7, "exitCode": "0"}),
    )["executionArn"]
    assert flow_cloud.stepfunctions is not None
    flow_cloud.stepfunctions.settle()

    running = next(row for row in list_executions(flow_cloud.client) if row.arn == execution)
    waiting = next(row for row in flow_cloud.stepfunctions.executions() if row.arn == execution)
    assert (running.status, running.state, running.seconds) == ("RUNNING", "Pause", None)
    assert waiting.waiting is not None
    assert waiting.waiting.startswith("Wait until ")
    assert "  fixture-flow/status-check  RUNNING  in Pause" in render_executions([running])

    wait_for_executions(flow_cloud)

    finished = next(row for row in list_executions(flow_cloud.client) if row.arn == execution)
    line = render_executions([finished])[1]
    assert line.startswith("  fixture-flow/status-check  SUCCEEDED  ")
    assert finished.seconds is not None
    assert finished.seconds > 3600


def test_without_event_sources_executions_run_on_a_clock_of_their_own() -> None:
    with LocalCloud(FIXTURE_APP, stack_name="own-clock", event_sources=False) as cloud:
        cloud.deploy()
        assert cloud.stepfunctions is not None
        assert cloud.clock is None

        described = run(cloud, {"id": "own", "value": 1, "exitCode": "0"})

        assert (described["status"], json.loads(described["output"])["route"]) == ("SUCCEEDED", "small")
        summary = next(
            row for row in cloud.stepfunctions.executions() if row.arn == described["executionArn"]
        )
        assert summary.seconds == pytest.approx(3600, abs=200)  # the Wait and the jittered retries
