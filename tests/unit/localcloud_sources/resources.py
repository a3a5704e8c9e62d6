"""Small moto resource builders shared by the tests (queues, tables with streams, ECS networking)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3

REGION = "us-east-1"


@dataclass(frozen=True)
class Queue:
    url: str
    arn: str


def sqs() -> Any:
    return boto3.client("sqs", region_name=REGION)


def create_queue(name: str, **attributes: str) -> Queue:
    url: str = sqs().create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn: str = sqs().get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return Queue(url, arn)


def create_queue_with_dlq(name: str, max_receive_count: int, visibility: int = 30) -> tuple[Queue, Queue]:
    dlq = create_queue(f"{name}-dlq")
    redrive = json.dumps({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": max_receive_count})
    return create_queue(name, VisibilityTimeout=str(visibility), RedrivePolicy=redrive), dlq


def drain(queue: Queue) -> list[dict[str, Any]]:
    """Every visible message (deleted as read), for asserting what a queue received."""
    messages: list[dict[str, Any]] = []
    while True:
        batch = (
            sqs()
            .receive_message(
                QueueUrl=queue.url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                AttributeNames=["All"],
            )
            .get("Messages", [])
        )
        if not batch:
            return messages
        for message in batch:
            sqs().delete_message(QueueUrl=queue.url, ReceiptHandle=message["ReceiptHandle"])
        messages.extend(batch)


def depth(queue: Queue) -> tuple[int, int]:
    """(visible, in flight) message counts."""
    attributes = sqs().get_queue_attributes(QueueUrl=queue.url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def create_stream_table(name: str) -> str:
    """A table keyed on ``pk`` with a stream; returns the stream ARN."""
    table = boto3.client("dynamodb", region_name=REGION).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    arn: str = table["TableDescription"]["LatestStreamArn"]
    return arn


def put_items(table: str, *keys: str, **attributes: str) -> None:
    client = boto3.client("dynamodb", region_name=REGION)
    for key in keys:
        item = {"pk": {"S": key}} | {name: {"S": value} for name, value in attributes.items()}
        client.put_item(TableName=table, Item=item)


@dataclass(frozen=True)
class Network:
    subnet_id: str
    security_group_id: str

    def configuration(self) -> dict[str, Any]:
        return {
            "awsvpcConfiguration": {"subnets": [self.subnet_id], "securityGroups": [self.security_group_id]}
        }


def create_network() -> Network:
    """A VPC with DNS hostnames (moto's awsvpc tasks need it), a subnet and a security group."""
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc_id = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.30.1.0/24", AvailabilityZone="us-east-1a")[
        "Subnet"
    ]["SubnetId"]
    group_id = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc_id)["GroupId"]
    return Network(subnet_id, group_id)
