"""Adapters with exact request shapes (botocore Stubber) and their error mapping."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber
from moto import mock_aws

from blueprints.dora.accounts import REFRESH_MARGIN_SECONDS, AccountClients
from blueprints.dora.codepipeline import CodePipelineReader
from blueprints.dora.errors import SourceNotFoundError, SourceUnavailableError
from blueprints.dora.opscenter import OpsCenterReader
from blueprints.dora.queue import ChangeQueue
from blueprints.dora.secrets import SecretValues
from tests.support.botocore_hooks import raise_on
from tests.support.cfn import ACCOUNT_ID, REGION
from tests.unit.dora.builders import deployment, sha

OTHER_ACCOUNT = "111122223333"
T = datetime(2024, 3, 11, 14, tzinfo=UTC)


class Clients(AccountClients):
    """An AccountClients stand-in that hands out one given client."""

    def __init__(self, client: Any) -> None:
        self.given = client
        self.asked: list[tuple[str, str, str]] = []

    def client(self, service: str, account: str, region: str) -> Any:
        self.asked.append((service, account, region))
        return self.given


def stubbed(service: str) -> tuple[Any, Stubber]:
    client = boto3.client(service, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")  # type: ignore[call-overload]
    return client, Stubber(client)


def action(
    stage: str, name: str, status: str, start: float, end: float, category: str = "Deploy", **output: Any
) -> dict[str, Any]:
    return {
        "pipelineExecutionId": "E1",
        "actionExecutionId": f"{stage}-{name}-{start}",
        "stageName": stage,
        "actionName": name,
        "startTime": datetime.fromtimestamp(start, UTC),
        "lastUpdateTime": datetime.fromtimestamp(end, UTC),
        "status": status,
        "input": {"actionTypeId": {"category": category, "owner": "AWS", "provider": "X", "version": "1"}},
        "output": output,
    }


# -- CodePipeline -------------------------------------------------------------------------------------


def test_the_definition_names_the_stages_and_the_source_repository_and_is_cached() -> None:
    client, stub = stubbed("codepipeline")
    pipeline = {
        "name": "svc-a",
        "roleArn": "arn:aws:iam::123456789012:role/p",
        "stages": [
            {
                "name": "Source",
                "actions": [
                    {
                        "name": "Source",
                        "actionTypeId": {
                            "category": "Source",
                            "owner": "AWS",
                            "provider": "CodeStarSourceConnection",
                            "version": "1",
                        },
                        "configuration": {"FullRepositoryId": "example-org/svc-a", "BranchName": "main"},
                    }
                ],
            },
            {
                "name": "DeployPROD",
                "actions": [
                    {
                        "name": "Deploy",
                        "actionTypeId": {
                            "category": "Deploy",
                            "owner": "AWS",
                            "provider": "CloudFormation",
                            "version": "1",
                        },
                    }
                ],
            },
        ],
    }
    stub.add_response("get_pipeline", {"pipeline": pipeline}, {"name": "svc-a"})
    clock = [0.0]
    reader = CodePipelineReader(Clients(client), clock=lambda: clock[0])
    with stub:
        first = reader.definition(ACCOUNT_ID, REGION, "svc-a")
        second = reader.definition(ACCOUNT_ID, REGION, "svc-a")
    assert first == second
    assert (first.stages, first.source_repo, first.source_branch) == (
        ("Source", "DeployPROD"),
        "example-org/svc-a",
        "main",
    )


def test_github_v1_sources_name_owner_and_repo() -> None:
    client, stub = stubbed("codepipeline")
    source = {
        "name": "S",
        "actionTypeId": {"category": "Source", "owner": "ThirdParty", "provider": "GitHub", "version": "1"},
        "configuration": {"Owner": "o", "Repo": "r", "Branch": "trunk"},
    }
    pipeline = {
        "name": "p",
        "roleArn": "arn:aws:iam::123456789012:role/p",
        "stages": [{"name": "Source", "actions": [source]}, {"name": "B", "actions": []}],
    }
    stub.add_response("get_pipeline", {"pipeline": pipeline})
    with stub:
        found = CodePipelineReader(Clients(client)).definition(ACCOUNT_ID, REGION, "p")
    assert (found.source_repo, found.source_branch) == ("o/r", "trunk")


def test_execution_details_come_from_the_execution_and_its_actions() -> None:
    # Given an execution whose DeployPROD failed once and then succeeded (two attempts of one action)
    client, stub = stubbed("codepipeline")
    stub.add_response(
        "get_pipeline_execution",
        {
            "pipelineExecution": {
                "pipelineName": "svc-a",
                "pipelineExecutionId": "E1",
                "status": "Succeeded",
                "artifactRevisions": [
                    {
                        "name": "SourceArtifact",
                        "revisionId": sha(3),
                        "revisionSummary": '{"CommitMessage": "from summary"}',
                        "revisionUrl": "https://github.com/example-org/svc-a/commit/x",
                    }
                ],
                "trigger": {"triggerType": "ManualRollback", "triggerDetail": "x"},
                "executionType": "ROLLBACK",
            }
        },
        {"pipelineName": "svc-a", "pipelineExecutionId": "E1"},
    )
    first_page = [
        action("DeployPROD", "Deploy", "Failed", 100, 200),
        action("Source", "Source", "Succeeded", 10, 20, "Source", outputVariables={"BranchName": "main"}),
    ]
    stub.add_response(
        "list_action_executions",
        {"actionExecutionDetails": first_page, "nextToken": "t"},
        {"pipelineName": "svc-a", "filter": {"pipelineExecutionId": "E1"}},
    )
    stub.add_response(
        "list_action_executions",
        {
            "actionExecutionDetails": [
                action("DeployPROD", "Deploy", "Succeeded", 300, 400),
                action("Build", "Build", "Failed", 30, 40),
            ]
        },
        {"pipelineName": "svc-a", "filter": {"pipelineExecutionId": "E1"}, "nextToken": "t"},
    )

    with stub:
        details = CodePipelineReader(Clients(client)).execution(ACCOUNT_ID, REGION, "svc-a", "E1")

    # Then the latest attempt decides a stage; the revision gives the commit, the URL the repository
    assert details.stage_succeeded_at == {
        "DeployPROD": datetime.fromtimestamp(400, UTC),
        "Source": datetime.fromtimestamp(20, UTC),
    }
    assert (details.sha, details.repo, details.branch, details.commit_message) == (
        sha(3),
        "example-org/svc-a",
        "main",
        "from summary",
    )
    assert (details.trigger_type, details.rollback) == ("ManualRollback", True)


def test_a_revision_that_is_not_a_commit_gives_no_commit() -> None:
    client, stub = stubbed("codepipeline")
    stub.add_response(
        "get_pipeline_execution",
        {
            "pipelineExecution": {
                "pipelineExecutionId": "E1",
                "status": "Succeeded",
                "artifactRevisions": [
                    {"name": "a", "revisionId": "s3-version-id", "revisionSummary": "plain summary"}
                ],
            }
        },
    )
    stub.add_response("list_action_executions", {"actionExecutionDetails": []})
    with stub:
        details = CodePipelineReader(Clients(client)).execution(ACCOUNT_ID, REGION, "svc-a", "E1")
    assert (details.sha, details.commit_message, details.stage_succeeded_at) == (None, "plain summary", {})


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("PipelineExecutionNotFoundException", 400, SourceNotFoundError),
        ("ThrottlingException", 400, SourceUnavailableError),
        ("InternalFailure", 500, SourceUnavailableError),
        ("AccessDeniedException", 400, SourceNotFoundError),
    ],
)
def test_codepipeline_errors_are_typed(code: str, status: int, error: type[Exception]) -> None:
    client, stub = stubbed("codepipeline")
    stub.add_client_error("get_pipeline_execution", code, http_status_code=status)
    stub.add_client_error("get_pipeline", code, http_status_code=status)
    stub.add_client_error("list_pipeline_executions", code, http_status_code=status)
    reader = CodePipelineReader(Clients(client))
    with stub:
        with pytest.raises(error, match=code):
            reader.execution(ACCOUNT_ID, REGION, "svc-a", "E1")
        with pytest.raises(error, match=code):
            reader.definition(ACCOUNT_ID, REGION, "svc-a")
        with pytest.raises(error, match=code):
            list(reader.executions(ACCOUNT_ID, REGION, "svc-a"))


def test_action_listing_errors_and_connection_failures_are_typed() -> None:
    client, stub = stubbed("codepipeline")
    stub.add_response(
        "get_pipeline_execution", {"pipelineExecution": {"pipelineExecutionId": "E1", "status": "Succeeded"}}
    )
    stub.add_client_error("list_action_executions", "ThrottlingException")
    with stub, pytest.raises(SourceUnavailableError, match="ListActionExecutions"):
        CodePipelineReader(Clients(client)).execution(ACCOUNT_ID, REGION, "svc-a", "E1")
    raise_on(client, "GetPipeline", EndpointConnectionError(endpoint_url="https://codepipeline"))
    with pytest.raises(SourceUnavailableError, match="EndpointConnectionError"):
        CodePipelineReader(Clients(client)).definition(ACCOUNT_ID, REGION, "svc-a")


def test_executions_are_listed_newest_first_across_pages() -> None:
    client, stub = stubbed("codepipeline")
    stub.add_response(
        "list_pipeline_executions",
        {
            "pipelineExecutionSummaries": [
                {"pipelineExecutionId": "E2", "status": "Succeeded", "startTime": T, "lastUpdateTime": T}
            ],
            "nextToken": "n",
        },
        {"pipelineName": "svc-a", "maxResults": 100},
    )
    stub.add_response(
        "list_pipeline_executions",
        {"pipelineExecutionSummaries": [{"pipelineExecutionId": "E1", "status": "Failed"}]},
        {"pipelineName": "svc-a", "maxResults": 100, "nextToken": "n"},
    )
    with stub:
        found = list(CodePipelineReader(Clients(client)).executions(ACCOUNT_ID, REGION, "svc-a"))
    assert [(s.execution_id, s.status, s.start_time) for s in found] == [
        ("E2", "Succeeded", T),
        ("E1", "Failed", None),
    ]


# -- OpsCenter ---------------------------------------------------------------------------------------


def test_an_opsitem_is_read_with_its_times_data_and_related_resources() -> None:
    client, stub = stubbed("ssm")
    resources = '[{"arn": "arn:aws:codepipeline:us-east-1:123456789012:svc-a"}, {"bad": 1}]'
    stub.add_response(
        "get_ops_item",
        {
            "OpsItem": {
                "OpsItemId": "oi-000000000001",
                "CreatedTime": T,
                "ActualStartTime": T.replace(hour=8),
                "Status": "Open",
                "Category": "Availability",
                "Severity": "2",
                "Source": "orders-api",
                "Title": "t",
                "OperationalData": {
                    "/dora/deployment": {"Value": "E1", "Type": "SearchableString"},
                    "/aws/resources": {"Value": resources, "Type": "SearchableString"},
                },
            }
        },
        {"OpsItemId": "oi-000000000001"},
    )
    with stub:
        item = OpsCenterReader(Clients(client)).get(ACCOUNT_ID, REGION, "oi-000000000001")
    assert (item.created, item.actual_start, item.actual_end) == (T, T.replace(hour=8), None)
    assert item.operational_data["/dora/deployment"] == "E1"
    assert item.related_resources == ("arn:aws:codepipeline:us-east-1:123456789012:svc-a",)


@pytest.mark.parametrize("raw", ["not json", '{"arn": "x"}'])
def test_unreadable_related_resources_are_none(raw: str) -> None:
    client, stub = stubbed("ssm")
    stub.add_response(
        "get_ops_item",
        {
            "OpsItem": {
                "OpsItemId": "oi-000000000001",
                "CreatedTime": T,
                "OperationalData": {"/aws/resources": {"Value": raw}},
            }
        },
    )
    with stub:
        assert (
            OpsCenterReader(Clients(client)).get(ACCOUNT_ID, REGION, "oi-000000000001").related_resources
            == ()
        )


def test_opsitem_errors_are_typed_and_listing_pages() -> None:
    client, stub = stubbed("ssm")
    stub.add_client_error("get_ops_item", "OpsItemNotFoundException")
    stub.add_client_error("get_ops_item", "InternalServerError", http_status_code=500)
    filters = [{"Key": "CreatedTime", "Values": ["2024-03-11T14:00:00+00:00"], "Operator": "GreaterThan"}]
    stub.add_response(
        "describe_ops_items",
        {"OpsItemSummaries": [{"OpsItemId": "oi-000000000001"}], "NextToken": "n"},
        {"OpsItemFilters": filters, "MaxResults": 50},
    )
    stub.add_response(
        "describe_ops_items",
        {"OpsItemSummaries": [{"OpsItemId": "oi-000000000002"}]},
        {"OpsItemFilters": filters, "MaxResults": 50, "NextToken": "n"},
    )
    stub.add_client_error("describe_ops_items", "InternalServerError", http_status_code=500)
    reader = OpsCenterReader(Clients(client))
    with stub:
        with pytest.raises(SourceNotFoundError):
            reader.get(ACCOUNT_ID, REGION, "oi-000000000001")
        with pytest.raises(SourceUnavailableError):
            reader.get(ACCOUNT_ID, REGION, "oi-000000000001")
        assert list(reader.created_since(ACCOUNT_ID, REGION, T)) == ["oi-000000000001", "oi-000000000002"]
        with pytest.raises(SourceUnavailableError):
            list(reader.created_since(ACCOUNT_ID, REGION, T))
    raise_on(client, "GetOpsItem", EndpointConnectionError(endpoint_url="https://ssm"))
    with pytest.raises(SourceUnavailableError, match="EndpointConnectionError"):
        reader.get(ACCOUNT_ID, REGION, "oi-000000000001")


# -- Accounts, secrets, queue (moto) ------------------------------------------------------------------


def test_other_accounts_are_read_through_the_assumed_role_refreshed_before_expiry() -> None:
    with mock_aws():
        clock = [time.time()]  # moto's credentials expire an hour after the real time
        sts = boto3.client("sts", region_name=REGION)
        calls: list[str] = []
        original = sts.assume_role

        def assume(**arguments: Any) -> Any:
            calls.append(arguments["RoleArn"])
            return original(**arguments)

        sts.assume_role = assume
        clients = AccountClients(ACCOUNT_ID, "blueprints-dora-reader-dev", sts=sts, clock=lambda: clock[0])
        own = clients.client("codepipeline", ACCOUNT_ID, REGION)
        other = clients.client("codepipeline", OTHER_ACCOUNT, REGION)
        again = clients.client("codepipeline", OTHER_ACCOUNT, REGION)
        other_region = clients.client("codepipeline", ACCOUNT_ID, "eu-west-1")

        assert own is not other
        assert again is other
        assert other_region.meta.region_name == "eu-west-1"
        assert calls == [f"arn:aws:iam::{OTHER_ACCOUNT}:role/blueprints-dora-reader-dev"]
        # and an hour later (credentials about to expire) the role is assumed again
        clock[0] += 3600 - REFRESH_MARGIN_SECONDS + 1
        assert clients.client("codepipeline", OTHER_ACCOUNT, REGION) is not other
        assert len(calls) == 2


def test_secrets_are_cached_and_placeholders_read_as_empty() -> None:
    with mock_aws():
        client = boto3.client("secretsmanager", region_name=REGION)
        token = client.create_secret(Name="t", SecretString=" none ")["ARN"]
        webhook = client.create_secret(Name="w", SecretString="s3cret")["ARN"]
        clock = [0.0]
        secrets = SecretValues(client, clock=lambda: clock[0])
        assert (secrets.get(token), secrets.get(webhook)) == ("", "s3cret")
        client.put_secret_value(SecretId=webhook, SecretString="rotated")
        assert secrets.get(webhook) == "s3cret"
        clock[0] += 301
        assert secrets.get(webhook) == "rotated"
        with pytest.raises(SourceUnavailableError, match="unreadable"):
            secrets.get("arn:aws:secretsmanager:us-east-1:123456789012:secret:missing")


def test_the_change_queue_batches_messages_and_refuses_partial_failures() -> None:
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="changes")["QueueUrl"]
        queue = ChangeQueue(url, sqs)
        queue.enqueue([deployment(f"E{n}", T, sha(n)) for n in range(12)])
        assert (
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
                "Attributes"
            ]["ApproximateNumberOfMessages"]
            == "12"
        )
        assert queue.hide(url, "not-a-receipt-handle", 60) is False

        client, stub = stubbed("sqs")
        stub.add_response(
            "send_message_batch",
            {"Successful": [], "Failed": [{"Id": "0", "SenderFault": False, "Code": "x"}]},
        )
        with stub, pytest.raises(RuntimeError, match="SendMessageBatch failed"):
            ChangeQueue(url, client).enqueue([deployment("E1", T, sha(1))])
