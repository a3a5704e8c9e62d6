"""The benchmarking blueprint's moto world: the launch table (from templates/genomics.yaml), the price
cache (from templates/benchmarking.yaml), the cost-inputs bucket, the local cloud's Price List fake
(pinned price snapshot) and Spot price history, and the three handlers with their template environment."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from blueprints.benchmarking import wiring
from localcloud.fakes import install_fakes
from localcloud.fakes.pricing import SNAPSHOT_ENV
from tests.support.cfn import ACCOUNT_ID, REGION
from tests.support.handlers import load_handler
from tests.support.lambda_context import FakeLambdaContext
from tests.support.moto_stack import MotoStack, deploy
from tests.support.paths import TEMPLATES

BENCHMARKING_TEMPLATE = TEMPLATES / "benchmarking.yaml"
GENOMICS_TEMPLATE = TEMPLATES / "genomics.yaml"
PINNED_SNAPSHOT = "2025-01"
COST_INPUTS_BUCKET = "benchmarking-cost-inputs-example"
CLUSTER_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT_ID}:cluster/genomics-dev"
FUNCTIONS = {
    "collect_resources": "CollectResourcesFunction",
    "price_resources": "PriceResourcesFunction",
    "handle_cost_api": "HandleCostApiFunction",
}


def handler(function: str) -> ModuleType:
    return load_handler("benchmarking", function)


@dataclass
class Benchmarking:
    stack: MotoStack
    launch_table: str
    monkeypatch: pytest.MonkeyPatch

    @property
    def cache_table(self) -> str:
        return self.stack.ref("PricingCacheTable")

    def put_launch(self, item: dict[str, Any]) -> None:
        from boto3.dynamodb.types import TypeSerializer

        serializer = TypeSerializer()
        boto3.client("dynamodb", region_name=REGION).put_item(
            TableName=self.launch_table,
            Item={name: serializer.serialize(value) for name, value in item.items()},
        )

    def invoke(self, function: str, event: Any) -> Any:
        env = self.stack.function_env(FUNCTIONS[function])
        for name, value in env.items():
            self.monkeypatch.setenv(name, value)
        for name in FUNCTIONS:
            handler(name).SETTINGS.reset()
        wiring.reset()
        context = FakeLambdaContext(function_name=f"benchmarking-dev-{FUNCTIONS[function]}-1A2B3C")
        return handler(function).lambda_handler(event, context)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(SNAPSHOT_ENV, PINNED_SNAPSHOT)
    with mock_aws(config={"batch": {"use_docker": False}}), install_fakes():
        wiring.reset()
        yield
        wiring.reset()


@pytest.fixture
def benchmarking(aws: None, monkeypatch: pytest.MonkeyPatch) -> Benchmarking:
    """The launch table and the price cache from their templates, and the cost-inputs bucket."""
    kms = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
    shared = {
        "Stage": "dev",
        "SharedLayerArn": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:layer:blueprints-shared:1",
        "KmsKeyArn": kms,
        "AlertsTopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:blueprints-alerts",
    }
    genomics = deploy(
        GENOMICS_TEMPLATE,
        shared,
        names={"LaunchTable": "genomics-launches"},
        stack_name="genomics-dev",
        only={"LaunchTable"},
    )
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=COST_INPUTS_BUCKET)
    parameters = {
        **shared,
        "LaunchTableName": genomics.ref("LaunchTable"),
        "LaunchTableStreamArn": genomics.attribute("LaunchTable", "Arn") + "/stream/2025-01-01T00:00:00.000",
        "ApiId": "a1b2c3d4e5",
        "ClusterArn": CLUSTER_ARN,
    }
    stack = deploy(
        BENCHMARKING_TEMPLATE,
        parameters,
        names={"PricingCacheTable": "benchmarking-price-cache"},
        stack_name="benchmarking-dev",
        only={"PricingCacheTable"},  # the functions' data; the pipe, its role and queue are the cloud's
    )
    stack.resolver.refs["CostInputsBucket"] = COST_INPUTS_BUCKET
    return Benchmarking(stack, genomics.ref("LaunchTable"), monkeypatch)
