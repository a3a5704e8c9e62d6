"""Fixtures: the Step Functions fixture application on an in-process local cloud (event sources on, so the
ECS simulator runs its tasks), and bare moto with the interpreter on a virtual clock for unit tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud.clock import VirtualClock
from localcloud.cloud import LocalCloud
from localcloud.stepfunctions import StepFunctions

FIXTURE_APP = Path(__file__).parent / "fixtures" / "app" / "template.yaml"
REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/flows"
START = 1_700_000_000.0  # 2023-11-14T22:13:20Z
# Batch jobs without Docker (moto's "simple" Batch: a submitted job has SUCCEEDED).
MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "batch": {"use_docker": False}}


@pytest.fixture(scope="module")
def flow_cloud() -> Iterator[LocalCloud]:
    """The fixture application (two state machines, functions, a table, an ECS task), deployed once."""
    with LocalCloud(FIXTURE_APP, stack_name="sfn", event_sources=True) as cloud:
        cloud.deploy()
        yield cloud


@pytest.fixture
def sfn() -> Iterator[StepFunctions]:
    """moto with execution on and the interpreter on a virtual clock starting at ``START``."""
    with mock_aws(config=MOTO_CONFIG), StepFunctions(VirtualClock(start=START)).install() as installed:
        yield installed


def client() -> Any:
    return boto3.client("stepfunctions", region_name=REGION)


def machine(definition: dict[str, Any], name: str = "machine") -> str:
    """A state machine created through the API (the executor's backend); its ARN."""
    arn: str = client().create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    return arn


def start(arn: str, payload: Any = None, **arguments: Any) -> str:
    execution: str = client().start_execution(
        stateMachineArn=arn, input=json.dumps({} if payload is None else payload), **arguments
    )["executionArn"]
    return execution


def describe(execution: str) -> dict[str, Any]:
    described: dict[str, Any] = client().describe_execution(executionArn=execution)
    return described


def history(execution: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = client().get_execution_history(executionArn=execution, maxResults=1000)[
        "events"
    ]
    return events


def seconds_between(first: dict[str, Any], second: dict[str, Any]) -> float:
    return float((second["timestamp"] - first["timestamp"]).total_seconds())
