"""One local cloud per module: the application deployed from template.yaml, in-process (no sockets), with the
network and data a genomics user brings created first (``demos.genomics.prepare``). Scenarios keep apart by
launch id."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from demos.genomics import GenomicsWorld, prepare
from localcloud.cloud import LocalCloud
from tests.support.paths import ROOT_TEMPLATE


@pytest.fixture(scope="module")
def world() -> Iterator[GenomicsWorld]:
    with LocalCloud(ROOT_TEMPLATE, event_sources=True) as cloud:
        cloud.parameter_overrides.update(prepare(cloud))
        cloud.deploy()
        yield GenomicsWorld.create(cloud)
