"""The SSM Run Command simulator: a command walks Pending -> InProgress -> its end on the virtual clock, each
change put on the bus as AWS's "EC2 Command (Invocation) Status-change Notification" events, the end and
the run time steered by the command's own ``export LOCALCLOUD_*`` lines."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from localcloud.clock import VirtualClock
from localcloud.simulators.ssm import command_environment, outcome
from localcloud.sources import EventSources
from tests.unit.localcloud_sources.conftest import START
from tests.unit.localcloud_sources.fake_lambda import FakeLambda
from tests.unit.localcloud_sources.resources import REGION

HEAD_NODE = "i-0123456789abcdef0"


@pytest.fixture
def listener(fake_lambda: FakeLambda) -> str:
    """A Lambda on every SSM command status change; returns its name."""
    function = fake_lambda.create("on-command", lambda event: None)
    events = boto3.client("events", region_name=REGION)
    pattern = {
        "source": ["aws.ssm"],
        "detail-type": [
            "EC2 Command Invocation Status-change Notification",
            "EC2 Command Status-change Notification",
        ],
    }
    events.put_rule(Name="commands", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="commands", Targets=[{"Id": "fn", "Arn": function}])
    return "on-command"


def send(*lines: str) -> str:
    command: dict[str, Any] = boto3.client("ssm", region_name=REGION).send_command(
        InstanceIds=[HEAD_NODE],
        DocumentName="AWS-RunShellScript",
        Parameters={"commands": [*lines, "snakemake --jobs 8"]},
    )["Command"]
    return str(command["CommandId"])


def test_a_command_reports_each_status_on_the_bus(
    sources: EventSources, fake_lambda: FakeLambda, clock: VirtualClock, listener: str
) -> None:
    # Given a command sent to the head node
    command_id = send()

    # When the clock runs
    sources.run_until_idle()

    # Then the invocation and the command reported Pending, InProgress and Success, at their times
    seen = fake_lambda.events(listener)
    invocations = [e for e in seen if e["detail-type"] == "EC2 Command Invocation Status-change Notification"]
    assert [e["detail"]["status"] for e in invocations] == ["Pending", "InProgress", "Success"]
    assert {e["detail"]["command-id"] for e in seen} == {command_id}
    assert invocations[-1]["detail"]["instance-id"] == HEAD_NODE
    assert invocations[-1]["detail"]["document-name"] == "AWS-RunShellScript"
    assert invocations[-1]["resources"] == [f"arn:aws:ec2:{REGION}:123456789012:instance/{HEAD_NODE}"]
    commands = [e for e in seen if e["detail-type"] == "EC2 Command Status-change Notification"]
    assert [e["detail"]["status"] for e in commands] == ["Pending", "InProgress", "Success"]
    assert "instance-id" not in commands[0]["detail"]
    assert clock.now() == START + 61
    listed = boto3.client("ssm", region_name=REGION).list_commands(CommandId=command_id)["Commands"]
    assert listed[0]["Status"] == "Success"


def test_the_end_and_run_time_come_from_the_commands_exports(
    sources: EventSources, fake_lambda: FakeLambda, clock: VirtualClock, listener: str
) -> None:
    send("export LOCALCLOUD_COMMAND_STATUS=TimedOut", "export LOCALCLOUD_RUN_SECONDS=300")

    sources.run_until_idle()

    statuses = [e["detail"]["status"] for e in fake_lambda.events(listener)]
    assert statuses[-1] == "TimedOut"
    assert clock.now() == START + 301


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([], {}),
        (["export A='it'\"'\"'s 8'", "echo hi"], {"A": "it's 8"}),
        (["export 'unbalanced"], {}),
        (["export NOVALUE"], {}),
    ],
)
def test_exports_are_read_as_a_shell_reads_them(lines: list[str], expected: dict[str, str]) -> None:
    assert command_environment({"commands": lines}) == expected


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, ("Success", 60.0)),
        ({"LOCALCLOUD_COMMAND_STATUS": "Cancelled", "LOCALCLOUD_RUN_SECONDS": "5"}, ("Cancelled", 5.0)),
        ({"LOCALCLOUD_COMMAND_STATUS": "Exploded"}, ("Failed", 60.0)),  # no such end: a failure
        ({"LOCALCLOUD_RUN_SECONDS": "soon"}, ("Success", 60.0)),
    ],
)
def test_the_outcome_defaults_to_success_after_a_minute(
    environment: dict[str, str], expected: tuple[str, float]
) -> None:
    assert outcome(environment) == expected
