"""moto gaps the local cloud closes outside CloudFormation's resource models (localcloud/patches.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from localcloud.patches import cloudformation_patches

REGION = "us-east-1"
TLS_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "TlsOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::tls-bucket", "arn:aws:s3:::tls-bucket/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ],
}


@pytest.fixture
def patched() -> Iterator[None]:
    with cloudformation_patches(), mock_aws():
        yield


@pytest.mark.usefixtures("patched")
def test_a_tls_only_bucket_policy_lets_sdk_requests_through_and_other_denials_still_apply() -> None:
    # Given a bucket with the usual TLS-only policy, plus a denial of deletes
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="tls-bucket")
    policy = {
        **TLS_ONLY,
        "Statement": [
            *TLS_ONLY["Statement"],
            {
                "Sid": "NoDeletes",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:DeleteObject",
                "Resource": "arn:aws:s3:::tls-bucket/*",
            },
        ],
    }
    s3.put_bucket_policy(Bucket="tls-bucket", Policy=json.dumps(policy))

    # When an SDK client writes and reads, then deletes
    s3.put_object(Bucket="tls-bucket", Key="k", Body=b"x")
    body = s3.get_object(Bucket="tls-bucket", Key="k")["Body"].read()

    # Then the TLS statement does not apply, and the unconditional denial does
    assert body == b"x"
    with pytest.raises(s3.exceptions.ClientError, match="403"):
        s3.delete_object(Bucket="tls-bucket", Key="k")


@pytest.mark.usefixtures("patched")
@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("?ERROR ?Killed", ["ERROR disk full", "Killed", "ERROR and Killed"]),
        ("ERROR disk", ["ERROR disk full"]),
        ("ERROR -disk", ["ERROR and Killed"]),
        ('"disk full"', ["ERROR disk full"]),
        ("", ["ERROR disk full", "all good", "Killed", "ERROR and Killed"]),
    ],
)
def test_filter_log_events_evaluates_term_patterns_as_cloudwatch_does(
    pattern: str, expected: list[str]
) -> None:
    # Given a stream with four lines
    logs = boto3.client("logs", region_name=REGION)
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    lines = ["ERROR disk full", "all good", "Killed", "ERROR and Killed"]
    now = int(time.time() * 1000)
    events = [{"timestamp": now + index, "message": line} for index, line in enumerate(lines)]
    logs.put_log_events(logGroupName="g", logStreamName="s", logEvents=events)

    # When they are filtered with the pattern
    found = logs.filter_log_events(logGroupName="g", filterPattern=pattern)["events"]

    # Then exactly the matching lines come back
    assert [event["message"] for event in found] == expected


@pytest.mark.usefixtures("patched")
def test_the_eventbridge_configuration_of_a_bucket_is_read_back_with_the_others() -> None:
    # Given a bucket with a queue notification and EventBridge delivery
    s3 = boto3.client("s3", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="audit")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.create_bucket(Bucket="archive-bucket")
    configuration = {
        "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectRemoved:*"]}],
        "EventBridgeConfiguration": {},
    }
    s3.put_bucket_notification_configuration(Bucket="archive-bucket", NotificationConfiguration=configuration)

    # When it is read back
    found = s3.get_bucket_notification_configuration(Bucket="archive-bucket")

    # Then both are there
    assert found["EventBridgeConfiguration"] == {}
    assert [item["QueueArn"] for item in found["QueueConfigurations"]] == [arn]


@pytest.mark.usefixtures("patched")
def test_a_fargate_task_definition_from_cloudformation_keeps_its_cpu_platform_and_storage() -> None:
    # Given a stack with a Fargate task definition sized at the task level, on ARM, with 30 GiB of storage
    template = {
        "Resources": {
            "Head": {
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {
                    "Family": "head",
                    "RequiresCompatibilities": ["FARGATE"],
                    "NetworkMode": "awsvpc",
                    "Cpu": "1024",
                    "Memory": "4096",
                    "RuntimePlatform": {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"},
                    "EphemeralStorage": {"SizeInGiB": 30},
                    "ContainerDefinitions": [
                        {"Name": "main", "Image": "busybox", "Environment": [{"Name": "A", "Value": "1"}]}
                    ],
                },
            }
        }
    }

    # When CloudFormation creates it
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="task-definitions", TemplateBody=json.dumps(template)
    )

    # Then DescribeTaskDefinition shows every property, as RegisterTaskDefinition would have kept them
    found = boto3.client("ecs", region_name=REGION).describe_task_definition(taskDefinition="head")
    definition = found["taskDefinition"]
    assert (definition["cpu"], definition["memory"], definition["networkMode"]) == ("1024", "4096", "awsvpc")
    assert definition["runtimePlatform"] == {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"}
    assert definition["ephemeralStorage"] == {"sizeInGiB": 30}
    assert definition["requiresCompatibilities"] == ["FARGATE"]
    assert definition["containerDefinitions"][0]["environment"] == [{"name": "A", "value": "1"}]
