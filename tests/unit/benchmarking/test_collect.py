"""Resource collection from the launch item and the describe calls (fakes for AWS)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from blueprints.benchmarking.collect import ENGINE_JOBS_NOTE, AttemptChangedError, Collector
from blueprints.benchmarking.errors import LaunchNotFoundError
from blueprints.benchmarking.models import Span
from blueprints.benchmarking.ports import (
    ComputeEnvironmentInfo,
    FileSystemInfo,
    InstanceInfo,
    JobAttempt,
    JobInfo,
    TaskInfo,
    VolumeInfo,
)
from blueprints.benchmarking.timing import Interval
from tests.unit.benchmarking.fakes import FakeBatch, FakeEc2, FakeEcs, FakeFsx, FakeLaunches, at

CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/genomics-dev"
TASK = "arn:aws:ecs:us-east-1:123456789012:task/genomics-dev/4f1e2d3c4b5a69788796a5b4c3d2e1f0"
QUEUE = "arn:aws:batch:us-east-1:123456789012:job-queue/genomics-dev"
CE_CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/AWSBatch-genomics-dev-spot-1a2b"
CI_1 = "arn:aws:ecs:us-east-1:123456789012:container-instance/AWSBatch-genomics-dev-spot-1a2b/c1"
CI_2 = "arn:aws:ecs:us-east-1:123456789012:container-instance/AWSBatch-genomics-dev-spot-1a2b/c2"


def history(attempt: int = 1, *, end: float = 60, status: str = "COMPLETE") -> list[dict[str, Any]]:
    return [
        {"status": "REGISTERED", "at": at(-2).isoformat(), "attempt": attempt},
        {"status": "LAUNCHING", "at": at(-1).isoformat(), "attempt": attempt},
        {"status": "RUNNING", "at": at(0).isoformat(), "attempt": attempt},
        {"status": status, "at": at(end).isoformat(), "attempt": attempt},
    ]


def launch(**values: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "launch_id": "wf-1",
        "status": "COMPLETE",
        "attempt": Decimal(1),
        "workflow_type": "container",
        "compute_service": "fargate",
        "status_history": history(),
        "updated_at": at(60).isoformat(),
    }
    item.update(values)
    return item


class World:
    def __init__(self, item: dict[str, Any]) -> None:
        self.launches = FakeLaunches({"wf-1": item})
        self.batch = FakeBatch()
        self.ecs = FakeEcs()
        self.ec2 = FakeEc2()
        self.fsx = FakeFsx()

    def collector(self) -> Collector:
        return Collector(
            self.launches, self.batch, self.ecs, self.ec2, self.fsx, region="us-east-1", cluster_arn=CLUSTER
        )


# -- the Fargate head task -------------------------------------------------------------------------------


def head_task_launch(**resources: Any) -> dict[str, Any]:
    recorded = {
        "kind": "ecs",
        "task_arn": TASK,
        "cpu": "1024",
        "memory": "4096",
        "launch_type": "FARGATE",
        "started_at": at(0).isoformat(),
        "stopped_at": at(15).isoformat(),
        **resources,
    }
    return launch(task_arn=TASK, compute_resources=recorded, definition="genomics-dev-container:1")


def test_a_head_task_still_described_is_billed_from_its_image_pull_to_its_stop() -> None:
    # Given the task as DescribeTasks shows it: image pull 10 s before its start
    world = World(head_task_launch())
    world.ecs.tasks[TASK] = TaskInfo(
        TASK,
        cpu="1024",
        memory="4096",
        pull_started_at=at(0) - timedelta(seconds=10),
        started_at=at(0),
        stopped_at=at(15),
    )
    world.ecs.architectures["genomics-dev-container:1"] = "ARM64"

    collected = world.collector().collect("wf-1", 1)

    # Then one ARM task of 1 vCPU and 4 GiB over 910 s, from the task's own cluster
    assert [task.model_dump() for task in collected.fargate_tasks] == [
        {
            "task_arn": TASK,
            "vcpu": Decimal(1),
            "memory_gib": Decimal(4),
            "ephemeral_gib": 20,
            "architecture": "ARM64",
            "capacity_provider": "FARGATE",
            "span": {"start": at(0) - timedelta(seconds=10), "end": at(15)},
            "origin": "head task",
        }
    ]
    assert world.ecs.clusters_asked == ["genomics-dev"]
    assert (collected.unresolved, collected.notes) == ([], [])
    assert collected.timings["runningSeconds"] == "3600.000"


def test_a_head_task_no_longer_described_uses_the_recorded_start_and_says_so() -> None:
    world = World(head_task_launch(cpu_architecture="X86_64", capacity_provider="FARGATE_SPOT"))

    collected = world.collector().collect("wf-1", 1)

    task = collected.fargate_tasks[0]
    assert (task.span.interval, task.capacity_provider) == (Interval(at(0), at(15)), "FARGATE_SPOT")
    assert collected.notes == [f"head task {TASK}: billed from its start (image pull time unknown)"]


def test_a_head_task_that_never_started_uses_nothing() -> None:
    world = World(head_task_launch(started_at=None))

    collected = world.collector().collect("wf-1", 1)

    assert (collected.fargate_tasks, collected.unresolved) == ([], [])


@pytest.mark.parametrize(
    ("recorded", "problem"),
    [({"stopped_at": None}, "no stop time"), ({"cpu": None}, "cpu and memory unknown")],
)
def test_a_head_task_without_stop_time_or_size_is_unresolved(recorded: dict[str, Any], problem: str) -> None:
    world = World(head_task_launch(**recorded))

    collected = world.collector().collect("wf-1", 1)

    assert collected.unresolved == [f"head task {TASK}: {problem}"]


def test_a_head_task_on_ec2_capacity_is_noted_not_priced_as_fargate() -> None:
    world = World(head_task_launch(launch_type="EC2"))

    collected = world.collector().collect("wf-1", 1)

    assert collected.fargate_tasks == []
    assert collected.notes == [f"head task {TASK} ran on EC2 capacity: not priced as Fargate"]
    # and since the attempt ran on compute nobody prices, it is unsupported, never a run costed 0
    assert collected.unsupported == [
        "launch wf-1: attempt 1 ran but none of its compute is visible "
        "(no Fargate task or Batch instance could be priced)"
    ]


# -- compute the collector cannot see ---------------------------------------------------------------------


def test_a_parallelcluster_launch_that_ran_is_unsupported_not_free() -> None:
    # Given a launch on ParallelCluster: an SSM command on the head node, no task nor Batch job
    world = World(launch(compute_service="parallelcluster", ssm_command_id="cmd-0123"))

    # When its resources are collected
    collected = world.collector().collect("wf-1", 1)

    # Then nothing is priced and the reason is typed, so no cost (and never 0.0000) is written
    assert (collected.instances, collected.fargate_tasks, collected.unresolved) == ([], [], [])
    assert collected.unsupported == [
        "launch wf-1: ParallelCluster launch (SSM command cmd-0123): "
        "the cluster's compute nodes are not visible to the collector"
    ]


def test_a_step_functions_launch_with_only_its_file_system_recorded_is_unsupported() -> None:
    # Given a regenie launch: a Step Functions execution and the FSx file system it recorded
    fsx = {
        "file_system_id": "fs-0abc",
        "deployment_type": "SCRATCH_2",
        "storage_gib": 1200,
        "created_at": at(0).isoformat(),
        "deleted_at": at(30).isoformat(),
    }
    arn = "arn:aws:states:us-east-1:123456789012:execution:regenie:wf-1"
    world = World(launch(workflow_type="regenie", sfn_execution_arn=arn, fsx=fsx))

    collected = world.collector().collect("wf-1", 1)

    # Then the file system alone is not written as the launch's cost: the compute is missing
    assert [filesystem.file_system_id for filesystem in collected.filesystems] == ["fs-0abc"]
    assert collected.unsupported == [
        f"launch wf-1: Step Functions launch ({arn}): no compute of the execution is recorded on the launch"
    ]


def test_a_step_functions_launch_with_recorded_jobs_is_priced_with_a_note() -> None:
    arn = "arn:aws:states:us-east-1:123456789012:execution:regenie:wf-1"
    world = batch_world(JobInfo("j1", QUEUE, (attempt(0, 60),)), sfn_execution_arn=arn)

    collected = world.collector().collect("wf-1", 1)

    assert ([usage.instance_id for usage in collected.instances], collected.unsupported) == (["i-0aaa"], [])
    assert "only the recorded jobs and file system of the Step Functions execution are priced" in (
        collected.notes
    )


def test_a_launch_refused_before_it_ran_is_not_unsupported_and_an_unresolved_one_collects_again() -> None:
    # Given a launch that never reached RUNNING, and one whose head task has no stop time yet
    refused = World(launch(status="FAILED", status_history=history()[:1]))
    unresolved = World(head_task_launch(stopped_at=None))

    # Then the first used nothing (a real zero), the second stays pending, neither is unsupported
    assert refused.collector().collect("wf-1", 1).unsupported == []
    collected = unresolved.collector().collect("wf-1", 1)
    assert (collected.unsupported, len(collected.unresolved)) == ([], 1)


@pytest.mark.parametrize("workflow_type", ["snakemake", "nextflow"])
def test_an_engine_that_submits_its_own_jobs_gets_a_head_task_only_note(workflow_type: str) -> None:
    # Given a Snakemake or Nextflow launch whose head task was seen
    item = head_task_launch()
    item["workflow_type"] = workflow_type
    world = World(item)

    collected = world.collector().collect("wf-1", 1)

    # Then it is priced, and its notes say the engine's own jobs are not
    assert len(collected.fargate_tasks) == 1
    assert (
        collected.notes[-1]
        == ENGINE_JOBS_NOTE
        == "head task only; jobs submitted by the engine are not priced"
    )


# -- Batch -----------------------------------------------------------------------------------------------


def batch_world(*jobs: JobInfo, kind: str = "SPOT", **item: Any) -> World:
    world = World(launch(compute_service="batch", batch_job_ids=[job.job_id for job in jobs], **item))
    world.batch.jobs_by_id = {job.job_id: job for job in jobs}
    world.batch.environments[QUEUE] = ComputeEnvironmentInfo("arn:ce", kind, CE_CLUSTER)
    world.ecs.container_instances = {CI_1: "i-0aaa", CI_2: "i-0bbb"}
    world.ec2.described = {
        "i-0aaa": InstanceInfo("i-0aaa", "m5.large", True, "us-east-1a", "running"),
        "i-0bbb": InstanceInfo("i-0bbb", "c5.large", False, "us-east-1b", "terminated"),
    }
    world.ec2.attached = [VolumeInfo("vol-1", "i-0aaa", "gp2", 8)]
    return world


def attempt(start: float, end: float | None, instance: str = CI_1) -> JobAttempt:
    return JobAttempt(instance, "task", at(start), at(end) if end is not None else None)


def test_jobs_packed_on_one_instance_make_one_instance_with_the_union_of_their_attempts() -> None:
    # Given three jobs on the Spot instance behind CI_1, overlapping, and a retried one on CI_2
    world = batch_world(
        JobInfo("j1", QUEUE, (attempt(0, 120),)),
        JobInfo("j2", QUEUE, (attempt(30, 150),)),
        JobInfo("j3", QUEUE, (attempt(60, 90), attempt(200, 210, CI_2))),
    )

    collected = world.collector().collect("wf-1", 1)

    assert [(i.instance_id, i.market, i.availability_zone, i.jobs) for i in collected.instances] == [
        ("i-0aaa", "spot", "us-east-1a", ["j1", "j2", "j3"]),
        ("i-0bbb", "on-demand", "us-east-1b", ["j3"]),
    ]
    assert [span.interval for span in collected.instances[0].spans] == [Interval(at(0), at(150))]
    assert [(v.volume_id, v.spans) for v in collected.volumes] == [("vol-1", collected.instances[0].spans)]
    assert collected.notes == ["EC2 instance i-0bbb (terminated): no attached EBS volume visible"]
    assert world.ecs.clusters_asked == [CE_CLUSTER]


def test_a_deregistered_container_instance_falls_back_to_the_tracker_record() -> None:
    world = batch_world(
        JobInfo("j1", QUEUE, (attempt(0, 60, CI_1 + "-gone"),)),
        compute_resources={
            "kind": "batch",
            "container_instance_arn": CI_1 + "-gone",
            "ec2_instance_id": "i-0aaa",
        },
    )

    collected = world.collector().collect("wf-1", 1)

    assert [instance.instance_id for instance in collected.instances] == ["i-0aaa"]


def test_an_instance_gone_by_costing_time_is_priced_from_what_the_tracker_captured() -> None:
    # Given a job on an instance terminated and no longer described, whose facts the tracker recorded
    world = batch_world(
        JobInfo("j1", QUEUE, (attempt(0, 600),)),
        compute_resources={
            "kind": "batch",
            "container_instance_arn": CI_1,
            "ec2_instance_id": "i-0aaa",
            "instance_type": "m5.large",
            "purchase_option": "spot",
            "availability_zone": "us-east-1a",
            "volumes": [
                {"volume_id": "vol-9", "size_gib": 30, "volume_type": "gp3", "iops": 3000, "throughput": 125}
            ],
        },
    )
    del world.ec2.described["i-0aaa"]
    world.ec2.attached = []

    collected = world.collector().collect("wf-1", 1)

    # Then the instance and its volume are still costed, and the note says where the facts came from
    assert [(i.instance_id, i.instance_type, i.market, i.availability_zone) for i in collected.instances] == [
        ("i-0aaa", "m5.large", "spot", "us-east-1a")
    ]
    assert [
        (v.volume_id, v.size_gib, v.volume_type, v.iops, v.throughput_mibps) for v in collected.volumes
    ] == [("vol-9", 30, "gp3", 3000, 125)]
    assert collected.notes == ["EC2 instance i-0aaa: no longer described; its recorded facts are used"]
    assert collected.unresolved == []


def test_what_cannot_be_resolved_is_listed_never_skipped() -> None:
    # Given a job on an unknown container instance, one not described any more, one never started,
    # and an instance that no longer exists
    world = batch_world(
        JobInfo("j1", QUEUE, (attempt(0, 60, "arn:unknown"),)),
        JobInfo("j3", QUEUE, (JobAttempt(CI_1, "task", None, None),)),
        JobInfo("j4", QUEUE, (attempt(0, 60, CI_2),)),
        JobInfo("j5", QUEUE, (JobAttempt("", "task", at(0), at(5)),)),
    )
    world.launches.items["wf-1"]["batch_job_ids"] = ["j1", "j2", "j3", "j4", "j5"]
    del world.ec2.described["i-0bbb"]

    collected = world.collector().collect("wf-1", 1)

    assert collected.unresolved == [
        "Batch job j2: not found",
        "Batch job j5: an attempt has no container instance",
        "Batch job j1: container instance arn:unknown unknown",
        "EC2 instance i-0bbb: not found",
    ]
    assert collected.instances == []


def test_a_job_no_longer_described_uses_its_recorded_attempt() -> None:
    world = batch_world(
        compute_resources={
            "kind": "batch",
            "job_id": "j9",
            "job_queue": QUEUE,
            "container_instance_arn": CI_1,
            "started_at": at(0).isoformat(),
            "stopped_at": at(30).isoformat(),
        },
    )
    world.launches.items["wf-1"]["batch_job_ids"] = ["j9"]

    collected = world.collector().collect("wf-1", 1)

    assert [span.interval for span in collected.instances[0].spans] == [Interval(at(0), at(30))]
    assert collected.notes == ["Batch job j9: no longer described; its recorded attempt is used"]


def test_an_attempt_without_stop_time_ends_with_the_launch_and_an_unknown_queue_is_unresolved() -> None:
    world = batch_world(JobInfo("j1", QUEUE, (attempt(0, None),)), JobInfo("j2", "other-queue", ()))

    collected = world.collector().collect("wf-1", 1)

    assert [span.interval for span in collected.instances[0].spans] == [Interval(at(0), at(60))]
    assert collected.notes[0] == "Batch job j1: attempt without stop time: launch end used"
    assert collected.unresolved == ["Batch job j2: no compute environment for other-queue"]


def test_jobs_on_a_fargate_compute_environment_are_fargate_tasks_sized_by_the_job() -> None:
    world = batch_world(
        JobInfo("j1", QUEUE, (attempt(0, 10), attempt(20, 30)), Decimal("0.5"), 2048, "ARM64"),
        JobInfo("j2", QUEUE, (attempt(0, 10),)),
        kind="FARGATE_SPOT",
    )

    collected = world.collector().collect("wf-1", 1)

    assert [
        (t.vcpu, t.memory_gib, t.architecture, t.capacity_provider, t.origin) for t in collected.fargate_tasks
    ] == [
        (Decimal("0.5"), Decimal(2), "ARM64", "FARGATE_SPOT", "Batch job j1"),
        (Decimal("0.5"), Decimal(2), "ARM64", "FARGATE_SPOT", "Batch job j1"),
    ]
    assert collected.unresolved == ["Batch job j2: vCPU and memory unknown"]


# -- FSx and the launch itself --------------------------------------------------------------------------


def test_a_file_system_recorded_by_the_workflow_is_used_from_creation_to_deletion() -> None:
    fsx = {
        "file_system_id": "fs-1",
        "deployment_type": "SCRATCH_2",
        "storage_gib": 1200,
        "created_at": at(-30).isoformat(),
        "deleted_at": at(90).isoformat(),
    }
    world = World(launch(compute_resources={"fsx": fsx}))

    collected = world.collector().collect("wf-1", 1)

    assert [fs.model_dump() for fs in collected.filesystems] == [
        {
            "file_system_id": "fs-1",
            "deployment_type": "SCRATCH_2",
            "storage_gib": 1200,
            "per_unit_throughput": None,
            "span": Span.of(Interval(at(-30), at(90))).model_dump(),
        }
    ]


def test_a_file_system_record_is_completed_by_describe_and_an_undeleted_one_ends_with_the_launch() -> None:
    world = World(launch(fsx={"file_system_id": "fs-2"}))
    world.fsx.systems = {"fs-2": FileSystemInfo("fs-2", "PERSISTENT_2", 2400, 250, at(-5))}

    collected = world.collector().collect("wf-1", 1)

    assert [
        (fs.deployment_type, fs.storage_gib, fs.per_unit_throughput, fs.span.interval)
        for fs in collected.filesystems
    ] == [("PERSISTENT_2", 2400, 250, Interval(at(-5), at(60)))]
    assert collected.notes == ["FSx file system fs-2: not deleted yet; priced until the launch ended"]


def test_an_unknown_file_system_is_unresolved() -> None:
    world = World(launch(fsx={"file_system_id": "fs-3"}))

    assert world.collector().collect("wf-1", 1).unresolved == ["FSx file system fs-3: not found"]


def test_an_unknown_launch_or_a_launch_that_moved_on_is_an_error() -> None:
    world = World(launch(attempt=Decimal(2)))

    with pytest.raises(LaunchNotFoundError, match="no launch wf-9"):
        world.collector().collect("wf-9", 1)
    with pytest.raises(AttemptChangedError, match="launch wf-1 is at attempt 2, not 1"):
        world.collector().collect("wf-1", 1)


def test_jobs_the_engine_submitted_are_found_by_their_tags_on_the_engine_queue_and_priced() -> None:
    # Given a Snakemake launch whose engine submitted to QUEUE: one job of this attempt on i-0aaa, one of
    # another launch, and one of this launch created before the attempt started launching
    world = batch_world(
        JobInfo("j-engine", QUEUE, (attempt(5, 40),)),
        workflow_type="snakemake",
        engine_job_queue=QUEUE,
    )
    world.launches.items["wf-1"]["batch_job_ids"] = []
    mine = {"genomics:launch_id": "wf-1", "genomics:attempt": "1"}
    world.batch.tagged = {
        "j-engine": (QUEUE, {**mine, "other": "x"}, at(2)),
        "j-other": (QUEUE, {"genomics:launch_id": "wf-2", "genomics:attempt": "1"}, at(2)),
        "j-before": (QUEUE, mine, at(-30)),
    }

    # When its resources are collected
    collected = world.collector().collect("wf-1", 1)

    # Then the queue was asked from a minute before LAUNCHING, and only this attempt's job was costed
    assert world.batch.tag_queries == [(QUEUE, mine, at(-1) - timedelta(minutes=1))]
    assert [(usage.instance_id, usage.jobs) for usage in collected.instances] == [("i-0aaa", ["j-engine"])]
    assert "1 Batch job(s) submitted by the engine, found by their tags" in collected.notes
    assert ENGINE_JOBS_NOTE not in collected.notes
    assert (collected.unresolved, collected.unsupported) == ([], [])


def test_a_container_launch_or_one_without_an_engine_queue_does_not_look_for_engine_jobs() -> None:
    world = batch_world(JobInfo("j1", QUEUE, (attempt(0, 60),)), engine_job_queue=QUEUE)  # container

    world.collector().collect("wf-1", 1)

    assert world.batch.tag_queries == []
