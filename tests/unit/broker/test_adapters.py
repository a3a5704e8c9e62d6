"""boto3 adapters with botocore's Stubber: exact API parameters, error translation at the boundary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.stub import Stubber
from moto import mock_aws

from blueprints.broker.adapters import EcsLauncher, SnsNotifier, SqsQueues
from blueprints.broker.errors import LaunchRejectedError, LaunchThrottledError, LaunchUnknownError
from blueprints.core import aws
from tests.support.botocore_hooks import raise_on
from tests.support.cfn import REGION

TASK_DEFINITION_ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/broker-cellprofiler:1"
TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task/broker/0f1e2d3c4b5a69788796a5b4c3d2e1f0"
DLQ_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/broker-requests-dlq"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/broker-requests"
TOPIC = "arn:aws:sns:us-east-1:123456789012:broker-failures"
EXTRA_TOPIC = "arn:aws:sns:us-east-1:123456789012:team-alerts"


@pytest.fixture
def ecs() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("ecs", region_name=REGION)
    stub = Stubber(client)
    with stub:
        yield client, stub
        stub.assert_no_pending_responses()


@pytest.fixture
def sqs() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("sqs", region_name=REGION)
    stub = Stubber(client)
    with stub:
        yield client, stub
        stub.assert_no_pending_responses()


@pytest.fixture
def sns() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("sns", region_name=REGION)
    stub = Stubber(client)
    with stub:
        yield client, stub
        stub.assert_no_pending_responses()


def described(network_mode: str | None = "awsvpc") -> dict[str, Any]:
    definition: dict[str, Any] = {
        "taskDefinitionArn": TASK_DEFINITION_ARN,
        "containerDefinitions": [{"name": "worker"}, {"name": "sidecar"}],
    }
    if network_mode:
        definition["networkMode"] = network_mode
    return {"taskDefinition": definition}


# --- ECS ---------------------------------------------------------------------------------------


def test_describe_reads_network_mode_and_container_names(ecs: tuple[Any, Stubber]) -> None:
    client, stub = ecs
    stub.add_response("describe_task_definition", described(), {"taskDefinition": "broker-cellprofiler:1"})

    info = EcsLauncher(client).describe("broker-cellprofiler:1", cacheable=True)

    assert (info.arn, info.network_mode, info.container_names) == (
        TASK_DEFINITION_ARN,
        "awsvpc",
        frozenset({"worker", "sidecar"}),
    )


def test_describe_defaults_to_bridge_mode(ecs: tuple[Any, Stubber]) -> None:
    client, stub = ecs
    stub.add_response("describe_task_definition", described(None), {"taskDefinition": "broker-x:1"})
    assert EcsLauncher(client).describe("broker-x:1", cacheable=False).network_mode == "bridge"


def test_a_pinned_revision_is_described_once(ecs: tuple[Any, Stubber]) -> None:
    client, stub = ecs
    stub.add_response("describe_task_definition", described(), {"taskDefinition": "broker-cellprofiler:1"})
    launcher = EcsLauncher(client)

    first = launcher.describe("broker-cellprofiler:1", cacheable=True)
    second = launcher.describe("broker-cellprofiler:1", cacheable=True)  # the Stubber has no second answer

    assert first is second


def test_an_unpinned_family_is_described_every_time(ecs: tuple[Any, Stubber]) -> None:
    client, stub = ecs
    for _ in range(2):
        stub.add_response("describe_task_definition", described(), {"taskDefinition": "broker-cellprofiler"})
    launcher = EcsLauncher(client)

    launcher.describe("broker-cellprofiler", cacheable=False)
    launcher.describe("broker-cellprofiler", cacheable=False)


@pytest.mark.parametrize(
    ("code", "error_type"),
    [
        ("ClientException", LaunchRejectedError),
        ("AccessDeniedException", LaunchRejectedError),
        ("ThrottlingException", LaunchThrottledError),
        ("SomethingElse", LaunchUnknownError),
    ],
)
def test_describe_errors_are_typed(ecs: tuple[Any, Stubber], code: str, error_type: type[Exception]) -> None:
    client, stub = ecs
    stub.add_client_error(
        "describe_task_definition", service_error_code=code, service_message="Unable to describe"
    )

    with pytest.raises(error_type) as caught:
        EcsLauncher(client).describe("broker-nope:1", cacheable=True)

    assert isinstance(caught.value.__cause__, ClientError)
    assert getattr(caught.value, "error_code", None) == code


def test_run_returns_task_arns_and_failures(ecs: tuple[Any, Stubber]) -> None:
    client, stub = ecs
    arguments = {
        "cluster": "broker",
        "taskDefinition": "broker-cellprofiler:1",
        "count": 2,
        "clientToken": "t",
    }
    stub.add_response(
        "run_task",
        {
            "tasks": [{"taskArn": TASK_ARN}, {"lastStatus": "PROVISIONING"}],
            "failures": [{"arn": "arn:x", "reason": "RESOURCE:MEMORY", "detail": "need more"}],
        },
        arguments,
    )

    result = EcsLauncher(client).run(arguments)

    assert result.task_arns == [TASK_ARN]
    assert result.failures == [{"arn": "arn:x", "reason": "RESOURCE:MEMORY", "detail": "need more"}]


def test_run_errors_are_typed(ecs: tuple[Any, Stubber]) -> None:
    client, stub = ecs
    stub.add_client_error(
        "run_task", service_error_code="ThrottlingException", service_message="Rate exceeded"
    )

    with pytest.raises(LaunchThrottledError) as caught:
        EcsLauncher(client).run({"cluster": "broker", "taskDefinition": "broker-x:1"})

    assert (caught.value.error_code, str(caught.value)) == ("ThrottlingException", "Rate exceeded")


def test_transport_errors_are_unknown_and_retryable() -> None:
    # Given ECS calls that time out at the transport level (no ClientError, no error code)
    client = boto3.client("ecs", region_name=REGION)
    timeout = ReadTimeoutError(endpoint_url="https://ecs.us-east-1.amazonaws.com")
    raise_on(client, "DescribeTaskDefinition", timeout)
    raise_on(client, "RunTask", timeout)
    launcher = EcsLauncher(client)

    # When / Then both are unclassified, retryable errors that keep their cause
    with pytest.raises(LaunchUnknownError) as described:
        launcher.describe("broker-x:1", cacheable=True)
    with pytest.raises(LaunchUnknownError) as ran:
        launcher.run({"cluster": "broker", "taskDefinition": "broker-x:1"})
    for caught in (described, ran):
        assert (caught.value.error_code, caught.value.retryable) == ("ReadTimeoutError", True)
        assert caught.value.__cause__ is timeout


def test_run_with_an_empty_response_has_no_tasks(ecs: tuple[Any, Stubber]) -> None:
    client, stub = ecs
    stub.add_response("run_task", {}, {"cluster": "broker", "taskDefinition": "broker-x:1"})
    result = EcsLauncher(client).run({"cluster": "broker", "taskDefinition": "broker-x:1"})
    assert (result.task_arns, result.failures) == ([], [])


# --- SQS ---------------------------------------------------------------------------------------


def test_hide_changes_the_message_visibility(sqs: tuple[Any, Stubber]) -> None:
    client, stub = sqs
    stub.add_response(
        "change_message_visibility",
        {},
        {"QueueUrl": QUEUE_URL, "ReceiptHandle": "AQEB-1", "VisibilityTimeout": 30},
    )
    assert SqsQueues(DLQ_URL, client).hide(QUEUE_URL, "AQEB-1", 30) is True


def test_hide_reports_a_refusal_without_raising(sqs: tuple[Any, Stubber]) -> None:
    client, stub = sqs
    stub.add_client_error("change_message_visibility", service_error_code="ReceiptHandleIsInvalid")
    assert SqsQueues(DLQ_URL, client).hide(QUEUE_URL, "stale", 30) is False


def test_dead_letter_sends_the_body_with_typed_attributes(sqs: tuple[Any, Stubber]) -> None:
    client, stub = sqs
    stub.add_response(
        "send_message",
        {"MessageId": "m-1"},
        {
            "QueueUrl": DLQ_URL,
            "MessageBody": "{}",
            "MessageAttributes": {
                "error_class": {"DataType": "String", "StringValue": "Invalid"},
                "error_code": {"DataType": "String", "StringValue": "-"},
                "attempt": {"DataType": "Number", "StringValue": "6"},
            },
        },
    )
    SqsQueues(DLQ_URL, client).dead_letter("{}", {"error_class": "Invalid", "error_code": "", "attempt": "6"})


def test_dead_letter_errors_propagate(sqs: tuple[Any, Stubber]) -> None:
    client, stub = sqs
    stub.add_client_error("send_message", service_error_code="KMS.DisabledException")
    with pytest.raises(ClientError):
        SqsQueues(DLQ_URL, client).dead_letter("{}", {"error_class": "Invalid"})


def test_enqueue_sends_with_delay_and_attributes(sqs: tuple[Any, Stubber]) -> None:
    client, stub = sqs
    stub.add_response(
        "send_message",
        {"MessageId": "m-2"},
        {
            "QueueUrl": QUEUE_URL,
            "MessageBody": '{"request_id": "cp-1"}',
            "DelaySeconds": 60,
            "MessageAttributes": {"blueprints-rerun": {"DataType": "Number", "StringValue": "1"}},
        },
    )
    SqsQueues(DLQ_URL, client).enqueue(QUEUE_URL, '{"request_id": "cp-1"}', 60, {"blueprints-rerun": "1"})


# --- SNS ---------------------------------------------------------------------------------------

NOTICE = {"request_id": "cp-1", "error_class": "Invalid", "error_code": "InvalidArguments", "attempt": 1}


def publish_params(topic: str) -> dict[str, Any]:
    return {
        "TopicArn": topic,
        "Message": json.dumps(NOTICE),
        "Subject": "Blueprints broker Invalid: cp-1",
        "MessageAttributes": {
            "error_class": {"DataType": "String", "StringValue": "Invalid"},
            "request_id": {"DataType": "String", "StringValue": "cp-1"},
        },
    }


def test_publish_sends_the_notice_with_filterable_attributes(sns: tuple[Any, Stubber]) -> None:
    client, stub = sns
    stub.add_response("publish", {"MessageId": "n-1"}, publish_params(TOPIC))
    SnsNotifier(TOPIC, client).publish(NOTICE, "Blueprints broker Invalid: cp-1")


def test_publish_also_sends_to_the_extra_topic(sns: tuple[Any, Stubber]) -> None:
    client, stub = sns
    stub.add_response("publish", {"MessageId": "n-1"}, publish_params(TOPIC))
    stub.add_response("publish", {"MessageId": "n-2"}, publish_params(EXTRA_TOPIC))
    SnsNotifier(TOPIC, client).publish(NOTICE, "Blueprints broker Invalid: cp-1", EXTRA_TOPIC)


def test_a_failing_extra_topic_does_not_fail_the_notice(sns: tuple[Any, Stubber]) -> None:
    client, stub = sns
    stub.add_response("publish", {"MessageId": "n-1"}, publish_params(TOPIC))
    stub.add_client_error("publish", service_error_code="AuthorizationError")
    SnsNotifier(TOPIC, client).publish(NOTICE, "Blueprints broker Invalid: cp-1", EXTRA_TOPIC)


def test_a_failing_failure_topic_raises(sns: tuple[Any, Stubber]) -> None:
    client, stub = sns
    stub.add_client_error("publish", service_error_code="InternalError", http_status_code=500)
    with pytest.raises(ClientError):
        SnsNotifier(TOPIC, client).publish(NOTICE, "subject", EXTRA_TOPIC)


# --- default clients ---------------------------------------------------------------------------


def test_adapters_default_to_the_shared_client_factory() -> None:
    with mock_aws():
        assert EcsLauncher().client is aws.client("ecs")
        assert SqsQueues(DLQ_URL).client is aws.client("sqs")
        assert SnsNotifier(TOPIC).client is aws.client("sns")
