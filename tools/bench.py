"""Cold init, warm latency and API calls per handler, from the templates (``make bench``).

A benchmark, never a test: it prints tables and always exits 0; a function that fails shows its error in
its row. Nothing reaches the network: children get fake credentials and no endpoint, and the warm runs
happen under ``moto.mock_aws``.

What is measured
- Floor: what every Python function pays before our code, measured in the same run: ``import boto3``, and
  ``import boto3`` plus one client, each timed inside a fresh interpreter (process start excluded).
- Cold init: in a fresh interpreter per run, the handler module is loaded from its file with the layer and
  the repository root on ``sys.path`` (Lambda puts the layer on ``/opt/python``), then what the first
  invocation creates before its first API call: every ``LazySettings`` of the module and one boto3 client
  per service the function was seen calling in the warm runs. Module counts are ``len(sys.modules)``
  deltas. Tracing is on and ``LAMBDA_TASK_ROOT``/``AWS_LAMBDA_FUNCTION_NAME`` are set, so the X-Ray SDK
  loads in its Lambda mode, as on AWS.
  Numbers are the host's (often not Graviton): compare functions with each other and with the floor.
- Warm latency: one process, one moto account. The template's tables, queues, topics and clusters are
  created from their Properties (``tests.support.moto_stack``), the function's environment is the template's
  resolved against them, and each sample event is invoked after one discarded warm-up, on fresh state
  (tables emptied and blueprint fixtures re-seeded before every invocation, not timed).
- API calls per unit of work: boto3 calls per operation (botocore ``before-call``) in a warm container, for
  one delivery of each sample event on fresh state ("first") and the same event delivered again ("again").
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

from tests.support import events as sample_events
from tests.support.cfn import ACCOUNT_ID, REGION, Resolver
from tests.support.handlers import load_handler, module_name
from tests.support.lambda_context import FakeLambdaContext
from tests.support.moto_stack import deploy
from tests.support.paths import FUNCTIONS, LAYER, ROOT
from tests.support.sqs_events import replace_in_bodies
from tests.support.template import FunctionDef, functions, load_template

STACK_NAME = "blueprints-bench"
# Every child and the warm process run with these: fake credentials, no profile, no endpoint, no IMDS.
BASE_ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_SESSION_TOKEN": "bench",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "POWERTOOLS_TRACE_DISABLED": "true",
}
DROPPED_ENV = ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CA_BUNDLE")

# ---------------------------------------------------------------------------------------------------------
# Child programs, run with ``python -c`` so that nothing of this tool is imported before the measured work
# ---------------------------------------------------------------------------------------------------------

FLOOR_CHILD = """
import json, sys, time
before = len(sys.modules)
start = time.perf_counter()
import boto3
if sys.argv[1] == "client":
    boto3.client("sqs", region_name="us-east-1")
print(json.dumps({"ms": (time.perf_counter() - start) * 1000, "modules": len(sys.modules) - before}))
"""

COLD_CHILD = """
import contextlib, importlib.util, json, os, sys, time
spec = json.loads(sys.argv[1])
sys.path[:0] = [spec["layer"], spec["root"]]
before = len(sys.modules)
with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
    start = time.perf_counter()
    module_spec = importlib.util.spec_from_file_location(spec["module"], spec["path"])
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[spec["module"]] = module
    module_spec.loader.exec_module(module)
    imported = time.perf_counter()
    settings = sys.modules.get("blueprints.core.settings")
    for value in list(vars(module).values()):
        if settings is not None and isinstance(value, settings.LazySettings):
            value.get()
    if spec["services"]:
        from blueprints.core.aws import client
        for service in spec["services"]:
            client(service)
    done = time.perf_counter()
print(json.dumps({"import_ms": (imported - start) * 1000, "first_use_ms": (done - imported) * 1000,
                  "modules": len(sys.modules) - before}))
"""


def child_env(extra: Mapping[str, str]) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **BASE_ENV, **extra}


def run_child(code: str, argument: str, env: Mapping[str, str]) -> dict[str, float]:
    completed = subprocess.run(
        [sys.executable, "-c", code, argument],
        env=dict(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if completed.returncode != 0:
        lines = completed.stderr.strip().splitlines() or [f"exit {completed.returncode}"]
        raise RuntimeError(lines[-1])
    result: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def measure_children(code: str, argument: str, env: Mapping[str, str], runs: int) -> dict[str, float]:
    """Median of each reported number over ``runs`` fresh interpreters, after one discarded run."""
    run_child(code, argument, env)  # warms the file cache; not counted
    samples = [run_child(code, argument, env) for _ in range(runs)]
    return {key: statistics.median(sample[key] for sample in samples) for key in samples[0]}


def cold_init(
    function: FunctionDef, env: Mapping[str, str], services: Sequence[str], runs: int
) -> dict[str, float]:
    spec = {
        "layer": str(LAYER),
        "root": str(ROOT),
        "module": module_name(function.blueprint, function.name),
        "path": str(FUNCTIONS / function.blueprint / function.name / "app.py"),
        "services": list(services),
    }
    # As on AWS: tracing on, and the Lambda variables that put the X-Ray SDK in its Lambda mode.
    lambda_env = {
        **env,
        "POWERTOOLS_TRACE_DISABLED": "false",
        "LAMBDA_TASK_ROOT": str(FUNCTIONS / function.blueprint / function.name),
        "AWS_LAMBDA_FUNCTION_NAME": function.logical_id,
    }
    return measure_children(COLD_CHILD, json.dumps(spec), child_env(lambda_env), runs)


# ---------------------------------------------------------------------------------------------------------
# Template values (generic)
# ---------------------------------------------------------------------------------------------------------


def placeholder_parameters(template: Mapping[str, Any]) -> dict[str, str]:
    """A value for every parameter without a default (a nested template gets them from the root)."""
    return {
        name: f"arn:aws:bench:{REGION}:{ACCOUNT_ID}:{name}"
        for name, declaration in template.get("Parameters", {}).items()
        if "Default" not in declaration
    }


def placeholder_env(function: FunctionDef) -> dict[str, str]:
    """The function's environment with well-formed fake values for every resource (nothing is created)."""
    template = load_template(function.template)
    resolver = Resolver(template, placeholder_parameters(template), stack_name=STACK_NAME)
    for logical_id, resource in template.get("Resources", {}).items():
        kind = str(resource.get("Type", ""))
        service = kind.split("::")[1].lower() if kind.count("::") == 2 else "bench"
        name = f"{STACK_NAME}-{logical_id}"
        arn = f"arn:aws:{service}:{REGION}:{ACCOUNT_ID}:{name}"
        url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{name}"
        resolver.refs[logical_id] = {"AWS::SQS::Queue": url, "AWS::SNS::Topic": arn}.get(kind, name)
        attributes = {"Arn": arn, "QueueName": name, "QueueUrl": url, "TopicName": name, "TopicArn": arn}
        for attribute, value in attributes.items():
            resolver.attributes[(logical_id, attribute)] = value
    variables = function.env()
    return {name: str(resolver.resolve(value)) for name, value in variables.items()}


def event_source_queue_names(
    members: Sequence[FunctionDef], cases: Mapping[str, Mapping[str, Any]]
) -> dict[str, str]:
    """Name each queue a function polls after the ``eventSourceARN`` its sample events carry."""
    names: dict[str, str] = {}
    for function in members:
        arns = Counter(
            str(record.get("eventSourceARN", ""))
            for event in cases[function.logical_id].values()
            for record in event.get("Records", [])
            if str(record.get("eventSource", "")) == "aws:sqs"
        )
        if not arns:
            continue
        queue_name = arns.most_common(1)[0][0].rsplit(":", 1)[-1]
        for source in function.properties.get("Events", {}).values():
            queue = source.get("Properties", {}).get("Queue") if source.get("Type") == "SQS" else None
            target = queue.get("Fn::GetAtt") if isinstance(queue, dict) else None
            if target:
                logical_id = target.split(".", 1)[0] if isinstance(target, str) else target[0]
                names[str(logical_id)] = queue_name
    return names


def memory_and_timeout(function: FunctionDef) -> tuple[int, int]:
    def value(name: str, default: int) -> int:
        found = function.properties.get(name, function.globals.get(name, default))
        return found if isinstance(found, int) else default

    return value("MemorySize", 128), value("Timeout", 3)


def empty_tables(tables: Sequence[str]) -> None:
    import boto3

    dynamodb: Any = boto3.client("dynamodb", region_name=REGION)
    for table in tables:
        schema = dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
        keys = [key["AttributeName"] for key in schema]
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                dynamodb.delete_item(TableName=table, Key={key: item[key] for key in keys})


