"""The genomics workflow manager end to end on the local cloud: ``localcloud demo genomics`` and the flow
tests.

What a user brings is created before the deployment (``prepare``): a VPC with DNS hostnames, a subnet and a
security group (template parameters ``GenomicsSubnetIds``/``GenomicsSecurityGroupIds``, which also create the
Batch compute environment and queue), a data bucket with sequencing reads, and a queue subscribed to the
alerts topic. The deployed resources are found from the genomics stack's outputs, as on AWS.

Each scenario does what a scientist does (uploads a launch configuration or a Snakefile bundle, calls the
IAM-signed HTTP API), lets the event sources run on the virtual clock until nothing is left (the ECS and
Batch simulators walk the tasks and jobs and emit their state-change events), and returns what an observer
sees: the launch item, its status history, the RunTask and SubmitJob calls, the tasks' events and the alerts.
The flow tests (``tests/flows/genomics``) assert on these facts; ``run`` narrates them.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from localcloud.cloud import LocalCloud

ROOT_STACK = "blueprints"
DATA_BUCKET = "genomics-cohort-data"
ARCHIVE_BUCKET = "genomics-cohort-archive"
RESTORE_HORIZON = 80 * 3600.0
# The archive: cohorts whose reads went to archive classes after their first analysis.
ARCHIVE = {
    "cohort8/reads/S1.fastq.gz": "GLACIER",
    "cohort8/reads/S2.fastq.gz": "GLACIER",
    "cohort8/reads/S3.fastq.gz": "GLACIER",
    "cohort9/reads/S1.fastq.gz": "STANDARD",
    "cohort9/reads/S2.fastq.gz": "GLACIER_IR",
    "cohort9/reads/S3.fastq.gz": "GLACIER",
    "cohort9/reads/S4.fastq.gz": "DEEP_ARCHIVE",
    "cohort9/ref/hg38.fa": "INTELLIGENT_TIERING",
    "cohort10/reads/S1.fastq.gz": "GLACIER",
    "cohort11/reads/S1.fastq.gz": "GLACIER",
    "cohort12/reads/S1.fastq.gz": "DEEP_ARCHIVE",
}
OOM = "OutOfMemoryError: Container killed due to memory usage"
HORIZON = 6 * 3600.0
READS = {f"cohort7/reads/S{number}.fastq.gz": b"@r1\nACGT\n+\nIIII\n" * number for number in range(1, 4)}
SHEET = "sample,fastq\nS1,reads/S1.fastq.gz\nS2,reads/S2.fastq.gz\nS3,reads/S3.fastq.gz\n"


def prepare(cloud: LocalCloud) -> dict[str, str]:
    """The user's network and data, before the deployment; returns the template parameters naming them."""
    ec2 = cloud.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]
    group = ec2.create_security_group(GroupName="genomics-workflows", Description="workflows", VpcId=vpc)
    s3 = cloud.client("s3")
    s3.create_bucket(Bucket=DATA_BUCKET)
    for key, body in READS.items():
        s3.put_object(Bucket=DATA_BUCKET, Key=key, Body=body)
    s3.create_bucket(Bucket=ARCHIVE_BUCKET)
    sqs = cloud.client("sqs")  # the archive team's own audit notification, which must survive
    audit = sqs.create_queue(QueueName="archive-audit")["QueueUrl"]
    audit_arn = sqs.get_queue_attributes(QueueUrl=audit, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    s3.put_bucket_notification_configuration(
        Bucket=ARCHIVE_BUCKET,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": audit_arn, "Events": ["s3:ObjectRemoved:*"]}]
        },
    )
    for key, storage_class in ARCHIVE.items():
        s3.put_object(
            Bucket=ARCHIVE_BUCKET, Key=key, Body=b"@r1\nACGT\n+\nIIII\n" * 64, StorageClass=storage_class
        )
    cloud.sources.s3_restore.archive(ARCHIVE_BUCKET, "cohort9/ref/hg38.fa", "ARCHIVE_ACCESS")
    s3.put_object_tagging(  # this one restores far slower than its SLA: the deadline passes first
        Bucket=ARCHIVE_BUCKET,
        Key="cohort12/reads/S1.fastq.gz",
        Tagging={"TagSet": [{"Key": "LOCALCLOUD_RESTORE_SECONDS", "Value": str(100 * 3600)}]},
    )
    return {
        "GenomicsSubnetIds": subnet["SubnetId"],
        "GenomicsSecurityGroupIds": group["GroupId"],
        "GenomicsDataBucketArns": f"arn:aws:s3:::{DATA_BUCKET},arn:aws:s3:::{ARCHIVE_BUCKET}",
    }


