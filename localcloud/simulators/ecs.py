"""ECS task simulator: RunTask → PROVISIONING → PENDING → RUNNING → STOPPED on the virtual clock.

moto creates a task already RUNNING (its state manager then walks it to STOPPED as it is described)
and emits no events. The simulator takes over every task moto's ``run_task`` creates: it drives the
task through the states AWS reports, puts an ``ECS Task State Change`` event on the default bus at
each change (so rules on ``aws.ecs`` fire), and keeps moto's task in step, so ``DescribeTasks`` shows
the simulated ``lastStatus``, ``stopCode``, ``stoppedReason``, timestamps and container exit code.
The outcome comes from the containers' ``LOCALCLOUD_*`` variables (``ecs_outcome``). ``StopTask``
stops a simulated task at once (``UserInitiated``; a running container exits 143, as on SIGTERM).

Timings (virtual): provisioning 5 s, pending (image pull) 10 s, then the run time. Intermediate
states AWS also reports (ACTIVATING, DEACTIVATING, STOPPING, DEPROVISIONING) are not emitted.

RunTask faults: moto never throttles ``RunTask`` and always answers ``failures: []``. A task
definition's container environment can ask for both (``LOCALCLOUD_RUNTASK_THROTTLE``,
``LOCALCLOUD_RUNTASK_FAILURE[_COUNT]``, see ``ecs_outcome``), counted per family from the moment the
simulator is installed. A call is one SDK invocation: its retries (same ``amz-sdk-invocation-id``
header) get the same answer, as a throttle that outlasts the SDK's retries would give them. A throttled
call gets ``ThrottlingException`` (HTTP 400); a failed one an HTTP 200 with no tasks and
``failures: [{arn: <cluster ARN>, reason}]``. Every RunTask request is kept in ``run_task_calls``.

Also fixed: moto's RunTask crashes (``TypeError``) on a container definition without ``memory`` or
``memoryReservation``, which is the usual Fargate shape (memory set on the task only).
"""

from __future__ import annotations

import copy
import json
import logging
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, cast
from unittest import mock

from moto.core.exceptions import JsonRESTError, ServiceException
from moto.core.responses import ActionResult
from moto.ecs.models import EC2ContainerServiceBackend, Task, TaskDefinition
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.events.models import events_backends

from localcloud.clock import Timer, VirtualClock, isoformat
from localcloud.simulators.container_logs import ContainerLogs
from localcloud.simulators.ecs_outcome import (
    RunTaskFault,
    RunTaskFaults,
    TaskOutcome,
    container_environments,
    failed_runs_key,
    run_task_faults,
    task_outcome,
    without_failure,
)

logger = logging.getLogger(__name__)

PROVISIONING_SECONDS = 5.0
PENDING_SECONDS = 10.0
SIGTERM_EXIT_CODE = 143
EVENT_LOG_SIZE = 1000
_MEMORY_KEYS = ("memory", "memoryReservation", "Memory", "MemoryReservation")
INVOCATION_ID_HEADER = "amz-sdk-invocation-id"  # botocore: the same for every retry of one call
REMEMBERED_INVOCATIONS = 1000


class ThrottlingError(JsonRESTError):
    """ECS's throttling error (not in ECS's error model, so moto's model-based serializer cannot send it)."""

    code = 400

    def __init__(self) -> None:
        super().__init__("ThrottlingException", "Rate exceeded")


@dataclass(frozen=True)
class RunTaskCall:
    """One RunTask request the simulator answered (SDK retries are separate entries, same invocation)."""

    family: str
    started_by: str | None
    client_token: str | None
    invocation_id: str | None
    time: float
    fault: RunTaskFault | None
    task_arns: tuple[str, ...] = ()