# ---------------------------------------------------------------------------------------------------------
# Sample events
# ---------------------------------------------------------------------------------------------------------


def load_cases(function: FunctionDef) -> dict[str, dict[str, Any]]:
    return {
        case: sample_events.load_event(function.blueprint, function.name, case)
        for case in sample_events.event_cases(function.blueprint, function.name)
    }


def sqs_bodies(events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The JSON-object bodies of every SQS record in ``events`` (other bodies are skipped)."""
    bodies = []
    for event in events:
        for record in event.get("Records", []):
            try:
                body = json.loads(record.get("body", ""))
            except (json.JSONDecodeError, TypeError):
                continue
            if isinstance(body, dict):
                bodies.append(body)
    return bodies


def describe_outcome(result: Any, event: Mapping[str, Any]) -> str:
    if isinstance(result, dict) and "batchItemFailures" in result:
        return f"batchItemFailures {len(result['batchItemFailures'])}/{len(event.get('Records', []))}"
    if isinstance(result, dict) and len(result) == 1:
        ((key, value),) = result.items()
        return f"{key} {value}"
    text = json.dumps(result, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def describe_error(exc: BaseException) -> str:
    text = f"error {type(exc).__name__}: {exc}".replace("\n", " ")
    return text if len(text) <= 90 else text[:87] + "..."


# ---------------------------------------------------------------------------------------------------------
# Blueprint fixtures: what a blueprint needs outside its own template, decided by its sample events
# ---------------------------------------------------------------------------------------------------------


class Fixtures(Protocol):
    def physical_names(self) -> dict[str, str]: ...
    def prepare(self, env: Mapping[str, str]) -> None: ...
    def rewrite(self, event: dict[str, Any]) -> dict[str, Any]: ...
    def seed(self, env: Mapping[str, str], event: Mapping[str, Any]) -> None: ...


SUBNET_ID = re.compile(r"(?<![0-9A-Za-z])subnet-[0-9A-Za-z]{1,32}(?![0-9A-Za-z])")
SECURITY_GROUP_ID = re.compile(r"(?<![0-9A-Za-z])sg-[0-9A-Za-z]{1,32}(?![0-9A-Za-z])")


class BrokerFixtures:
    """The broker's cluster name, task definitions (families and container names) and awsvpc network.

    The sample requests decide the names. moto cannot create a subnet or security group with a given id,
    so the well-formed ids in request bodies are swapped for the moto ones (malformed ids stay malformed).
    A stopped-task event about a request the samples define gets that request stored as submitted first.
    """

    def __init__(self, template: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> None:
        self.template = template
        self.bodies = sqs_bodies(events)
        self.ids: dict[str, str] = {}
        for event in events:
            for record in event.get("Records", []):
                body = str(record.get("body", ""))
                self.ids.update(dict.fromkeys(SUBNET_ID.findall(body), "subnet"))
                self.ids.update(dict.fromkeys(SECURITY_GROUP_ID.findall(body), "sg"))

    def physical_names(self) -> dict[str, str]:
        clusters = Counter(
            str(body["cluster"]).rsplit("/", 1)[-1] for body in self.bodies if "cluster" in body
        )
        if not clusters:
            return {}
        name = clusters.most_common(1)[0][0]
        resources = self.template.get("Resources", {})
        return {key: name for key, value in resources.items() if value.get("Type") == "AWS::ECS::Cluster"}

    def prepare(self, env: Mapping[str, str]) -> None:
        import boto3

        ec2: Any = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # moto's Fargate needs it
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/20")["Subnet"]["SubnetId"]
        group = ec2.create_security_group(GroupName="bench", Description="bench", VpcId=vpc)["GroupId"]
        self.ids = {old: subnet if kind == "subnet" else group for old, kind in self.ids.items()}
        self._register_task_definitions(env.get("TASK_DEFINITION_PREFIX", ""))

    def _register_task_definitions(self, prefix: str) -> None:
        """Each family (with the prefix) the requests name, up to the highest revision they pin.

        Its containers are the names most requests of that family use (at least half of them), so that a
        sample about an unknown container stays unknown.
        """
        import boto3

        ecs: Any = boto3.client("ecs", region_name=REGION)
        revisions: Counter[str] = Counter()
        requests: Counter[str] = Counter()
        containers: dict[str, Counter[str]] = {}
        for body in self.bodies:
            family, _, revision = str(body.get("taskDefinition", "")).rsplit("/", 1)[-1].partition(":")
            if not family.startswith(prefix):
                continue
            overrides = body.get("overrides")
            items = overrides.get("containerOverrides", []) if isinstance(overrides, dict) else []
            names = {str(item["name"]) for item in items if isinstance(item, dict) and item.get("name")}
            revisions[family] = max(revisions[family], int(revision) if revision.isdigit() else 1)
            requests[family] += 1
            containers.setdefault(family, Counter()).update(names)
        image = "public.ecr.aws/docker/library/busybox:latest"
        for family, highest in revisions.items():
            common = sorted(name for name, n in containers[family].items() if 2 * n >= requests[family])
            for _ in range(min(highest, 50)):  # a pinned ``family:N`` needs N revisions in moto
                ecs.register_task_definition(
                    family=family,
                    networkMode="awsvpc",
                    requiresCompatibilities=["FARGATE"],
                    cpu="256",
                    memory="512",
                    containerDefinitions=[  # moto needs a memory per container
                        {"name": name, "image": image, "memory": 128, "essential": True}
                        for name in common or ["main"]
                    ],
                )

    def rewrite(self, event: dict[str, Any]) -> dict[str, Any]:
        return replace_in_bodies(event, self.ids) if "Records" in event else event

    def seed(self, env: Mapping[str, str], event: Mapping[str, Any]) -> None:
        detail = event.get("detail")
        request_ids = {str(body.get("request_id")) for body in self.bodies}
        if not isinstance(detail, dict) or str(detail.get("startedBy")) not in request_ids:
            return
        from datetime import UTC, datetime

        from blueprints.broker.records import RequestStore

        request_id = str(detail["startedBy"])
        body = next(json.dumps(b) for b in self.bodies if str(b.get("request_id")) == request_id)
        store = RequestStore(env["REQUESTS_TABLE_NAME"], int(env.get("RECORD_TTL_DAYS", "30")))
        now = datetime.now(UTC)
        store.begin_attempt(request_id, body, 1, 0, now)
        store.mark_submitted(request_id, [str(detail.get("taskArn"))], now)


class DoraFixtures:
    """What the DORA sample events name, made real: svc-a's pipeline and the sample execution (the local
    cloud's CodePipeline extension), an OpsItem, the webhook secret the samples are signed with, and before
    each invocation the facts its event needs (the previous deployment, the push, the deployment to
    resolve)."""

    SAMPLE_OPS_ITEM = "oi-4f1a2b3c4d5e"
    EXECUTION = "8a6f0e5c-1b2d-4c3e-9f4a-5b6c7d8e9f01"
    PREVIOUS_COMMIT = "0e9d8c7b6a5f4e3d2c1b0a99887766554433221a"
    DEPLOYED_COMMIT = "3b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e"
    TOOLING_ACCOUNT = "111122223333"

    def __init__(self, template: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> None:
        self.template = template
        self.ops_item_id = self.SAMPLE_OPS_ITEM
        self._fakes = contextlib.ExitStack()  # the local cloud's extensions, for the rest of the warm runs

    def physical_names(self) -> dict[str, str]:
        return {}

    def prepare(self, env: Mapping[str, str]) -> None:
        from datetime import UTC, datetime, timedelta

        import boto3

        from localcloud.fakes import install_fakes
        from localcloud.fakes.codepipeline import StageRun, ensure_pipeline, record_execution
        from localcloud.fakes.opscenter import ops_center

        self._fakes.enter_context(install_fakes())
        if "WEBHOOK_SECRET_ARN" in env:
            boto3.client("secretsmanager", region_name=REGION).put_secret_value(
                SecretId=env["WEBHOOK_SECRET_ARN"], SecretString="sample-webhook-secret"
            )
        stages = ("Source", "Build", "DeployStaging", "DeployPROD")
        finished = datetime(2024, 3, 11, 14, tzinfo=UTC)
        for account in (ACCOUNT_ID, self.TOOLING_ACCOUNT):  # this account, and a tooling account (role)
            ensure_pipeline(account, REGION, "svc-a", stages=stages)
            record_execution(
                account,
                REGION,
                "svc-a",
                execution_id=self.EXECUTION,
                status="Succeeded",
                revision_id=self.DEPLOYED_COMMIT,
                branch="main",
                repository="example-org/svc-a",
                start_time=finished - timedelta(minutes=20),
                last_update_time=finished,
                stages=[StageRun(stage, end_time=finished) for stage in stages],
            )
        item = ops_center(ACCOUNT_ID, REGION).create(
            {
                "Title": "Orders API 5xx",
                "Source": "orders-api",
                "Description": "bench",
                "Category": "Availability",
                "OperationalData": {
                    "/dora/deployment": {"Value": self.EXECUTION, "Type": "SearchableString"}
                },
            },
            at=finished + timedelta(minutes=30),
        )
        self.ops_item_id = str(item["OpsItemId"])

    def rewrite(self, event: dict[str, Any]) -> dict[str, Any]:
        rewritten: dict[str, Any] = json.loads(
            json.dumps(event).replace(self.SAMPLE_OPS_ITEM, self.ops_item_id)
        )
        return rewritten

    def seed(self, env: Mapping[str, str], event: Mapping[str, Any]) -> None:
        from datetime import UTC, datetime, timedelta

        from blueprints.dora.events import parse_push
        from blueprints.dora.model import Deployment
        from blueprints.dora.store import FactStore

        store = FactStore(env["FACTS_TABLE_NAME"])
        arn = f"arn:aws:codepipeline:{REGION}:{ACCOUNT_ID}:svc-a"
        finished = datetime(2024, 3, 11, 14, tzinfo=UTC)
        previous = Deployment(
            arn,
            "bench-previous",
            "svc-a",
            finished - timedelta(days=3),
            sha=self.PREVIOUS_COMMIT,
            repo="example-org/svc-a",
            branch="main",
        )
        store.put_deployment(previous, "bench", finished)
        store.register_service(previous)
        payload = json.loads((ROOT / "events" / "dora" / "github" / "push_payload.json").read_text())
        store.put_push(parse_push(payload).push(), "bench", finished)
        if str(event.get("source", "")) != "aws.codepipeline":  # the ingest samples record the deployment
            deployment = Deployment(
                arn,
                self.EXECUTION,
                "svc-a",
                finished,
                sha=self.DEPLOYED_COMMIT,
                repo="example-org/svc-a",
                branch="main",
            )
            store.put_deployment(deployment, "bench", finished)
            store.point_execution(deployment)


class GenomicsFixtures:
    """The objects the genomics sample events name: the launch-request bucket (named as in the samples)
    holds the uploaded configurations and restore requests, and the data bucket they point at holds one
    archived read, so registration, indexing and restores run their real paths.

    Before each invocation, the state its event names is made with the blueprint's own code: the launch of a
    tracker event in the status the event moves it from (its attempt from ``startedBy`` or the job or
    execution name; the task ARN, Batch job id or ``compute_ref`` the event carries), the item of a stream
    record (its new image), the launch an API call names or lists, and for the restore events a launch
    WAITING on a restore request indexed and requested by ``RestoreFlow`` itself (two archived reads in the
    archive bucket). A data bucket to enable starts with no notification configuration."""

    DATA_BUCKET = "genomics-data-example"
    ARCHIVE_BUCKET = "genomics-archive-example"
    ARCHIVED = ("cohort7/reads/S1.fastq.gz", "cohort7/reads/S2.fastq.gz")
    SAMPLE_LAUNCH = "wf-2024-0042"  # the launch every sample event names (an SSM command names none)
    REGISTERED_AT = "2026-11-30T09:15:03.120000+00:00"
    RESTORED_AT = "2026-11-30T16:00:00+00:00"  # after the restore request, before the restore events

    def __init__(self, template: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> None:
        del template
        self.uploads = sorted(
            {
                (str(event["detail"]["bucket"]["name"]), str(event["detail"]["object"]["key"]))
                for event in events
                if event.get("detail-type") == "Object Created"
            }
        )

    def physical_names(self) -> dict[str, str]:
        return {"LaunchRequestBucket": self.uploads[0][0]} if self.uploads else {}

    def parameters(self) -> dict[str, str]:
        """A network for Fargate tasks (moto needs a real subnet and security group) and a Batch queue for
        the jobs an engine submits, so the launcher reaches RunTask instead of refusing the plan."""
        import boto3

        ec2: Any = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # moto's Fargate needs it
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.0.0/20")["Subnet"]["SubnetId"]
        group = ec2.create_security_group(GroupName="genomics-bench", Description="bench", VpcId=vpc)
        return {
            "SubnetIds": subnet,
            "SecurityGroupIds": group["GroupId"],
            "BatchJobQueueArn": f"arn:aws:batch:{REGION}:{ACCOUNT_ID}:job-queue/genomics-bench",
        }

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """The local cloud's moto fixes around the warm runs: GetBucketNotificationConfiguration returns
        the EventBridge setting moto stores, so enabling a bucket twice finds it on."""
        from localcloud.patches import cloudformation_patches

        with cloudformation_patches():
            yield

    def prepare(self, env: Mapping[str, str]) -> None:
        import boto3

        s3: Any = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=self.DATA_BUCKET)
        s3.put_object(Bucket=self.DATA_BUCKET, Key="cohort7/samples.csv", Body=b"sample\nS1\n")
        s3.put_object(
            Bucket=self.DATA_BUCKET, Key="cohort7/reads/S1.fastq.gz", Body=b"ACGT", StorageClass="GLACIER"
        )
        s3.create_bucket(Bucket=self.ARCHIVE_BUCKET)
        for key in self.ARCHIVED:
            s3.put_object(Bucket=self.ARCHIVE_BUCKET, Key=key, Body=b"ACGT", StorageClass="GLACIER")

    def seed(self, env: Mapping[str, str], event: Mapping[str, Any]) -> None:
        if event.get("detail-type") != "Object Created":
            self._seed_state(env, event)
            return
        import boto3

        bucket, key = str(event["detail"]["bucket"]["name"]), str(event["detail"]["object"]["key"])
        stem = key.rsplit("/", 1)[-1].split(".")[0]
        if key.startswith("restore/"):
            document: dict[str, Any] = {
                "s3_urls": [f"s3://{self.DATA_BUCKET}/cohort7/reads/"],
                "tier": "Bulk",
            }
        else:
            document = {
                "launch_id": stem,
                "workflow_type": "snakemake",
                "s3_data_path": f"s3://{self.DATA_BUCKET}/cohort7/",
                "config_s3_uri": f"s3://{self.DATA_BUCKET}/cohort7/samples.csv",
            }
        boto3.client("s3", region_name=REGION).put_object(
            Bucket=bucket, Key=key, Body=json.dumps(document).encode()
        )

    def rewrite(self, event: dict[str, Any]) -> dict[str, Any]:
        return event

    def _seed_state(self, env: Mapping[str, str], event: Mapping[str, Any]) -> None:
        """What an event other than an upload refers to (see the class docstring)."""
        from blueprints.genomics.registry import LaunchRegistry
        from blueprints.genomics.status import Status
        from blueprints.genomics.tracking import JOB_NAME, STARTED_BY

        raw_detail = event.get("detail")
        detail: Mapping[str, Any] = raw_detail if isinstance(raw_detail, dict) else {}
        kind = str(event.get("detail-type", ""))
        if "Records" in event and "LAUNCH_TABLE_NAME" in env:  # the registry's stream: the new image
            from blueprints.genomics.records import from_item

            registry = LaunchRegistry(env["LAUNCH_TABLE_NAME"])
            for record in event["Records"]:
                image = (record.get("dynamodb") or {}).get("NewImage")
                if image:
                    registry.create(from_item(image))
        elif kind == "ECS Task State Change":
            found = STARTED_BY.match(str(detail.get("startedBy", "")))
            started = detail.get("lastStatus") == "STOPPED" and detail.get("stopCode") != "TaskFailedToStart"
            if found:
                self._launch(
                    env,
                    found["launch_id"],
                    Status.RUNNING if started else Status.LAUNCHING,
                    attempt=int(found["attempt"]),
                    facts={"task_arn": str(detail["taskArn"])},
                )
        elif kind == "Batch Job State Change":
            found = JOB_NAME.match(str(detail.get("jobName", "")))
            ended = detail.get("status") in ("SUCCEEDED", "FAILED")
            if found:
                command = list((detail.get("container") or {}).get("command") or ["true"])
                self._launch(
                    env,
                    found["launch_id"],
                    Status.RUNNING if ended else Status.LAUNCHING,
                    attempt=int(found["attempt"]),
                    compute_service="batch",
                    workflow_type="container",
                    parameters={"command": command},
                    facts={"batch_job_ids": {str(detail["jobId"])}},
                )
        elif str(event.get("source")) == "aws.ssm" and detail.get("command-id"):
            command_id = str(detail["command-id"])
            self._launch(
                env,
                self.SAMPLE_LAUNCH,
                Status.RUNNING,
                compute_service="parallelcluster",
                facts={"ssm_command_id": command_id, "compute_ref": f"ssm:{command_id}"},
            )
        elif kind == "Step Functions Execution Status Change":
            arn = str(detail.get("executionArn", ""))
            found = JOB_NAME.match(str(detail.get("name") or arn.rsplit(":", 1)[-1]))
            if found:
                self._launch(
                    env,
                    found["launch_id"],
                    Status.RUNNING,
                    attempt=int(found["attempt"]),
                    compute_service="stepfunctions",
                    workflow_type="regenie",
                    facts={"sfn_execution_arn": arn, "compute_ref": f"sfn:{arn}"},
                )
        elif "routeKey" in event:
            self._seed_api(env, event)
        elif kind in ("Object Restore Completed", "Object Restore Expired"):
            bucket, key = str(detail["bucket"]["name"]), str(detail["object"]["key"])
            self._seed_restore(env, (bucket, key), expired=kind.endswith("Expired"))
        elif "scheduled_time" in event and "RESTORE_QUEUE_URL" in env:  # the restore reconciler
            self._seed_restore(env, None, expired=False)
        elif "buckets" in event:  # EnableBucketEvents: each bucket without EventBridge delivery yet
            import boto3

            s3: Any = boto3.client("s3", region_name=REGION)
            for bucket in event["buckets"]:
                s3.put_bucket_notification_configuration(Bucket=str(bucket), NotificationConfiguration={})

    def _seed_api(self, env: Mapping[str, str], event: Mapping[str, Any]) -> None:
        """The launch a path names (FAILED for a retry, RUNNING to read), or one a list's filter selects."""
        from blueprints.genomics.status import Status

        path = event.get("pathParameters") or {}
        query = event.get("queryStringParameters") or {}
        if path.get("launch_id"):
            retry = str(event.get("routeKey", "")).endswith("/retry")
            self._launch(env, str(path["launch_id"]), Status.FAILED if retry else Status.RUNNING)
        elif str(event.get("routeKey", "")).startswith("GET ") and (
            query.get("status") or query.get("workflow_type")
        ):
            self._launch(
                env,
                self.SAMPLE_LAUNCH,
                Status(query.get("status", "FAILED")),
                workflow_type=str(query.get("workflow_type", "snakemake")),
            )

    def _launch(
        self,
        env: Mapping[str, str],
        launch_id: str,
        status: Any,
        *,
        attempt: int = 1,
        compute_service: str = "fargate",
        workflow_type: str = "snakemake",
        parameters: Mapping[str, Any] | None = None,
        facts: Mapping[str, Any] | None = None,
    ) -> None:
        """A launch registered as an upload would be (``new_launch_item``), then moved along the status
        table to ``status`` (``LaunchRegistry.transition``); ``facts`` are what the launcher recorded when
        it started compute. Attempts after the first go through a retry each."""
        from datetime import datetime, timedelta

        from blueprints.genomics.config import LaunchConfig
        from blueprints.genomics.records import Source, new_launch_item
        from blueprints.genomics.registry import LaunchRegistry
        from blueprints.genomics.status import Status

        target = Status(status)
        registry = LaunchRegistry(env["LAUNCH_TABLE_NAME"])
        config = LaunchConfig.model_validate(
            {
                "launch_id": launch_id,
                "workflow_type": workflow_type,
                "compute_service": compute_service,
                "s3_data_path": f"s3://{self.DATA_BUCKET}/cohort7/",
                "config_s3_uri": f"s3://{self.DATA_BUCKET}/cohort7/samples.csv",
                "parameters": dict(parameters or {}),
            }
        )
        at = datetime.fromisoformat(self.REGISTERED_AT)
        registry.create(
            new_launch_item(
                config,
                source=Source("s3", self.uploads[0][0] if self.uploads else "bench", f"{launch_id}.json"),
                compute_service=compute_service,
                engine_version="8.30.0" if workflow_type == "snakemake" else "",
                output_s3_path=f"s3://genomics-results-example/{launch_id}/",
                restore_check=False,
                now=at,
            )
        )
        steps = [Status.LAUNCHING, Status.FAILED, Status.RETRY_REQUESTED] * (attempt - 1)
        steps += {
            Status.REGISTERED: [],
            Status.WAITING: [Status.WAITING],
            Status.READY: [Status.WAITING, Status.READY],
            Status.LAUNCHING: [Status.LAUNCHING],
            Status.RUNNING: [Status.LAUNCHING, Status.RUNNING],
            Status.COMPLETE: [Status.LAUNCHING, Status.RUNNING, Status.COMPLETE],
            Status.FAILED: [Status.LAUNCHING, Status.FAILED],
            Status.RETRY_REQUESTED: [Status.LAUNCHING, Status.FAILED, Status.RETRY_REQUESTED],
        }[target]
        current, number = Status.REGISTERED, 1
        for step in steps:
            at += timedelta(seconds=5)
            values: dict[str, Any] = {}
            next_attempt = None
            if step is Status.LAUNCHING and current is Status.RETRY_REQUESTED:
                next_attempt = number + 1
            if step is Status.LAUNCHING and next_attempt is None and number == attempt:
                values.update(facts or {})
                values["launch_started_at"] = at.isoformat()
            if step is Status.FAILED:
                values.update(
                    error_code="TaskFailedToStart", error_message="bench: the sample attempt failed"
                )
            moved = registry.transition(
                launch_id,
                attempt=number,
                sources={current},
                target=step,
                now=at,
                set_values=values,
                next_attempt=next_attempt,
            )
            if moved is None:
                raise RuntimeError(f"seeding {launch_id}: {current} -> {step} at attempt {number} failed")
            current, number = step, moved.attempt
            if next_attempt is not None and number == attempt and facts:
                registry.update(launch_id, attempt=number, status=current, now=at, set_values=dict(facts))

    def _seed_restore(
        self, env: Mapping[str, str], resolved: tuple[str, str] | None, *, expired: bool
    ) -> None:
        """The sample launch WAITING on its restore request for the archive's reads, indexed and requested
        (rows RESTORING) by the restore flow at registration time. For a completion event every other read
        is restored first, so its object is the last one (the request and the launch become READY); for an
        expiry, its object was restored and the other is still restoring (the request still WAITING)."""
        from datetime import datetime

        import boto3

        from blueprints.genomics import wiring
        from blueprints.genomics.settings import RestoreSettings
        from blueprints.genomics.status import Status

        self._launch(env, self.SAMPLE_LAUNCH, Status.WAITING)
        s3: Any = boto3.client("s3", region_name=REGION)
        for key in self.ARCHIVED:  # archived again: the previous invocation restored them
            s3.put_object(Bucket=self.ARCHIVE_BUCKET, Key=key, Body=b"ACGT", StorageClass="GLACIER")
        with environment(env):
            flow = wiring.restore_flow(RestoreSettings.from_env())
        at = datetime.fromisoformat(self.REGISTERED_AT)
        request = {
            "launch_id": self.SAMPLE_LAUNCH,
            "attempt": 1,
            "s3_urls": [f"s3://{self.ARCHIVE_BUCKET}/cohort7/reads/"],
            "tier": "Bulk",
            "days": 7,
        }
        bucket = self.uploads[0][0] if self.uploads else "bench"
        source = f"s3://{bucket}/restore/{self.SAMPLE_LAUNCH}.json"
        flow.index(self.SAMPLE_LAUNCH, source, json.dumps(request).encode(), at=at)
        sqs: Any = boto3.client("sqs", region_name=REGION)
        while True:  # the chunks the indexing queued: restored here, as RestoreObjects would
            messages = sqs.receive_message(QueueUrl=env["RESTORE_QUEUE_URL"], MaxNumberOfMessages=10)
            if not messages.get("Messages"):
                break
            for message in messages["Messages"]:
                flow.restore_chunk(message["Body"])
                sqs.delete_message(QueueUrl=env["RESTORE_QUEUE_URL"], ReceiptHandle=message["ReceiptHandle"])
        if resolved is None:
            return
        restored_at = datetime.fromisoformat(self.RESTORED_AT)
        others = [
            (self.ARCHIVE_BUCKET, key) for key in self.ARCHIVED if (self.ARCHIVE_BUCKET, key) != resolved
        ]
        for bucket_name, key in [resolved] if expired else others:
            flow.complete_object(bucket_name, key, None, "2026-12-08T00:00:00Z", at=restored_at)


class BenchmarkingFixtures:
    """The benchmarking functions read the genomics launch table (a parameter of their template): it gets a
    plain name and is created from templates/genomics.yaml, with the launches the sample events name (a
    costed Fargate launch, wf-2024-0042; a failed Batch launch at attempt 2 whose job is gone,
    wf-batch-0007). Pricing runs on the local cloud's Price List fake (pinned snapshot) and Spot history,
    seeded with a price change inside the run of price_resources/spot_instance.json."""

    LAUNCH_TABLE = "genomics-launches-bench"
    CLUSTER_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT_ID}:cluster/genomics-bench"
    PRICING_SNAPSHOT = "2025-01"
    FARGATE_TASK = f"arn:aws:ecs:{REGION}:{ACCOUNT_ID}:task/genomics-bench/0f8d6c1e2b3a4c5d6e7f8091a2b3c4d5"

    def __init__(self, template: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> None:
        del template, events

    def parameters(self) -> dict[str, str]:
        return {
            "LaunchTableName": self.LAUNCH_TABLE,
            "LaunchTableStreamArn": (
                f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{self.LAUNCH_TABLE}/stream/2025-01-01T00:00:00.000"
            ),
            "ClusterArn": self.CLUSTER_ARN,
        }

    def physical_names(self) -> dict[str, str]:
        return {}

    def rewrite(self, event: dict[str, Any]) -> dict[str, Any]:
        return event

    def prepare(self, env: Mapping[str, str]) -> None:
        genomics = ROOT / "templates" / "genomics.yaml"
        deploy(
            genomics,
            placeholder_parameters(load_template(genomics)),
            names={"LaunchTable": self.LAUNCH_TABLE},
            stack_name=f"{STACK_NAME}-benchmarking-launches",
            only={"LaunchTable"},
        )

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """The local cloud's fakes (Price List, Spot history) around the warm runs."""
        from localcloud.fakes import install_fakes
        from localcloud.fakes.pricing import SNAPSHOT_ENV

        with environment({SNAPSHOT_ENV: self.PRICING_SNAPSHOT}), install_fakes():
            yield

    def seed(self, env: Mapping[str, str], event: Mapping[str, Any]) -> None:
        from datetime import datetime, timedelta

        import boto3
        from boto3.dynamodb.types import TypeSerializer

        from localcloud.fakes.spot import set_spot_prices

        serializer = TypeSerializer()
        dynamodb: Any = boto3.client("dynamodb", region_name=REGION)
        for item in self._launches():
            dynamodb.put_item(
                TableName=self.LAUNCH_TABLE,
                Item={name: serializer.serialize(value) for name, value in item.items()},
            )
        for instance in (event.get("collection") or {}).get("instances", []):
            if instance.get("market") != "spot":
                continue
            start = datetime.fromisoformat(str(instance["spans"][0]["start"]).replace("Z", "+00:00"))
            set_spot_prices(
                ACCOUNT_ID,
                REGION,
                str(instance["instance_type"]),
                str(instance["availability_zone"]),
                [(start - timedelta(hours=3), "0.0350"), (start + timedelta(hours=1), "0.0410")],
            )

    def _launches(self) -> list[dict[str, Any]]:
        history = [
            ("REGISTERED", "2026-11-30T09:15:03.120000+00:00"),
            ("LAUNCHING", "2026-11-30T09:15:03.500000+00:00"),
            ("RUNNING", "2026-11-30T09:15:18.000000+00:00"),
            ("COMPLETE", "2026-11-30T09:30:18.000000+00:00"),
        ]
        fargate = {
            "launch_id": "wf-2024-0042",
            "status": "COMPLETE",
            "attempt": 1,
            "workflow_type": "snakemake",
            "compute_service": "fargate",
            "created_at": history[0][1],
            "task_arn": self.FARGATE_TASK,
            "compute_resources": {
                "kind": "ecs",
                "task_arn": self.FARGATE_TASK,
                "cpu": "1024",
                "memory": "4096",
                "launch_type": "FARGATE",
                "cpu_architecture": "X86_64",
                "started_at": "2026-11-30T09:15:18.000Z",
                "stopped_at": "2026-11-30T09:30:18.000Z",
            },
            "status_history": [{"status": status, "at": at, "attempt": 1} for status, at in history],
            "costStatus": "COSTED",
            "totalCost": "0.0147",
            "instanceCost": "0.0000",
            "volumeCost": "0.0000",
            "filesystemCost": "0.0000",
            "fargateCost": "0.0147",
            "phaseTimings": {"runningSeconds": "900.000", "wallSeconds": "914.880"},
        }
        batch = {
            "launch_id": "wf-batch-0007",
            "status": "FAILED",
            "attempt": 2,
            "workflow_type": "container",
            "compute_service": "batch",
            "created_at": "2026-11-30T08:59:00.000000+00:00",
            "batch_job_ids": {"6f3c1a2b-0d4e-4f5a-9b8c-7d6e5f4a3b2c"},
        }
        return [fargate, batch]


def fixture_parameters(fixtures: Fixtures | None) -> dict[str, str]:
    """Parameter values a blueprint's fixtures give its template (optional ``parameters()``)."""
    found = getattr(fixtures, "parameters", None)
    return dict(found()) if callable(found) else {}


def fixture_context(fixtures: Fixtures | None) -> contextlib.AbstractContextManager[Any]:
    """What a blueprint's fixtures keep active around its warm runs (optional ``active()``)."""
    found = getattr(fixtures, "active", None)
    return found() if callable(found) else contextlib.nullcontext()


FIXTURES: dict[str, Callable[[Mapping[str, Any], Sequence[Mapping[str, Any]]], Fixtures]] = {
    "broker": BrokerFixtures,
    "genomics": GenomicsFixtures,
    "dora": DoraFixtures,
    "benchmarking": BenchmarkingFixtures,
}


# ---------------------------------------------------------------------------------------------------------
# Warm runs
# ---------------------------------------------------------------------------------------------------------


class ApiCalls:
    """Counts boto3 calls per ``service.Operation`` (boto3 service names) while counting."""

    def __init__(self) -> None:
        self.counts: Counter[str] | None = None

    def hook(self, model: Any, **kwargs: Any) -> None:
        if self.counts is not None:
            self.counts[f"{model.service_model.service_name}.{model.name}"] += 1

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Hook every client created meanwhile (the factory creates one per service per container)."""
        import boto3.session

        original = boto3.session.Session.client
        hook = self.hook

        def client(session: Any, *args: Any, **kwargs: Any) -> Any:
            created = original(session, *args, **kwargs)
            created.meta.events.register("before-call", hook)
            return created

        boto3.session.Session.client = client  # type: ignore[method-assign,assignment]
        _forget_adapters()  # clients created before this block (warm runs) would call unhooked
        try:
            yield
        finally:
            boto3.session.Session.client = original  # type: ignore[method-assign]

    @contextlib.contextmanager
    def counting(self) -> Iterator[Counter[str]]:
        self.counts = Counter()
        try:
            yield self.counts
        finally:
            self.counts = None


@dataclass
class Prepared:
    function: FunctionDef
    env: dict[str, str]
    tables: list[str]
    cases: dict[str, dict[str, Any]]
    fixtures: Fixtures | None


@dataclass
class WarmRow:
    function: str
    case: str
    samples_ms: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)


@dataclass
class CallRow:
    function: str
    case: str
    delivery: str
    counts: Counter[str]
    outcome: str


@dataclass
class WarmResults:
    rows: list[WarmRow] = field(default_factory=list)
    calls: list[CallRow] = field(default_factory=list)
    services: dict[str, list[str]] = field(default_factory=dict)
    envs: dict[str, dict[str, str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    for name in DROPPED_ENV:
        os.environ.pop(name, None)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def prepare_template(members: Sequence[FunctionDef]) -> list[Prepared]:
    """Create one template's resources in moto, plus its blueprint fixtures; resolve each function's env.

    Names and fixtures come from the sample events of every function of the template, selected or not.
    """
    path = members[0].template
    template = load_template(path)
    siblings = [function for function in functions() if function.template == path]
    cases = {function.logical_id: load_cases(function) for function in siblings}
    make_fixtures = FIXTURES.get(members[0].blueprint)
    everything = [event for by_case in cases.values() for event in by_case.values()]
    fixtures = make_fixtures(template, everything) if make_fixtures else None
    names = {**event_source_queue_names(siblings, cases), **(fixtures.physical_names() if fixtures else {})}
    stack_name = (
        f"{STACK_NAME}-{path.stem}"  # templates share logical ids (log groups, queues): one stack each
    )
    parameters = {**placeholder_parameters(template), **fixture_parameters(fixtures)}
    stack = deploy(path, parameters, names=names, stack_name=stack_name)
    resources = template.get("Resources", {})
    tables = [stack.ref(key) for key in stack.created if resources[key]["Type"] == "AWS::DynamoDB::Table"]
    envs = {function.logical_id: stack.function_env(function.logical_id) for function in siblings}
    if fixtures is not None:
        fixtures.prepare({name: value for env in envs.values() for name, value in env.items()})
    return [
        Prepared(function, envs[function.logical_id], tables, cases[function.logical_id], fixtures)
        for function in members
    ]


def warm_function(
    item: Prepared, invocations: int, calls: ApiCalls, results: WarmResults, sink: TextIO
) -> None:
    function = item.function
    with contextlib.redirect_stdout(sink):
        module = load_handler(function.blueprint, function.name)
    from blueprints.core.settings import LazySettings

    for value in vars(module).values():  # a module loaded earlier in this process read another environment
        if isinstance(value, LazySettings):
            value.reset()
    handler_name = str(function.properties.get("Handler", "app.lambda_handler")).rsplit(".", 1)[-1]
    handler: Callable[[dict[str, Any], Any], Any] = getattr(module, handler_name)
    memory, timeout = memory_and_timeout(function)
    context = FakeLambdaContext(
        function_name=f"{STACK_NAME}-{function.logical_id}",
        memory_limit_in_mb=memory,
        remaining_millis=timeout * 1000,
    )
    if not item.cases:
        results.rows.append(WarmRow(function.logical_id, "no events"))
        return

    def fresh(event: Mapping[str, Any]) -> None:
        empty_tables(item.tables)
        if item.fixtures is not None:
            item.fixtures.seed(item.env, event)

    def invoke(event: Mapping[str, Any]) -> tuple[float, Any]:
        payload = copy.deepcopy(dict(event))
        context.aws_request_id = f"00000000-0000-4000-8000-{time.perf_counter_ns() % 10**12:012d}"
        with contextlib.redirect_stdout(sink):
            start = time.perf_counter()
            result = handler(payload, context)
            return (time.perf_counter() - start) * 1000, result

    for case, raw in item.cases.items():
        event = item.fixtures.rewrite(raw) if item.fixtures else raw
        row = WarmRow(function.logical_id, case)
        results.rows.append(row)
        try:
            for run in range(invocations + 1):
                fresh(event)
                elapsed, result = invoke(event)
                if run > 0:  # the first one warms the container
                    row.samples_ms.append(elapsed)
                    row.outcomes[describe_outcome(result, event)] += 1
            fresh(event)
            for delivery in ("first", "again"):
                with calls.counting() as counts:
                    _, result = invoke(event)
                outcome = describe_outcome(result, event)
                results.calls.append(CallRow(function.logical_id, case, delivery, counts, outcome))
                services = results.services.setdefault(function.logical_id, [])
                services.extend(sorted({name.split(".")[0] for name in counts} - set(services)))
        except Exception as exc:  # noqa: BLE001 - a benchmark reports a failing function and goes on
            row.outcomes[describe_error(exc)] += 1


def warm_runs(selected: Sequence[FunctionDef], invocations: int) -> WarmResults:
    from moto import mock_aws

    results = WarmResults()
    calls = ApiCalls()
    by_template: dict[Path, list[FunctionDef]] = {}
    for function in selected:
        by_template.setdefault(function.template, []).append(function)
    if str(LAYER) not in sys.path:
        sys.path.insert(0, str(LAYER))  # the layer is /opt/python in Lambda
    with (
        open(os.devnull, "w") as sink,
        environment(BASE_ENV),
        warnings.catch_warnings(),
        calls.installed(),
        mock_aws(),
    ):
        warnings.simplefilter("ignore")  # e.g. Powertools' "no application metrics" on an ignored event
        for members in by_template.values():
            try:
                prepared = prepare_template(members)
            except Exception as exc:  # noqa: BLE001 - reported in the rows of the template's functions
                for function in members:
                    results.errors[function.logical_id] = describe_error(exc)
                continue
            for item in prepared:
                results.envs[item.function.logical_id] = item.env
                try:
                    with environment(item.env), fixture_context(item.fixtures):
                        warm_function(item, invocations, calls, results, sink)
                except Exception as exc:  # noqa: BLE001 - a benchmark reports a failing function and goes on
                    results.errors[item.function.logical_id] = describe_error(exc)
    return results


# ---------------------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=False)]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.rjust(width) if re.fullmatch(r"-?[0-9.]+", cell) else cell.ljust(width)
            for cell, width in zip(cells, widths, strict=False)
        ]
        return " | ".join(padded).rstrip()

    return "\n".join(
        [line(headers), "-+-".join("-" * width for width in widths), *(line(row) for row in rows)]
    )


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def p95(samples: Sequence[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def machine_line() -> str:
    return (
        f"{platform.python_implementation()} {platform.python_version()} | {platform.platform(terse=True)} "
        f"{platform.machine()} | {os.cpu_count()} CPUs"
    )


def cold_table(
    selected: Sequence[FunctionDef], warm: WarmResults, floor: Mapping[str, float | None], runs: int
) -> str:
    rows = []
    for function in selected:
        env = warm.envs.get(function.logical_id) or placeholder_env(function)
        services = warm.services.get(function.logical_id, [])
        try:
            cold = cold_init(function, env, services, runs)
        except Exception as exc:  # noqa: BLE001 - a benchmark reports a failing function and goes on
            rows.append([function.logical_id, describe_error(exc), "", "", "", "", "", ""])
            continue
        rows.append(
            [
                function.logical_id,
                ms(cold["import_ms"]),
                ms(cold["first_use_ms"]),
                ",".join(services) or "-",
                ms(cold["import_ms"] + cold["first_use_ms"]),
                f"{cold['modules']:.0f}",
                ms(floor["boto3"]),
                ms(floor["client"]),
            ]
        )
    headers = [
        "function",
        "import ms",
        "first use ms",
        "clients",
        "cold init ms (median)",
        "modules",
        "floor boto3 ms",
        "floor boto3+client ms",
    ]
    return table(headers, rows)


def warm_table(selected: Sequence[FunctionDef], warm: WarmResults) -> str:
    rows = []
    for function in selected:
        if function.logical_id in warm.errors:
            rows.append([function.logical_id, "-", "-", "-", warm.errors[function.logical_id]])
        for row in (r for r in warm.rows if r.function == function.logical_id):
            if row.case == "no events":
                rows.append([row.function, "-", "-", "-", "no events"])
                continue
            several = len(row.outcomes) > 1
            outcome = "; ".join(f"{name} x{n}" if several else name for name, n in row.outcomes.items())
            median = statistics.median(row.samples_ms) if row.samples_ms else None
            worst = p95(row.samples_ms) if row.samples_ms else None
            rows.append([row.function, row.case, ms(median), ms(worst), outcome or "-"])
    return table(["function", "event", "warm ms median", "p95", "outcome"], rows)


def calls_table(warm: WarmResults) -> str:
    rows = []
    for call in warm.calls:
        listed = ", ".join(f"{name}: {n}" for name, n in sorted(call.counts.items())) or "none"
        total = str(sum(call.counts.values()))
        rows.append([call.function, call.case, call.delivery, total, call.outcome, listed])
    return table(["function", "event", "delivery", "calls", "outcome", "service.operation: count"], rows)


# ---------------------------------------------------------------------------------------------------------
# Whole flows on the local cloud: API calls per unit of work across every function a unit passes through
# ---------------------------------------------------------------------------------------------------------


@dataclass
class FlowRow:
    flow: str
    unit: str
    counts: Counter[str]
    wall_ms: float
    virtual_s: float
    outcome: str


def _forget_adapters() -> None:
    """Drop the client factory's clients and every loaded blueprint's cached adapters, so the next calls
    create (hooked) clients again."""
    from blueprints.core.aws import reset_clients

    reset_clients()
    for name, module in list(sys.modules.items()):
        if re.fullmatch(r"blueprints\.\w+\.wiring", name) and callable(getattr(module, "reset", None)):
            module.reset()


class FunctionCalls(ApiCalls):
    """API calls attributed to the deployed function making them (the local cloud's runtime puts the
    function's name in ``AWS_LAMBDA_FUNCTION_NAME`` while it runs): ``Function service.Operation``."""

    def hook(self, model: Any, **kwargs: Any) -> None:
        function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        match = re.search(r"-([A-Za-z0-9]+Function)-", function)
        if self.counts is not None and match:
            self.counts[f"{match.group(1)} {model.service_model.service_name}.{model.name}"] += 1


# Scheduled functions: they run whatever the unit of work, so their calls are not the unit's.
PERIODIC = ("DetectStuckLaunchesFunction", "ReconcileRestoresFunction", "CalculateDoraMetricsFunction")


def genomics_launch_flows() -> list[FlowRow]:
    """One Fargate launch and one Batch launch from upload to COMPLETE: every boto3 call the genomics
    functions make on the way (the simulators and the event sources call moto directly, not boto3; the
    costing that follows is the benchmarking row's)."""
    from blueprints.core.aws import reset_clients
    from demos.genomics import GenomicsWorld, prepare
    from localcloud.cloud import LocalCloud

    genomics = {function.logical_id for function in functions() if function.blueprint == "genomics"}
    calls = FunctionCalls()
    rows = []
    reset_clients()
    with calls.installed(), LocalCloud(ROOT / "template.yaml", event_sources=True) as cloud:
        cloud.parameter_overrides.update(prepare(cloud))
        cloud.deploy()
        world = GenomicsWorld.create(cloud)
        batch = {
            "workflow_type": "container",
            "compute_service": "batch",
            "parameters": {"command": ["bash", "-c", "fastqc reads/*.fastq.gz"]},
        }
        units: dict[str, tuple[str, dict[str, Any]]] = {
            "Fargate launch": ("bench-fargate-1", {}),
            "Batch launch": ("bench-batch-1", batch),
        }
        for unit, (launch_id, fields) in units.items():
            with calls.counting() as counts:
                started = time.perf_counter()
                world.upload_config(launch_id, **fields)
                virtual = world.settle()
                wall = (time.perf_counter() - started) * 1000
            counted = Counter(
                {
                    name: n
                    for name, n in counts.items()
                    if name.split(" ")[0] in genomics and not name.startswith(PERIODIC)
                }
            )
            status = world.item(launch_id).get("status", "?")
            rows.append(
                FlowRow("genomics", f"{unit}: upload -> {status}", counted, wall, virtual, str(status))
            )
    reset_clients()
    return rows


RESTORE_OBJECTS = 10_000


def genomics_restore_flow() -> list[FlowRow]:
    """A restore request for a prefix of 10,000 Flexible Retrieval objects: the indexing (listing pages,
    row writes, queued chunks) and the restore of every object (one RestoreObject each)."""
    from moto.s3.models import s3_backends

    from blueprints.core.aws import reset_clients
    from demos.genomics import ARCHIVE_BUCKET, GenomicsWorld, prepare
    from localcloud.cloud import LocalCloud

    calls = FunctionCalls()
    reset_clients()
    with calls.installed(), LocalCloud(ROOT / "template.yaml", event_sources=True) as cloud:
        cloud.parameter_overrides.update(prepare(cloud))
        cloud.deploy()
        world = GenomicsWorld.create(cloud)
        backend = s3_backends[ACCOUNT_ID]["aws"]
        for number in range(RESTORE_OBJECTS):  # straight into moto: 10,000 uploads are not the measure
            backend.put_object(
                ARCHIVE_BUCKET,
                f"bench/reads/{number:05d}.fastq.gz",
                b"ACGT" * 256,
                storage="GLACIER",
                disable_notification=True,
            )
        request = {"s3_urls": [f"s3://{ARCHIVE_BUCKET}/bench/"], "tier": "Bulk", "days": 7}
        with calls.counting() as index_counts:
            world.upload("restore/bench-10k.json", json.dumps(request))
        index = next(
            call
            for call in cloud.calls("Genomics/IndexRestoreRequestFunction")
            if "bench-10k" in str(call.event)
        )
        with calls.counting() as restore_counts:
            started = time.perf_counter()
            virtual = world.settle(3600)
            wall = (time.perf_counter() - started) * 1000
        meta = world.restore_meta("bench-10k")
    reset_clients()
    outcome = f"{meta.get('status')}, {meta.get('total')} rows"
    return [
        FlowRow(
            "genomics",
            f"restore index of {RESTORE_OBJECTS} objects: {outcome}",
            Counter({name: n for name, n in index_counts.items() if not name.startswith(PERIODIC)}),
            index.duration_ms,
            0.0,
            outcome,
        ),
        FlowRow(
            "genomics",
            f"restore requests for {RESTORE_OBJECTS} objects",
            Counter({name: n for name, n in restore_counts.items() if not name.startswith(PERIODIC)}),
            wall,
            virtual,
            outcome,
        ),
    ]


def benchmarking_cost_flows() -> list[FlowRow]:
    """The benchmarking blueprint on a burst: 100 Fargate launches (50 x86 Snakemake, 50 ARM container)
    uploaded together and costed from the launch table's stream. The row counts every boto3 call of the
    functions on the way, so ``PriceResourcesFunction pricing.GetProducts`` is the Price List calls per 100
    launches with the price cache (cold at the start); the outcome gives the costing executions and the
    Step Functions states entered (state transitions) per execution and per launch."""
    from blueprints.benchmarking import wiring as benchmarking_wiring
    from blueprints.core.aws import reset_clients
    from demos.genomics import GenomicsWorld, prepare
    from localcloud.cloud import LocalCloud

    calls = FunctionCalls()
    reset_clients()
    benchmarking_wiring.reset()
    with calls.installed(), LocalCloud(ROOT / "template.yaml", event_sources=True) as cloud:
        cloud.parameter_overrides.update(prepare(cloud))
        cloud.parameter_overrides.update({"EnableBroker": "false", "EnableDora": "false"})
        cloud.deploy()
        world = GenomicsWorld.create(cloud)
        launches = [f"bench-cost-{number:03d}" for number in range(100)]
        with calls.counting() as counts:
            started = time.perf_counter()
            for number, launch_id in enumerate(launches):
                shape: dict[str, Any] = {"environment": {"LOCALCLOUD_RUN_SECONDS": "600"}}
                if number % 2:
                    shape.update(workflow_type="container", parameters={"command": ["echo", "bench"]})
                world.upload_config(launch_id, **shape)
            virtual = world.settle()
            wall = (time.perf_counter() - started) * 1000
        # The state machine's own integrations (the ASL's dynamodb:updateItem and lambda:invoke) run while a
        # function's environment is set, so FunctionCalls attributes them to that function; the costing
        # functions never make these calls themselves.
        asl_calls = {
            f"{function} {operation}"
            for function in ("CollectResourcesFunction", "PriceResourcesFunction")
            for operation in ("dynamodb.UpdateItem", "lambda.Invoke")
        }
        counted = Counter(
            {name: n for name, n in counts.items() if not name.startswith(PERIODIC) and name not in asl_calls}
        )
        costed = sum(1 for launch_id in launches if world.item(launch_id).get("costStatus") == "COSTED")
        sfn = cloud.client("stepfunctions")
        machine = next(
            item["stateMachineArn"]
            for item in sfn.list_state_machines()["stateMachines"]
            if "CostLaunchStateMachine" in item["name"]
        )
        executions = sfn.list_executions(stateMachineArn=machine)["executions"]
        entered = sum(
            1
            for execution in executions
            for event in sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)[
                "events"
            ]
            if "stateEnteredEventDetails" in event
        )
    reset_clients()
    benchmarking_wiring.reset()
    per_execution = entered / len(executions) if executions else 0.0
    outcome = (
        f"{costed} COSTED; {len(executions)} executions, {per_execution:.1f} states entered per execution, "
        f"{entered / max(costed, 1):.1f} per launch"
    )
    return [
        FlowRow("benchmarking", "100 Fargate launches: upload -> COSTED", counted, wall, virtual, outcome)
    ]


DORA_HISTORY = 10_000
DORA_INGESTS = 50


def _dora_history_item(number: int) -> dict[str, Any]:
    """A resolved deployment of svc-history (one every 53 minutes from 2023-01-01, three changes each)."""
    from datetime import UTC, datetime, timedelta

    from blueprints.dora.model import Change, Deployment
    from blueprints.dora.store import changes_text, deployment_key, fact_text
    from blueprints.dora.timeutil import stored

    when = datetime(2023, 1, 1, tzinfo=UTC) + timedelta(minutes=53 * number)
    deployment = Deployment(
        f"arn:aws:codepipeline:{REGION}:{ACCOUNT_ID}:svc-history",
        f"history-{number:05d}",
        "svc-history",
        when,
        sha=f"{number:040x}",
        repo="example-org/history",
        branch="main",
    )
    changes = tuple(Change(f"{number:039x}{k}", when - timedelta(hours=k + 1), None) for k in range(3))
    return {
        **deployment_key(deployment.pipeline_arn, deployment.execution_id),
        "GSI1PK": {"S": "DEPLOYS#svc-history"},
        "GSI1SK": {"S": f"{stored(when)}#{deployment.execution_id}"},
        "fact": {"S": fact_text(deployment)},
        "revert": {"BOOL": False},
        "changes": {"S": changes_text(changes)},
        "changes_status": {"S": "RESOLVED"},
        "event_ids": {"SS": ["bench"]},
    }


def dora_flows() -> list[FlowRow]:
    """DORA metrics: one production deployment from its events to the snapshots (every boto3 call of every
    function on the way), the ingest latency of a SUCCEEDED event, and the recompute of a service with
    10,000 deployments (seeded straight into moto's DynamoDB) and an API call over that history."""
    from datetime import UTC, datetime, timedelta

    from moto.dynamodb.models import dynamodb_backends

    from blueprints.core.aws import reset_clients
    from demos.dora import DoraWorld, prepare
    from localcloud.cloud import LocalCloud

    calls = FunctionCalls()
    rows = []
    reset_clients()
    with calls.installed(), LocalCloud(ROOT / "template.yaml", event_sources=True) as cloud:
        cloud.parameter_overrides.update(prepare(cloud))
        cloud.deploy()
        world = DoraWorld.create(cloud)
        repo, deployed = "example-org/svc-bench", datetime(2024, 6, 3, 14, tzinfo=UTC)
        world.pipeline("svc-bench")
        base = world.commit(repo, "base", deployed - timedelta(days=2))
        world.push(repo)
        world.deploy("svc-bench", "bench-0", base, deployed - timedelta(days=1), repo=repo)
        world.settle()
        for number in range(1, 4):
            head = world.commit(repo, f"c{number}", deployed - timedelta(hours=number))
        with calls.counting() as counts:
            started = time.perf_counter()
            world.push(repo)
            world.deploy("svc-bench", "bench-1", head, deployed, repo=repo)
            world.settle()
            world.recompute()
            wall = (time.perf_counter() - started) * 1000
        unit = "one production deployment: push, events, changes, recompute"
        rows.append(FlowRow("dora", unit, counts, wall, 0.0, "recorded"))
        first = len(cloud.calls("Dora/IngestPipelineEventFunction"))
        for number in range(2, 2 + DORA_INGESTS):  # a warm container: one deployment an hour
            head = world.commit(repo, f"c{number + 2}", deployed + timedelta(hours=number - 1, minutes=30))
            world.push(repo)
            world.deploy("svc-bench", f"bench-{number}", head, deployed + timedelta(hours=number), repo=repo)
        world.settle()
        ingests = [
            call
            for call in cloud.calls("Dora/IngestPipelineEventFunction")[first:]
            if (call.payload or {}).get("outcome")
        ]
        for outcome in ("recorded", "ignored"):
            durations = [call.duration_ms for call in ingests if call.payload["outcome"] == outcome]
            if durations:
                label = f"ingest of one SUCCEEDED event ({outcome}; median of {len(durations)}, warm)"
                rows.append(FlowRow("dora", label, Counter(), statistics.median(durations), 0.0, outcome))
        table = world.outputs["FactsTableName"]
        backend = dynamodb_backends[ACCOUNT_ID][REGION]
        for number in range(DORA_HISTORY):
            backend.put_item(table, _dora_history_item(number))
        backend.put_item(table, {"PK": {"S": "SERVICES"}, "SK": {"S": "svc-history"}})
        for run in ("first", "second"):
            with calls.counting() as counts:
                result = cloud.invoke(
                    "Dora/CalculateDoraMetricsFunction", {"action": "compute", "service": "svc-history"}
                )
            outcome = f"written {result.payload['written']}, unchanged {result.payload['unchanged']}"
            unit = f"recompute of {DORA_HISTORY} deployments ({run} run)"
            rows.append(FlowRow("dora", unit, counts, result.calls[0].duration_ms, 0.0, outcome))
        with calls.counting() as counts:
            started = time.perf_counter()
            response = cloud.http(
                "GET",
                f"{world.outputs['ApiUrl']}/dora/metrics?service=svc-history&from=2023-06-01&to=2023-06-30",
                signed=True,
            )
            wall = (time.perf_counter() - started) * 1000
        rows.append(
            FlowRow(
                "dora",
                f"GET /dora/metrics, one month of a {DORA_HISTORY}-deployment history",
                counts,
                wall,
                0.0,
                str(response.status),
            )
        )
    reset_clients()
    return rows


FLOWS: dict[str, Callable[[], list[FlowRow]]] = {
    "genomics launches": genomics_launch_flows,
    "genomics restore": genomics_restore_flow,
    "benchmarking": benchmarking_cost_flows,
    "dora": dora_flows,
}


def flows_table(rows: Sequence[FlowRow]) -> str:
    lines = []
    for row in rows:
        dynamodb = sum(n for name, n in row.counts.items() if " dynamodb." in name)
        listed = ", ".join(f"{name}: {n}" for name, n in sorted(row.counts.items())) or "none"
        lines.append(
            [
                row.flow,
                row.unit,
                str(dynamodb),
                str(sum(row.counts.values())),
                f"{row.wall_ms:.0f}",
                f"{row.virtual_s:.0f}",
                row.outcome or "-",
                listed,
            ]
        )
    headers = [
        "flow",
        "unit of work",
        "dynamodb calls",
        "all calls",
        "wall ms",
        "virtual s",
        "outcome",
        "service.operation: count",
    ]
    return table(headers, lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per cold measurement")
    parser.add_argument("--invocations", type=int, default=20, help="warm invocations per sample event")
    parser.add_argument("--events", type=Path, help="events directory (default: the repository's events/)")
    parser.add_argument("--function", action="append", help="only this logical id (repeatable)")
    parser.add_argument("--only", help="only this blueprint's functions and flows (e.g. benchmarking)")
    args = parser.parse_args(argv)
    if args.events is not None:
        sample_events.EVENTS = args.events.resolve()  # type: ignore[attr-defined]
    runs, invocations = max(1, args.runs), max(1, args.invocations)

    print(f"Blueprints bench | {machine_line()}")
    print(f"cold: median of {runs} fresh interpreters | warm: median and p95 of {invocations} invocations\n")
    try:
        selected = [f for f in functions() if not args.function or f.logical_id in args.function]
        selected = [f for f in selected if not args.only or f.blueprint == args.only]
    except Exception as exc:  # noqa: BLE001 - nothing to measure, but the bench never fails
        print(f"cannot read the templates: {describe_error(exc)}")
        return 0

    warm = warm_runs(selected, invocations)
    floor: dict[str, float | None] = {"boto3": None, "client": None}
    for key in floor:
        try:
            floor[key] = measure_children(FLOOR_CHILD, key, child_env({}), runs)["ms"]
        except Exception as exc:  # noqa: BLE001 - reported; the tables still print
            print(f"floor {key}: {describe_error(exc)}")

    print(
        "Cold init: import of app.py, then first use (settings and a client per service the function calls)"
    )
    print(cold_table(selected, warm, floor, runs))
    print("\nWarm latency (moto; fresh state before each invocation)")
    print(warm_table(selected, warm))
    print("\nAPI calls per unit of work (warm container; first: fresh state, again: same event redelivered)")
    print(calls_table(warm))
    flow_rows: list[FlowRow] = []
    for name, flow in FLOWS.items():
        if args.only and name.split()[0] != args.only:
            continue
        try:
            flow_rows.extend(flow())
        except Exception as exc:  # noqa: BLE001 - reported; the bench never fails
            print(f"flow {name}: {describe_error(exc)}")
    if flow_rows:
        print("\nWhole flows on the local cloud (boto3 calls of every function the unit passes through)")
        print(flows_table(flow_rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
