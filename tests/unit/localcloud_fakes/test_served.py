"""The fake behind the local cloud's HTTP endpoint: what `localcloud up` serves to external clients."""

from __future__ import annotations

import json

import boto3
import pytest

from localcloud.cloud import LocalCloud


@pytest.mark.enable_socket
def test_pricing_is_served_on_the_endpoint_like_motos_own_services() -> None:
    with LocalCloud("template.yaml", serve=True, port=0, event_sources=False) as cloud:
        client = boto3.client(
            "pricing",
            region_name="us-east-1",
            endpoint_url=cloud.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        response = client.get_products(
            ServiceCode="AWSLambda",
            Filters=[{"Type": "TERM_MATCH", "Field": "group", "Value": "AWS-Lambda-Requests"}],
        )
        with pytest.raises(client.exceptions.NotFoundException):
            client.describe_services(ServiceCode="AmazonNotAService")

    [item] = [json.loads(document) for document in response["PriceList"]]
    assert item["product"]["attributes"]["usagetype"] == "USE1-Request"