# -- facts ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Launch:
    """A launch as the registry and the compute services show it after a scenario."""

    item: dict[str, Any]
    run_task_calls: list[dict[str, Any]]
    submitted_jobs: list[dict[str, Any]]
    task_statuses: list[str]

    @property
    def launch_id(self) -> str:
        return str(self.item.get("launch_id", ""))

    @property
    def status(self) -> str:
        return str(self.item.get("status", ""))

    @property
    def attempt(self) -> int:
        return int(self.item.get("attempt", 0))

    @property
    def history(self) -> list[tuple[str, int]]:
        return [(entry["status"], int(entry["attempt"])) for entry in self.item.get("status_history", [])]

    @property
    def error_code(self) -> str:
        return str(self.item.get("error_code", ""))


@dataclass
class Facts:
    launches: dict[str, Launch] = field(default_factory=dict)
    restore: dict[str, Any] = field(default_factory=dict)
    rows: dict[str, str] = field(default_factory=dict)
    restore_calls: list[tuple[str, int, str, str | None, int | None]] = field(default_factory=list)
    api_restore: dict[str, Any] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    virtual_seconds: float = 0.0
    http: dict[str, int] = field(default_factory=dict)

    def launch(self, launch_id: str) -> Launch:
        return self.launches[launch_id]


def _plain(value: dict[str, Any]) -> Any:
    from boto3.dynamodb.types import TypeDeserializer

    def convert(item: Any) -> Any:
        if isinstance(item, dict):
            return {key: convert(inner) for key, inner in item.items()}
        if isinstance(item, list):
            return [convert(inner) for inner in item]
        if isinstance(item, set):
            return sorted(convert(inner) for inner in item)
        if type(item).__name__ == "Decimal":
            return int(item) if item == int(item) else float(item)
        return item

    deserializer = TypeDeserializer()
    return {key: convert(deserializer.deserialize(inner)) for key, inner in value.items()}


# -- the world --------------------------------------------------------------------------------------


