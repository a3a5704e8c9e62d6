"""The genomics blueprint's moto world, built from templates/genomics.yaml, and its seven handlers.

``deploy`` (tests.support.moto_stack) creates the tables, queues, topics, buckets, log groups, roles, the
ECS cluster and task definitions and the Batch compute environment, queue and job definitions from their
template properties, in dependency order; so every function environment resolves exactly as the template
writes it (moto_stack says where it bridges moto's gaps).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType, SimpleNamespace
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest
from moto import mock_aws
from moto.core.base_backend import BackendDict
from moto.core.model_instances import reset_model_data

from blueprints.core import aws as core_aws
from blueprints.genomics import wiring
from blueprints.genomics.records import Launch
from blueprints.genomics.registry import LaunchRegistry
from tests.support import moto_stack
from tests.support.cfn import ACCOUNT_ID, REGION
from tests.support.handlers import load_handler
from tests.support.lambda_context import FakeLambdaContext
from tests.support.moto_stack import MotoStack, deploy
from tests.support.paths import TEMPLATES
from tests.unit.genomics.builders import DATA_BUCKET, REQUEST_BUCKET, RESULTS_BUCKET, SHEET

GENOMICS_TEMPLATE = TEMPLATES / "genomics.yaml"
STACK_NAME = "genomics-dev"
# Physical names matching the ARNs and names the sample events carry.
PHYSICAL_NAMES = {
    "Cluster": "genomics-dev",
    "LaunchTable": "genomics-launches",
    "LaunchRequestBucket": REQUEST_BUCKET,
    "ResultsBucket": RESULTS_BUCKET,
    "BatchJobQueue": "genomics-dev",
    "BatchComputeEnvironment": "genomics-dev-spot",
    "SnakemakeV7JobDefinition": "genomics-dev-snakemake7",
    "SnakemakeV8JobDefinition": "genomics-dev-snakemake8",
    "NextflowJobDefinition": "genomics-dev-nextflow",
    "ContainerJobDefinition": "genomics-dev-container",
}
MOTO_CONFIG: Any = {"batch": {"use_docker": False}}  # as the local cloud runs Batch: no Docker
FUNCTIONS = {
    "register_launch": "RegisterLaunchFunction",
    "handle_launch_api": "HandleLaunchApiFunction",
    "launch_workflow": "LaunchWorkflowFunction",
    "track_ecs_task": "TrackEcsTaskFunction",
    "track_batch_job": "TrackBatchJobFunction",
    "track_remote_run": "TrackRemoteRunFunction",
    "parse_launch_logs": "ParseLaunchLogsFunction",
    "detect_stuck_launches": "DetectStuckLaunchesFunction",
}
DATA_OBJECTS = {
    "cohort7/samples.csv": SHEET,
    "cohort7/reads/S1.fastq.gz": b"@r1\nACGT\n+\nIIII\n" * 16,
    "cohort7/reads/S2.fastq.gz": b"@r2\nTTGA\n+\nIIII\n" * 32,
}
ARCHIVED_OBJECTS = {  # in Glacier Flexible Retrieval: a launch on cohort8/ needs a restore first
    "cohort8/reads/S3.fastq.gz": b"@r3\nGGCA\n+\nIIII\n" * 8,
    "cohort8/reads/S4.fastq.gz": b"@r4\nCATG\n+\nIIII\n" * 8,
}


@dataclass(frozen=True)
class Network:
    vpc_id: str
    subnet_id: str
    security_group_id: str


@dataclass
class Genomics:
    """The deployed genomics stack in moto, with the handlers and readers for what tests assert on."""

    stack: MotoStack
    network: Network
    notices_queue_url: str
    regenie_state_machine_arn: str
    monkeypatch: pytest.MonkeyPatch

    @property
    def table_name(self) -> str:
        return self.stack.ref("LaunchTable")

    @property
    def cluster_arn(self) -> str:
        return self.stack.attribute("Cluster", "Arn")

    @property
    def job_queue_arn(self) -> str:
        return self.stack.ref("BatchJobQueue")

    @property
    def head_log_group(self) -> str:
        return self.stack.ref("HeadLogGroup")

    def registry(self) -> LaunchRegistry:
        return LaunchRegistry(self.table_name, client=client("dynamodb"))

    # --- configuration and invocation ----------------------------------------------------------
    def use_function(self, function: str, **overrides: str) -> dict[str, str]:
        """Set ``function``'s environment as the template resolves it (plus ``overrides``)."""
        env = self.stack.function_env(FUNCTIONS[function])
        env.update(overrides)
        for name, value in env.items():
            self.monkeypatch.setenv(name, value)
        for name in FUNCTIONS:
            handler(name).SETTINGS.reset()
        wiring.reset()
        return env

    def invoke(
        self, function: str, event: dict[str, Any], *, remaining_millis: int = 55_000, **overrides: str
    ) -> Any:
        """Invoke a handler in process with its template environment, as Lambda would."""
        self.use_function(function, **overrides)
        name = f"{STACK_NAME}-{FUNCTIONS[function]}-1A2B3C4D5E6F"
        context = FakeLambdaContext(function_name=name, remaining_millis=remaining_millis)
        return handler(function).lambda_handler(event, context)

    # --- readers -------------------------------------------------------------------------------
    def item(self, launch_id: str) -> dict[str, Any]:
        found = self.registry().get_plain(launch_id)
        assert found is not None, f"no launch item {launch_id}"
        return found

    def launch(self, launch_id: str) -> Launch:
        found = self.registry().get(launch_id)
        assert found is not None, f"no launch item {launch_id}"
        return found

    def raw_item(self, launch_id: str) -> dict[str, Any]:
        item: dict[str, Any] = client("dynamodb").get_item(
            TableName=self.table_name, Key={"launch_id": {"S": launch_id}}, ConsistentRead=True
        )["Item"]
        return item

    def items(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = client("dynamodb").scan(TableName=self.table_name)["Items"]
        return found

    def tasks(self) -> list[dict[str, Any]]:
        ecs = client("ecs")
        arns = ecs.list_tasks(cluster=self.cluster_arn)["taskArns"]
        if not arns:
            return []
        described: list[Any] = ecs.describe_tasks(cluster=self.cluster_arn, tasks=arns, include=["TAGS"])[
            "tasks"
        ]
        return described

    def jobs(self) -> list[dict[str, Any]]:
        batch = client("batch")
        found: list[dict[str, Any]] = []
        for status in ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED"):
            found += batch.list_jobs(jobQueue=self.job_queue_arn, jobStatus=status)["jobSummaryList"]
        return found

    def objects(self, bucket: str, prefix: str = "") -> dict[str, bytes]:
        s3 = client("s3")
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        return {item["Key"]: s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read() for item in listed}

    def put_object(self, bucket: str, key: str, body: bytes) -> dict[str, Any]:
        response: dict[str, Any] = client("s3").put_object(Bucket=bucket, Key=key, Body=body)
        return response

    def notices(self) -> list[dict[str, Any]]:
        """Notices published on the alerts topic: subject, JSON message and attributes."""
        sqs = client("sqs")
        found: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(
                QueueUrl=self.notices_queue_url, MaxNumberOfMessages=10, VisibilityTimeout=600
            ).get("Messages", [])
            if not batch:
                return found
            for message in batch:
                envelope = json.loads(message["Body"])
                found.append(
                    {
                        "subject": envelope.get("Subject"),
                        "message": json.loads(envelope["Message"]),
                        "attributes": {
                            name: value["Value"]
                            for name, value in envelope.get("MessageAttributes", {}).items()
                        },
                    }
                )


@functools.cache
def client(service: str) -> Any:
    """The tests' own client of a service, created once: creating a client costs more than most moto
    calls, and moto intercepts every client made after it was imported. Code under test never gets
    these (hooks registered on them would outlive the test); it uses the factory's fresh clients."""
    return boto3.client(service, region_name=REGION)  # type: ignore[call-overload]


def handler(function: str) -> ModuleType:
    return load_handler("genomics", function)


@functools.cache
def _session_with_shared_loader() -> boto3.session.Session:
    """A boto3 session whose service models are read once for the whole run (a fresh session rereads
    and parses them, which costs more than the calls of a test)."""
    core = botocore.session.get_session()
    core.register_component("data_loader", _LOADER)
    return boto3.session.Session(botocore_session=core)


_LOADER = botocore.loaders.create_loader()


@pytest.fixture(scope="module")
def _moto_patching() -> Iterator[None]:
    """moto's patching, set up once per test module: setting it up costs more than most tests. Every
    test still starts from empty backends (``aws``)."""
    with pytest.MonkeyPatch.context() as monkeypatch, mock_aws(config=MOTO_CONFIG):
        monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # VPCs only: skip the AMI catalogue
        yield


@pytest.fixture
def aws(_moto_patching: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Empty moto backends for the test, clients that reach them, and fresh genomics adapters."""
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    # The code's client factory still makes fresh clients in every test, from a session sharing models;
    # the template deployer uses the tests' clients.
    monkeypatch.setattr(core_aws, "_session", _session_with_shared_loader)
    monkeypatch.setattr(moto_stack, "boto3", SimpleNamespace(client=lambda service, **_: client(service)))
    BackendDict.reset()
    wiring.reset()
    yield
    wiring.reset()
    BackendDict.reset()
    reset_model_data()


@pytest.fixture
def registry(aws: None) -> LaunchRegistry:
    """Only the launch table, from the template (for the registry, tracker and detector tests)."""
    stack = deploy(
        GENOMICS_TEMPLATE,
        shared_parameters(),
        names=PHYSICAL_NAMES,
        stack_name=STACK_NAME,
        only={"LaunchTable"},
    )
    return LaunchRegistry(stack.ref("LaunchTable"), client=boto3.client("dynamodb", region_name=REGION))


@pytest.fixture
def genomics(aws: None, monkeypatch: pytest.MonkeyPatch) -> Genomics:
    """The whole genomics stack in moto, with a network (so the Batch environment, queue and job
    definitions exist), the sample data and a queue subscribed to the alerts topic."""
    return build_stack(monkeypatch, with_network=True)


@pytest.fixture
def genomics_core(aws: None, monkeypatch: pytest.MonkeyPatch) -> Genomics:
    """The genomics stack without a network (no Batch resources): enough for everything but starting
    compute, and quicker to build."""
    return build_stack(monkeypatch, with_network=False)


def build_stack(monkeypatch: pytest.MonkeyPatch, *, with_network: bool) -> Genomics:
    network = create_network() if with_network else Network("", "", "")
    regenie = create_regenie_state_machine() if with_network else ""
    parameters = {
        **shared_parameters(),
        "SubnetIds": network.subnet_id,
        "SecurityGroupIds": network.security_group_id,
        "DataBucketArns": f"arn:aws:s3:::{DATA_BUCKET}",
        "RegenieStateMachineArn": regenie,
        "TibannaStepFunction": "tibanna_unicorn_genomics",
    }
    stack = deploy(GENOMICS_TEMPLATE, parameters, names=PHYSICAL_NAMES, stack_name=STACK_NAME)
    s3 = client("s3")
    s3.create_bucket(Bucket=DATA_BUCKET)
    for key, body in DATA_OBJECTS.items():
        s3.put_object(Bucket=DATA_BUCKET, Key=key, Body=body)
    for key, body in ARCHIVED_OBJECTS.items():
        s3.put_object(Bucket=DATA_BUCKET, Key=key, Body=body, StorageClass="GLACIER")
    return Genomics(
        stack=stack,
        network=network,
        notices_queue_url=subscribe_queue(parameters["AlertsTopicArn"], "genomics-notices"),
        regenie_state_machine_arn=regenie,
        monkeypatch=monkeypatch,
    )


def shared_parameters() -> dict[str, str]:
    """What the root stack passes every nested template: the shared key (an ARN is enough, moto does
    not check it), the alerts topic, the layer."""
    kms_key_arn = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/0b6c9c1e-5d1f-4c0e-9b43-7a1f2c3d4e5f"
    alerts_arn = client("sns").create_topic(Name="blueprints-alerts")["TopicArn"]
    return {
        "Stage": "dev",
        "SharedLayerArn": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:layer:blueprints-shared:1",
        "KmsKeyArn": kms_key_arn,
        "AlertsTopicArn": alerts_arn,
    }


def create_network() -> Network:
    """A VPC (DNS hostnames on: moto's Fargate needs it), one subnet and one security group."""
    ec2 = client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.30.1.0/24", AvailabilityZone="us-east-1a")[
        "Subnet"
    ]["SubnetId"]
    group_id = ec2.create_security_group(
        GroupName="genomics-tasks", Description="genomics head tasks", VpcId=vpc_id
    )["GroupId"]
    return Network(vpc_id, subnet_id, group_id)


def create_regenie_state_machine() -> str:
    """A stand-in for the regenie blueprint's state machine (one Pass state)."""
    arn: str = client("stepfunctions").create_state_machine(
        name="regenie-pipeline",
        definition=json.dumps({"StartAt": "Run", "States": {"Run": {"Type": "Pass", "End": True}}}),
        roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/regenie-pipeline",
    )["stateMachineArn"]
    return arn


def subscribe_queue(topic_arn: str, name: str) -> str:
    sqs = client("sqs")
    url: str = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return url
