"""The queue broker end to end on the local cloud: ``localcloud demo broker`` and the broker flow tests.

What a user brings is created here, as on AWS: a VPC with DNS hostnames, a subnet and a security group;
``broker-*`` task definitions, some of which ask the local cloud for RunTask faults through their container
environment (``LOCALCLOUD_RUNTASK_THROTTLE``, ``LOCALCLOUD_RUNTASK_FAILURE``); an SQS queue subscribed to
the failure topic; and an EventBridge rule that copies the ECS task events to a queue. The deployed
resources are found from the broker stack's outputs (``DescribeStacks``), as an integration test finds
them on AWS.

Each scenario sends real SQS messages built from the sample events (``events/broker/dispatch_task``),
lets the event sources deliver until nothing is left on the virtual clock (backoffs and delays take no
real time; only botocore's own back-off between the attempts of a throttled RunTask call does), and
returns what an observer can see: request records, tasks, dead letters, notices, queue depths and
deliveries. The flow tests (``tests/flows/broker``) assert on these facts; ``run`` narrates them and
checks the headline of each scenario.
"""

import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from localcloud.cloud import LocalCloud

ROOT_STACK = "blueprints"
SAMPLES = Path("events") / "broker" / "dispatch_task"
CONTAINER = "worker"  # the container the sample requests override
RERUN_ATTRIBUTE = "blueprints-rerun"
ENI_TIMEOUT = "Timeout waiting for network interface provisioning to complete."
CONCURRENCY_LIMIT = "You've reached the limit on the number of tasks you can run concurrently"
SETTLE_HORIZON_SECONDS = 6 * 3600.0

# Task definition families (the template's TaskDefinitionPrefix is "broker-") and their RunTask faults.
PLAIN = "broker-cellprofiler"
THROTTLED = "broker-throttled"  # RunTask throttled twice, then fine
OVERLOADED = "broker-overloaded"  # RunTask throttled far beyond the retry limit
CROWDED = "broker-crowded"  # one RunTask answered with the Fargate concurrency failure
FAMILIES: dict[str, dict[str, str]] = {
    PLAIN: {},
    THROTTLED: {"LOCALCLOUD_RUNTASK_THROTTLE": "2"},
    OVERLOADED: {"LOCALCLOUD_RUNTASK_THROTTLE": "1000"},
    CROWDED: {"LOCALCLOUD_RUNTASK_FAILURE": CONCURRENCY_LIMIT, "LOCALCLOUD_RUNTASK_FAILURE_COUNT": "1"},
}


# -- facts ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One SQS record of a request handed to the broker."""

    at: float  # virtual seconds since the scenario started
    attempt: int  # ApproximateReceiveCount
    rerun: str | None  # the blueprints-rerun message attribute
    retried: bool  # reported in batchItemFailures (the message comes back later)
    body: str
    wall_seconds: float  # how long the broker invocation took in real time


@dataclass(frozen=True)
class Task:
    arn: str
    last_status: str
    stop_code: str
    stopped_reason: str
    exit_code: int | None

    @property
    def short(self) -> str:
        return f"task/…/{self.arn.rsplit('/', 1)[-1][:8]}"


@dataclass(frozen=True)
class Request:
    """Everything observable about one request id."""

    request_id: str
    status: str | None  # RequestsTable status (None: no record)
    attempts: int
    reruns: int
    last_error: str | None  # class/code
    recorded_task_arns: frozenset[str]
    tasks: tuple[Task, ...]  # ECS tasks started by the request (ListTasks startedBy)
    deliveries: tuple[Delivery, ...]
    client_tokens: tuple[str, ...]  # distinct RunTask clientTokens, in order of use
    run_task_outcomes: tuple[str, ...]  # per RunTask call (an SDK call with its retries): started/...

    @property
    def gaps(self) -> list[float]:
        """Virtual seconds between consecutive deliveries."""
        times = [delivery.at for delivery in self.deliveries]
        return [round(later - earlier, 3) for earlier, later in itertools.pairwise(times)]


@dataclass(frozen=True)
class Notice:
    request_id: str
    error_class: str
    error_code: str
    message: str
    fields: tuple[str, ...]
    subject: str
    attributes: dict[str, str]


