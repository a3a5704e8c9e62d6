"""One local cloud per module: DORA metrics deployed alone from template.yaml (single-account, the root
template's defaults), in-process. Scenarios keep apart by service (pipeline) and repository."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from demos.dora import DoraWorld, prepare
from localcloud.cloud import LocalCloud
from tests.support.paths import ROOT_TEMPLATE


@pytest.fixture(scope="module")
def world() -> Iterator[DoraWorld]:
    with LocalCloud(ROOT_TEMPLATE, event_sources=True) as cloud:
        cloud.parameter_overrides.update(prepare(cloud))
        cloud.deploy()
        yield DoraWorld.create(cloud)
