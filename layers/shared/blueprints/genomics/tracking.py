"""Status tracking from ECS task, Batch job, SSM command (ParallelCluster head node) and Step Functions
execution state changes.

An event is mapped to a ``StateChange`` (pure), then applied with one conditional write: the expected
statuses, the attempt the task or job belongs to (``startedBy`` ``<id>/a<n>``, job or execution name
``<id>-a<n>``; an SSM command is found by the launch's ``compute_ref`` ``ssm:<command id>``) and the
event-time guard. A stale, duplicate or foreign event fails the condition and is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from botocore.exceptions import ClientError

from blueprints.core.observability import logger
from blueprints.genomics.events import (
    BatchJobDetail,
    EcsTaskDetail,
    SfnExecutionDetail,
    SfnExecutionEvent,
    SsmCommandDetail,
    SsmCommandEvent,
)
from blueprints.genomics.registry import LaunchRegistry
from blueprints.genomics.status import Status

STARTED_BY = re.compile(r"^(?P<launch_id>[A-Za-z0-9_-]{1,64})/a(?P<attempt>[0-9]{1,4})$")
JOB_NAME = re.compile(r"^(?P<launch_id>[A-Za-z0-9_-]{1,64})-a(?P<attempt>[0-9]{1,4})$")
OOM = "OutOfMemoryError"
BATCH_LAUNCHING = frozenset({"SUBMITTED", "PENDING", "RUNNABLE", "STARTING"})
SSM_FAILED = frozenset({"Failed", "TimedOut", "Cancelled", "Undeliverable", "Terminated"})
SFN_FAILED = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})


def compute_ref(values: dict[str, Any]) -> str | None:
    """The lookup key of a started attempt whose events do not name the launch (SSM commands), or of a
    Step Functions execution (kept alike for queries): ``ssm:<command id>``, ``sfn:<execution arn>``."""
    if values.get("ssm_command_id"):
        return f"ssm:{values['ssm_command_id']}"
    if values.get("sfn_execution_arn"):
        return f"sfn:{values['sfn_execution_arn']}"
    return None


class Applied(StrEnum):
    APPLIED = "applied"
    IGNORED = "ignored"  # stale, duplicate, another attempt's, or nothing to change
    FOREIGN = "foreign"  # not a launch of this blueprint


@dataclass(frozen=True)
class StateChange:
    launch_id: str
    attempt: int
    event_time: str
    target: Status | None  # None: facts only (no status change)
    facts: dict[str, Any] = field(default_factory=dict)
    first_only: tuple[str, ...] = ()  # facts written only when absent (runnable_since)


def _identity(pattern: re.Pattern[str], text: str) -> tuple[str, int] | None:
    match = pattern.match(text)
    return (match["launch_id"], int(match["attempt"])) if match else None


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _epoch_ms(value: int | None) -> str | None:
    """Exact to the millisecond (no float division: large values would lose microseconds)."""
    return (EPOCH + timedelta(milliseconds=value)).isoformat() if value else None


def ecs_change(detail: EcsTaskDetail, event_time: str) -> StateChange | None:
    identity = _identity(STARTED_BY, detail.startedBy)
    if identity is None:
        return None
    when = detail.updatedAt or event_time
    resources = {
        "kind": "ecs",
        "task_arn": detail.taskArn,
        "cpu": detail.cpu,
        "memory": detail.memory,
        "launch_type": detail.launchType,
        "capacity_provider": detail.capacityProviderName,
        "availability_zone": detail.availabilityZone,
        "cpu_architecture": next(
            (item.value for item in detail.attributes if item.name == "ecs.cpu-architecture"), ""
        ),
        "ephemeral_storage_gib": detail.ephemeralStorage.get("sizeInGiB", 20),
        "started_at": detail.startedAt,
        "stopped_at": detail.stoppedAt,
    }
    resources = {name: value for name, value in resources.items() if value not in ("", None)}
    facts: dict[str, Any] = {"task_arn": detail.taskArn, "compute_resources": resources}
    if detail.lastStatus == "RUNNING":
        return StateChange(*identity, when, Status.RUNNING, facts)
    if detail.lastStatus != "STOPPED":  # before RUNNING, or on the way to STOPPED (DEACTIVATING, STOPPING,
        # DEPROVISIONING, which a task that never started passes too): nothing to record, no write
        return StateChange(*identity, when, None)
    exits = [container.exitCode for container in detail.containers if container.exitCode is not None]
    reasons = [container.reason for container in detail.containers if container.reason]
    if detail.stopCode == "EssentialContainerExited" and exits and all(code == 0 for code in exits):
        return StateChange(*identity, when, Status.COMPLETE, {**facts, "exit_code": 0})
    oom = any(OOM in reason for reason in [*reasons, detail.stoppedReason])
    code = OOM if oom else (detail.stopCode or "TaskStopped")
    nonzero = next((value for value in exits if value != 0), None)
    message = "; ".join(part for part in [*reasons, detail.stoppedReason] if part) or code
    if nonzero is not None:
        facts["exit_code"] = nonzero
        message = f"{message} (exit code {nonzero})"
    return StateChange(
        *identity, when, Status.FAILED, {**facts, "error_code": code, "error_message": message[:1024]}
    )


def batch_change(detail: BatchJobDetail, event_time: str, log_group: str) -> StateChange | None:
    identity = _identity(JOB_NAME, detail.jobName)
    if identity is None:
        return None
    attempt = detail.attempts[-1] if detail.attempts else None
    container = attempt.container if attempt and attempt.container.logStreamName else detail.container
    resources = {
        "kind": "batch",
        "job_id": detail.jobId,
        "job_queue": detail.jobQueue,
        "container_instance_arn": container.containerInstanceArn,
        "task_arn": container.taskArn,
        "attempts": len(detail.attempts),
        "started_at": _epoch_ms(detail.startedAt),
        "stopped_at": _epoch_ms(detail.stoppedAt),
    }
    resources = {name: value for name, value in resources.items() if value not in ("", None)}
    facts: dict[str, Any] = {"compute_resources": resources}
    if container.logStreamName:
        facts.update({"log_group": log_group, "log_stream": container.logStreamName})
    if detail.status == "RUNNABLE":  # the stuck-launch check needs to know since when
        return StateChange(*identity, event_time, None, {"runnable_since": event_time}, ("runnable_since",))
    if detail.status in BATCH_LAUNCHING:  # nothing the launcher did not record: no write
        return StateChange(*identity, event_time, None)
    if detail.status == "RUNNING":
        return StateChange(*identity, event_time, Status.RUNNING, facts)
    if detail.status == "SUCCEEDED":
        return StateChange(*identity, event_time, Status.COMPLETE, {**facts, "exit_code": 0})
    code = OOM if OOM in f"{container.reason} {detail.statusReason}" else "BatchJobFailed"
    message = "; ".join(part for part in (detail.statusReason, container.reason) if part) or detail.status
    if container.exitCode is not None:
        facts["exit_code"] = container.exitCode
        message = f"{message} (exit code {container.exitCode})"
    return StateChange(
        *identity, event_time, Status.FAILED, {**facts, "error_code": code, "error_message": message[:1024]}
    )


def ssm_change(
    detail: SsmCommandDetail, event_time: str, identity: tuple[str, int] | None
) -> StateChange | None:
    """An SSM command's status on the head node: InProgress is RUNNING, Success COMPLETE, the other ends
    FAILED (``error_code`` ``Command<status>``); Pending, Delayed and Cancelling record nothing."""
    if identity is None:
        return None
    resources = {"kind": "ssm", "command_id": detail.command_id, "instance_id": detail.instance_id}
    facts: dict[str, Any] = {"compute_resources": {k: v for k, v in resources.items() if v}}
    if detail.status == "InProgress":
        return StateChange(*identity, event_time, Status.RUNNING, facts)
    if detail.status == "Success":
        return StateChange(*identity, event_time, Status.COMPLETE, facts)
    if detail.status in SSM_FAILED:
        where = f" on {detail.instance_id}" if detail.instance_id else ""
        message = f"SSM command {detail.command_id}{where} ended {detail.status}"
        return StateChange(
            *identity,
            event_time,
            Status.FAILED,
            {**facts, "error_code": f"Command{detail.status}", "error_message": message},
        )
    return StateChange(*identity, event_time, None)


def sfn_change(detail: SfnExecutionDetail, event_time: str) -> StateChange | None:
    """A Step Functions execution named ``<launch_id>-a<attempt>``: RUNNING, SUCCEEDED (COMPLETE), FAILED,
    TIMED_OUT or ABORTED (FAILED with the execution's error and cause)."""
    identity = _identity(JOB_NAME, detail.name or detail.executionArn.rsplit(":", 1)[-1])
    if identity is None:
        return None
    resources = {
        "kind": "stepfunctions",
        "execution_arn": detail.executionArn,
        "started_at": _epoch_ms(detail.startDate),
        "stopped_at": _epoch_ms(detail.stopDate),
    }
    facts: dict[str, Any] = {
        "sfn_execution_arn": detail.executionArn,
        "compute_resources": {name: value for name, value in resources.items() if value},
    }
    if detail.status == "RUNNING":
        return StateChange(*identity, event_time, Status.RUNNING, facts)
    if detail.status == "SUCCEEDED":
        return StateChange(*identity, event_time, Status.COMPLETE, facts)
    if detail.status in SFN_FAILED:
        code = detail.error or f"Execution{detail.status.title().replace('_', '')}"
        message = "; ".join(part for part in (detail.error, detail.cause) if part) or detail.status
        return StateChange(
            *identity,
            event_time,
            Status.FAILED,
            {
                **facts,
                "error_code": code[:256],
                "error_message": f"execution {detail.status}: {message}"[:1024],
            },
        )
    return StateChange(*identity, event_time, None)


SOURCES: dict[Status, frozenset[Status]] = {
    Status.RUNNING: frozenset({Status.LAUNCHING}),
    Status.COMPLETE: frozenset({Status.LAUNCHING, Status.RUNNING}),
    Status.FAILED: frozenset({Status.LAUNCHING, Status.RUNNING}),
}


INSTANCE_KEYS = ("ec2_instance_id", "instance_type", "purchase_option", "availability_zone", "volumes")


def _instance_facts(
    change: StateChange, lookup: InstanceLookup, recorded: dict[str, Any] | None = None
) -> StateChange:
    """The Batch job's instance facts: those recorded at RUNNING for the same container instance (a later
    write must not drop them), else looked up now."""
    resources = dict(change.facts.get("compute_resources") or {})
    arn = resources.get("container_instance_arn")
    if not arn or "ec2_instance_id" in resources:
        return change
    if recorded and recorded.get("container_instance_arn") == arn and recorded.get("ec2_instance_id"):
        resources.update({key: recorded[key] for key in INSTANCE_KEYS if key in recorded})
    else:
        try:
            resources.update(lookup.of_container_instance(str(arn)))
        except ClientError as exc:  # the status matters more than the facts: record it without them
            logger.warning("Instance facts not captured", container_instance=arn, error=str(exc))
            return change
    return replace(change, facts={**change.facts, "compute_resources": resources})


def _event_datetime(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


class InstanceLookup(Protocol):
    def of_container_instance(self, container_instance_arn: str) -> dict[str, Any]: ...


class Tracker:
    def __init__(
        self, registry: LaunchRegistry, now: Callable[[], datetime], instances: InstanceLookup | None = None
    ) -> None:
        self.registry = registry
        self.now = now
        self.instances = instances

    def command(self, detail: SsmCommandDetail, event_time: str) -> Applied:
        """Apply an SSM command's status to the launch that recorded the command (``compute_ref``)."""
        found = self.registry.by_compute_ref(f"ssm:{detail.command_id}")
        identity = (str(found["launch_id"]), int(found.get("attempt", 1))) if found else None
        return self.apply(ssm_change(detail, event_time, identity))

    def remote(self, event: SsmCommandEvent | SfnExecutionEvent) -> Applied:
        """A ParallelCluster head-node command or a Step Functions execution changed status."""
        if isinstance(event, SsmCommandEvent):
            return self.command(event.detail, event.time.isoformat())
        return self.apply(sfn_change(event.detail, event.time.isoformat()))

    def apply(self, change: StateChange | None) -> Applied:
        if change is None:
            return Applied.FOREIGN
        logger.append_keys(launch_id=change.launch_id, attempt=change.attempt)
        if change.target is None and not change.facts:
            return Applied.IGNORED  # a step before RUNNING that records nothing new: no write
        at = _event_datetime(change.event_time) or self.now()
        if self.instances is not None and "container_instance_arn" in change.facts.get(
            "compute_resources", {}
        ):
            recorded = None
            if change.target in (Status.COMPLETE, Status.FAILED):  # keep what RUNNING captured
                current = self.registry.get_plain(change.launch_id) or {}
                recorded = dict(current.get("compute_resources") or {})
            change = _instance_facts(change, self.instances, recorded)
        if change.target is None:
            updated = self.registry.update(
                change.launch_id,
                attempt=change.attempt,
                status=Status.LAUNCHING,
                now=at,
                set_values=change.facts,
                only_if_absent=change.first_only,
            )
        else:
            updated = self.registry.transition(
                change.launch_id,
                attempt=change.attempt,
                sources=SOURCES[change.target],
                target=change.target,
                now=at,
                set_values=change.facts,
                event_time=change.event_time,
            )
        if updated is None:
            logger.info(
                "State change not applied (stale, duplicate or another attempt)", target=change.target
            )
            return Applied.IGNORED
        logger.info("State change applied", status=updated.status)
        return Applied.APPLIED
