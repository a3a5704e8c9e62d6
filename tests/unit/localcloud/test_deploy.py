"""localcloud.deploy: the real root template deployed into in-process moto through CloudFormation."""

from __future__ import annotations

import json

import pytest

from localcloud.cloud import LocalCloud
from localcloud.translate import ARTIFACT_BUCKET
from tests.support.events import load_event


def test_the_root_stack_and_the_nested_broker_stack_are_created_with_resolved_outputs(
    blueprints_cloud: LocalCloud,
) -> None:
    cloudformation = blueprints_cloud.client("cloudformation")
    stacks = {stack["StackName"]: stack for stack in cloudformation.describe_stacks()["Stacks"]}

    root = stacks["blueprints"]
    nested_name = next(o["OutputValue"] for o in root["Outputs"] if o["OutputKey"] == "BrokerStackName")
    assert root["StackStatus"] == stacks[nested_name]["StackStatus"] == "CREATE_COMPLETE"
    broker = {o["OutputKey"]: o["OutputValue"] for o in stacks[nested_name]["Outputs"]}
    root_outputs = {o["OutputKey"]: o["OutputValue"] for o in root["Outputs"]}
    assert root_outputs["BrokerRequestQueueUrl"] == broker["RequestQueueUrl"]  # Fn::GetAtt Broker.Outputs.*
    attributes = blueprints_cloud.client("sqs").get_queue_attributes(
        QueueUrl=broker["RequestQueueUrl"], AttributeNames=["All"]
    )["Attributes"]
    assert attributes["QueueArn"] == broker["RequestQueueArn"]
    # !Select [!Ref RetryLimit, ...] with RetryLimit 5: maxReceiveCount 6
    assert json.loads(attributes["RedrivePolicy"])["maxReceiveCount"] in (6, "6")
    assert root_outputs["SharedLayerArn"].endswith(":layer:blueprints-shared-dev:1")


def test_functions_get_their_layer_resolved_environment_and_code_folder(blueprints_cloud: LocalCloud) -> None:
    deployment = blueprints_cloud.deployment
    assert deployment is not None
    dispatch = deployment.function("DispatchTaskFunction")
    configuration = blueprints_cloud.client("lambda").get_function(FunctionName=dispatch.name)[
        "Configuration"
    ]

    assert dispatch.path == "Broker/DispatchTaskFunction"
    assert dispatch.code is not None
    assert (dispatch.code / "app.py").is_file()
    assert [layer["Arn"] for layer in configuration["Layers"]] == [deployment.outputs()["SharedLayerArn"]]
    variables = configuration["Environment"]["Variables"]
    assert variables["RETRY_LIMIT"] == "5"
    assert variables["REQUESTS_TABLE_NAME"] == deployment.outputs("Broker")["RequestsTableName"]
    assert configuration["Architectures"] == ["arm64"]
    objects = blueprints_cloud.client("s3").list_objects_v2(Bucket=ARTIFACT_BUCKET)["Contents"]
    assert {"functions/broker/dispatch_task", "layers/shared"} <= {item["Key"] for item in objects}


def test_resources_moto_skips_are_applied_through_the_service_apis(blueprints_cloud: LocalCloud) -> None:
    deployment = blueprints_cloud.deployment
    assert deployment is not None
    outputs = deployment.outputs("Broker")

    queue_policy = blueprints_cloud.client("sqs").get_queue_attributes(
        QueueUrl=outputs["RequestQueueUrl"], AttributeNames=["Policy"]
    )["Attributes"]["Policy"]
    assert "TlsOnly" in queue_policy
    topic = blueprints_cloud.client("sns").get_topic_attributes(TopicArn=outputs["FailureTopicArn"])
    assert "TlsOnly" in topic["Attributes"]["Policy"]
    rerun = deployment.function("RerunOnEniTimeoutFunction")
    invoke_config = blueprints_cloud.client("lambda").get_function_event_invoke_config(
        FunctionName=rerun.name
    )
    assert invoke_config["MaximumRetryAttempts"] == 2
    alarms = blueprints_cloud.client("cloudwatch").describe_alarms()["MetricAlarms"]
    assert len(alarms) == len(deployment.of_type("AWS::CloudWatch::Alarm"))
    assert {"DeadLetterAlarm", "RetryLimitExceededAlarm"} <= {
        alarm.logical_id for alarm in deployment.of_type("AWS::CloudWatch::Alarm")
    }
    assert deployment.unsupported == []


def test_functions_are_found_by_path_logical_id_or_name_and_unknown_ones_are_named(
    blueprints_cloud: LocalCloud,
) -> None:
    deployment = blueprints_cloud.deployment
    assert deployment is not None
    rerun = deployment.function("Broker/RerunOnEniTimeoutFunction")

    assert deployment.function(rerun.name) == deployment.function("RerunOnEniTimeoutFunction") == rerun
    with pytest.raises(KeyError, match="no function Nope"):
        deployment.function("Nope")


def test_a_real_handler_runs_with_its_deployed_environment_and_logs_to_its_log_group(
    blueprints_cloud: LocalCloud,
) -> None:
    result = blueprints_cloud.invoke(
        "RerunOnEniTimeoutFunction", load_event("broker", "rerun_on_eni_timeout", "other_stop_reason")
    )

    assert result.function_error is None
    assert result.payload == {"outcome": "IGNORED"}
    assert blueprints_cloud.deployment is not None
    log_group = blueprints_cloud.deployment.resource("Broker/RerunOnEniTimeoutLogGroup")
    events = blueprints_cloud.client("logs").filter_log_events(logGroupName=log_group.physical_id)["events"]
    messages = [event["message"] for event in events]
    assert any('"type": "platform.start"' in message for message in messages)
    assert any("not an ENI provisioning timeout" in message for message in messages)


def test_a_real_handler_that_raises_returns_the_runtime_error_payload(blueprints_cloud: LocalCloud) -> None:
    result = blueprints_cloud.invoke("RerunOnEniTimeoutFunction", {"not": "an ECS event"})

    assert result.errored
    assert result.payload["errorType"] == "ValidationError"
    assert "EcsTaskStateChangeEvent" in result.payload["errorMessage"]
    assert any("rerun_on_eni_timeout/app.py" in frame for frame in result.payload["stackTrace"])
