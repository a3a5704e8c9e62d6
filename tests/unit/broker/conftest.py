"""The broker's moto world, built from templates/broker.yaml, and the two handlers wired to it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from blueprints.broker import wiring
from blueprints.broker.dispatcher import Dispatcher
from blueprints.broker.records import RequestStore
from blueprints.broker.state import RequestRecord
from tests.support.cfn import REGION
from tests.support.esm import EventSourceMapping
from tests.support.events import load_event
from tests.support.handlers import load_handler
from tests.support.lambda_context import FakeLambdaContext
from tests.support.moto_stack import MotoStack, deploy
from tests.support.paths import TEMPLATES
from tests.support.sqs_events import Event, replace_in_bodies

BROKER_TEMPLATE = TEMPLATES / "broker.yaml"
# Placeholders used by the sample events, replaced by real moto ids in tests.
SAMPLE_SUBNET = "subnet-0a1b2c3d4e5f60718"
SAMPLE_SECURITY_GROUP = "sg-0c2d3e4f5a6b7c8d9"
# Physical names matching the ARNs the sample events carry.
PHYSICAL_NAMES = {
    "Cluster": "broker",
    "RequestQueue": "broker-requests",
    "RequestDLQ": "broker-requests-dlq",
    "EventsDLQ": "broker-events-dlq",
    "FailureTopic": "broker-failures",
    "RequestsTable": "broker-requests",
    "IdempotencyTable": "broker-idempotency",
}
TASK_FAMILY = "broker-cellprofiler"
CONTAINER = "worker"


@dataclass(frozen=True)
class Network:
    vpc_id: str
    subnet_id: str
    security_group_id: str


@dataclass
class Broker:
    """The deployed broker in moto, with readers for what tests assert on."""

    stack: MotoStack
    network: Network
    notices_queue_url: str
    dispatch_module: ModuleType
    rerun_module: ModuleType
    monkeypatch: pytest.MonkeyPatch

    @property
    def cluster_arn(self) -> str:
        return self.stack.attribute("Cluster", "Arn")

    @property
    def request_queue_url(self) -> str:
        return self.stack.ref("RequestQueue")

    @property
    def request_queue_arn(self) -> str:
        return self.stack.attribute("RequestQueue", "Arn")

    @property
    def dlq_url(self) -> str:
        return self.stack.ref("RequestDLQ")

    @property
    def requests_table(self) -> str:
        return self.stack.ref("RequestsTable")

    def sqs(self) -> Any:
        return boto3.client("sqs", region_name=REGION)

    def ecs(self) -> Any:
        return boto3.client("ecs", region_name=REGION)

    # --- configuration -------------------------------------------------------------------------
    def use_function(self, logical_id: str, **overrides: str) -> dict[str, str]:
        """Set the function's environment exactly as the template resolves it (plus ``overrides``)."""
        env = self.stack.function_env(logical_id)
        env.update(overrides)
        for name, value in env.items():
            self.monkeypatch.setenv(name, value)
        self.dispatch_module.SETTINGS.reset()
        self.rerun_module.SETTINGS.reset()
        wiring.reset()
        return env

    # --- events and invocations ----------------------------------------------------------------
    def sqs_event(self, case: str) -> Event:
        """A dispatch_task sample event, with the sample network ids replaced by moto's."""
        return replace_in_bodies(
            load_event("broker", "dispatch_task", case),
            {SAMPLE_SUBNET: self.network.subnet_id, SAMPLE_SECURITY_GROUP: self.network.security_group_id},
        )

    def dispatch(self, event: Event, context: FakeLambdaContext | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self.dispatch_module.lambda_handler(event, context or dispatch_context())
        return result

    def rerun(self, event: Event, context: FakeLambdaContext | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self.rerun_module.lambda_handler(event, context or rerun_context())
        return result

    def send(self, body: str, attributes: dict[str, str] | None = None) -> str:
        """A producer puts a message on the request queue; returns its message id."""
        message_id: str = self.sqs().send_message(
            QueueUrl=self.request_queue_url,
            MessageBody=body,
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value}
                for name, value in (attributes or {}).items()
            },
        )["MessageId"]
        return message_id

    def esm(self) -> EventSourceMapping:
        """The SQS event source of the dispatch function, driven by hand (see tests.support.esm)."""
        return EventSourceMapping(self.sqs(), self.request_queue_url, self.request_queue_arn, self.dispatch)

    # --- readers -------------------------------------------------------------------------------
    def record(self, request_id: str) -> RequestRecord | None:
        return RequestStore(self.requests_table, 30, client=boto3.client("dynamodb", region_name=REGION)).get(
            request_id
        )

    def item(self, request_id: str) -> dict[str, Any]:
        found: dict[str, Any] = boto3.client("dynamodb", region_name=REGION).get_item(
            TableName=self.requests_table, Key={"request_id": {"S": request_id}}, ConsistentRead=True
        )["Item"]
        return found

    def tasks(self) -> list[dict[str, Any]]:
        ecs = self.ecs()
        arns = ecs.list_tasks(cluster=self.cluster_arn)["taskArns"]
        if not arns:
            return []
        described: list[dict[str, Any]] = ecs.describe_tasks(
            cluster=self.cluster_arn, tasks=arns, include=["TAGS"]
        )["tasks"]
        return described

    def drain(self, queue_url: str) -> list[dict[str, Any]]:
        """Receive (once) every visible message of a queue, with its attributes."""
        sqs = self.sqs()
        messages: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                AttributeNames=["All"],
                VisibilityTimeout=600,
            ).get("Messages", [])
            if not batch:
                return messages
            messages.extend(batch)

    def dead_letters(self) -> list[dict[str, Any]]:
        return self.drain(self.dlq_url)

    def notices(self) -> list[dict[str, Any]]:
        """SNS notices (raw delivery to a subscribed queue): the JSON body plus ``_attributes``."""
        found = []
        for message in self.drain(self.notices_queue_url):
            body = json.loads(message["Body"])
            body["_attributes"] = {
                name: value["StringValue"] for name, value in message.get("MessageAttributes", {}).items()
            }
            found.append(body)
        return found

    def queue_depth(self, queue_url: str) -> tuple[int, int]:
        """(visible, in flight) messages of a queue."""
        attributes = self.sqs().get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]), int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )


