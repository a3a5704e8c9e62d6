"""Which resources one launch attempt used, and when (``collect_resources``).

- **Fargate head task** (``task_arn``): billed from image pull start to stop (``DescribeTasks`` while the
  task is still described, about an hour; then the tracker's ``compute_resources`` start and stop), with
  its vCPU, memory, ephemeral storage, architecture and capacity provider.
- **Batch jobs** (``batch_job_ids``): ``DescribeJobs`` attempts -> container instance ->
  ``DescribeContainerInstances`` on the compute environment's ECS cluster -> EC2 instance ->
  ``DescribeInstances`` (type, Spot or On-Demand, Availability Zone). Each instance is counted once: its
  spans are the union of the launch's attempts on it, never the sum. EBS volumes attached to those
  instances (``DescribeVolumes``) are billed over the same spans. Jobs on a Fargate compute environment
  are Fargate tasks sized by the job's resource requirements.
- **FSx for Lustre** (``fsx`` or ``compute_resources.fsx``: ``{file_system_id, deployment_type,
  storage_gib, per_unit_throughput, created_at, deleted_at}``, recorded by the regenie workflow), from
  creation to deletion (``DescribeFileSystems`` fills what the record lacks).

What cannot be resolved is listed in ``unresolved`` (the costing then stays PENDING and collects again
later), never skipped; ``notes`` say what was approximated.

An attempt that ran (it reached RUNNING, or it started a ParallelCluster command, ``ssm_command_id``, or a
Step Functions execution, ``sfn_execution_arn``) but whose compute the collector cannot see at all is
``unsupported``: no cost is written for it (the state machine marks it ``costStatus = UNSUPPORTED`` with
the reason), since pricing what is visible would write a run that used compute as free. Snakemake and
Nextflow launches get the note ``ENGINE_JOBS_NOTE``: the jobs their engine submits itself are not recorded
on the launch, so only the head task (and the recorded Batch jobs) are priced; unless the launch names the
queue its engine submits to (``engine_job_queue``), and the engine tags its jobs with ``ENGINE_JOB_TAGS``
(``genomics:launch_id`` = the launch id, ``genomics:attempt`` = the attempt number): those jobs, created
after the attempt started launching, are then found with ``ListJobs`` and costed like recorded jobs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from blueprints.benchmarking.errors import LaunchNotFoundError
from blueprints.benchmarking.models import (
    Collection,
    FargateUsage,
    FileSystemUsage,
    InstanceUsage,
    Span,
    VolumeUsage,
)
from blueprints.benchmarking.ports import (
    BatchReader,
    ComputeEnvironmentInfo,
    Ec2Reader,
    EcsReader,
    FsxReader,
    JobAttempt,
    JobInfo,
    LaunchReader,
)
from blueprints.benchmarking.timing import Interval, parse_time, phase_timings, union
from blueprints.core.errors import PermanentError

FARGATE_KINDS = ("FARGATE", "FARGATE_SPOT")
ARCHITECTURES = ("X86_64", "ARM64")
DEFAULT_ARCHITECTURE = "X86_64"  # ECS's default when a task definition names no runtime platform
ENGINES_SUBMITTING_JOBS = ("snakemake", "nextflow")
ENGINE_JOBS_NOTE = "head task only; jobs submitted by the engine are not priced"
LAUNCH_TAG = "genomics:launch_id"
ATTEMPT_TAG = "genomics:attempt"
CLOCK_SKEW = timedelta(minutes=1)  # jobs are created after LAUNCHING; the writers' clocks may differ


class AttemptChangedError(PermanentError):
    """The launch moved on to another attempt before its costing collected the resources."""


@dataclass(frozen=True)
class _OnInstance:
    job_id: str
    container_instance_arn: str
    window: Interval


@dataclass
class _Found:
    instances: list[InstanceUsage] = field(default_factory=list)
    volumes: list[VolumeUsage] = field(default_factory=list)
    filesystems: list[FileSystemUsage] = field(default_factory=list)
    fargate: list[FargateUsage] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def compute_seen(self) -> bool:
        return bool(self.instances or self.fargate)


def _ran(item: Mapping[str, Any], attempt: int) -> bool:
    """Whether the attempt reached RUNNING (its status history says so)."""
    return any(
        entry.get("status") == "RUNNING" and int(entry.get("attempt", 1)) == attempt
        for entry in item.get("status_history") or []
    )


def _launching_since(item: Mapping[str, Any], attempt: int) -> datetime | None:
    """When the attempt started launching (its first LAUNCHING entry; else the launch's creation)."""
    for entry in item.get("status_history") or []:
        if entry.get("status") == "LAUNCHING" and int(entry.get("attempt", 1)) == attempt:
            return parse_time(str(entry["at"]))
    created = item.get("created_at")
    return parse_time(str(created)) if created else None


def _invisible_compute(item: Mapping[str, Any], attempt: int, found: _Found, *, engine_jobs: bool) -> None:
    """Mark an attempt that used compute the collector cannot see (never a cost of 0), and note the
    engine-submitted jobs that are not priced."""
    launch_id = str(item.get("launch_id", ""))
    blind = not found.compute_seen and not found.unresolved  # unresolved: collected again later
    if item.get("ssm_command_id"):
        found.notes.append("ParallelCluster compute nodes are not priced")
        if blind:
            found.unsupported.append(
                f"launch {launch_id}: ParallelCluster launch (SSM command {item['ssm_command_id']}): "
                "the cluster's compute nodes are not visible to the collector"
            )
    elif item.get("sfn_execution_arn"):
        found.notes.append(
            "only the recorded jobs and file system of the Step Functions execution are priced"
        )
        if blind:
            found.unsupported.append(
                f"launch {launch_id}: Step Functions launch ({item['sfn_execution_arn']}): "
                "no compute of the execution is recorded on the launch"
            )
    elif blind and _ran(item, attempt):
        found.unsupported.append(
            f"launch {launch_id}: attempt {attempt} ran but none of its compute is visible "
            "(no Fargate task or Batch instance could be priced)"
        )
    if (
        found.compute_seen
        and not engine_jobs
        and str(item.get("workflow_type", "")) in ENGINES_SUBMITTING_JOBS
    ):
        found.notes.append(ENGINE_JOBS_NOTE)


def _time(value: Any) -> datetime | None:
    return parse_time(str(value)) if value else None


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except ArithmeticError:
        return None


class Collector:
    def __init__(
        self,
        launches: LaunchReader,
        batch: BatchReader,
        ecs: EcsReader,
        ec2: Ec2Reader,
        fsx: FsxReader,
        *,
        region: str,
        cluster_arn: str,
    ) -> None:
        self.launches = launches
        self.batch = batch
        self.ecs = ecs
        self.ec2 = ec2
        self.fsx = fsx
        self.region = region
        self.cluster_arn = cluster_arn

    def collect(self, launch_id: str, attempt: int) -> Collection:
        item = self.launches.launch(launch_id)
        if item is None:
            raise LaunchNotFoundError(f"no launch {launch_id}")
        current = int(item.get("attempt", 1))
        if current != attempt:
            raise AttemptChangedError(f"launch {launch_id} is at attempt {current}, not {attempt}")
        timings = phase_timings(item.get("status_history") or [], attempt)
        ended = _time(timings.terminal_at) or _time(item.get("updated_at"))
        resources: Mapping[str, Any] = item.get("compute_resources") or {}
        found = _Found()
        if item.get("task_arn"):
            self._head_task(item, resources, found)
        job_ids = set(item.get("batch_job_ids") or [])
        engine_ids = self._engine_jobs(item, launch_id, attempt)
        if engine_ids is not None:
            job_ids |= set(engine_ids)
            found.notes.append(f"{len(engine_ids)} Batch job(s) submitted by the engine, found by their tags")
        if job_ids:
            self._batch_jobs(sorted(job_ids), resources, ended, found)
        fsx = item.get("fsx") or resources.get("fsx")
        if isinstance(fsx, Mapping) and fsx.get("file_system_id"):
            self._file_system(fsx, ended, found)
        _invisible_compute(item, attempt, found, engine_jobs=engine_ids is not None)
        return Collection(
            launch_id=launch_id,
            attempt=attempt,
            status=str(item.get("status", "")),
            workflow_type=str(item.get("workflow_type", "")),
            compute_service=str(item.get("compute_service", "")),
            region=self.region,
            timings=timings.as_attribute_values(),
            instances=found.instances,
            volumes=found.volumes,
            filesystems=found.filesystems,
            fargate_tasks=found.fargate,
            unresolved=found.unresolved,
            unsupported=found.unsupported,
            notes=found.notes,
        )

    def _engine_jobs(self, item: Mapping[str, Any], launch_id: str, attempt: int) -> list[str] | None:
        """The Batch jobs the engine submitted for this attempt, when the launch names their queue."""
        queue = str(item.get("engine_job_queue") or "")
        since = _launching_since(item, attempt)
        if not queue or since is None or str(item.get("workflow_type", "")) not in ENGINES_SUBMITTING_JOBS:
            return None
        tags = {LAUNCH_TAG: launch_id, ATTEMPT_TAG: str(attempt)}
        return self.batch.tagged_job_ids(queue, tags, since - CLOCK_SKEW)

    # -- the Fargate head task ------------------------------------------------------------------------

    def _head_task(self, item: Mapping[str, Any], resources: Mapping[str, Any], found: _Found) -> None:
        task_arn = str(item["task_arn"])
        recorded = resources if resources.get("task_arn") == task_arn else {}
        parts = task_arn.split(":task/", 1)[-1].split("/")
        cluster = parts[0] if len(parts) == 2 else self.cluster_arn
        task = self.ecs.task(cluster, task_arn)
        launch_type = str(recorded.get("launch_type") or (task.launch_type if task else "") or "FARGATE")
        provider = str(recorded.get("capacity_provider") or (task.capacity_provider if task else "") or "")
        if launch_type != "FARGATE" and provider not in FARGATE_KINDS:
            found.notes.append(f"head task {task_arn} ran on {launch_type} capacity: not priced as Fargate")
            return
        start = (task.pull_started_at or task.started_at) if task else None
        stop = task.stopped_at if task else None
        if task is None or start is None:
            start = _time(recorded.get("started_at"))
            if task is None and start is not None:
                found.notes.append(f"head task {task_arn}: billed from its start (image pull time unknown)")
        stop = stop or _time(recorded.get("stopped_at"))
        if start is None:
            return  # it never pulled its image nor started: Fargate bills nothing
        if stop is None:
            found.unresolved.append(f"head task {task_arn}: no stop time")
            return
        cpu = _decimal(recorded.get("cpu")) or _decimal(task.cpu if task else None)
        memory = _decimal(recorded.get("memory")) or _decimal(task.memory if task else None)
        if cpu is None or memory is None:
            found.unresolved.append(f"head task {task_arn}: cpu and memory unknown")
            return
        architecture = str(recorded.get("cpu_architecture") or "")
        if architecture not in ARCHITECTURES:
            definition = str(item.get("definition") or (task.task_definition_arn if task else ""))
            architecture = self.ecs.architecture(definition) if definition else DEFAULT_ARCHITECTURE
        ephemeral = recorded.get("ephemeral_storage_gib") or (task.ephemeral_gib if task else None) or 20
        found.fargate.append(
            FargateUsage(
                task_arn=task_arn,
                vcpu=cpu / 1024,
                memory_gib=memory / 1024,
                ephemeral_gib=int(ephemeral),
                architecture="ARM64" if architecture == "ARM64" else "X86_64",
                capacity_provider="FARGATE_SPOT" if provider == "FARGATE_SPOT" else "FARGATE",
                span=Span.of(Interval(start, max(start, stop))),
            )
        )

    # -- Batch jobs ------------------------------------------------------------------------------------

    def _batch_jobs(
        self, job_ids: list[str], resources: Mapping[str, Any], ended: datetime | None, found: _Found
    ) -> None:
        described = {job.job_id: job for job in self.batch.jobs(job_ids)}
        recorded = resources if resources.get("kind") == "batch" else {}
        jobs: list[JobInfo] = []
        for job_id in job_ids:
            job = described.get(job_id)
            if job is None and recorded.get("job_id") == job_id:
                attempt = JobAttempt(
                    container_instance_arn=str(recorded.get("container_instance_arn", "")),
                    task_arn=str(recorded.get("task_arn", "")),
                    started_at=_time(recorded.get("started_at")),
                    stopped_at=_time(recorded.get("stopped_at")),
                )
                job = JobInfo(job_id, str(recorded.get("job_queue", "")), (attempt,))
                found.notes.append(f"Batch job {job_id}: no longer described; its recorded attempt is used")
            if job is None:
                found.unresolved.append(f"Batch job {job_id}: not found")
                continue
            jobs.append(job)
        environments: dict[str, ComputeEnvironmentInfo | None] = {}
        on_instances: dict[str, list[_OnInstance]] = defaultdict(list)  # by the CE's ECS cluster
        for job in jobs:
            if job.job_queue not in environments:
                environments[job.job_queue] = self.batch.environment(job.job_queue)
            environment = environments[job.job_queue]
            if environment is None:
                found.unresolved.append(f"Batch job {job.job_id}: no compute environment for {job.job_queue}")
                continue
            for attempt in job.attempts:
                if attempt.started_at is None:
                    continue  # never ran
                stopped = attempt.stopped_at or ended
                if stopped is None:
                    found.unresolved.append(f"Batch job {job.job_id}: an attempt has no stop time")
                    continue
                if attempt.stopped_at is None:
                    found.notes.append(f"Batch job {job.job_id}: attempt without stop time: launch end used")
                window = Interval(attempt.started_at, max(attempt.started_at, stopped))
                if environment.kind in FARGATE_KINDS:
                    self._batch_fargate(job, attempt, window, environment.kind, found)
                elif attempt.container_instance_arn:
                    on_instances[environment.ecs_cluster_arn].append(
                        _OnInstance(job.job_id, attempt.container_instance_arn, window)
                    )
                else:
                    found.unresolved.append(f"Batch job {job.job_id}: an attempt has no container instance")
        self._instances(on_instances, recorded, found)

    def _batch_fargate(
        self, job: JobInfo, attempt: JobAttempt, window: Interval, kind: str, found: _Found
    ) -> None:
        if job.vcpu is None or job.memory_mib is None:
            found.unresolved.append(f"Batch job {job.job_id}: vCPU and memory unknown")
            return
        found.fargate.append(
            FargateUsage(
                task_arn=attempt.task_arn or job.job_id,
                vcpu=job.vcpu,
                memory_gib=Decimal(job.memory_mib) / 1024,
                architecture="ARM64" if job.architecture == "ARM64" else "X86_64",
                capacity_provider="FARGATE_SPOT" if kind == "FARGATE_SPOT" else "FARGATE",
                span=Span.of(window),
                origin=f"Batch job {job.job_id}",
            )
        )

    def _instances(
        self,
        on_instances: Mapping[str, list[_OnInstance]],
        recorded: Mapping[str, Any],
        found: _Found,
    ) -> None:
        spans: dict[str, list[Interval]] = defaultdict(list)
        jobs: dict[str, set[str]] = defaultdict(set)
        for cluster, attempts in on_instances.items():
            arns = sorted({attempt.container_instance_arn for attempt in attempts})
            mapping = self.ecs.ec2_instance_ids(cluster, arns)
            if recorded.get("ec2_instance_id") and recorded.get("container_instance_arn"):
                mapping.setdefault(str(recorded["container_instance_arn"]), str(recorded["ec2_instance_id"]))
            for attempt in attempts:
                instance_id = mapping.get(attempt.container_instance_arn)
                if instance_id is None:
                    arn = attempt.container_instance_arn
                    found.unresolved.append(f"Batch job {attempt.job_id}: container instance {arn} unknown")
                    continue
                spans[instance_id].append(attempt.window)
                jobs[instance_id].add(attempt.job_id)
        if not spans:
            return
        described = self.ec2.instances(sorted(spans))
        captured = recorded if recorded.get("ec2_instance_id") and recorded.get("instance_type") else {}
        for instance_id in sorted(spans):
            instance = described.get(instance_id)
            if instance is None and captured.get("ec2_instance_id") == instance_id:
                # gone already: what the tracker captured while the job ran
                found.notes.append(
                    f"EC2 instance {instance_id}: no longer described; its recorded facts are used"
                )
                market, instance_type = str(captured["purchase_option"]), str(captured["instance_type"])
                zone = str(captured.get("availability_zone", ""))
            elif instance is None:
                found.unresolved.append(f"EC2 instance {instance_id}: not found")
                continue
            else:
                market = "spot" if instance.spot else "on-demand"
                instance_type, zone = instance.instance_type, instance.availability_zone
            found.instances.append(
                InstanceUsage(
                    instance_id=instance_id,
                    instance_type=instance_type,
                    market=market,
                    availability_zone=zone,
                    spans=[Span.of(interval) for interval in union(spans[instance_id])],
                    jobs=sorted(jobs[instance_id]),
                )
            )
        volumes = self.ec2.volumes([usage.instance_id for usage in found.instances])
        by_instance = {usage.instance_id: usage for usage in found.instances}
        with_volumes = set()
        for volume in volumes:
            usage = by_instance.get(volume.instance_id)
            if usage is None:
                continue
            with_volumes.add(volume.instance_id)
            found.volumes.append(
                VolumeUsage(
                    volume_id=volume.volume_id,
                    instance_id=volume.instance_id,
                    volume_type=volume.volume_type,
                    size_gib=volume.size_gib,
                    iops=volume.iops,
                    throughput_mibps=volume.throughput_mibps,
                    spans=usage.spans,
                )
            )
        for instance_id in sorted(set(by_instance) - with_volumes):
            if captured.get("ec2_instance_id") == instance_id and captured.get("volumes"):
                for volume in captured["volumes"]:  # recorded while the instance existed
                    found.volumes.append(
                        VolumeUsage(
                            volume_id=str(volume["volume_id"]),
                            instance_id=instance_id,
                            volume_type=str(volume["volume_type"]),
                            size_gib=int(volume["size_gib"]),
                            iops=volume.get("iops"),
                            throughput_mibps=volume.get("throughput"),
                            spans=by_instance[instance_id].spans,
                        )
                    )
                continue
            state = described[instance_id].state if instance_id in described else "gone"
            found.notes.append(f"EC2 instance {instance_id} ({state}): no attached EBS volume visible")

    # -- FSx for Lustre --------------------------------------------------------------------------------

    def _file_system(self, record: Mapping[str, Any], ended: datetime | None, found: _Found) -> None:
        fs_id = str(record["file_system_id"])
        deployment = str(record.get("deployment_type") or "")
        storage = record.get("storage_gib")
        throughput = record.get("per_unit_throughput")
        created = _time(record.get("created_at"))
        if not deployment or storage is None or created is None:
            described = self.fsx.file_system(fs_id)
            if described is None:
                found.unresolved.append(f"FSx file system {fs_id}: not found")
                return
            deployment = deployment or described.deployment_type
            storage = storage if storage is not None else described.storage_gib
            throughput = throughput if throughput is not None else described.per_unit_throughput
            created = created or described.created_at
        deleted = _time(record.get("deleted_at"))
        if deleted is None:
            found.notes.append(f"FSx file system {fs_id}: not deleted yet; priced until the launch ended")
            deleted = ended
        if created is None or deleted is None:
            found.unresolved.append(f"FSx file system {fs_id}: creation or end time unknown")
            return
        found.filesystems.append(
            FileSystemUsage(
                file_system_id=fs_id,
                deployment_type=deployment,
                storage_gib=int(storage),
                per_unit_throughput=int(throughput) if throughput is not None else None,
                span=Span.of(Interval(created, max(created, deleted))),
            )
        )
