"""What the benchmarking domain needs from AWS (implemented in ``adapters``; tests use fakes)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from blueprints.benchmarking.prices import PriceQuery, SpotPoint, UnitPrice
from blueprints.benchmarking.timing import Interval


@dataclass(frozen=True)
class JobAttempt:
    """Where and when one Batch job attempt ran (``DescribeJobs`` ``attempts[]`` or the job itself)."""

    container_instance_arn: str = ""
    task_arn: str = ""
    started_at: datetime | None = None
    stopped_at: datetime | None = None


@dataclass(frozen=True)
class JobInfo:
    job_id: str
    job_queue: str
    attempts: tuple[JobAttempt, ...]
    vcpu: Decimal | None = None
    memory_mib: int | None = None
    architecture: str = ""


@dataclass(frozen=True)
class ComputeEnvironmentInfo:
    arn: str
    kind: str  # EC2, SPOT, FARGATE, FARGATE_SPOT
    ecs_cluster_arn: str


@dataclass(frozen=True)
class InstanceInfo:
    instance_id: str
    instance_type: str
    spot: bool
    availability_zone: str
    state: str


@dataclass(frozen=True)
class VolumeInfo:
    volume_id: str
    instance_id: str
    volume_type: str
    size_gib: int
    iops: int | None = None
    throughput_mibps: int | None = None


@dataclass(frozen=True)
class TaskInfo:
    """An ECS task as ``DescribeTasks`` shows it (kept about an hour after it stopped)."""

    task_arn: str
    cpu: str = ""
    memory: str = ""
    ephemeral_gib: int | None = None
    capacity_provider: str = ""
    launch_type: str = ""
    task_definition_arn: str = ""
    pull_started_at: datetime | None = None
    started_at: datetime | None = None
    stopped_at: datetime | None = None


@dataclass(frozen=True)
class FileSystemInfo:
    file_system_id: str
    deployment_type: str
    storage_gib: int
    per_unit_throughput: int | None = None
    created_at: datetime | None = None


class LaunchReader(Protocol):
    def launch(self, launch_id: str) -> dict[str, Any] | None: ...


class BatchReader(Protocol):
    def jobs(self, job_ids: Sequence[str]) -> list[JobInfo]: ...
    def environment(self, job_queue: str) -> ComputeEnvironmentInfo | None: ...
    def tagged_job_ids(
        self, job_queue: str, tags: Mapping[str, str], created_after: datetime
    ) -> list[str]: ...


class EcsReader(Protocol):
    def ec2_instance_ids(self, cluster: str, container_instance_arns: Sequence[str]) -> dict[str, str]: ...
    def task(self, cluster: str, task_arn: str) -> TaskInfo | None: ...
    def architecture(self, task_definition: str) -> str: ...


class Ec2Reader(Protocol):
    def instances(self, instance_ids: Sequence[str]) -> dict[str, InstanceInfo]: ...
    def volumes(self, instance_ids: Sequence[str]) -> list[VolumeInfo]: ...


class FsxReader(Protocol):
    def file_system(self, file_system_id: str) -> FileSystemInfo | None: ...


class PriceBook(Protocol):
    """Unit prices (Price List, cached) and Spot price series; both raise ``MissingPriceError``."""

    def unit_price(self, query: PriceQuery) -> UnitPrice: ...
    def spot_points(self, instance_type: str, zone: str, window: Interval) -> list[SpotPoint]: ...


class AuditStore(Protocol):
    def put(self, key: str, document: dict[str, Any]) -> str: ...


@dataclass
class PriceStats:
    """What a price book did for one costing (reported in ``pricingSource`` and by the benchmark)."""

    price_list_calls: int = 0
    cache_hits: int = 0
    memo_hits: int = 0
    spot_calls: int = 0
    publications: set[str] = field(default_factory=set)
