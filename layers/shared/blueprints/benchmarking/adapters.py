"""boto3 adapters of the benchmarking blueprint. Each takes an optional client (tests inject moto-backed
or Stubber-wrapped ones) and otherwise uses the shared factory. AWS errors become typed errors here."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from blueprints.benchmarking.errors import (
    CollectionThrottledError,
    PriceListUnavailableError,
    SpotPriceMissingError,
)
from blueprints.benchmarking.ports import (
    ComputeEnvironmentInfo,
    FileSystemInfo,
    InstanceInfo,
    JobAttempt,
    JobInfo,
    TaskInfo,
    VolumeInfo,
)
from blueprints.benchmarking.prices import SPOT_PRODUCT, PriceQuery, SpotPoint, UnitPrice
from blueprints.benchmarking.timing import Interval, from_epoch_ms
from blueprints.core.aws import client as aws_client
from blueprints.core.aws import client_config
from blueprints.genomics.records import COST_ATTRIBUTES  # what a re-cost removes

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ecs import ECSClient

THROTTLING = frozenset(
    {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"}
)
DESCRIBE_JOBS_LIMIT = 100
DESCRIBE_CONTAINER_INSTANCES_LIMIT = 100
_DESERIALIZER = TypeDeserializer()
_SERIALIZER = TypeSerializer()


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _throttled(exc: ClientError, what: str) -> Exception:
    if _code(exc) in THROTTLING:
        return CollectionThrottledError(f"{what}: {_code(exc)}")
    return exc


def _chunks(values: Sequence[str], size: int) -> Iterator[list[str]]:
    for index in range(0, len(values), size):
        yield list(values[index : index + size])


def plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as Python values (numbers stay ``Decimal``, sets become sorted lists)."""

    def convert(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: convert(inner) for key, inner in value.items()}
        if isinstance(value, list):
            return [convert(inner) for inner in value]
        if isinstance(value, set | frozenset):
            return sorted(convert(inner) for inner in value)
        return value

    return {name: convert(_DESERIALIZER.deserialize(value)) for name, value in item.items()}


# -- launch table ---------------------------------------------------------------------------------------


