"""One local cloud per module: the application deployed from template.yaml, in-process (no sockets), plus
what a broker user brings (network, task definitions, a queue on the failure topic). Scenarios keep
apart by request id and task definition family, and each starts by draining the observation queues."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from demos.broker import BrokerWorld
from localcloud.cloud import LocalCloud
from tests.support.paths import ROOT_TEMPLATE


@pytest.fixture(scope="module")
def world() -> Iterator[BrokerWorld]:
    with LocalCloud(ROOT_TEMPLATE, event_sources=True) as cloud:
        cloud.deploy()
        yield BrokerWorld.create(cloud)
