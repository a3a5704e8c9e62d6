"""What a launch used, as ``collect_resources`` hands it to ``price_resources`` through the state machine
(JSON; parsed back with these models at the edge of the pricing function)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from blueprints.benchmarking.timing import Interval


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Span(_Model):
    """A time window in UTC."""

    start: AwareDatetime
    end: AwareDatetime

    @classmethod
    def of(cls, interval: Interval) -> Span:
        return cls(start=interval.start, end=interval.end)

    @property
    def interval(self) -> Interval:
        return Interval(self.start, self.end)


class InstanceUsage(_Model):
    """One EC2 instance, counted once: its busy spans are the union of the launch's job attempts on it."""

    instance_id: str
    instance_type: str
    market: Literal["on-demand", "spot"]
    availability_zone: str
    spans: list[Span]
    jobs: list[str] = Field(default_factory=list)


class VolumeUsage(_Model):
    """An EBS volume attached to one of the instances, billed over that instance's busy spans."""

    volume_id: str
    instance_id: str
    volume_type: str
    size_gib: int = Field(ge=0)
    iops: int | None = None
    throughput_mibps: int | None = None
    spans: list[Span]


class FileSystemUsage(_Model):
    """An FSx for Lustre file system used by the launch, from its creation to its deletion."""

    file_system_id: str
    deployment_type: str
    storage_gib: int = Field(ge=0)
    per_unit_throughput: int | None = None
    span: Span


class FargateUsage(_Model):
    """A Fargate task (the head task, or a Batch job attempt on Fargate) over its billed window."""

    task_arn: str
    vcpu: Decimal = Field(ge=0)
    memory_gib: Decimal = Field(ge=0)
    ephemeral_gib: int = Field(default=20, ge=0)
    architecture: Literal["X86_64", "ARM64"]
    capacity_provider: Literal["FARGATE", "FARGATE_SPOT"] = "FARGATE"
    span: Span
    origin: str = "head task"


class Collection(_Model):
    """Everything ``price_resources`` needs about one launch attempt."""

    launch_id: str
    attempt: int = Field(ge=1)
    status: str
    workflow_type: str = ""
    compute_service: str = ""
    region: str
    timings: dict[str, str] = Field(default_factory=dict)
    instances: list[InstanceUsage] = Field(default_factory=list)
    volumes: list[VolumeUsage] = Field(default_factory=list)
    filesystems: list[FileSystemUsage] = Field(default_factory=list)
    fargate_tasks: list[FargateUsage] = Field(default_factory=list)
    unresolved: list[str] = Field(default_factory=list)
    unsupported: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