@dataclass(frozen=True)
class DeadLetter:
    request_id: str | None
    body: str
    attributes: dict[str, str]


@dataclass(frozen=True)
class Facts:
    """What one scenario left behind."""

    name: str
    requests: dict[str, Request]
    notices: tuple[Notice, ...]
    dead_letters: tuple[DeadLetter, ...]
    dlq_depth: int  # visible in the DLQ once everything settled
    queue_depth: tuple[int, int]  # request queue: (visible, in flight)
    broker_invocations: int
    batch_sizes: tuple[int, ...]  # records per broker invocation
    reported_failures: int  # batchItemFailures entries over all broker invocations
    rerun_outcomes: tuple[str, ...]  # RerunOnEniTimeoutFunction results
    task_events: tuple[tuple[str, str, str], ...]  # (task ARN, lastStatus, stoppedReason) from the bus
    virtual_seconds: float

    def request(self, request_id: str | None = None) -> Request:
        if request_id is None:
            [only] = self.requests.values()
            return only
        return self.requests[request_id]


# -- the world a user brings --------------------------------------------------------------------------


@dataclass
class BrokerWorld:
    """The deployed broker plus what its users bring, and the means to observe it."""

    cloud: LocalCloud
    outputs: dict[str, str]
    subnet_id: str
    security_group_id: str
    notices_url: str
    task_events_url: str
    samples: Path
    dispatch_settings: dict[str, str]  # the deployed functions' environment (backoff, limits)
    rerun_settings: dict[str, str]
    batching_window: float  # the request queue mapping's MaximumBatchingWindowInSeconds
    _stamps: list[float] = field(default_factory=list)  # virtual time of each runtime call, by index
    _started_at: float = 0.0
    _first_call: int = 0

    @classmethod
    def create(cls, cloud: LocalCloud) -> "BrokerWorld":
        outputs = broker_outputs(cloud)
        subnet_id, security_group_id = create_network(cloud)
        for family, environment in FAMILIES.items():
            register_task_definition(cloud, family, environment)
        notices_url = subscribe_queue(cloud, "broker-flow-notices", outputs["FailureTopicArn"])
        task_events_url = capture_task_events(cloud, "broker-flow-task-events", outputs["ClusterArn"])
        dispatch = outputs["DispatchTaskFunctionName"]
        mapping = cloud.client("lambda").list_event_source_mappings(FunctionName=dispatch)
        return cls(
            cloud,
            outputs,
            subnet_id,
            security_group_id,
            notices_url,
            task_events_url,
            samples=cloud.template.resolve().parent / SAMPLES,
            dispatch_settings=function_environment(cloud, dispatch),
            rerun_settings=function_environment(cloud, outputs["RerunOnEniTimeoutFunctionName"]),
            batching_window=float(mapping["EventSourceMappings"][0].get("MaximumBatchingWindowInSeconds", 0)),
        )

    def retry_gap(self, attempt: int, *, capacity: bool = False) -> tuple[float, float]:
        """The virtual seconds the deployed backoff allows between delivery ``attempt`` and the next:
        a visibility drawn in [delay/2, delay] (§6 of the spec), then the batching window."""
        settings = self.dispatch_settings
        base = int(settings["CAPACITY_BACKOFF_BASE_SECONDS" if capacity else "API_BACKOFF_BASE_SECONDS"])
        delay = min(int(settings["MAX_BACKOFF_SECONDS"]), base * 2 ** (attempt - 1))
        return delay / 2 - 0.5 + self.batching_window, delay + self.batching_window + 0.01

    # -- requests --

    def sample_bodies(self, case: str) -> list[str]:
        """The message bodies of a sample event, with this deployment's cluster, subnet and group."""
        event = json.loads((self.samples / f"{case}.json").read_text())
        return [self.localise(record["body"]) for record in event["Records"]]

    def localise(self, body: str) -> str:
        """Point a sample body at the deployed cluster and the user's network (bodies that are not JSON
        objects are sent as they are: they are the broken ones)."""
        try:
            request = json.loads(body)
        except ValueError:
            return body
        if not isinstance(request, dict):
            return body
        request["cluster"] = self.outputs["ClusterArn"]
        vpc = request.get("networkConfiguration", {}).get("awsvpcConfiguration")
        if vpc is not None:
            if "subnets" in vpc:
                vpc["subnets"] = [self.subnet_id]
            if "securityGroups" in vpc:
                vpc["securityGroups"] = [self.security_group_id]
        return json.dumps(request)

    def send(self, bodies: Iterable[str]) -> None:
        """Producers' SendMessageBatch calls (10 per call)."""
        pending = list(bodies)
        sqs = self.cloud.client("sqs")
        for start in range(0, len(pending), 10):
            entries = [
                {"Id": str(index), "MessageBody": body}
                for index, body in enumerate(pending[start : start + 10])
            ]
            response = sqs.send_message_batch(QueueUrl=self.outputs["RequestQueueUrl"], Entries=entries)
            if response.get("Failed"):
                raise RuntimeError(f"SendMessageBatch failed: {response['Failed']}")

    # -- driving --

    def begin(self) -> None:
        """Start a scenario: forget earlier notices, dead letters and task events; mark the call log."""
        for url in (self.notices_url, self.task_events_url, self.outputs["DeadLetterQueueUrl"]):
            drain(self.cloud, url)
        self._stamp()
        self._first_call = len(self.cloud.calls())
        self._started_at = self.cloud.clock.now()

    def settle(self, horizon: float = SETTLE_HORIZON_SECONDS) -> None:
        """Deliver until idle, like ``run_until_idle(horizon)``, one moment of virtual time at a time so
        that every handler call gets the virtual time it ran at."""
        cloud = self.cloud
        deadline = cloud.clock.now() + horizon
        while True:
            cloud.run_until_idle(0)  # everything due now, without moving the clock
            self._stamp()
            due = cloud.sources.next_due()
            if due is None or due > deadline:
                return
            cloud.clock.advance_to(max(due, cloud.clock.now()))  # fires timers (ECS state changes) due then
            self._stamp()

    def _stamp(self) -> None:
        calls = len(self.cloud.calls())
        self._stamps.extend([self.cloud.clock.now()] * (calls - len(self._stamps)))

    # -- observing --

    def facts(self, name: str, request_ids: Iterable[str]) -> Facts:
        self._stamp()
        calls = list(enumerate(self.cloud.calls()))[self._first_call :]
        dispatch = self.outputs["DispatchTaskFunctionName"]
        rerun = self.outputs["RerunOnEniTimeoutFunctionName"]
        broker_calls = [(index, call) for index, call in calls if call.function_name == dispatch]
        dlq_depth = queue_depth(self.cloud, self.outputs["DeadLetterQueueUrl"])[0]
        return Facts(
            name=name,
            requests={rid: self._request(rid, broker_calls) for rid in request_ids},
            notices=tuple(_notice(message) for message in drain(self.cloud, self.notices_url)),
            dead_letters=tuple(
                _dead_letter(message) for message in drain(self.cloud, self.outputs["DeadLetterQueueUrl"])
            ),
            dlq_depth=dlq_depth,
            queue_depth=queue_depth(self.cloud, self.outputs["RequestQueueUrl"]),
            broker_invocations=len(broker_calls),
            batch_sizes=tuple(len(call.event["Records"]) for _, call in broker_calls),
            reported_failures=sum(len(_reported(call.payload)) for _, call in broker_calls),
            rerun_outcomes=tuple(
                str((call.payload or {}).get("outcome", "error" if call.errored else "none"))
                for _, call in calls
                if call.function_name == rerun
            ),
            task_events=tuple(
                (str(detail["taskArn"]), str(detail["lastStatus"]), str(detail.get("stoppedReason", "")))
                for detail in (
                    json.loads(message["Body"])["detail"]
                    for message in drain(self.cloud, self.task_events_url)
                )
            ),
            virtual_seconds=round(self.cloud.clock.now() - self._started_at, 3),
        )

    def _request(self, request_id: str, broker_calls: list[tuple[int, Any]]) -> Request:
        deliveries = []
        for index, call in broker_calls:
            retried = _reported(call.payload)
            for record in call.event["Records"]:
                if _request_id(record["body"]) != request_id:
                    continue
                rerun = record.get("messageAttributes", {}).get(RERUN_ATTRIBUTE, {}).get("stringValue")
                deliveries.append(
                    Delivery(
                        at=round(self._stamps[index] - self._started_at, 3),
                        attempt=int(record["attributes"]["ApproximateReceiveCount"]),
                        rerun=rerun,
                        retried=record["messageId"] in retried,
                        body=record["body"],
                        wall_seconds=round(call.duration_ms / 1000, 3),
                    )
                )
        item = (
            self.cloud.client("dynamodb")
            .get_item(
                TableName=self.outputs["RequestsTableName"],
                Key={"request_id": {"S": request_id}},
                ConsistentRead=True,
            )
            .get("Item", {})
        )
        error = item.get("last_error", {}).get("M")
        tokens: list[str] = []
        outcomes: dict[str, str] = {}  # by SDK invocation id: the retries of one call are one outcome
        for index, call in enumerate(self.cloud.sources.ecs.run_task_calls):
            if call.started_by != request_id:
                continue
            if call.client_token and call.client_token not in tokens:
                tokens.append(call.client_token)
            outcomes.setdefault(call.invocation_id or str(index), call.fault or "started")
        return Request(
            request_id=request_id,
            status=item.get("status", {}).get("S"),
            attempts=int(item.get("attempts", {}).get("N", "0")),
            reruns=int(item.get("reruns", {}).get("N", "0")),
            last_error=f"{error['class']['S']}/{error['code']['S']}" if error else None,
            recorded_task_arns=frozenset(item.get("task_arns", {}).get("SS", [])),
            tasks=self._tasks(request_id),
            deliveries=tuple(deliveries),
            client_tokens=tuple(tokens),
            run_task_outcomes=tuple(str(outcome) for outcome in outcomes.values()),
        )

    def _tasks(self, request_id: str) -> tuple[Task, ...]:
        ecs = self.cloud.client("ecs")
        cluster = self.outputs["ClusterArn"]
        arns = ecs.list_tasks(cluster=cluster, startedBy=request_id)["taskArns"]
        if not arns:
            return ()
        described = ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"]
        return tuple(
            Task(
                arn=task["taskArn"],
                last_status=task["lastStatus"],
                stop_code=task.get("stopCode", ""),
                stopped_reason=task.get("stoppedReason", ""),
                exit_code=next(
                    (c.get("exitCode") for c in task.get("containers", []) if c.get("name") == CONTAINER),
                    None,
                ),
            )
            for task in sorted(described, key=lambda task: task["createdAt"])
        )


