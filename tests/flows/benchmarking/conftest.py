"""One local cloud per module: the genomics workflow manager and benchmarking deployed from template.yaml
(the other blueprints switched off to keep the flows fast), in-process, on the virtual clock; the user's
network and data from ``demos.genomics.prepare``. The pending path gets a short retry loop (3 attempts,
10 virtual minutes apart) through the root parameters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from demos.genomics import GenomicsWorld, prepare
from localcloud.cloud import LocalCloud
from localcloud.fakes import fake_backend
from tests.support.cfn import ACCOUNT_ID, REGION
from tests.support.paths import ROOT_TEMPLATE

MAX_PRICE_ATTEMPTS = 3
PRICE_RETRY_SECONDS = 600
OTHER_BLUEPRINTS_OFF = {"EnableBroker": "false", "EnableDora": "false"}


@dataclass
class CostingWorld:
    genomics: GenomicsWorld
    outputs: dict[str, str]

    @property
    def cloud(self) -> LocalCloud:
        return self.genomics.cloud

    @property
    def state_machine(self) -> str:
        return self.outputs["CostLaunchStateMachineArn"]

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.cloud.clock.now(), UTC)

    def executions(self, launch_id: str) -> list[dict[str, Any]]:
        """The costing executions whose pipe input names the launch, oldest first."""
        sfn = self.cloud.client("stepfunctions")
        found = []
        for summary in sfn.list_executions(stateMachineArn=self.state_machine)["executions"]:
            described = sfn.describe_execution(executionArn=summary["executionArn"])
            if any(record.get("launch_id") == launch_id for record in json.loads(described["input"])):
                found.append(described)
        return sorted(found, key=lambda item: item["startDate"])

    def states_entered(self, execution_arn: str) -> list[str]:
        history = self.cloud.client("stepfunctions").get_execution_history(
            executionArn=execution_arn, maxResults=1000
        )["events"]
        return [
            event["stateEnteredEventDetails"]["name"]
            for event in history
            if "stateEnteredEventDetails" in event
        ]

    def audit(self, uri: str) -> dict[str, Any]:
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        body = self.cloud.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        document: dict[str, Any] = json.loads(body)
        return document

    def clear_price_cache(self) -> None:
        dynamodb = self.cloud.client("dynamodb")
        table = self.outputs["PricingCacheTableName"]
        for item in dynamodb.scan(TableName=table, ProjectionExpression="cache_key")["Items"]:
            dynamodb.delete_item(TableName=table, Key={"cache_key": item["cache_key"]})

    def pricing(self) -> Any:
        return fake_backend("pricing", ACCOUNT_ID, REGION)

    def price_function_logs(self) -> list[str]:
        return [
            line for call in self.cloud.calls("Benchmarking/PriceResourcesFunction") for line in call.logs
        ]


@pytest.fixture(scope="module")
def world() -> Iterator[CostingWorld]:
    with LocalCloud(ROOT_TEMPLATE, event_sources=True) as cloud:
        cloud.parameter_overrides.update(prepare(cloud))
        cloud.parameter_overrides.update(
            {
                **OTHER_BLUEPRINTS_OFF,
                "BenchmarkingMaxPriceAttempts": str(MAX_PRICE_ATTEMPTS),
                "BenchmarkingPriceRetrySeconds": str(PRICE_RETRY_SECONDS),
            }
        )
        cloud.deploy()
        genomics = GenomicsWorld.create(cloud)
        stacks = cloud.client("cloudformation").describe_stacks()["Stacks"]
        nested = next(stack for stack in stacks if stack["StackName"].startswith("blueprints-Benchmarking-"))
        outputs = {output["OutputKey"]: output["OutputValue"] for output in nested["Outputs"]}
        yield CostingWorld(genomics, outputs)
