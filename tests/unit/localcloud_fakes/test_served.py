"""The fake behind the local cloud's HTTP endpoint: what `localcloud up` serves to external clients."""

from __future__ import annotations

import json

import boto3
import pytest

from localcloud.cloud import LocalCloud
from localcloud.fakes.pricing import SNAPSHOT_ENV
from tests.unit.localcloud_fakes.conftest import PINNED_SNAPSHOT


@pytest.mark.enable_socket
def test_pricing_is_served_on_the_endpoint_like_motos_own_services(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the local cloud served over HTTP, When an external client calls the Price List API
    monkeypatch.setenv(SNAPSHOT_ENV, PINNED_SNAPSHOT)
    with LocalCloud("template.yaml", serve=True, port=0, event_sources=False) as cloud:
        client = boto3.client(
            "pricing",
            region_name="us-east-1",
            endpoint_url=cloud.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        response = client.get_products(
            ServiceCode="AmazonECS",
            Filters=[{"Type": "TERM_MATCH", "Field": "usagetype", "Value": "USE1-Fargate-vCPU-Hours:perCPU"}],
        )
        with pytest.raises(client.exceptions.NotFoundException):
            client.describe_services(ServiceCode="AmazonNotAService")

    # Then the snapshot's product comes back with AWS's Fargate x86 vCPU-hour price
    [item] = [json.loads(document) for document in response["PriceList"]]
    [term] = item["terms"]["OnDemand"].values()
    [dimension] = term["priceDimensions"].values()
    assert dimension["pricePerUnit"]["USD"] == "0.0404800000"