def _reported(payload: Any) -> set[str]:
    failures = payload.get("batchItemFailures", []) if isinstance(payload, dict) else []
    return {str(item.get("itemIdentifier")) for item in failures}


def _request_id(body: str) -> str | None:
    try:
        request = json.loads(body)
    except ValueError:
        return None
    return str(request.get("request_id")) if isinstance(request, dict) else None


def _attributes(message: dict[str, Any]) -> dict[str, str]:
    return {
        name: str(value.get("StringValue")) for name, value in message.get("MessageAttributes", {}).items()
    }


def _notice(message: dict[str, Any]) -> Notice:
    envelope = json.loads(message["Body"])  # SNS's JSON envelope (raw delivery off)
    body = json.loads(envelope["Message"])
    return Notice(
        request_id=str(body["request_id"]),
        error_class=str(body["error_class"]),
        error_code=str(body["error_code"]),
        message=str(body["message"]),
        fields=tuple(str(error["field"]) for error in body.get("errors", [])),
        subject=str(envelope.get("Subject", "")),
        attributes={
            name: str(value["Value"]) for name, value in envelope.get("MessageAttributes", {}).items()
        },
    )


def _dead_letter(message: dict[str, Any]) -> DeadLetter:
    return DeadLetter(_request_id(message["Body"]), message["Body"], _attributes(message))