@dataclass
class GenomicsWorld:
    cloud: LocalCloud
    outputs: dict[str, str]
    alerts_queue_url: str
    enabled_buckets: Any = None

    def restore_meta(self, request_id: str) -> dict[str, Any]:
        found = self.cloud.client("dynamodb").get_item(
            TableName=self.outputs["RestoreTableName"],
            Key={"pk": {"S": f"REQ#{request_id}"}, "sk": {"S": "META"}},
            ConsistentRead=True,
        )
        return _plain(found["Item"]) if "Item" in found else {}

    def restore_rows(self, request_id: str) -> dict[str, str]:
        found = self.cloud.client("dynamodb").query(
            TableName=self.outputs["RestoreTableName"],
            KeyConditionExpression="pk = :pk AND begins_with(sk, :obj)",
            ExpressionAttributeValues={":pk": {"S": f"REQ#{request_id}"}, ":obj": {"S": "OBJ#"}},
        )["Items"]
        return {str(_plain(item)["key"]): str(_plain(item)["restore_status"]) for item in found}

    def restore_calls(self, key_prefix: str) -> list[tuple[str, int, str, str | None, int | None]]:
        """(key, HTTP status, error, tier, days) of every RestoreObject call on the archive under a prefix."""
        return [
            (call.key, call.status, call.error or "", call.tier, call.days)
            for call in self.cloud.sources.s3_restore.calls
            if call.bucket == ARCHIVE_BUCKET and call.key.startswith(key_prefix)
        ]

    def replay_restore_completions(self, key_prefix: str) -> int:
        """Every "Object Restore Completed" event under the prefix once more (EventBridge duplicates)."""
        entries = []
        for restore in self.cloud.sources.s3_restore.restores:
            if restore.bucket != ARCHIVE_BUCKET or not restore.key.startswith(key_prefix):
                continue
            detail = {
                "version": "0",
                "bucket": {"name": ARCHIVE_BUCKET},
                "object": {"key": restore.key, "size": 1024, "etag": "0" * 32},
                "request-id": "REPLAYED",
                "requester": "s3.amazonaws.com",
                "source-storage-class": restore.source,
            }
            entries.append(
                {
                    "Source": "aws.s3",
                    "DetailType": "Object Restore Completed",
                    "Detail": json.dumps(detail),
                    "Resources": [f"arn:aws:s3:::{ARCHIVE_BUCKET}"],
                }
            )
        for start in range(0, len(entries), 10):
            self.cloud.client("events").put_events(Entries=entries[start : start + 10])
        return len(entries)

    @classmethod
    def create(cls, cloud: LocalCloud) -> "GenomicsWorld":
        stacks = cloud.client("cloudformation").describe_stacks()["Stacks"]
        nested = next(stack for stack in stacks if stack["StackName"].startswith(f"{ROOT_STACK}-Genomics-"))
        outputs = {output["OutputKey"]: output["OutputValue"] for output in nested["Outputs"]}
        root = next(stack for stack in stacks if stack["StackName"] == ROOT_STACK)
        topic = next(item["OutputValue"] for item in root["Outputs"] if item["OutputKey"] == "AlertsTopicArn")
        sqs = cloud.client("sqs")
        queue_url = sqs.create_queue(QueueName="genomics-alerts-inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        cloud.client("sns").subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
        )
        world = cls(cloud, outputs, queue_url)
        world.enabled_buckets = cloud.invoke(
            "Genomics/EnableBucketEventsFunction", {"buckets": [ARCHIVE_BUCKET]}
        ).payload
        return world

    @property
    def request_bucket(self) -> str:
        return self.outputs["LaunchRequestBucketName"]

    @property
    def table(self) -> str:
        return self.outputs["LaunchTableName"]

    def upload(self, key: str, body: bytes | str) -> dict[str, Any]:
        data = body.encode() if isinstance(body, str) else body
        response: dict[str, Any] = self.cloud.client("s3").put_object(
            Bucket=self.request_bucket, Key=key, Body=data
        )
        return response

    def upload_config(self, launch_id: str, **fields: Any) -> None:
        sheet_key = f"sheets/{launch_id}.csv"
        self.upload(sheet_key, SHEET)
        config = {
            "launch_id": launch_id,
            "workflow_type": "snakemake",
            "s3_data_path": f"s3://{DATA_BUCKET}/cohort7/",
            "config_s3_uri": f"s3://{self.request_bucket}/{sheet_key}",
            **fields,
        }
        self.upload(f"launches/{launch_id}.json", json.dumps(config, indent=2))

    def settle(self, horizon: float = HORIZON) -> float:
        clock = self.cloud.clock
        started = clock.now()
        self.cloud.run_until_idle(max_virtual_seconds=horizon)
        return float(clock.now() - started)

    def pass_time(self, seconds: float, step: float = 1800.0) -> float:
        """Let ``seconds`` of virtual time go by in steps, so schedules (the reconciler, the stuck-launch
        check) fire as they would; returns the virtual seconds that passed."""
        clock = self.cloud.clock
        started = clock.now()
        while clock.now() - started < seconds:
            clock.advance(min(step, seconds - (clock.now() - started)))
            self.cloud.run_until_idle(max_virtual_seconds=step)
        return float(clock.now() - started)

    def item(self, launch_id: str) -> dict[str, Any]:
        found = self.cloud.client("dynamodb").get_item(
            TableName=self.table, Key={"launch_id": {"S": launch_id}}, ConsistentRead=True
        )
        return _plain(found["Item"]) if "Item" in found else {}

    def launch(self, launch_id: str) -> Launch:
        item = self.item(launch_id)
        sources = self.cloud.sources
        calls = [
            {"started_by": call.started_by, "client_token": call.client_token, "task_arns": call.task_arns}
            for call in sources.ecs.run_task_calls
            if (call.started_by or "").startswith(f"{launch_id}/")
        ]
        task_arns = {arn for call in calls for arn in call["task_arns"]}
        statuses = [
            str(detail["lastStatus"]) for detail in sources.ecs.events if detail["taskArn"] in task_arns
        ]
        jobs = [
            {"job_id": job_id, "job_name": job.detail()["jobName"], "status": job.status}
            for job_id, job in sources.batch.jobs.items()
            if str(job.detail()["jobName"]).startswith(f"{launch_id}-a")
        ]
        return Launch(item, calls, jobs, statuses)

    def alerts(self) -> list[dict[str, Any]]:
        sqs = self.cloud.client("sqs")
        found: list[dict[str, Any]] = []
        while True:
            messages = sqs.receive_message(QueueUrl=self.alerts_queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.alerts_queue_url, ReceiptHandle=message["ReceiptHandle"])

    def api(self, method: str, path: str, *, signed: bool = True, body: Any = None) -> tuple[int, Any]:
        request: dict[str, Any] = {"signed": signed}
        if body is not None:
            request["json_body"] = body
        response = self.cloud.http(method, f"{self.outputs['ApiUrl']}{path}", **request)
        try:
            payload = json.loads(response.body) if response.body else None
        except ValueError:
            payload = response.body
        return response.status, payload

    def redeliver_upload(self, key: str) -> None:
        """The same "Object Created" event once more, as EventBridge's at-least-once delivery may do."""
        head = self.cloud.client("s3").head_object(Bucket=self.request_bucket, Key=key)
        detail = {
            "version": "0",
            "bucket": {"name": self.request_bucket},
            "object": {
                "key": key,
                "size": head["ContentLength"],
                "etag": head["ETag"].strip('"'),
                "version-id": head.get("VersionId", ""),
                "sequencer": "0000000000000000",
            },
            "request-id": "REDELIVERED",
            "requester": "123456789012",
            "reason": "PutObject",
        }
        self.cloud.client("events").put_events(
            Entries=[
                {
                    "Source": "aws.s3",
                    "DetailType": "Object Created",
                    "Detail": json.dumps(detail),
                    "Resources": [f"arn:aws:s3:::{self.request_bucket}"],
                }
            ]
        )

    def replay_task_event(self, launch_id: str, status: str, attempt: int = 1) -> None:
        """Put an earlier ECS state change of the launch's task on the bus again (late, out of order)."""
        detail = next(
            item
            for item in self.cloud.sources.ecs.events
            if item.get("startedBy") == f"{launch_id}/a{attempt}" and item["lastStatus"] == status
        )
        self.cloud.client("events").put_events(
            Entries=[
                {
                    "Source": "aws.ecs",
                    "DetailType": "ECS Task State Change",
                    "Detail": json.dumps(detail),
                    "Resources": [detail["taskArn"]],
                }
            ]
        )