class SimulatedTask:
    """One task's simulated lifecycle, mirrored onto moto's ``Task``."""

    def __init__(
        self, task: Task, definition: TaskDefinition, outcome: TaskOutcome, clock: VirtualClock
    ) -> None:
        # Any: the simulator adds what moto's Task lacks (stop_code, created_at, version, ...).
        self.task: Any = cast(Any, task)
        self.definition = definition
        self.outcome = outcome
        self.clock = clock
        self.version = 0
        self.times: dict[str, float] = {"createdAt": clock.now()}
        self.stop_code: str | None = None
        self.stopped_reason: str | None = None
        self.exit_codes: dict[str, int | None] = {}
        self.container_reason: str | None = None
        self.timer: Timer | None = None
        # From now on moto's state manager must not move the task: the simulator does.
        self.task._transitions = []
        for container in self.task.containers:
            container.task_arn = task.task_arn  # moto puts the task definition ARN here
        self._mirror("PROVISIONING", "RUNNING", "PENDING")

    @property
    def arn(self) -> str:
        return str(self.task.task_arn)

    @staticmethod
    def _datetime(epoch: float) -> datetime:
        return datetime.fromtimestamp(epoch, UTC)

    def _mirror(self, last_status: str, desired_status: str, container_status: str) -> None:
        task = self.task
        task.last_status = last_status
        task.desired_status = desired_status
        task.version = self.version
        for name, epoch in self.times.items():
            setattr(task, _snake(name), self._datetime(epoch))
        task.stop_code = self.stop_code
        task.stopped_reason = self.stopped_reason or ""
        for container in task.containers:
            container.last_status = container_status
            container.exitCode = self.exit_codes.get(container.name)
            container.reason = self.container_reason if container.name == self.outcome.container else None

    def change(self, last_status: str, desired_status: str, container_status: str) -> dict[str, Any]:
        """Apply a state change to moto's task and return the event detail AWS would emit."""
        self.version += 1
        self.times["updatedAt"] = self.clock.now()
        self._mirror(last_status, desired_status, container_status)
        return self.detail(container_status)

    def detail(self, container_status: str) -> dict[str, Any]:
        task, definition = self.task, self.definition
        containers = []
        for container_definition in definition.container_definitions:
            name = container_definition.get("name")
            container: dict[str, Any] = {
                "containerArn": f"{self.arn.replace(':task/', ':container/')}/{name}",
                "name": name,
                "image": container_definition.get("image"),
                "taskArn": self.arn,
                "lastStatus": container_status,
            }
            if self.exit_codes.get(str(name)) is not None:
                container["exitCode"] = self.exit_codes[str(name)]
            if name == self.outcome.container and self.container_reason:
                container["reason"] = self.container_reason
            containers.append(container)
        detail: dict[str, Any] = {
            "clusterArn": task.cluster_arn,
            "taskArn": self.arn,
            "taskDefinitionArn": task.task_definition_arn,
            "lastStatus": task.last_status,
            "desiredStatus": task.desired_status,
            "startedBy": task.started_by,
            "group": task.group,
            "launchType": task.launch_type or "FARGATE",
            "platformVersion": task.platform_version or "1.4.0",
            "availabilityZone": f"{task.region_name}a",
            "cpu": str(definition.cpu) if definition.cpu is not None else None,
            "memory": str(definition.memory) if definition.memory is not None else None,
            "containers": containers,
            "overrides": task.overrides or {"containerOverrides": []},
            "attachments": task.attachments,
            "version": self.version,
        }
        detail.update({name: isoformat(epoch, millis=True) for name, epoch in self.times.items()})
        if self.stop_code:
            detail["stopCode"] = self.stop_code
        if self.stopped_reason:
            detail["stoppedReason"] = self.stopped_reason
        return {key: value for key, value in detail.items() if value is not None}


def _snake(name: str) -> str:
    return "".join(f"_{char.lower()}" if char.isupper() else char for char in name)


