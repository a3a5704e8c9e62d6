"""A pricing client on the in-process moto, with the local cloud's fakes installed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud.fakes import install_fakes


@pytest.fixture
def pricing() -> Iterator[Any]:
    with mock_aws(), install_fakes():
        yield boto3.client(
            "pricing", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
        )