# -- scenarios --------------------------------------------------------------------------------------


def config_upload(world: GenomicsWorld) -> Facts:
    world.upload_config("wf-qc-0001", parameters={"jobs": 20}, environment={"LOCALCLOUD_RUN_SECONDS": "900"})
    facts = Facts(virtual_seconds=world.settle())
    facts.launches["wf-qc-0001"] = world.launch("wf-qc-0001")
    return facts


def snakefile_upload(world: GenomicsWorld) -> Facts:
    world.upload("snakefiles/qc-bundle-7/samples.csv", SHEET)
    world.upload("snakefiles/qc-bundle-7/Snakefile", "rule all:\n    input: 'qc/done.txt'\n")
    facts = Facts(virtual_seconds=world.settle())
    facts.launches["qc-bundle-7"] = world.launch("qc-bundle-7")
    return facts


def out_of_memory(world: GenomicsWorld) -> Facts:
    environment = {
        "LOCALCLOUD_STOPPED_REASON": OOM,
        "LOCALCLOUD_LOG_LINES": "Building DAG of jobs...\nrule bwa_mem: S2\nKilled",
    }
    world.upload_config("wf-align-0002", environment=environment)
    facts = Facts(virtual_seconds=world.settle())
    facts.launches["wf-align-0002"] = world.launch("wf-align-0002")
    return facts


def missing_data_path(world: GenomicsWorld) -> Facts:
    world.upload_config("wf-missing-0003", s3_data_path=f"s3://{DATA_BUCKET}/cohort99/")
    facts = Facts(virtual_seconds=world.settle())
    facts.launches["wf-missing-0003"] = world.launch("wf-missing-0003")
    return facts


def duplicate_upload(world: GenomicsWorld) -> Facts:
    world.upload_config("wf-dup-0004")
    world.redeliver_upload("launches/wf-dup-0004.json")
    world.redeliver_upload("launches/wf-dup-0004.json")
    facts = Facts(virtual_seconds=world.settle())
    facts.launches["wf-dup-0004"] = world.launch("wf-dup-0004")
    return facts


def retry_after_failure(world: GenomicsWorld) -> Facts:
    environment = {"LOCALCLOUD_STOPPED_REASON": OOM, "LOCALCLOUD_FAILED_RUNS": "wf-retry-0005:1"}
    world.upload_config("wf-retry-0005", environment=environment)
    facts = Facts(virtual_seconds=world.settle())
    facts.notes.append(f"first attempt: {world.item('wf-retry-0005').get('status')}")
    status, _ = world.api("POST", "/launches/wf-retry-0005/retry")
    facts.http["retry"] = status
    facts.virtual_seconds += world.settle()
    world.replay_task_event("wf-retry-0005", "STOPPED", attempt=1)  # attempt 1's stop, delivered late
    facts.virtual_seconds += world.settle()
    facts.launches["wf-retry-0005"] = world.launch("wf-retry-0005")
    return facts


def out_of_order_events(world: GenomicsWorld) -> Facts:
    world.upload_config("wf-order-0006")
    facts = Facts(virtual_seconds=world.settle())
    world.replay_task_event("wf-order-0006", "RUNNING")
    world.replay_task_event("wf-order-0006", "PENDING")
    facts.virtual_seconds += world.settle()
    facts.launches["wf-order-0006"] = world.launch("wf-order-0006")
    return facts