# -- resources (boto3 calls an integration test would make on AWS) -------------------------------------


def broker_outputs(cloud: LocalCloud) -> dict[str, str]:
    """The broker stack's outputs: the root stack names the nested stack (output BrokerStackName)."""
    cfn = cloud.client("cloudformation")

    def outputs(stack: str) -> dict[str, str]:
        [described] = cfn.describe_stacks(StackName=stack)["Stacks"]
        return {output["OutputKey"]: output["OutputValue"] for output in described.get("Outputs", [])}

    return outputs(outputs(ROOT_STACK)["BrokerStackName"])


def function_environment(cloud: LocalCloud, function_name: str) -> dict[str, str]:
    configuration = cloud.client("lambda").get_function_configuration(FunctionName=function_name)
    return dict(configuration.get("Environment", {}).get("Variables", {}))


def create_network(cloud: LocalCloud) -> tuple[str, str]:
    """A VPC with DNS hostnames (awsvpc tasks need them), one subnet and one security group."""
    ec2 = cloud.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.60.1.0/24", AvailabilityZone="us-east-1a")
    group = ec2.create_security_group(GroupName="broker-tasks", Description="broker tasks", VpcId=vpc_id)
    return str(subnet["Subnet"]["SubnetId"]), str(group["GroupId"])