class EcsTaskSimulator:
    """Drives every task moto's ``run_task`` creates while installed."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.tasks: dict[str, SimulatedTask] = {}
        self.events: deque[dict[str, Any]] = deque(maxlen=EVENT_LOG_SIZE)
        self.run_task_calls: deque[RunTaskCall] = deque(maxlen=EVENT_LOG_SIZE)
        self._calls_per_family: Counter[str] = Counter()
        self._runs_per_failure_key: Counter[str] = Counter()
        self.logs = ContainerLogs()
        self._faults_by_invocation: dict[str, RunTaskFault | None] = {}

    @contextmanager
    def install(self) -> Iterator[EcsTaskSimulator]:
        original_run_task = EC2ContainerServiceBackend.run_task
        original_stop_task = EC2ContainerServiceBackend.stop_task
        original_requirements = EC2ContainerServiceBackend._calculate_task_resource_requirements
        original_response = EC2ContainerServiceResponse.run_task
        simulator = self
        self._calls_per_family.clear()
        self._faults_by_invocation.clear()

        def run_task_response(response: EC2ContainerServiceResponse) -> Any:
            return simulator.answer_run_task(response, original_response)

        def run_task(backend: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> list[Task]:
            tasks: list[Task] = original_run_task(backend, *args, **kwargs)
            for task in tasks:
                simulator.start(backend, task)
            return tasks

        def stop_task(
            backend: EC2ContainerServiceBackend, cluster_str: str, task_str: str, reason: str
        ) -> Task:
            task: Task = original_stop_task(backend, cluster_str, task_str, reason)
            simulator.stop(task, reason)
            return task

        def requirements(definition: TaskDefinition) -> Any:  # a staticmethod in moto
            patched = copy.copy(definition)
            patched.container_definitions = [
                item if any(item.get(key) is not None for key in _MEMORY_KEYS) else {**item, "memory": 0}
                for item in definition.container_definitions
            ]
            return original_requirements(patched)

        with ExitStack() as stack:
            stack.enter_context(mock.patch.object(EC2ContainerServiceBackend, "run_task", run_task))
            stack.enter_context(mock.patch.object(EC2ContainerServiceBackend, "stop_task", stop_task))
            stack.enter_context(mock.patch.object(EC2ContainerServiceResponse, "run_task", run_task_response))
            stack.enter_context(
                mock.patch.object(
                    EC2ContainerServiceBackend,
                    "_calculate_task_resource_requirements",
                    staticmethod(requirements),
                )
            )
            yield self

    def answer_run_task(self, response: EC2ContainerServiceResponse, original: Any) -> Any:
        """RunTask as the API answers it: a fault the task definition asks for, else moto's tasks."""
        backend = response.ecs_backend
        try:
            definition = backend.describe_task_definition(response._get_param("taskDefinition"))
            cluster = backend._get_cluster(response._get_param("cluster", "default"))
        except (JsonRESTError, ServiceException):
            return original(response)  # moto reports the bad request as AWS would
        faults = run_task_faults(container_environments(definition.container_definitions, None))
        invocation_id = response.headers.get(INVOCATION_ID_HEADER)
        fault = self._fault(definition.family, faults, invocation_id)
        call = RunTaskCall(
            family=definition.family,
            started_by=response._get_param("startedBy"),
            client_token=response._get_param("clientToken"),
            invocation_id=invocation_id,
            time=self.clock.now(),
            fault=fault,
        )
        if fault is RunTaskFault.THROTTLED:
            self.run_task_calls.append(call)
            raise ThrottlingError()
        if fault is RunTaskFault.FAILED:
            self.run_task_calls.append(call)
            failure = {"arn": cluster.arn, "reason": faults.failure_reason}
            return ActionResult({"tasks": [], "failures": [failure]})
        result = original(response)
        tasks = cast(dict[str, Any], result.result)["tasks"] if isinstance(result, ActionResult) else []
        self.run_task_calls.append(replace(call, task_arns=tuple(str(task.task_arn) for task in tasks)))
        return result

    def _fault(self, family: str, faults: RunTaskFaults, invocation_id: str | None) -> RunTaskFault | None:
        if invocation_id is not None and invocation_id in self._faults_by_invocation:
            return self._faults_by_invocation[invocation_id]  # an SDK retry gets the call's answer
        self._calls_per_family[family] += 1
        fault = faults.fault(self._calls_per_family[family])
        if invocation_id is not None:
            if len(self._faults_by_invocation) >= REMEMBERED_INVOCATIONS:
                del self._faults_by_invocation[next(iter(self._faults_by_invocation))]
            self._faults_by_invocation[invocation_id] = fault
        return fault

    def start(self, backend: EC2ContainerServiceBackend, task: Task) -> None:
        definition = backend.describe_task_definition(task.task_definition_arn)
        environments = container_environments(definition.container_definitions, task.overrides)
        failing = failed_runs_key(environments)
        if failing is not None:
            key, count = failing
            self._runs_per_failure_key[key] += 1
            if self._runs_per_failure_key[key] > count:
                environments = without_failure(environments)
        outcome = task_outcome(environments)
        simulated = SimulatedTask(task, definition, outcome, self.clock)
        self.tasks[simulated.arn] = simulated
        simulated.timer = self.clock.call_later(0, lambda: self._provisioning(simulated))

    def _provisioning(self, sim: SimulatedTask) -> None:
        self._emit(sim, sim.change("PROVISIONING", "RUNNING", "PENDING"))
        next_step = self._pending if sim.outcome.provisions else self._failed_to_start
        sim.timer = self.clock.call_later(PROVISIONING_SECONDS, lambda: next_step(sim))

    def _pending(self, sim: SimulatedTask) -> None:
        sim.times["pullStartedAt"] = self.clock.now()
        self._emit(sim, sim.change("PENDING", "RUNNING", "PENDING"))
        next_step = self._running if sim.outcome.starts else self._failed_to_start
        sim.timer = self.clock.call_later(PENDING_SECONDS, lambda: next_step(sim))

    def _running(self, sim: SimulatedTask) -> None:
        now = self.clock.now()
        sim.times.update({"pullStoppedAt": now, "startedAt": now, "connectivityAt": now})
        self._emit(sim, sim.change("RUNNING", "RUNNING", "RUNNING"))
        self._write_logs(sim, sim.outcome.log_lines)
        sim.timer = self.clock.call_later(sim.outcome.run_seconds, lambda: self._exited(sim))

    def _exited(self, sim: SimulatedTask) -> None:
        outcome = sim.outcome
        sim.exit_codes = dict.fromkeys(_container_names(sim), 0)
        sim.exit_codes[outcome.container] = outcome.exit_code
        sim.container_reason = outcome.container_reason
        if outcome.container_reason:  # an out-of-memory kill shows in the container's log
            self._write_logs(sim, (outcome.container_reason,))
        self._stopped(sim, outcome.stop_code, outcome.stopped_reason)

    def _failed_to_start(self, sim: SimulatedTask) -> None:
        self._stopped(sim, sim.outcome.stop_code, sim.outcome.stopped_reason)

    def _stopped(self, sim: SimulatedTask, stop_code: str, reason: str) -> None:
        self._emit(sim, self._stop(sim, stop_code, reason))

    def _stop(self, sim: SimulatedTask, stop_code: str, reason: str) -> dict[str, Any]:
        now = self.clock.now()
        sim.times.update({"stoppingAt": now, "executionStoppedAt": now, "stoppedAt": now})
        sim.stop_code, sim.stopped_reason, sim.timer = stop_code, reason, None
        return sim.change("STOPPED", "STOPPED", "STOPPED")

    def stop(self, task: Task, reason: str | None) -> None:
        """StopTask: the task stops at once; its STOPPED event is put on the bus at the next advance
        (events are asynchronous in AWS too, and rules must not run inside the StopTask call)."""
        sim = self.tasks.get(str(task.task_arn))
        if sim is None:
            return
        if sim.stop_code is not None:  # already stopped: keep its reason (moto overwrote it)
            sim.task.stopped_reason = sim.stopped_reason or ""
            return
        if sim.timer is not None:
            sim.timer.cancel()
        if "startedAt" in sim.times:
            sim.exit_codes = dict.fromkeys(_container_names(sim), SIGTERM_EXIT_CODE)
        detail = self._stop(sim, "UserInitiated", reason or "Task stopped by user")
        self.clock.call_later(0, lambda: self._emit(sim, detail))

    def _write_logs(self, sim: SimulatedTask, lines: tuple[str, ...]) -> None:
        """Into the container's ``awslogs`` stream (``<prefix>/<container>/<task id>``), if it has one."""
        name = sim.outcome.container
        definitions = [item for item in sim.definition.container_definitions if item.get("name") == name]
        configuration: Any = (definitions[0].get("logConfiguration") if definitions else None) or {}
        options: Any = configuration.get("options") or {}
        if configuration.get("logDriver") != "awslogs" or not options.get("awslogs-group"):
            return
        task_id = sim.arn.rsplit("/", 1)[-1]
        stream = f"{options.get('awslogs-stream-prefix', 'ecs')}/{name}/{task_id}"
        task = sim.task
        self.logs.write(
            task._account_id, task.region_name, str(options["awslogs-group"]), stream, lines, self.clock.now()
        )

    def _emit(self, sim: SimulatedTask, detail: dict[str, Any]) -> None:
        task = sim.task
        self.events.append(detail)
        entry = {
            "Source": "aws.ecs",
            "DetailType": "ECS Task State Change",
            "Detail": json.dumps(detail),
            "Resources": [sim.arn],
            "Time": self.clock.now(),
        }
        events_backends[task._account_id][task.region_name].put_events([entry])


def _container_names(sim: SimulatedTask) -> list[str]:
    return [str(item.get("name")) for item in sim.definition.container_definitions]