class LaunchTable:
    """Reads of the genomics launch table, and the re-cost request. The cost itself is written only by
    the state machine's ASL ``UpdateItem``."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        if self._client is None:
            self._client = aws_client("dynamodb")
        return self._client

    def launch(self, launch_id: str) -> dict[str, Any] | None:
        found = self.client.get_item(
            TableName=self.table_name, Key={"launch_id": {"S": launch_id}}, ConsistentRead=True
        ).get("Item")
        return plain(found) if found else None

    def reset_cost(
        self, launch_id: str, *, requested_by: str, now: str, owner: str | None = None
    ) -> dict[str, Any] | None:
        """Remove the cost of a finished launch so that the pipe costs it again (the item matches its
        filter once more). Without ``owner``: only when its costing is over (COSTED, FAILED, UNSUPPORTED)
        or never started. With ``owner``: the costing under way of that execution (abandoned: the caller
        checked), and only while it still owns the item. None when the condition held; otherwise the item
        as it was (``{}`` when there is none), for the caller to say why."""
        names = {f"#c{index}": name for index, name in enumerate(COST_ATTRIBUTES)}
        names.update({"#status": "status", "#costStatus": "costStatus"})
        values: dict[str, Any] = {
            ":now": {"S": now},
            ":by": {"S": requested_by},
            ":complete": {"S": "COMPLETE"},
            ":failed": {"S": "FAILED"},
        }
        if owner is None:
            costing = "(attribute_not_exists(#costStatus) OR #costStatus IN (:costed, :failed, :unsupported))"
            values.update({":costed": {"S": "COSTED"}, ":unsupported": {"S": "UNSUPPORTED"}})
        else:
            costing = "#costStatus IN (:inProgress, :pending) AND #costOwner = :owner"
            names["#costOwner"] = "costOwner"
            values.update(
                {":inProgress": {"S": "IN_PROGRESS"}, ":pending": {"S": "PENDING"}, ":owner": {"S": owner}}
            )
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"launch_id": {"S": launch_id}},
                UpdateExpression="SET costResetAt = :now, costResetBy = :by REMOVE "
                + ", ".join(f"#c{index}" for index in range(len(COST_ATTRIBUTES))),
                ConditionExpression=(
                    f"attribute_exists(launch_id) AND #status IN (:complete, :failed) AND {costing}"
                ),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise
            old: dict[str, Any] = dict(exc.response.get("Item") or {})  # type: ignore[call-overload]
            return plain(old)
        return None

    def by_workflow(
        self, workflow_type: str, start: str, end: str, *, limit: int
    ) -> tuple[list[dict[str, Any]], bool]:
        """Launches of one workflow type created in ``[start, end]`` (index ``workflow_type-created_at``);
        at most ``limit`` items, and whether more were left out."""
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": "workflow_type-created_at",
            "KeyConditionExpression": "workflow_type = :w AND created_at BETWEEN :start AND :end",
            "ExpressionAttributeValues": {
                ":w": {"S": workflow_type},
                ":start": {"S": start},
                ":end": {"S": end},
            },
        }
        items: list[dict[str, Any]] = []
        while True:
            response = self.client.query(**request)
            items.extend(plain(item) for item in response.get("Items", []))
            last = response.get("LastEvaluatedKey")
            if not last:
                return items[:limit], len(items) > limit
            if len(items) >= limit:
                return items[:limit], True
            request["ExclusiveStartKey"] = last


class CostingExecutions:
    """The status of a costing execution (``DescribeExecution``): whether a costing under way is alive."""

    def __init__(self, client: Any = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("stepfunctions")
        return self._client

    def status(self, execution_arn: str) -> str | None:
        """RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED...; None when it does not exist (any more)."""
        try:
            return str(self.client.describe_execution(executionArn=execution_arn)["status"])
        except ClientError as exc:
            if _code(exc) in ("ExecutionDoesNotExist", "InvalidArn"):
                return None
            raise


# -- collection -------------------------------------------------------------------------------------------


class BatchAdapter:
    def __init__(self, client: Any = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("batch")
        return self._client

    def jobs(self, job_ids: Sequence[str]) -> list[JobInfo]:
        found: list[JobInfo] = []
        for chunk in _chunks(list(job_ids), DESCRIBE_JOBS_LIMIT):
            try:
                response = self.client.describe_jobs(jobs=chunk)
            except ClientError as exc:
                raise _throttled(exc, "DescribeJobs") from exc
            found.extend(_job(job) for job in response.get("jobs", []))
        return found

    def tagged_job_ids(self, job_queue: str, tags: Mapping[str, str], created_after: datetime) -> list[str]:
        """The jobs of ``job_queue`` created after ``created_after`` (``ListJobs``, every status, all pages)
        that carry every one of ``tags`` (``DescribeJobs``, 100 at a time)."""
        after = str(int(created_after.timestamp() * 1000))
        request: dict[str, Any] = {
            "jobQueue": job_queue,
            "filters": [{"name": "AFTER_CREATED_AT", "values": [after]}],
        }
        listed: list[str] = []
        try:
            while True:
                response = self.client.list_jobs(**request)
                listed.extend(str(job["jobId"]) for job in response.get("jobSummaryList", []))
                token = response.get("nextToken")
                if not token:
                    break
                request["nextToken"] = token
            found: list[str] = []
            for chunk in _chunks(listed, DESCRIBE_JOBS_LIMIT):
                for job in self.client.describe_jobs(jobs=chunk).get("jobs", []):
                    carried = job.get("tags") or {}
                    if all(carried.get(key) == value for key, value in tags.items()):
                        found.append(str(job["jobId"]))
        except ClientError as exc:
            raise _throttled(exc, "ListJobs") from exc
        return found

    def environment(self, job_queue: str) -> ComputeEnvironmentInfo | None:
        try:
            queues = self.client.describe_job_queues(jobQueues=[job_queue]).get("jobQueues", [])
            if not queues:
                return None
            order = sorted(
                queues[0].get("computeEnvironmentOrder", []), key=lambda item: item.get("order", 0)
            )
            if not order:
                return None
            environments = self.client.describe_compute_environments(
                computeEnvironments=[order[0]["computeEnvironment"]]
            ).get("computeEnvironments", [])
        except ClientError as exc:
            raise _throttled(exc, "DescribeJobQueues") from exc
        if not environments:
            return None
        environment = environments[0]
        kind = str((environment.get("computeResources") or {}).get("type") or environment.get("type") or "")
        return ComputeEnvironmentInfo(
            arn=str(environment.get("computeEnvironmentArn", "")),
            kind=kind.upper(),
            ecs_cluster_arn=str(environment.get("ecsClusterArn", "")),
        )


def _ms(value: Any) -> datetime | None:
    return from_epoch_ms(int(value)) if value else None


def _job(job: Mapping[str, Any]) -> JobInfo:
    attempts = [
        JobAttempt(
            container_instance_arn=str((attempt.get("container") or {}).get("containerInstanceArn") or ""),
            task_arn=str((attempt.get("container") or {}).get("taskArn") or ""),
            started_at=_ms(attempt.get("startedAt")),
            stopped_at=_ms(attempt.get("stoppedAt")),
        )
        for attempt in job.get("attempts") or []
    ]
    container = job.get("container") or {}
    if not attempts and job.get("startedAt"):
        attempts.append(
            JobAttempt(
                container_instance_arn=str(container.get("containerInstanceArn") or ""),
                task_arn=str(container.get("taskArn") or ""),
                started_at=_ms(job.get("startedAt")),
                stopped_at=_ms(job.get("stoppedAt")),
            )
        )
    requirements = {
        item.get("type"): item.get("value") for item in container.get("resourceRequirements") or []
    }
    vcpu = requirements.get("VCPU") or container.get("vcpus")
    memory = requirements.get("MEMORY") or container.get("memory")
    return JobInfo(
        job_id=str(job["jobId"]),
        job_queue=str(job.get("jobQueue", "")),
        attempts=tuple(attempts),
        vcpu=Decimal(str(vcpu)) if vcpu is not None else None,
        memory_mib=int(memory) if memory is not None else None,
        architecture=str((container.get("runtimePlatform") or {}).get("cpuArchitecture") or ""),
    )


class EcsAdapter:
    def __init__(self, client: ECSClient | None = None) -> None:
        self._client = client
        self._architectures: dict[str, str] = {}

    @property
    def client(self) -> ECSClient:
        if self._client is None:
            self._client = aws_client("ecs")
        return self._client

    def ec2_instance_ids(self, cluster: str, container_instance_arns: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in _chunks(list(container_instance_arns), DESCRIBE_CONTAINER_INSTANCES_LIMIT):
            try:
                response = self.client.describe_container_instances(cluster=cluster, containerInstances=chunk)
            except ClientError as exc:
                if _code(exc) == "ClusterNotFoundException":
                    return found
                raise _throttled(exc, "DescribeContainerInstances") from exc
            for instance in response.get("containerInstances", []):
                if instance.get("ec2InstanceId"):
                    found[str(instance["containerInstanceArn"])] = str(instance["ec2InstanceId"])
        return found

    def task(self, cluster: str, task_arn: str) -> TaskInfo | None:
        try:
            tasks = self.client.describe_tasks(cluster=cluster, tasks=[task_arn]).get("tasks", [])
        except ClientError as exc:
            if _code(exc) == "ClusterNotFoundException":
                return None
            raise _throttled(exc, "DescribeTasks") from exc
        if not tasks:
            return None
        task: Mapping[str, Any] = tasks[0]
        ephemeral = (task.get("ephemeralStorage") or {}).get("sizeInGiB")
        return TaskInfo(
            task_arn=task_arn,
            cpu=str(task.get("cpu") or ""),
            memory=str(task.get("memory") or ""),
            ephemeral_gib=int(ephemeral) if ephemeral is not None else None,
            capacity_provider=str(task.get("capacityProviderName") or ""),
            launch_type=str(task.get("launchType") or ""),
            task_definition_arn=str(task.get("taskDefinitionArn") or ""),
            pull_started_at=task.get("pullStartedAt"),
            started_at=task.get("startedAt"),
            stopped_at=task.get("stoppedAt"),
        )

    def architecture(self, task_definition: str) -> str:
        """The task definition's ``runtimePlatform.cpuArchitecture`` (ECS's default X86_64 if none)."""
        if task_definition not in self._architectures:
            try:
                described = self.client.describe_task_definition(taskDefinition=task_definition)
            except ClientError as exc:
                raise _throttled(exc, "DescribeTaskDefinition") from exc
            platform: Mapping[str, Any] = described["taskDefinition"].get("runtimePlatform") or {}
            self._architectures[task_definition] = str(platform.get("cpuArchitecture") or "X86_64")
        return self._architectures[task_definition]


class Ec2Adapter:
    def __init__(self, client: Any = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("ec2")
        return self._client

    def instances(self, instance_ids: Sequence[str]) -> dict[str, InstanceInfo]:
        """By filter, so an id that no longer exists is simply absent (``InstanceIds`` would fail all)."""
        found: dict[str, InstanceInfo] = {}
        if not instance_ids:
            return found
        try:
            pages = self.client.get_paginator("describe_instances").paginate(
                Filters=[{"Name": "instance-id", "Values": list(instance_ids)}]
            )
            for page in pages:
                for reservation in page.get("Reservations", []):
                    for instance in reservation.get("Instances", []):
                        found[str(instance["InstanceId"])] = InstanceInfo(
                            instance_id=str(instance["InstanceId"]),
                            instance_type=str(instance["InstanceType"]),
                            spot=instance.get("InstanceLifecycle") == "spot",
                            availability_zone=str(
                                (instance.get("Placement") or {}).get("AvailabilityZone", "")
                            ),
                            state=str((instance.get("State") or {}).get("Name", "")),
                        )
        except ClientError as exc:
            raise _throttled(exc, "DescribeInstances") from exc
        return found

    def volumes(self, instance_ids: Sequence[str]) -> list[VolumeInfo]:
        found: list[VolumeInfo] = []
        if not instance_ids:
            return found
        wanted = set(instance_ids)
        try:
            pages = self.client.get_paginator("describe_volumes").paginate(
                Filters=[{"Name": "attachment.instance-id", "Values": sorted(wanted)}]
            )
            for page in pages:
                for volume in page.get("Volumes", []):
                    attached = [
                        str(item["InstanceId"])
                        for item in volume.get("Attachments", [])
                        if item.get("InstanceId") in wanted
                    ]
                    found.extend(
                        VolumeInfo(
                            volume_id=str(volume["VolumeId"]),
                            instance_id=instance_id,
                            volume_type=str(volume.get("VolumeType", "")),
                            size_gib=int(volume.get("Size", 0)),
                            iops=int(volume["Iops"]) if volume.get("Iops") is not None else None,
                            throughput_mibps=int(volume["Throughput"]) if volume.get("Throughput") else None,
                        )
                        for instance_id in attached[:1]
                    )
        except ClientError as exc:
            raise _throttled(exc, "DescribeVolumes") from exc
        return found


class FsxAdapter:
    def __init__(self, client: Any = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("fsx")
        return self._client

    def file_system(self, file_system_id: str) -> FileSystemInfo | None:
        try:
            systems = self.client.describe_file_systems(FileSystemIds=[file_system_id]).get("FileSystems", [])
        except ClientError as exc:
            if _code(exc) == "FileSystemNotFound":
                return None
            raise _throttled(exc, "DescribeFileSystems") from exc
        if not systems:
            return None
        system = systems[0]
        lustre = system.get("LustreConfiguration") or {}
        throughput = lustre.get("PerUnitStorageThroughput")
        return FileSystemInfo(
            file_system_id=file_system_id,
            deployment_type=str(lustre.get("DeploymentType", "")),
            storage_gib=int(system.get("StorageCapacity", 0)),
            per_unit_throughput=int(throughput) if throughput is not None else None,
            created_at=system.get("CreationTime"),
        )


# -- prices -----------------------------------------------------------------------------------------------


class PriceListApi:
    """GetProducts, paginated, from a Price List endpoint Region (us-east-1, eu-central-1, ap-south-1)."""

    def __init__(self, region: str, client: Any = None) -> None:
        self.region = region
        self._client = client
        self.calls = 0

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # the Price List endpoint's own Region, not the workload's

            self._client = boto3.session.Session().client(
                "pricing", region_name=self.region, config=client_config()
            )
        return self._client

    def products(self, query: PriceQuery) -> list[str]:
        documents: list[str] = []
        request: dict[str, Any] = {
            "ServiceCode": query.service_code,
            "Filters": query.api_filters(),
            "FormatVersion": "aws_v1",
            "MaxResults": 100,
        }
        try:
            while True:
                self.calls += 1
                response = self.client.get_products(**request)
                documents.extend(response.get("PriceList", []))
                token = response.get("NextToken")
                if not token:
                    return documents
                request["NextToken"] = token
        except ClientError as exc:
            if _code(exc) == "NotFoundException":
                return []
            raise PriceListUnavailableError(f"GetProducts {query.label}: {_code(exc)}") from exc
        except BotoCoreError as exc:
            raise PriceListUnavailableError(f"GetProducts {query.label}: {type(exc).__name__}") from exc


class SpotPriceHistoryApi:
    def __init__(self, client: Any = None) -> None:
        self._client = client
        self.calls = 0

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("ec2")
        return self._client

    def history(self, instance_type: str, zone: str, window: Interval) -> list[SpotPoint]:
        """The price in effect at the window's start and every change inside it (all pages)."""
        points: list[SpotPoint] = []
        request: dict[str, Any] = {
            "InstanceTypes": [instance_type],
            "ProductDescriptions": [SPOT_PRODUCT],
            "AvailabilityZone": zone,
            "StartTime": window.start,
            "EndTime": window.end,
        }
        try:
            while True:
                self.calls += 1
                response = self.client.describe_spot_price_history(**request)
                points.extend(
                    SpotPoint(row["Timestamp"].astimezone(UTC), Decimal(str(row["SpotPrice"])))
                    for row in response.get("SpotPriceHistory", [])
                    if row.get("InstanceType") == instance_type
                    and row.get("AvailabilityZone") == zone
                    and row.get("ProductDescription") == SPOT_PRODUCT
                )
                token = response.get("NextToken")
                if not token:
                    return sorted(set(points))
                request["NextToken"] = token
        except (ClientError, BotoCoreError) as exc:
            raise SpotPriceMissingError(f"DescribeSpotPriceHistory {instance_type} {zone}: {exc}") from exc


