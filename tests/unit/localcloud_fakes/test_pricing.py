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


EC2_LINUX_ON_DEMAND = [  # the benchmarking blueprint's filters: exactly one product per instance type
    _term("regionCode", "us-east-1"),
    _term("operatingSystem", "Linux"),
    _term("tenancy", "Shared"),
    _term("preInstalledSw", "NA"),
    _term("capacitystatus", "Used"),
    _term("licenseModel", "No License required"),
    _term("marketoption", "OnDemand"),
]


def _usage_types(response: dict[str, Any]) -> set[str]:
    return {json.loads(item)["product"]["attributes"]["usagetype"] for item in response["PriceList"]}


def test_get_products_returns_price_list_json_strings_matching_every_filter(pricing: Any) -> None:
    # Given the snapshot's price list, When EC2 is asked for one instance type with the blueprint's filters
    response = pricing.get_products(
        ServiceCode="AmazonEC2", Filters=[_term("instanceType", "m5.large"), *EC2_LINUX_ON_DEMAND]
    )

    # Then one product comes back, as a JSON document in a string, with AWS's Linux on-demand price
    [document] = response["PriceList"]
    item = json.loads(document)

    assert response["FormatVersion"] == "aws_v1"
    assert "NextToken" not in response
    assert isinstance(document, str)  # AWS returns each product as a JSON document in a string
    assert item["serviceCode"] == "AmazonEC2"
    assert item["product"]["attributes"]["location"] == "US East (N. Virginia)"
    assert _on_demand_usd(item) == "0.0960000000"


@pytest.mark.parametrize(
    ("service", "filters", "usage_types"),
    [
        (
            "AmazonECS",
            [_term("usagetype", "Fargate-ARM", "CONTAINS")],
            {"USE1-Fargate-ARM-vCPU-Hours:perCPU", "USE1-Fargate-ARM-GB-Hours"},
        ),
        (  # field names match in any case
            "AmazonECS",
            [_term("CPUTYPE", "perCPU")],
            {"USE1-Fargate-vCPU-Hours:perCPU", "USE1-Fargate-ARM-vCPU-Hours:perCPU"},
        ),
        (
            "AmazonEC2",
            [_term("instanceType", "c7g.xlarge,c6g.large", "ANY_OF"), _term("capacitystatus", "Used")],
            {"BoxUsage:c7g.xlarge", "BoxUsage:c6g.large"},
        ),
        (
            "AmazonEC2",
            [_term("volumeApiName", "gp3", "EQUALS")],
            {"EBS:VolumeUsage.gp3", "EBS:VolumeP-IOPS.gp3", "EBS:VolumeP-Throughput.gp3"},
        ),
        (
            "AmazonEC2",
            [_term("productFamily", "Storage"), _term("volumeApiName", "gp2,gp3,io1,io2", "NONE_OF")],
            {"EBS:VolumeUsage.st1", "EBS:VolumeUsage.sc1"},
        ),
        ("AmazonEC2", [_term("instanceType", "m5.large"), _term("regionCode", "eu-west-1")], set()),
        ("AmazonEC2", [_term("instanceType", "p5.48xlarge")], set()),
    ],
)
def test_filter_types(
    pricing: Any, service: str, filters: list[dict[str, str]], usage_types: set[str]
) -> None:
    # When the price list is filtered with each filter type, Then exactly the matching products come back
    response = pricing.get_products(ServiceCode=service, Filters=filters)

    assert _usage_types(response) == usage_types


def test_a_sku_filter_finds_that_product(pricing: Any) -> None:
    # Given the SKU of a product found by its attributes
    [found] = pricing.get_products(
        ServiceCode="AmazonEC2", Filters=[_term("instanceType", "r5.large"), *EC2_LINUX_ON_DEMAND]
    )["PriceList"]
    sku = json.loads(found)["product"]["sku"]

    # When the SKU is the only filter, Then it finds that product alone
    response = pricing.get_products(ServiceCode="AmazonEC2", Filters=[_term("sku", sku)])

    assert response["PriceList"] == [found]


def test_pages_follow_next_token_and_the_paginator(pricing: Any) -> None:
    # Given the five Fargate products, When they are read in pages
    first = pricing.get_products(ServiceCode="AmazonECS", MaxResults=4)
    second = pricing.get_products(ServiceCode="AmazonECS", MaxResults=4, NextToken=first["NextToken"])
    paged = pricing.get_paginator("get_products").paginate(
        ServiceCode="AmazonECS", PaginationConfig={"PageSize": 2}
    )

    # Then the pages split them in order and the last one has no token
    assert len(first["PriceList"]) == 4
    assert len(second["PriceList"]) == 1
    assert "NextToken" not in second
    assert [len(page["PriceList"]) for page in paged] == [2, 2, 1]


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
            lambda client: client.get_attribute_values(ServiceCode="AmazonECS", AttributeName="x"),
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
    # When the services and an attribute's values are described
    services = pricing.describe_services()["Services"]
    [fsx] = pricing.describe_services(ServiceCode="AmazonFSx")["Services"]
    values = pricing.get_attribute_values(ServiceCode="AmazonEC2", AttributeName="instanceType")[
        "AttributeValues"
    ]

    # Then they list what the snapshot holds
    assert [service["ServiceCode"] for service in services] == ["AmazonEC2", "AmazonECS", "AmazonFSx"]
    assert {"fileSystemType", "deploymentOption", "throughputCapacity", "regionCode", "productFamily"} <= set(
        fsx["AttributeNames"]
    )
    assert [value["Value"] for value in values] == [
        "c5.2xlarge",
        "c5.large",
        "c5.xlarge",
        "c6g.large",
        "c7g.xlarge",
        "m5.2xlarge",
        "m5.large",
        "m5.xlarge",
        "m6g.large",
        "m7g.large",
        "r5.2xlarge",
        "r5.large",
        "r5.xlarge",
        "r6g.large",
    ]


def test_scenarios_add_products_to_the_account_and_region_backend(pricing: Any) -> None:
    # Given a product derived from the snapshot's m5.large for an instance type the snapshot lacks
    [template] = pricing.get_products(
        ServiceCode="AmazonEC2", Filters=[_term("instanceType", "m5.large"), *EC2_LINUX_ON_DEMAND]
    )["PriceList"]
    item = json.loads(template)
    item["product"]["sku"] = "SCENARIOSKU00001"
    item["product"]["attributes"]["instanceType"] = "m8g.large"

    # When a scenario adds it to the account and region's price list
    fake_backend("pricing", "123456789012", "us-east-1").add_products([item])
    response = pricing.get_products(ServiceCode="AmazonEC2", Filters=[_term("instanceType", "m8g.large")])

    # Then GetProducts finds it
    assert [json.loads(found)["product"]["sku"] for found in response["PriceList"]] == ["SCENARIOSKU00001"]