def batch_launch(world: GenomicsWorld) -> Facts:
    world.upload_config(
        "wf-batch-0007",
        workflow_type="container",
        compute_service="batch",
        parameters={"command": ["bash", "-c", "fastqc reads/*.fastq.gz"]},
        environment={"LOCALCLOUD_RUN_SECONDS": "1800"},
    )
    facts = Facts(virtual_seconds=world.settle())
    facts.launches["wf-batch-0007"] = world.launch("wf-batch-0007")
    return facts


def runnable_stuck(world: GenomicsWorld) -> Facts:
    world.alerts()  # start from an empty inbox
    world.upload_config(
        "wf-stuck-0008",
        workflow_type="container",
        compute_service="batch",
        parameters={"command": ["bash", "-c", "regenie --step 1"]},
        environment={"LOCALCLOUD_RUNNABLE_SECONDS": "3600"},
    )
    facts = Facts(virtual_seconds=world.settle(horizon=2 * 3600))
    facts.launches["wf-stuck-0008"] = world.launch("wf-stuck-0008")
    facts.alerts = [alert for alert in world.alerts() if alert.get("launch_id") == "wf-stuck-0008"]
    return facts


def api_queries(world: GenomicsWorld) -> Facts:
    facts = Facts()
    status, created = world.api(
        "POST",
        "/launches",
        body={
            "launch_id": "wf-api-0009",
            "workflow_type": "container",
            "s3_data_path": f"s3://{DATA_BUCKET}/cohort7/",
            "config_s3_uri": f"s3://{DATA_BUCKET}/cohort7/reads/S1.fastq.gz",
            "parameters": {"command": ["echo", "hello"]},
        },
    )
    facts.http["submit"] = status
    facts.http["resubmit"] = world.api(
        "POST",
        "/launches",
        body=created
        and {
            "launch_id": "wf-api-0009",
            "workflow_type": "container",
            "s3_data_path": f"s3://{DATA_BUCKET}/cohort7/",
            "config_s3_uri": f"s3://{DATA_BUCKET}/cohort7/reads/S1.fastq.gz",
            "parameters": {"command": ["echo", "hello"]},
        },
    )[0]
    facts.http["invalid"], invalid = world.api("POST", "/launches", body={"launch_id": "wf-api-0010"})
    facts.notes.append(f"invalid submission: {invalid}")
    facts.virtual_seconds = world.settle()
    facts.http["get"], got = world.api("GET", "/launches/wf-api-0009")
    facts.notes.append(f"wf-api-0009 is {got.get('status') if isinstance(got, dict) else got}")
    facts.http["list_failed"], listed = world.api("GET", "/launches?status=FAILED")
    facts.notes.append("FAILED: " + ", ".join(sorted(item["launch_id"] for item in listed["launches"])))
    facts.http["unsigned"], _ = world.api("GET", "/launches?status=FAILED", signed=False)
    facts.http["unknown"], _ = world.api("GET", "/launches/no-such-launch")
    facts.launches["wf-api-0009"] = world.launch("wf-api-0009")
    return facts


def _restore_facts(world: GenomicsWorld, launch_id: str, prefix: str, facts: Facts) -> Facts:
    facts.launches[launch_id] = world.launch(launch_id)
    facts.restore = world.restore_meta(launch_id)
    facts.rows = world.restore_rows(launch_id)
    facts.restore_calls = world.restore_calls(prefix)
    status, shown = world.api("GET", f"/launches/{launch_id}")
    facts.http["get"] = status
    facts.api_restore = shown.get("restore", {}) if isinstance(shown, dict) else {}
    return facts


def archived_inputs(world: GenomicsWorld) -> Facts:
    world.upload_config("wf-archived-0011", s3_data_path=f"s3://{ARCHIVE_BUCKET}/cohort8/")
    facts = Facts(virtual_seconds=world.settle(RESTORE_HORIZON))
    return _restore_facts(world, "wf-archived-0011", "cohort8/", facts)


def mixed_storage_classes(world: GenomicsWorld) -> Facts:
    world.upload_config("wf-mixed-0012", s3_data_path=f"s3://{ARCHIVE_BUCKET}/cohort9/")
    facts = Facts(virtual_seconds=world.settle(RESTORE_HORIZON))
    return _restore_facts(world, "wf-mixed-0012", "cohort9/", facts)


def duplicate_completion_events(world: GenomicsWorld) -> Facts:
    world.upload_config("wf-dupevents-0013", s3_data_path=f"s3://{ARCHIVE_BUCKET}/cohort10/")
    facts = Facts(virtual_seconds=world.settle(RESTORE_HORIZON))
    facts.notes.append(f"replayed {world.replay_restore_completions('cohort10/')} completion event(s) twice")
    world.replay_restore_completions("cohort10/")
    facts.virtual_seconds += world.settle(RESTORE_HORIZON)
    return _restore_facts(world, "wf-dupevents-0013", "cohort10/", facts)