class DynamoPriceCache:
    """``PricingCacheTable``: key ``cache_key``, TTL attribute ``expires_at`` (epoch seconds). Expired
    items are misses even before DynamoDB's TTL deletes them."""

    def __init__(self, table_name: str, ttl: timedelta, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self.ttl = ttl
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        if self._client is None:
            self._client = aws_client("dynamodb")
        return self._client

    def _fresh(self, item: Mapping[str, Any], now: datetime) -> bool:
        return int(item.get("expires_at", 0)) > int(now.timestamp())

    def get_price(self, key: str, now: datetime) -> UnitPrice | None:
        found = self.client.get_item(TableName=self.table_name, Key={"cache_key": {"S": key}}).get("Item")
        if not found:
            return None
        item = plain(found)
        if not self._fresh(item, now):
            return None
        return UnitPrice(
            usd=Decimal(str(item["price"])),
            unit=str(item["unit"]),
            sku=str(item.get("sku", "")),
            effective_date=str(item.get("effective_date", "")),
            publication=str(item.get("publication", "")),
            cached=True,
        )

    def put_price(self, key: str, query: PriceQuery, price: UnitPrice, now: datetime) -> None:
        values = {
            "cache_key": key,
            "kind": "price",
            "service_code": query.service_code,
            "filters": json.dumps(sorted(query.filters)),
            "price": str(price.usd),
            "unit": price.unit,
            "sku": price.sku,
            "effective_date": price.effective_date,
            "publication": price.publication,
            "fetched_at": now.isoformat(),
            "expires_at": int((now + self.ttl).timestamp()),
        }
        self.client.put_item(
            TableName=self.table_name,
            Item={name: _SERIALIZER.serialize(value) for name, value in values.items()},
        )

    def get_spot_hours(self, keys: Sequence[str], now: datetime) -> dict[str, list[SpotPoint]]:
        found: dict[str, list[SpotPoint]] = {}
        for chunk in _chunks(list(keys), 100):
            request: dict[str, Any] = {
                self.table_name: {"Keys": [{"cache_key": {"S": key}} for key in chunk]}
            }
            while request:
                response = self.client.batch_get_item(RequestItems=request)
                for raw in response.get("Responses", {}).get(self.table_name, []):
                    item = plain(raw)
                    if self._fresh(item, now):
                        found[str(item["cache_key"])] = [
                            SpotPoint(datetime.fromisoformat(point["at"]), Decimal(str(point["price"])))
                            for point in item.get("points", [])
                        ]
                request = dict(response.get("UnprocessedKeys") or {})
        return found

    def put_spot_hours(self, hours: Mapping[str, list[SpotPoint]], now: datetime) -> None:
        expires = int((now + self.ttl).timestamp())
        items = [
            {
                "cache_key": key,
                "kind": "spot",
                "points": [{"at": point.at.isoformat(), "price": str(point.usd)} for point in points],
                "fetched_at": now.isoformat(),
                "expires_at": expires,
            }
            for key, points in hours.items()
        ]
        for index in range(0, len(items), 25):
            requests: Any = {
                self.table_name: [
                    {
                        "PutRequest": {
                            "Item": {name: _SERIALIZER.serialize(value) for name, value in item.items()}
                        }
                    }
                    for item in items[index : index + 25]
                ]
            }
            while requests:
                requests = self.client.batch_write_item(RequestItems=requests).get("UnprocessedItems") or None


class S3AuditStore:
    """The line items of each costing as JSON (``cost_inputs_uri``), encrypted by the bucket's key."""

    def __init__(self, bucket: str, client: Any = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("s3")
        return self._client

    def put(self, key: str, document: dict[str, Any]) -> str:
        body = json.dumps(document, indent=1, sort_keys=True).encode()
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")
        return f"s3://{self.bucket}/{key}"
