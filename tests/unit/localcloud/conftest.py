"""Local clouds for the local cloud's own tests: in-process moto, no event sources (tested apart)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from localcloud.cloud import LocalCloud
from tests.support.paths import ROOT_TEMPLATE

FIXTURE_APP = Path(__file__).parent / "fixtures" / "app" / "template.yaml"


@pytest.fixture(scope="module")
def app_cloud() -> Iterator[LocalCloud]:
    """The test-only application (tiny functions, a layer, queues), deployed once per module."""
    with LocalCloud(FIXTURE_APP, stack_name="fixture", event_sources=False) as cloud:
        cloud.deploy()
        yield cloud


@pytest.fixture(scope="module")
def blueprints_cloud() -> Iterator[LocalCloud]:
    """The real root template with every enabled blueprint, deployed once per module."""
    with LocalCloud(ROOT_TEMPLATE, event_sources=False) as cloud:
        cloud.deploy()
        yield cloud
