"""The Price List API fake through a plain boto3 client, as cost code calls it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localcloud.fakes import fake_backend


def _term(field: str, value: str, kind: str = "TERM_MATCH") -> dict[str, str]:
    return {"Type": kind, "Field": field, "Value": value}


def _on_demand_usd(item: dict[str, Any]) -> str:
    [term] = item["terms"]["OnDemand"].values()
    [dimension] = term["priceDimensions"].values()
    return str(dimension["pricePerUnit"]["USD"])


def test_get_products_returns_price_list_json_strings_matching_every_filter(pricing: Any) -> None:
    response = pricing.get_products(
        ServiceCode="AmazonEC2",
        Filters=[
            _term("instanceType", "m5.large"),
            _term("regionCode", "us-east-1"),
            _term("operatingSystem", "Linux"),
        ],
    )

    [document] = response["PriceList"]
    item = json.loads(document)

    assert response["FormatVersion"] == "aws_v1"
    assert "NextToken" not in response
    assert isinstance(document, str)  # AWS returns each product as a JSON document in a string
    assert item["serviceCode"] == "AmazonEC2"
    assert item["product"]["attributes"]["location"] == "US East (N. Virginia)"
    assert _on_demand_usd(item) == "0.0960000000"


@pytest.mark.parametrize(
    ("service", "filters", "skus"),
    [
        (
            "AmazonECS",
            [_term("usagetype", "Fargate-ARM", "CONTAINS")],
            {"SAMPLEFGCPU00013", "SAMPLEFGMEM00014"},
        ),
        ("AmazonECS", [_term("CPUTYPE", "perCPU")], {"SAMPLEFGCPU00011", "SAMPLEFGCPU00013"}),  # any case
        (
            "AmazonEC2",
            [_term("instanceType", "t3.micro,c6g.large", "ANY_OF")],
            {"SAMPLEEC2T3M0005", "SAMPLEEC2C6G0003"},
        ),
        ("AWSLambda", [_term("group", "AWS-Lambda-Duration", "EQUALS")], {"SAMPLELMBDUR0021"}),
        (
            "AWSLambda",
            [
                _term("productFamily", "Serverless"),
                _term("usagetype", "USE1-Request,USE1-Request-ARM", "NONE_OF"),
            ],
            {"SAMPLELMBDUR0021", "SAMPLELMBDUR0022"},
        ),
        (
            "AmazonEC2",
            [_term("instanceType", "m5.large"), _term("regionCode", "eu-west-1")],
            {"SAMPLEEC2M5L0006"},
        ),
        ("AmazonEC2", [_term("sku", "SAMPLEEC2R5L0004")], {"SAMPLEEC2R5L0004"}),
        ("AmazonEC2", [_term("instanceType", "p5.48xlarge")], set()),
    ],
)
def test_filter_types(pricing: Any, service: str, filters: list[dict[str, str]], skus: set[str]) -> None:
    response = pricing.get_products(ServiceCode=service, Filters=filters)

    assert {json.loads(item)["product"]["sku"] for item in response["PriceList"]} == skus


def test_pages_follow_next_token_and_the_paginator(pricing: Any) -> None:
    first = pricing.get_products(ServiceCode="AmazonEC2", MaxResults=4)
    second = pricing.get_products(ServiceCode="AmazonEC2", MaxResults=4, NextToken=first["NextToken"])
    paged = pricing.get_paginator("get_products").paginate(
        ServiceCode="AmazonEC2", PaginationConfig={"PageSize": 2}
    )

    assert len(first["PriceList"]) == 4
    assert len(second["PriceList"]) == 2
    assert "NextToken" not in second
    assert [len(page["PriceList"]) for page in paged] == [2, 2, 2]


def test_a_token_from_another_query_is_refused(pricing: Any) -> None:
    token = pricing.get_products(ServiceCode="AmazonEC2", MaxResults=1)["NextToken"]

    with pytest.raises(ClientError) as raised:
        pricing.get_products(ServiceCode="AmazonECS", MaxResults=1, NextToken=token)

    assert raised.value.response["Error"]["Code"] == "InvalidNextTokenException"


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda client: client.get_products(ServiceCode="AmazonNotAService"), "NotFoundException"),
        (lambda client: client.describe_services(ServiceCode="AmazonNotAService"), "NotFoundException"),
        (
            lambda client: client.get_attribute_values(ServiceCode="Nope", AttributeName="x"),
            "NotFoundException",
        ),
        (
            lambda client: client.get_attribute_values(ServiceCode="AWSLambda", AttributeName="x"),
            "NotFoundException",
        ),
        (lambda client: client.get_products(ServiceCode=""), "InvalidParameterException"),
        (
            lambda client: client.get_products(ServiceCode="AmazonEC2", FormatVersion="v9"),
            "InvalidParameterException",
        ),
        (
            lambda client: client.get_products(ServiceCode="AmazonEC2", MaxResults=101),
            "InvalidParameterException",
        ),
        (
            lambda client: client.get_products(ServiceCode="AmazonEC2", NextToken="not-a-token"),
            "InvalidNextTokenException",
        ),
    ],
)
def test_errors_have_aws_codes(pricing: Any, call: Any, code: str) -> None:
    with pytest.raises(ClientError) as raised:
        call(pricing)

    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_describe_services_and_attribute_values(pricing: Any) -> None:
    services = pricing.describe_services()["Services"]
    [lambda_service] = pricing.describe_services(ServiceCode="AWSLambda")["Services"]
    values = pricing.get_attribute_values(ServiceCode="AmazonEC2", AttributeName="instanceType")[
        "AttributeValues"
    ]

    assert [service["ServiceCode"] for service in services] == ["AWSLambda", "AmazonEC2", "AmazonECS"]
    assert {"group", "usagetype", "regionCode", "productFamily"} <= set(lambda_service["AttributeNames"])
    assert [value["Value"] for value in values] == [
        "c6g.large",
        "m5.large",
        "m5.xlarge",
        "r5.large",
        "t3.micro",
    ]


def test_scenarios_add_products_to_the_account_and_region_backend(pricing: Any) -> None:
    [template] = pricing.get_products(ServiceCode="AmazonEC2", Filters=[_term("sku", "SAMPLEEC2M5L0001")])[
        "PriceList"
    ]
    item = json.loads(template)
    item["product"]["sku"] = "SCENARIOSKU00001"
    item["product"]["attributes"]["instanceType"] = "m7g.large"

    fake_backend("pricing", "123456789012", "us-east-1").add_products([item])
    response = pricing.get_products(ServiceCode="AmazonEC2", Filters=[_term("instanceType", "m7g.large")])

    assert [json.loads(found)["product"]["sku"] for found in response["PriceList"]] == ["SCENARIOSKU00001"]
