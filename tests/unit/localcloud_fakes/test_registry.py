"""How fakes are registered with moto: only while installed, reset with moto, never over moto's own."""

from __future__ import annotations

import sys
from typing import Any

import boto3
import moto.backend_index as backend_index
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

import localcloud.fakes as fakes
from localcloud import LocalCloudError
from localcloud.fakes import FakeBackend, FakeResponse, fake_backend, install_fakes


def _client(region: str = "us-east-1") -> Any:
    return boto3.client(
        "pricing", region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def _routed() -> bool:
    return "moto.pricing" in sys.modules and any(
        name == "pricing" for name, _ in backend_index.backend_url_patterns
    )


def test_a_fake_is_routed_only_while_installed_and_nesting_keeps_it() -> None:
    with mock_aws():
        with install_fakes() as names:
            with install_fakes():
                assert _routed()
            assert _routed()  # the outer block still serves it
            assert _client().describe_services()["Services"]
        assert names == ["pricing"]
        assert not _routed()
        with pytest.raises(ClientError):
            _client().describe_services()  # moto answers "not yet implemented" again


def test_state_is_per_region_and_reset_with_moto() -> None:
    extra = {
        "product": {"sku": "X1", "productFamily": "Storage", "attributes": {}},
        "serviceCode": "AmazonS3",
    }
    with install_fakes():
        with mock_aws():
            fake_backend("pricing", "123456789012", "us-east-1").add_products([extra])
            assert _client().get_products(ServiceCode="AmazonS3")["PriceList"]
            with pytest.raises(ClientError):  # another region's price list has only the snapshot
                _client("eu-central-1").get_products(ServiceCode="AmazonS3")
        with mock_aws(), pytest.raises(ClientError):  # a new mock starts from the snapshot
            _client().get_products(ServiceCode="AmazonS3")


def test_a_service_moto_implements_cannot_be_faked(monkeypatch: pytest.MonkeyPatch) -> None:
    class SqsResponse(FakeResponse):
        SERVICE = "sqs"

    class SqsBackend(FakeBackend):
        SERVICE = "sqs"
        RESPONSE = SqsResponse

    monkeypatch.setitem(fakes._REGISTRY, "sqs", SqsBackend)

    with pytest.raises(LocalCloudError, match="moto implements sqs"), install_fakes():
        pass
    assert not _routed()  # nothing half-registered is left behind


def test_a_backend_must_name_the_same_service_as_its_response() -> None:
    class Mismatched(FakeBackend):
        SERVICE = "omics"

    with pytest.raises(LocalCloudError, match="SERVICE"):
        fakes.fake_service(Mismatched)