def lost_completion_event(world: GenomicsWorld) -> Facts:
    world.cloud.sources.s3_restore.drop_completion_events(ARCHIVE_BUCKET, "cohort11/reads/S1.fastq.gz")
    world.upload_config("wf-lost-0014", s3_data_path=f"s3://{ARCHIVE_BUCKET}/cohort11/")
    facts = Facts(virtual_seconds=world.settle(RESTORE_HORIZON))
    facts.virtual_seconds += world.pass_time(3600)  # the restore is done, its event lost: the reconciler runs
    facts.virtual_seconds += world.settle()
    reconciled = [
        call.payload
        for call in world.cloud.calls("Genomics/ReconcileRestoresFunction")
        if (call.payload or {}).get("completed")
    ]
    facts.notes.append(f"reconciler runs that completed objects: {len(reconciled)}")
    return _restore_facts(world, "wf-lost-0014", "cohort11/", facts)


def restore_deadline(world: GenomicsWorld) -> Facts:
    world.alerts()
    world.upload_config("wf-deadline-0015", s3_data_path=f"s3://{ARCHIVE_BUCKET}/cohort12/")
    facts = Facts(virtual_seconds=world.settle(RESTORE_HORIZON))
    facts.virtual_seconds += world.pass_time(73 * 3600, step=3 * 3600)  # past the 72 h deadline
    facts.alerts = [alert for alert in world.alerts() if alert.get("launch_id") == "wf-deadline-0015"]
    return _restore_facts(world, "wf-deadline-0015", "cohort12/", facts)


@dataclass(frozen=True)
class Scenario:
    title: str
    play: Callable[[GenomicsWorld], Facts]
    checks: Callable[[Facts], list[tuple[str, bool]]]


def _walk(launch: Launch) -> str:
    return " -> ".join(status for status, _ in launch.history)


SCENARIOS = (
    Scenario(
        "config upload runs to COMPLETE on Fargate",
        config_upload,
        lambda f: [
            (
                "REGISTERED -> LAUNCHING -> RUNNING -> COMPLETE",
                _walk(f.launch("wf-qc-0001")) == "REGISTERED -> LAUNCHING -> RUNNING -> COMPLETE",
            ),
            (
                "one RunTask, startedBy wf-qc-0001/a1",
                [c["started_by"] for c in f.launch("wf-qc-0001").run_task_calls] == ["wf-qc-0001/a1"],
            ),
        ],
    ),
    Scenario(
        "Snakefile bundle launches with default settings",
        snakefile_upload,
        lambda f: [("COMPLETE", f.launch("qc-bundle-7").status == "COMPLETE")],
    ),
    Scenario(
        "out-of-memory kill ends FAILED with the reason and log lines",
        out_of_memory,
        lambda f: [
            (
                "FAILED OutOfMemoryError",
                (f.launch("wf-align-0002").status, f.launch("wf-align-0002").error_code)
                == ("FAILED", "OutOfMemoryError"),
            ),
            ("error lines stored", OOM in f.launch("wf-align-0002").item.get("error_lines", [])),
        ],
    ),
    Scenario(
        "missing data path fails before any compute",
        missing_data_path,
        lambda f: [
            (
                "FAILED MissingRequiredParametersError",
                f.launch("wf-missing-0003").error_code == "MissingRequiredParametersError",
            ),
            ("no RunTask", f.launch("wf-missing-0003").run_task_calls == []),
        ],
    ),
    Scenario(
        "the same upload delivered three times starts one launch",
        duplicate_upload,
        lambda f: [("one RunTask", len(f.launch("wf-dup-0004").run_task_calls) == 1)],
    ),
    Scenario(
        "retry after a failure: attempt 2 completes, a late attempt-1 event changes nothing",
        retry_after_failure,
        lambda f: [
            ("retry accepted (202)", f.http.get("retry") == 202),
            (
                "COMPLETE on attempt 2",
                (f.launch("wf-retry-0005").status, f.launch("wf-retry-0005").attempt) == ("COMPLETE", 2),
            ),
        ],
    ),
    Scenario(
        "out-of-order events never move a launch backwards",
        out_of_order_events,
        lambda f: [("still COMPLETE", f.launch("wf-order-0006").status == "COMPLETE")],
    ),
    Scenario(
        "a container run on AWS Batch (Spot) completes",
        batch_launch,
        lambda f: [("COMPLETE", f.launch("wf-batch-0007").status == "COMPLETE")],
    ),
    Scenario(
        "a Batch job stuck in RUNNABLE raises one alert",
        runnable_stuck,
        lambda f: [("one RUNNABLE_STUCK notice", [a.get("alert") for a in f.alerts] == ["RUNNABLE_STUCK"])],
    ),
    Scenario(
        "the IAM-signed API: submit, duplicate, invalid, get, list, unsigned",
        api_queries,
        lambda f: [
            (
                "201, 200, 400, 200, 200, 403, 404",
                [
                    f.http.get(k)
                    for k in ("submit", "resubmit", "invalid", "get", "list_failed", "unsigned", "unknown")
                ]
                == [201, 200, 400, 200, 200, 403, 404],
            ),
        ],
    ),
    Scenario(
        "archived inputs: WAITING until restored (Bulk), then READY and COMPLETE",
        archived_inputs,
        lambda f: [
            (
                "REGISTERED -> WAITING -> READY -> LAUNCHING -> RUNNING -> COMPLETE",
                _walk(f.launch("wf-archived-0011"))
                == "REGISTERED -> WAITING -> READY -> LAUNCHING -> RUNNING -> COMPLETE",
            ),
            (
                "3 of 3 restored, shown by the API",
                (f.api_restore.get("total"), f.api_restore.get("restored")) == (3, 3),
            ),
        ],
    ),
    Scenario(
        "mixed storage classes: only archived objects restored; Deep Archive and Intelligent-Tiering rules",
        mixed_storage_classes,
        lambda f: [
            (
                "3 rows restored, 2 objects readable as they are",
                (len(f.rows), f.restore.get("readable")) == (3, 2),
            ),
            ("COMPLETE", f.launch("wf-mixed-0012").status == "COMPLETE"),
        ],
    ),
    Scenario(
        "duplicate completion events change nothing",
        duplicate_completion_events,
        lambda f: [
            ("READY once, one task", len(f.launch("wf-dupevents-0013").run_task_calls) == 1),
            ("counted once", (f.restore.get("restored"), f.restore.get("remaining")) == (1, 0)),
        ],
    ),
    Scenario(
        "a lost completion event is recovered by the reconciler",
        lost_completion_event,
        lambda f: [("COMPLETE", f.launch("wf-lost-0014").status == "COMPLETE")],
    ),
    Scenario(
        "a restore past its deadline fails the launch with RestoreTimeout and a notice",
        restore_deadline,
        lambda f: [
            ("FAILED RestoreTimeout", f.launch("wf-deadline-0015").error_code == "RestoreTimeout"),
            ("one notice", [a.get("error_code") for a in f.alerts] == ["RestoreTimeout"]),
        ],
    ),
)


