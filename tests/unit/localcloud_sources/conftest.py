"""Fixtures: moto, a virtual clock with moto's times following it, the fake Lambda runtime, event sources."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from localcloud.clock import VirtualClock
from localcloud.sources import EventSources
from tests.unit.localcloud_sources.fake_lambda import FakeLambda

START = 1_700_000_000.0  # 2023-11-14T22:13:20Z


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # VPCs only: skip moto's AMI catalogue
    with mock_aws():
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
