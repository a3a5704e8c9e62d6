"""The DORA blueprint's moto world, built from templates/dora.yaml, and its handlers wired to it.

Tables, queues and secrets come from the template (tests.support.moto_stack); the secrets get the values
the sample events were signed with; CodePipeline executions and OpsItems use the local cloud's
extensions of moto (``install_fakes``); GitHub is the local cloud's GitHub fake, in process (no socket).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from blueprints.dora import wiring
from blueprints.dora.store import FactStore
from localcloud.fakes import install_fakes
from localcloud.fakes.codepipeline import StageRun, ensure_pipeline, record_execution
from localcloud.fakes.github import GitHubFake, github
from localcloud.fakes.opscenter import ops_center
from tests.support.cfn import ACCOUNT_ID, REGION
from tests.support.events import load_event
from tests.support.handlers import load_handler
from tests.support.lambda_context import FakeLambdaContext
from tests.support.moto_stack import MotoStack, deploy
from tests.support.paths import TEMPLATES

DORA_TEMPLATE = TEMPLATES / "dora.yaml"
PHYSICAL_NAMES = {
    "FactsTable": "dora-facts",
    "ChangesQueue": "dora-changes",
    "ChangesDLQ": "dora-changes-dlq",
    "EventsDLQ": "dora-events-dlq",
}
WEBHOOK_SECRET = "sample-webhook-secret"  # what the sample webhook events are signed with
GITHUB_TOKEN = "ghp_sampletoken0123456789"
FUNCTIONS = {
    "IngestPipelineEventFunction": "ingest_pipeline_event",
    "IngestOpsitemEventFunction": "ingest_opsitem_event",
    "ResolveDeployChangesFunction": "resolve_deploy_changes",
    "ReceiveGithubWebhookFunction": "receive_github_webhook",
    "CalculateDoraMetricsFunction": "calculate_dora_metrics",
    "QueryDoraFunction": "query_dora",
    "BackfillDoraFunction": "backfill_dora",
}
PIPELINE = "svc-a"
PIPELINE_ARN = f"arn:aws:codepipeline:{REGION}:{ACCOUNT_ID}:{PIPELINE}"
REPO = "example-org/svc-a"
PROD_STAGES = ("Source", "Build", "DeployStaging", "DeployPROD")


@dataclass
class DoraWorld:
    stack: MotoStack
    github: GitHubFake
    monkeypatch: pytest.MonkeyPatch
    webhook_secret_arn: str
    token_secret_arn: str
    modules: dict[str, ModuleType] = field(default_factory=dict)

    @property
    def table(self) -> str:
        return self.stack.ref("FactsTable")

    @property
    def changes_queue_url(self) -> str:
        return self.stack.ref("ChangesQueue")

    def store(self) -> FactStore:
        return FactStore(self.table, client=boto3.client("dynamodb", region_name=REGION))

    def use(self, logical_id: str, **overrides: str) -> ModuleType:
        """The handler module of a function, its environment set as the template resolves it."""
        env = self.stack.function_env(logical_id)
        env.update(overrides)
        for name, value in env.items():
            self.monkeypatch.setenv(name, value)
        module = self.modules.setdefault(logical_id, load_handler("dora", FUNCTIONS[logical_id]))
        module.SETTINGS.reset()
        wiring.reset()
        return module

    def invoke(self, logical_id: str, event: dict[str, Any], **overrides: str) -> Any:
        module = self.use(logical_id, **overrides)
        context = FakeLambdaContext(function_name=f"blueprints-dora-{logical_id}")
        return module.lambda_handler(event, context)

    # -- sources ----------------------------------------------------------------------------------

    def pipeline(self, name: str = PIPELINE, stages: tuple[str, ...] = PROD_STAGES) -> None:
        ensure_pipeline(ACCOUNT_ID, REGION, name, stages=stages)

    def execution(self, execution_id: str, commit: str, finished: datetime, **fields: Any) -> None:
        """A recorded execution of svc-a whose stages end at ``finished`` (the DeployPROD success)."""
        pipeline = fields.pop("pipeline", PIPELINE)
        stages = fields.pop("stages", None)
        started = fields.pop("start_time", finished.replace(minute=0) if finished.minute else finished)
        record_execution(
            ACCOUNT_ID,
            REGION,
            pipeline,
            execution_id=execution_id,
            status=fields.pop("status", "Succeeded"),
            revision_id=commit,
            revision_url=f"https://github.com/{REPO}/commit/{commit}",
            branch=fields.pop("branch", "main"),
            repository=fields.pop("repository", REPO),
            start_time=started,
            last_update_time=finished,
            stages=stages or [StageRun(stage, end_time=finished) for stage in PROD_STAGES],
            **fields,
        )

    def ops_item(self, created: datetime, **params: Any) -> str:
        item = ops_center(ACCOUNT_ID, REGION).create(
            {"Title": "Orders API errors", "Source": "orders-api", "Description": "5xx", **params}, at=created
        )
        return str(item["OpsItemId"])

    def update_ops_item(self, ops_item_id: str, at: datetime, **params: Any) -> None:
        ops_center(ACCOUNT_ID, REGION).update({"OpsItemId": ops_item_id, **params}, at=at)

    # -- queues -------------------------------------------------------------------------------------

    def queued_changes(self) -> list[dict[str, Any]]:
        sqs: Any = boto3.client("sqs", region_name=REGION)
        found: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(
                QueueUrl=self.changes_queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
            ).get("Messages", [])
            if not batch:
                return found
            for message in batch:
                sqs.delete_message(QueueUrl=self.changes_queue_url, ReceiptHandle=message["ReceiptHandle"])
            found.extend(batch)

    def resolve_queued(self) -> list[dict[str, Any]]:
        """Deliver every queued change-resolution message to the resolver (like its SQS mapping)."""
        results = []
        while messages := self.queued_changes():
            event = load_event("dora", "resolve_deploy_changes", "resolve_one")
            template = event["Records"][0]
            event["Records"] = [
                {
                    **template,
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                }
                for m in messages
            ]
            results.append(self.invoke("ResolveDeployChangesFunction", event))
        return results


def deploy_dora() -> MotoStack:
    kms = boto3.client("kms", region_name=REGION).create_key(Description="blueprints shared key")[
        "KeyMetadata"
    ]["Arn"]
    alerts = boto3.client("sns", region_name=REGION).create_topic(Name="blueprints-alerts")["TopicArn"]
    return deploy(
        DORA_TEMPLATE,
        {
            "SharedLayerArn": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:layer:blueprints-shared:1",
            "KmsKeyArn": kms,
            "AlertsTopicArn": alerts,
            "EventBusMode": "default",
        },
        names=PHYSICAL_NAMES,
        stack_name="blueprints-dora",
    )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubFake]:
    with mock_aws(), install_fakes():
        wiring.reset()
        yield github()
        wiring.reset()


@pytest.fixture
def dora(aws: GitHubFake, monkeypatch: pytest.MonkeyPatch) -> DoraWorld:
    stack = deploy_dora()
    secrets = boto3.client("secretsmanager", region_name=REGION)
    webhook, token = stack.ref("WebhookSecret"), stack.ref("GitHubTokenSecret")
    secrets.put_secret_value(SecretId=webhook, SecretString=WEBHOOK_SECRET)
    secrets.put_secret_value(SecretId=token, SecretString=GITHUB_TOKEN)
    return DoraWorld(stack, aws, monkeypatch, webhook, token)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def pipeline_event(case: str, **detail: Any) -> dict[str, Any]:
    """A sample CodePipeline event with changed detail fields (and ``time``/``id`` when given)."""
    event: dict[str, Any] = json.loads(json.dumps(load_event("dora", "ingest_pipeline_event", case)))
    for key in ("time", "id"):
        if key in detail:
            event[key] = detail.pop(key)
    event["detail"].update(detail)
    return event
