"""Test doubles of the benchmarking ports: a price book answering from the shipped price snapshot,
and in-memory AWS readers for the collector."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from blueprints.benchmarking.errors import MissingPriceError
from blueprints.benchmarking.ports import (
    ComputeEnvironmentInfo,
    FileSystemInfo,
    InstanceInfo,
    JobInfo,
    PriceStats,
    TaskInfo,
    VolumeInfo,
)
from blueprints.benchmarking.prices import PriceQuery, SpotPoint, UnitPrice, select_price
from blueprints.benchmarking.timing import Interval
from localcloud.fakes.pricing import load_snapshot

SNAPSHOT = load_snapshot("2025-01")
T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def matching(query: PriceQuery) -> list[str]:
    """The snapshot's products a query's TERM_MATCH filters select, as GetProducts returns them."""

    def fields(item: dict[str, Any]) -> dict[str, str]:
        product = item["product"]
        found = {name.lower(): str(value) for name, value in product["attributes"].items()}
        found["productfamily"] = product.get("productFamily", "")
        return found

    return [
        json.dumps(item)
        for item in SNAPSHOT["priceList"]
        if item["serviceCode"] == query.service_code
        and all(fields(item).get(field.lower()) == value for _, field, value in query.filters)
    ]


@dataclass
class SnapshotBook:
    """A ``PriceBook`` answering from the snapshot; ``missing`` fails lookups by label; Spot series by
    (instance type, zone)."""

    spot: dict[tuple[str, str], list[SpotPoint]] = field(default_factory=dict)
    missing: dict[str, MissingPriceError] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    stats: PriceStats = field(default_factory=PriceStats)

    def unit_price(self, query: PriceQuery) -> UnitPrice:
        self.asked.append(query.label)
        if query.label in self.missing:
            raise self.missing[query.label]
        price = select_price(query, matching(query))
        self.stats.publications.add(price.publication)
        return price

    def spot_points(self, instance_type: str, zone: str, window: Interval) -> list[SpotPoint]:
        self.asked.append(f"spot {instance_type} {zone} {window.start.isoformat()}")
        return list(self.spot.get((instance_type, zone), []))


@dataclass
class FakeLaunches:
    items: dict[str, dict[str, Any]] = field(default_factory=dict)

    def launch(self, launch_id: str) -> dict[str, Any] | None:
        return self.items.get(launch_id)


@dataclass
class FakeBatch:
    jobs_by_id: dict[str, JobInfo] = field(default_factory=dict)
    environments: dict[str, ComputeEnvironmentInfo] = field(default_factory=dict)
    tagged: dict[str, tuple[str, dict[str, str], datetime]] = field(default_factory=dict)
    tag_queries: list[tuple[str, dict[str, str], datetime]] = field(default_factory=list)

    def jobs(self, job_ids: Sequence[str]) -> list[JobInfo]:
        return [self.jobs_by_id[job_id] for job_id in job_ids if job_id in self.jobs_by_id]

    def environment(self, job_queue: str) -> ComputeEnvironmentInfo | None:
        return self.environments.get(job_queue)

    def tagged_job_ids(self, job_queue: str, tags: Mapping[str, str], created_after: datetime) -> list[str]:
        self.tag_queries.append((job_queue, dict(tags), created_after))
        return [
            job_id
            for job_id, (queue, carried, created) in sorted(self.tagged.items())
            if queue == job_queue and created > created_after and tags.items() <= carried.items()
        ]


@dataclass
class FakeEcs:
    container_instances: dict[str, str] = field(default_factory=dict)
    tasks: dict[str, TaskInfo] = field(default_factory=dict)
    architectures: dict[str, str] = field(default_factory=dict)
    clusters_asked: list[str] = field(default_factory=list)

    def ec2_instance_ids(self, cluster: str, container_instance_arns: Sequence[str]) -> dict[str, str]:
        self.clusters_asked.append(cluster)
        return {
            arn: self.container_instances[arn]
            for arn in container_instance_arns
            if arn in self.container_instances
        }

    def task(self, cluster: str, task_arn: str) -> TaskInfo | None:
        self.clusters_asked.append(cluster)
        return self.tasks.get(task_arn)

    def architecture(self, task_definition: str) -> str:
        return self.architectures.get(task_definition, "X86_64")


@dataclass
class FakeEc2:
    described: dict[str, InstanceInfo] = field(default_factory=dict)
    attached: list[VolumeInfo] = field(default_factory=list)

    def instances(self, instance_ids: Sequence[str]) -> dict[str, InstanceInfo]:
        return {key: value for key, value in self.described.items() if key in instance_ids}

    def volumes(self, instance_ids: Sequence[str]) -> list[VolumeInfo]:
        return [volume for volume in self.attached if volume.instance_id in instance_ids]


@dataclass
class FakeFsx:
    systems: Mapping[str, FileSystemInfo] = field(default_factory=dict)

    def file_system(self, file_system_id: str) -> FileSystemInfo | None:
        return self.systems.get(file_system_id)


def dollars(text: str) -> Decimal:
    return Decimal(text)