def register_task_definition(cloud: LocalCloud, family: str, environment: dict[str, str]) -> None:
    cloud.client("ecs").register_task_definition(
        family=family,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="1024",
        memory="4096",
        containerDefinitions=[
            {
                "name": CONTAINER,
                "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/cellprofiler:4.2.6",
                "essential": True,
                "memory": 4096,
                "environment": [{"name": name, "value": value} for name, value in environment.items()],
            }
        ],
    )


def create_queue(cloud: LocalCloud, name: str) -> tuple[str, str]:
    sqs = cloud.client("sqs")
    url = str(sqs.create_queue(QueueName=name)["QueueUrl"])
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, str(arn)


def subscribe_queue(cloud: LocalCloud, name: str, topic_arn: str) -> str:
    url, arn = create_queue(cloud, name)
    cloud.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return url


def capture_task_events(cloud: LocalCloud, name: str, cluster_arn: str) -> str:
    """An EventBridge rule copying the cluster's ECS task state changes to a queue."""
    url, arn = create_queue(cloud, name)
    events = cloud.client("events")
    pattern = {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
        "detail": {"clusterArn": [cluster_arn]},
    }
    events.put_rule(Name=name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])
    return url


def drain(cloud: LocalCloud, url: str) -> list[dict[str, Any]]:
    """Every visible message of a queue, deleted as read."""
    sqs = cloud.client("sqs")
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            return messages
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        messages.extend(batch)


def queue_depth(cloud: LocalCloud, url: str) -> tuple[int, int]:
    """(visible, in flight)."""
    attributes = cloud.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


# -- scenarios -------------------------------------------------------------------------------------------


def _with(body: str, *, request_id: str | None = None, family: str | None = None, **env: str) -> str:
    """A JSON body with another request id, task definition family or container environment."""
    request = json.loads(body)
    if request_id is not None:
        request["request_id"] = request_id
    if family is not None:
        request["taskDefinition"] = f"{family}:1"
    for override in request.get("overrides", {}).get("containerOverrides", []):
        if override["name"] == CONTAINER and env:
            override.setdefault("environment", []).extend({"name": k, "value": v} for k, v in env.items())
    return json.dumps(request)


def _run(world: BrokerWorld, name: str, bodies: list[str]) -> Facts:
    world.begin()
    world.send(bodies)
    world.settle()
    request_ids = dict.fromkeys(rid for rid in map(_request_id, bodies) if rid is not None)
    return world.facts(name, request_ids)


def valid_request(world: BrokerWorld) -> Facts:
    """a. A valid request starts one task, which runs and exits 0."""
    return _run(world, "valid request", world.sample_bodies("valid_request"))


def invalid_requests(world: BrokerWorld) -> Facts:
    """b. A request without subnets and one naming an unknown container: rejected, nothing started."""
    bodies = world.sample_bodies("missing_subnets") + world.sample_bodies("unknown_container")
    return _run(world, "invalid requests", bodies)


