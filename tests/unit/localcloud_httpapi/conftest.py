"""The test-only HTTP API application, deployed once per module on an in-process local cloud."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from localcloud.cloud import LocalCloud

FIXTURE_API = Path(__file__).parent / "fixtures" / "api" / "template.yaml"


@pytest.fixture(scope="module")
def api_cloud() -> Iterator[LocalCloud]:
    """Two HTTP APIs: a SAM one (IAM by default, a webhook with no auth) and a plain one on stage v1."""
    with LocalCloud(FIXTURE_API, stack_name="httpapi", event_sources=False) as cloud:
        cloud.deploy()
        yield cloud
