"""Where a simulated Batch job runs: real moto EC2 instances and ECS container instances, or Fargate.

AWS Batch places each job attempt on its compute environment (CE) as an ECS task. The simulation keeps
that shape, simply, so "which instance ran this job, from when to when" is answered by the same calls as
on AWS (``DescribeJobs`` → ``containerInstanceArn`` → ``DescribeContainerInstances(cluster=<CE
ecsClusterArn>)`` → ``ec2InstanceId`` → ``DescribeInstances``):

- **EC2 and SPOT** (managed) CEs: one instance per CE at a time, launched when an attempt starts and the
  CE has none, shared by every attempt that starts while it is up. It is a moto EC2 instance of
  ``batch_outcome.instance_type(instanceTypes)`` in the CE's first subnet with its security groups (its
  availability zone is the subnet's), ``InstanceLifecycle: spot`` for a SPOT CE, ``LaunchTime`` on the
  virtual clock, registered as a container instance of the CE's ECS cluster. When its last attempt ends
  and no other starts within ``scale_in_seconds`` (virtual, default 300), it is scaled in: terminated
  (``StateTransitionReason`` ``User initiated (<virtual time> GMT)``) and its container instance marked
  ``INACTIVE`` (still described, as AWS keeps deregistered instances for a while). Scale-in timers do not
  keep ``run_until_idle`` going: they fire when the clock passes them.
- **UNMANAGED** CEs: the first ACTIVE container instance already registered in the CE's cluster, if any.
- **FARGATE** and **FARGATE_SPOT** CEs: a task ARN and no container instance.

Every attempt gets its own ECS task ARN in the CE's cluster (``arn:aws:ecs:<region>:<account>:task/
<cluster>/<32 hex>``). Not modelled: ``maxvCpus``/``desiredvCpus`` capacity (attempts never wait for one
another), several instances per CE, instance sizes that fit the job, the instances moto itself launches
for ``minvCpus``/``desiredvCpus`` at CE creation (left alone, never used for jobs).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.batch.models import ComputeEnvironment
from moto.ec2.models import ec2_backends
from moto.ec2.models.instance_types import INSTANCE_TYPES
from moto.ecs.models import ecs_backends

from localcloud.clock import Timer, VirtualClock
from localcloud.simulators.batch_outcome import instance_type

DEFAULT_SCALE_IN_SECONDS = 300.0
DEFAULT_IMAGE_ID = "ami-03cf127a"  # what moto's Batch launches for a CE without imageId
_FARGATE = ("FARGATE", "FARGATE_SPOT")


@dataclass
class Host:
    """One simulated instance of a CE and its container instance."""

    instance: Any  # moto's EC2 Instance
    container_instance: Any  # moto's ECS ContainerInstance
    busy: int = 0
    scale_in: Timer | None = None
    active: bool = True


@dataclass(frozen=True)
class Placement:
    """Where one attempt runs."""

    task_arn: str
    container_instance_arn: str | None = None
    instance_id: str | None = None
    host: Host | None = field(default=None, compare=False, repr=False)


def _partition(region: str) -> str:
    return "aws-cn" if region.startswith("cn-") else "aws"


class ComputeFleet:
    """The simulated instances of every compute environment (see the module docstring)."""

    def __init__(self, clock: VirtualClock, scale_in_seconds: float = DEFAULT_SCALE_IN_SECONDS) -> None:
        self.clock = clock
        self.scale_in_seconds = scale_in_seconds
        self.hosts: dict[str, Host] = {}  # by CE ARN: the CE's current instance

    def place(self, environment: ComputeEnvironment | None, account: str, region: str) -> Placement:
        """Start an attempt on ``environment`` (the job queue's first CE; ``None`` if it has none)."""
        cluster = str(environment.ecs_name) if environment is not None and environment.ecs_name else "default"
        task_arn = f"arn:{_partition(region)}:ecs:{region}:{account}:task/{cluster}/{uuid.uuid4().hex}"
        if environment is None:
            return Placement(task_arn)
        resources = environment.compute_resources or {}
        if str(resources.get("type", "")).upper() in _FARGATE:
            return Placement(task_arn)
        if environment.env_type != "MANAGED":
            return self._unmanaged(environment, account, region, task_arn)
        host = self.hosts.get(environment.arn)
        if host is None or not self._usable(host, environment):
            if host is not None:
                host.active = False  # gone: attempts still on it release nothing
            host = self._launch(environment, account, region)
            self.hosts[environment.arn] = host
        if host.scale_in is not None:
            host.scale_in.cancel()
            host.scale_in = None
        host.busy += 1
        host.container_instance.running_tasks_count += 1
        return Placement(task_arn, host.container_instance.container_instance_arn, host.instance.id, host)

    def release(self, placement: Placement | None) -> None:
        """An attempt ended: its instance scales in after ``scale_in_seconds`` if nothing else starts."""
        host = placement.host if placement is not None else None
        if host is None or not host.active:
            return
        host.busy = max(0, host.busy - 1)
        host.container_instance.running_tasks_count = max(0, host.container_instance.running_tasks_count - 1)
        if host.busy == 0:
            host.scale_in = self.clock.call_later(
                self.scale_in_seconds, lambda: self._scale_in(host), daemon=True
            )

    @staticmethod
    def _usable(host: Host, environment: ComputeEnvironment) -> bool:
        """Still up: not scaled in, not terminated by someone else, not from before a moto reset."""
        return host.active and host.instance.state == "running" and host.instance in environment.instances

    def _launch(self, environment: ComputeEnvironment, account: str, region: str) -> Host:
        resources = environment.compute_resources
        ec2 = ec2_backends[account][region]
        options: dict[str, Any] = {
            "instance_type": instance_type(resources.get("instanceTypes") or [], INSTANCE_TYPES),
            "region_name": region,
            "subnet_id": (resources.get("subnets") or [None])[0],
            "security_group_ids": list(resources.get("securityGroupIds") or []),
            "is_instance_type_default": False,
            "tags": {"instance": dict(resources.get("tags") or {})},
        }
        if resources.get("ec2KeyPair"):
            options["key_name"] = resources["ec2KeyPair"]
        if str(resources.get("type", "")).upper() == "SPOT":
            options["instance_market_options"] = {"MarketType": "spot"}
        image = resources.get("imageId") or DEFAULT_IMAGE_ID
        instance = ec2.run_instances(image, 1, None, [], **options).instances[0]
        instance.launch_time = self.clock.utcnow()
        environment.add_instance(instance)
        container_instance = ecs_backends[account][region].register_container_instance(
            environment.ecs_name, instance.id
        )
        container_instance.registered_at = self.clock.utcnow()
        return Host(instance, container_instance)

    def _unmanaged(
        self, environment: ComputeEnvironment, account: str, region: str, task_arn: str
    ) -> Placement:
        registered = ecs_backends[account][region].container_instances.get(environment.ecs_name, {})
        active = next((item for item in registered.values() if item.status == "ACTIVE"), None)
        if active is None:
            return Placement(task_arn)
        return Placement(task_arn, active.container_instance_arn, active.ec2_instance_id)

    def _scale_in(self, host: Host) -> None:
        if host.busy or not host.active:
            return
        host.active, host.scale_in = False, None
        host.instance.terminate()
        moment = datetime.fromtimestamp(self.clock.now(), UTC)
        host.instance._reason = f"User initiated ({moment:%Y-%m-%d %H:%M:%S} GMT)"
        host.container_instance.status = "INACTIVE"
        host.container_instance.agent_connected = False