def throttled_request(world: BrokerWorld) -> Facts:
    """c. RunTask throttled on the first two attempts: retried through visibility, started on the third."""
    [body] = world.sample_bodies("valid_request")
    request = _with(body, request_id="cp-2024-11-25-plate7-site3-throttled", family=THROTTLED)
    return _run(world, "throttled RunTask", [request])


def retry_limit(world: BrokerWorld) -> Facts:
    """d. RunTask throttled on every attempt: the broker gives up after the retry limit."""
    [body] = world.sample_bodies("retry_limit_exceeded")
    return _run(world, "retry limit", [_with(body, family=OVERLOADED)])


def capacity_failure(world: BrokerWorld) -> Facts:
    """e. RunTask answers the Fargate concurrency failure once: retried with the capacity backoff."""
    [body] = world.sample_bodies("capacity_provider")
    return _run(world, "capacity failure", [_with(body, family=CROWDED)])


def eni_timeout(world: BrokerWorld) -> Facts:
    """f. Every task stops on an ENI provisioning timeout: re-runs of the stored request, then a notice."""
    [body] = world.sample_bodies("valid_request")
    request = _with(body, request_id="cp-2024-11-25-plate7-site3-eni", LOCALCLOUD_STOPPED_REASON=ENI_TIMEOUT)
    return _run(world, "ENI timeout re-run", [request])


def batch_with_invalid(world: BrokerWorld) -> Facts:
    """g. One batch of ten requests, three of them invalid."""
    return _run(world, "batch of ten", world.sample_bodies("batch_with_invalid"))


def duplicate_delivery(world: BrokerWorld) -> Facts:
    """h. The same request sent twice (a producer retry, or SQS delivering twice): one task."""
    [body] = world.sample_bodies("valid_request")
    request = _with(body, request_id="cp-2024-11-25-plate7-site3-twice")
    return _run(world, "duplicate delivery", [request, request])


# -- the demo ------------------------------------------------------------------------------------------

Check = tuple[str, bool]


def _within(value: float, window: tuple[float, float]) -> bool:
    return window[0] <= value <= window[1]


def _seconds(values: list[float]) -> str:
    return " and ".join(f"{value:.0f}s" for value in values)


def _span(window: tuple[float, float]) -> str:
    return f"{window[0]:g}-{window[1]:.0f}s"


def _checks_valid(world: BrokerWorld, facts: Facts) -> list[Check]:
    request = facts.request()
    [task] = request.tasks or [None]
    return [
        ("exactly one task", len(request.tasks) == 1),
        (
            "record SUBMITTED with the task ARN",
            request.status == "SUBMITTED" and task is not None and request.recorded_task_arns == {task.arn},
        ),
        (
            "task STOPPED with exit 0",
            task is not None and (task.last_status, task.exit_code) == ("STOPPED", 0),
        ),
        ("request queue empty", facts.queue_depth == (0, 0)),
        ("no re-run for a normal stop", facts.rerun_outcomes == ()),
    ]


def _checks_invalid(world: BrokerWorld, facts: Facts) -> list[Check]:
    fields = sorted(field for notice in facts.notices for field in notice.fields)
    return [
        ("nothing started", all(not request.tasks for request in facts.requests.values())),
        (
            "one notice each, naming the field",
            fields
            == ["networkConfiguration.awsvpcConfiguration.subnets", "overrides.containerOverrides[0].name"],
        ),
        (
            "one dead letter each, error_class=Invalid",
            [letter.attributes.get("error_class") for letter in facts.dead_letters] == ["Invalid", "Invalid"],
        ),
        ("not retried", all(len(request.deliveries) == 1 for request in facts.requests.values())),
    ]


def _checks_throttled(world: BrokerWorld, facts: Facts) -> list[Check]:
    request = facts.request()
    gaps = request.gaps
    windows = [world.retry_gap(1), world.retry_gap(2)]
    return [
        ("three deliveries", [delivery.attempt for delivery in request.deliveries] == [1, 2, 3]),
        (
            f"growing gaps {_seconds(gaps)}, within {' then '.join(map(_span, windows))}",
            len(gaps) == 2 and all(_within(gap, window) for gap, window in zip(gaps, windows, strict=True)),
        ),
        ("one task in the end", len(request.tasks) == 1 and request.status == "SUBMITTED"),
        ("no notice, no dead letter", not facts.notices and not facts.dead_letters),
    ]


