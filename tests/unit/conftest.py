"""Unit-test isolation: every cached client, adapter and persistence layer is fresh in each test."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from blueprints.core.aws import reset_clients
from blueprints.core.idempotency import reset_persistence
from blueprints.core.observability import logger


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    reset_clients()
    reset_persistence()
    yield
    reset_clients()
    reset_persistence()


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """What the Powertools logger writes during the test (its handler keeps the stream of import time)."""
    buffer = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", buffer)
    return buffer