def dispatch_context() -> FakeLambdaContext:
    return FakeLambdaContext(function_name="blueprints-broker-DispatchTaskFunction-1A2B3C4D5E6F")


def rerun_context() -> FakeLambdaContext:
    return FakeLambdaContext(
        function_name="blueprints-broker-RerunOnEniTimeoutFunction-6F5E4D3C2B1A",
        aws_request_id="9b8c7d6e-5f4a-4b3c-a2d1-0e9f8a7b6c5d",
    )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # VPCs only: skip moto's AMI catalogue
    with mock_aws():
        wiring.reset()
        yield
        wiring.reset()


def create_network() -> Network:
    """A VPC (DNS hostnames on: moto's Fargate needs it), one subnet and one security group."""
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc_id = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.20.1.0/24", AvailabilityZone="us-east-1a")[
        "Subnet"
    ]["SubnetId"]
    group_id = ec2.create_security_group(GroupName="broker-tasks", Description="broker tasks", VpcId=vpc_id)[
        "GroupId"
    ]
    return Network(vpc_id, subnet_id, group_id)


def register_task_definition(family: str = TASK_FAMILY, container: str = CONTAINER) -> str:
    arn: str = boto3.client("ecs", region_name=REGION).register_task_definition(
        family=family,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="1024",
        memory="4096",
        containerDefinitions=[
            {
                "name": container,
                "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/cellprofiler:4.2.6",
                "essential": True,
                "cpu": 1024,
                "memory": 4096,  # moto sizes tasks from the containers
            }
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    return arn


def deploy_broker(parameters: dict[str, str] | None = None) -> MotoStack:
    kms_key_arn = boto3.client("kms", region_name=REGION).create_key(Description="blueprints shared key")[
        "KeyMetadata"
    ]["Arn"]
    alerts_arn = boto3.client("sns", region_name=REGION).create_topic(Name="blueprints-alerts")["TopicArn"]
    return deploy(
        BROKER_TEMPLATE,
        {
            "SharedLayerArn": "arn:aws:lambda:us-east-1:123456789012:layer:blueprints-shared:1",
            "KmsKeyArn": kms_key_arn,
            "AlertsTopicArn": alerts_arn,
            **(parameters or {}),
        },
        names=PHYSICAL_NAMES,
        stack_name="blueprints-broker",
    )


def subscribe_queue(topic_arn: str, name: str) -> str:
    sqs = boto3.client("sqs", region_name=REGION)
    url: str = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns", region_name=REGION).subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )
    return url


@pytest.fixture
def broker(aws: None, monkeypatch: pytest.MonkeyPatch) -> Broker:
    """The broker stack in moto with one registered task definition, the dispatch function configured."""
    network = create_network()
    stack = deploy_broker()
    register_task_definition()
    deployed = Broker(
        stack=stack,
        network=network,
        notices_queue_url=subscribe_queue(stack.ref("FailureTopic"), "failure-notices"),
        dispatch_module=load_handler("broker", "dispatch_task"),
        rerun_module=load_handler("broker", "rerun_on_eni_timeout"),
        monkeypatch=monkeypatch,
    )
    deployed.use_function("DispatchTaskFunction")
    return deployed


@pytest.fixture
def max_jitter(monkeypatch: pytest.MonkeyPatch) -> Callable[[float, float], float]:
    """Make the dispatcher's jitter deterministic: always the upper bound of the draw."""

    def upper(low: float, high: float) -> float:
        return high

    defaults = Dispatcher.__init__.__kwdefaults__
    assert defaults is not None
    assert "uniform" in defaults
    monkeypatch.setitem(defaults, "uniform", upper)
    return upper


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything sleeps (backoff must be SQS visibility, never a sleep)."""

    def forbidden(seconds: float) -> None:
        raise AssertionError(f"time.sleep({seconds}) called inside the handler")

    monkeypatch.setattr("time.sleep", forbidden)