def _checks_retry_limit(world: BrokerWorld, facts: Facts) -> list[Check]:
    request = facts.request()
    limit = int(world.dispatch_settings["RETRY_LIMIT"])
    causes = [(notice.error_class, notice.error_code) for notice in facts.notices]
    return [
        (
            f"{limit + 1} deliveries, nothing started",
            len(request.deliveries) == limit + 1 and not request.tasks,
        ),
        ("in the DLQ exactly once", facts.dlq_depth == 1 and len(facts.dead_letters) == 1),
        (
            "RetryLimitExceeded notice, root cause ThrottlingException",
            causes == [("RetryLimitExceeded", "ThrottlingException")],
        ),
        ("record FAILED", request.status == "FAILED"),
    ]


def _checks_capacity(world: BrokerWorld, facts: Facts) -> list[Check]:
    request = facts.request()
    window = world.retry_gap(1, capacity=True)
    return [
        ("retried once", [delivery.attempt for delivery in request.deliveries] == [1, 2]),
        (
            f"capacity backoff {_seconds(request.gaps)}, within {_span(window)}",
            len(request.gaps) == 1 and _within(request.gaps[0], window),
        ),
        ("one task in the end", len(request.tasks) == 1 and request.status == "SUBMITTED"),
    ]


def _checks_eni(world: BrokerWorld, facts: Facts) -> list[Check]:
    request = facts.request()
    reruns = int(world.rerun_settings["MAX_ENI_RERUNS"])
    return [
        (
            f"re-run {reruns} times with new client tokens",
            [delivery.rerun for delivery in request.deliveries] == [None, *map(str, range(1, reruns + 1))]
            and len(set(request.client_tokens)) == reruns + 1,
        ),
        ("the stored original body each time", len({delivery.body for delivery in request.deliveries}) == 1),
        (
            f"{reruns + 1} tasks, all stopped on the ENI timeout",
            len(request.tasks) == reruns + 1
            and all(task.stopped_reason == ENI_TIMEOUT for task in request.tasks),
        ),
        (
            "EniTimeout notice, record FAILED",
            [notice.error_class for notice in facts.notices] == ["EniTimeout"] and request.status == "FAILED",
        ),
    ]


def _checks_batch(world: BrokerWorld, facts: Facts) -> list[Check]:
    started = sum(len(request.tasks) for request in facts.requests.values())
    return [
        ("one invocation with ten records", facts.batch_sizes == (10,)),
        ("seven tasks", started == 7),
        (
            "three dead letters, error_class=Invalid",
            [letter.attributes.get("error_class") for letter in facts.dead_letters] == ["Invalid"] * 3,
        ),
        ("nothing reported for retry", facts.reported_failures == 0),
    ]


def _checks_duplicate(world: BrokerWorld, facts: Facts) -> list[Check]:
    request = facts.request()
    return [
        ("delivered twice", len(request.deliveries) == 2),
        ("one task", len(request.tasks) == 1 and request.status == "SUBMITTED"),
        ("no notice, no dead letter", not facts.notices and not facts.dead_letters),
    ]


@dataclass(frozen=True)
class Scenario:
    title: str
    sends: str
    play: Callable[[BrokerWorld], Facts]
    checks: Callable[[BrokerWorld, Facts], list[Check]]


SCENARIOS = (
    Scenario("a valid request starts one task", "valid_request.json", valid_request, _checks_valid),
    Scenario(
        "invalid requests are rejected, not retried",
        "missing_subnets.json and unknown_container.json",
        invalid_requests,
        _checks_invalid,
    ),
    Scenario(
        "a throttled RunTask is retried through visibility",
        f"valid_request.json on {THROTTLED} (LOCALCLOUD_RUNTASK_THROTTLE=2)",
        throttled_request,
        _checks_throttled,
    ),
    Scenario(
        "the retry limit sends the request to the DLQ",
        f"retry_limit_exceeded.json on {OVERLOADED} (RunTask always throttled)",
        retry_limit,
        _checks_retry_limit,
    ),
    Scenario(
        "a capacity failure waits longer",
        f"capacity_provider.json on {CROWDED} (failures[]: the concurrency limit, once)",
        capacity_failure,
        _checks_capacity,
    ),
    Scenario(
        "an ENI timeout re-runs the stored request",
        f"valid_request.json with LOCALCLOUD_STOPPED_REASON={ENI_TIMEOUT!r}",
        eni_timeout,
        _checks_eni,
    ),
    Scenario(
        "a batch of ten with three bad requests", "batch_with_invalid.json", batch_with_invalid, _checks_batch
    ),
    Scenario(
        "a duplicate delivery starts one task",
        "valid_request.json twice",
        duplicate_delivery,
        _checks_duplicate,
    ),
)


