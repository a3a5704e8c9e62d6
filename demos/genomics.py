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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from localcloud.cloud import LocalCloud

ROOT_STACK = "blueprints"
DATA_BUCKET = "genomics-cohort-data"
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
    return {
        "GenomicsSubnetIds": subnet["SubnetId"],
        "GenomicsSecurityGroupIds": group["GroupId"],
        "GenomicsDataBucketArns": f"arn:aws:s3:::{DATA_BUCKET}",
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
        return cls(cloud, outputs, queue_url)

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
    lines.extend(facts.notes)
    lines.extend(
        f"alert {alert.get('alert')} for {alert.get('launch_id')} after {alert.get('minutes')} min"
        for alert in facts.alerts
    )
    if facts.http:
        lines.append("HTTP: " + ", ".join(f"{name} {code}" for name, code in facts.http.items()))
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
    return all(line.startswith("PASS") for line in summary)