def narrate(facts: Facts) -> list[str]:
    lines = []
    for launch in facts.launches.values():
        lines.append(f"{launch.launch_id}: {_walk(launch)} (attempt {launch.attempt})")
        if launch.error_code:
            lines.append(f"  error {launch.error_code}: {launch.item.get('error_message', '')}")
        for line in launch.item.get("error_lines", [])[:3]:
            lines.append(f"  log: {line}")
        if launch.run_task_calls:
            lines.append(
                f"  RunTask: {len(launch.run_task_calls)} call(s); task {', '.join(launch.task_statuses)}"
            )
        for job in launch.submitted_jobs:
            lines.append(f"  Batch job {job['job_name']}: {job['status']}")
    if facts.restore:
        meta = facts.restore
        lines.append(
            f"restore request: {meta.get('status')}, tier {meta.get('tier')}, {meta.get('total')} to restore "
            f"({meta.get('readable')} readable), estimate ${meta.get('estimate', {}).get('cost_usd')} "
            f"within {meta.get('estimate', {}).get('hours')} h"
        )
        for key, status, error, tier, days in facts.restore_calls:
            outcome = f"{status} {error}".strip()
            lines.append(f"  RestoreObject {key}: {outcome}, tier {tier}, days {days}")
    lines.extend(facts.notes)
    for alert in facts.alerts:
        kind = alert.get("alert") or alert.get("error_code")
        detail = f"after {alert['minutes']} min" if "minutes" in alert else alert.get("error_message", "")
        lines.append(f"notice {kind} for {alert.get('launch_id')}: {detail}")
    if facts.http:
        lines.append("HTTP: " + ", ".join(f"{name} {code}" for name, code in facts.http.items()))
    return lines