def narrate(facts: Facts) -> Iterator[str]:
    """What happened, in words (one line per request when there are many)."""
    states: dict[str, list[str]] = {}
    for arn, status, _ in facts.task_events:
        states.setdefault(arn, []).append(status)
    compact = len(facts.requests) > 2
    for request in facts.requests.values():
        last = f", last error {request.last_error}" if request.last_error else ""
        record = f"record {request.status}, {request.attempts} attempt(s), {request.reruns} re-run(s){last}"
        if compact:
            tasks = ", ".join(f"{task.short} {task.last_status}" for task in request.tasks) or "no task"
            yield f"{request.request_id}: {len(request.deliveries)} delivery, {tasks}, {record}"
            continue
        yield f"request {request.request_id}"
        for delivery in request.deliveries:
            rerun = f" (re-run {delivery.rerun})" if delivery.rerun else ""
            verdict = "failed, back on the queue" if delivery.retried else "done"
            yield f"  t+{delivery.at:6.1f}s  delivery {delivery.attempt}{rerun}: {verdict}"
        for task in request.tasks:
            code = "" if task.exit_code is None else f", exit {task.exit_code}"
            events = " > ".join(states.get(task.arn, [])) or "no events"
            yield f"  {task.short}: {events} ({task.stop_code}{code})"
        yield f"  {record}"
    for notice in facts.notices:
        fields = f" naming {', '.join(notice.fields)}" if notice.fields else ""
        yield f"notice {notice.error_class}/{notice.error_code} for {notice.request_id}{fields}"
    for letter in facts.dead_letters:
        attributes = ", ".join(f"{name}={value}" for name, value in sorted(letter.attributes.items()))
        yield f"dead letter {letter.request_id or '(no request id)'}: {attributes}"
    if facts.rerun_outcomes:
        yield f"ENI re-run function: {', '.join(facts.rerun_outcomes)}"
    visible, in_flight = facts.queue_depth
    yield (
        f"broker invoked {facts.broker_invocations}x; DLQ depth {facts.dlq_depth}; request queue "
        f"{visible} visible, {in_flight} in flight; {facts.virtual_seconds:.0f}s virtual"
    )


def run(cloud: LocalCloud, out: TextIO) -> bool:
    """``localcloud demo broker``: every scenario, one after the other, on one freshly deployed cloud."""

    def say(line: str = "") -> None:
        out.write(line + "\n")
        out.flush()

    world = BrokerWorld.create(cloud)
    cluster = world.outputs["ClusterArn"].rsplit("/", 1)[-1]
    say(f"broker outputs from DescribeStacks; cluster {cluster}")
    say(f"brought by the user: {world.subnet_id}, {world.security_group_id}, {', '.join(FAMILIES)}")
    summary: list[str] = []
    for number, scenario in enumerate(SCENARIOS, start=1):
        say()
        say(f"{number}. {scenario.title}")
        say(f"   sends {scenario.sends}")
        facts = scenario.play(world)
        for line in narrate(facts):
            say(f"   {line}")
        checks = scenario.checks(world, facts)
        for claim, held in checks:
            say(f"   {'ok  ' if held else 'FAIL'} {claim}")
        verdict = "PASS" if all(held for _, held in checks) else "FAIL"
        summary.append(f"{verdict} {number}. {scenario.title} ({facts.virtual_seconds:.0f}s virtual)")
    say()
    for line in summary:
        say(line)
    return all(line.startswith("PASS") for line in summary)
