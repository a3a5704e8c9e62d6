"""Fixtures: bare moto with the event sources on a virtual clock (the fake Lambda runtime of the sources'
tests), and the Pipes/Scheduler fixture application on an in-process local cloud."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from localcloud.clock import VirtualClock
from localcloud.cloud import LocalCloud
from localcloud.sources import EventSources
from tests.unit.localcloud_sources.fake_lambda import FakeLambda

FIXTURE_APP = Path(__file__).parent / "fixtures" / "app" / "template.yaml"
START = datetime(2030, 3, 29, 12, 0, tzinfo=UTC).timestamp()  # ahead of real time: moto checks StartDate
REMIND_IN = 2 * 3600.0
MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}}


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws(config=MOTO_CONFIG):
        yield


@pytest.fixture
def clock(aws: None) -> Iterator[VirtualClock]:
    virtual = VirtualClock(start=START)
    with virtual.install():
        yield virtual


@pytest.fixture
def fake_lambda(aws: None) -> Iterator[FakeLambda]:
    with FakeLambda().install() as fake:
        yield fake


@pytest.fixture
def sources(clock: VirtualClock, fake_lambda: FakeLambda) -> Iterator[EventSources]:
    with EventSources(clock).install() as installed:
        yield installed


def remind_at() -> str:
    """The one-time schedules' moment: ``REMIND_IN`` ahead of the clock the local cloud starts with."""
    return datetime.fromtimestamp(time.time() + REMIND_IN, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def fixture_cloud() -> LocalCloud:
    return LocalCloud(
        FIXTURE_APP, stack_name="pipes", event_sources=True, parameter_overrides={"RemindAt": remind_at()}
    )


@pytest.fixture(scope="module")
def app_cloud() -> Iterator[LocalCloud]:
    """The fixture application deployed once per module (each module moves its own clock)."""
    with fixture_cloud() as cloud:
        cloud.deploy()
        yield cloud


def outputs(cloud: LocalCloud) -> dict[str, str]:
    assert cloud.deployment is not None
    return cloud.deployment.outputs()


def drain(cloud: LocalCloud, output: str) -> list[dict[str, Any]]:
    """Every visible message of the queue named by a stack output (deleted as read)."""
    sqs, url = cloud.client("sqs"), outputs(cloud)[output]
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", []):
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        messages.extend(batch)
    return messages