def _launch_items(world: GenomicsWorld) -> list[dict[str, Any]]:
    dynamodb = world.cloud.client("dynamodb")
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {"TableName": world.table}
    while True:
        page = dynamodb.scan(**request)
        items.extend(_plain(item) for item in page.get("Items", []))
        if not page.get("LastEvaluatedKey"):
            return sorted(
                items, key=lambda found: (str(found.get("created_at", "")), str(found["launch_id"]))
            )
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def recost_without_spot_history(world: GenomicsWorld) -> list[str]:
    """Offline, EC2 has no Spot price history until one is seeded, so the costing of a Spot launch ends
    FAILED naming the missing price (never 0). Seed a series for each such instance's type and zone
    (0.0350/h) and ask for a re-cost on the API, as an operator would once prices are available."""
    from datetime import UTC, datetime, timedelta

    from localcloud.fakes.spot import set_spot_prices

    waiting = [
        item
        for item in _launch_items(world)
        if item.get("costStatus") == "FAILED" and "SpotPriceMissingError" in str(item.get("costMissing"))
    ]
    if not waiting:
        return []
    ec2 = world.cloud.client("ec2")
    instance_ids = sorted(
        {
            found
            for item in waiting
            for found in re.findall(r"instance (i-[0-9a-f]+)", str(item["costMissing"]))
        }
    )
    described = ec2.describe_instances(InstanceIds=instance_ids)["Reservations"]
    shapes = {
        (instance["InstanceType"], instance["Placement"]["AvailabilityZone"])
        for reservation in described
        for instance in reservation["Instances"]
    }
    since = datetime.fromtimestamp(world.cloud.clock.now(), UTC) - timedelta(days=30)
    account = world.cloud.client("sts").get_caller_identity()["Account"]
    for instance_type, zone in sorted(shapes):
        set_spot_prices(account, ec2.meta.region_name, instance_type, zone, [(since, "0.0350")])
    lines = [
        "Offline there is no Spot price history until one is seeded: these costings ended FAILED naming "
        "the missing price, never 0.",
        "Seeding " + ", ".join(f"{kind} in {zone}" for kind, zone in sorted(shapes)) + " at 0.0350/h and "
        "asking for a re-cost (POST /launches/{id}/cost):",
    ]
    for item in waiting:
        status, _ = world.api("POST", f"/launches/{item['launch_id']}/cost")
        lines.append(f"  {item['launch_id']}: re-cost {status}")
    world.settle()
    return lines


def cost_breakdowns(world: GenomicsWorld) -> list[str]:
    """Each launch's cost as the benchmarking blueprint wrote it, once the cloud has settled (the
    costings run on the launch table's stream after each launch ends)."""
    world.settle()
    lines = recost_without_spot_history(world)
    for item in _launch_items(world):
        launch = f"{item['launch_id']} ({item.get('status')}, attempt {item.get('attempt')})"
        if item.get("status") not in ("COMPLETE", "FAILED"):
            lines.append(f"{launch}: not finished, no cost yet")
            continue
        if "totalCost" not in item:
            detail = item.get("costMissing") or item.get("costError") or "is benchmarking deployed?"
            lines.append(f"{launch}: cost {item.get('costStatus', 'not computed')} ({detail})")
            continue
        timings = item.get("phaseTimings", {})
        lines.append(
            f"{launch}: {item['totalCost']} USD = instances {item['instanceCost']} + volumes "
            f"{item['volumeCost']} + file systems {item['filesystemCost']} + Fargate {item['fargateCost']}; "
            f"ran {timings.get('runningSeconds', 0)} s of {timings.get('wallSeconds', 0)} s"
        )
        for resource, entry in sorted(item.get("costBreakdown", {}).items()):
            lines.append(f"  {resource.rsplit('/', 1)[-1]}: {entry['description']}: {entry['cost']} USD")
        lines.extend(f"  note: {note}" for note in item.get("costNotes", []))
    return lines


def run(cloud: LocalCloud, out: TextIO) -> bool:
    """``localcloud demo genomics``: every scenario, one after the other, on one freshly deployed cloud."""

    def say(line: str = "") -> None:
        out.write(line + "\n")
        out.flush()

    world = GenomicsWorld.create(cloud)
    say(f"genomics outputs from DescribeStacks; requests bucket {world.request_bucket}")
    summary = []
    for number, scenario in enumerate(SCENARIOS, start=1):
        say()
        say(f"{number}. {scenario.title}")
        facts = scenario.play(world)
        for line in narrate(facts):
            say(f"   {line}")
        checks = scenario.checks(facts)
        for claim, held in checks:
            say(f"   {'ok  ' if held else 'FAIL'} {claim}")
        verdict = "PASS" if all(held for _, held in checks) else "FAIL"
        summary.append(f"{verdict} {number}. {scenario.title} ({facts.virtual_seconds:.0f}s virtual)")
    say()
    for line in summary:
        say(line)
    say()
    say("Cost of each launch (benchmarking blueprint, public list prices; docs/blueprints/benchmarking.md)")
    for line in cost_breakdowns(world):
        say(f"   {line}")
    return all(line.startswith("PASS") for line in summary)
