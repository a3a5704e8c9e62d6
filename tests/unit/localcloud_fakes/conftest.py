"""A pricing client on the in-process moto, with the local cloud's fakes installed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud.fakes import install_fakes
from localcloud.fakes.pricing import SNAPSHOT_ENV

PINNED_SNAPSHOT = "2025-01"
"""The price snapshot these tests read: a newer snapshot (a refresh) must not change what they assert."""


@pytest.fixture
def pricing(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv(SNAPSHOT_ENV, PINNED_SNAPSHOT)
    with mock_aws(), install_fakes():
        yield boto3.client(
            "pricing", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
        )
