"""AWS Batch job simulator: SUBMITTED → PENDING → RUNNABLE → STARTING → RUNNING → SUCCEEDED | FAILED.

moto without Docker (the local cloud's ``batch.use_docker: False``) marks a submitted job SUCCEEDED at
once and emits no events. The simulator takes over every container job moto's ``submit_job`` creates
(with or without Docker): it walks the job through the states AWS reports on the virtual clock, puts a
``Batch Job State Change`` event (source ``aws.batch``) on the default bus at each change, and answers
``DescribeJobs`` and ``ListJobs`` from the simulation, so both show the same status, ``statusReason``,
timestamps, attempts, exit code, reason and log stream as the events. As on AWS, no event is emitted for
the initial SUBMITTED state.

Timings (virtual): SUBMITTED 1 s, PENDING 1 s (or until ``dependsOn`` jobs end), RUNNABLE
``LOCALCLOUD_RUNNABLE_SECONDS`` (default 5), STARTING 10 s, RUNNING ``LOCALCLOUD_RUN_SECONDS`` (default
60). The outcome of each attempt comes from the container's ``LOCALCLOUD_*`` variables
(``batch_outcome``). A failed attempt with attempts left in ``retryStrategy`` (SubmitJob's, else the job
definition's; ``evaluateOnExit`` honoured) goes back to RUNNABLE; every ended attempt is in
``attempts[]``. A ``timeout.attemptDurationSeconds`` shorter than the run time ends the attempt with
``Job attempt duration exceeded timeout``, not retried (as on AWS).

Where the attempt runs: ``batch_compute`` (a real moto EC2 instance and ECS container instance for EC2
and SPOT compute environments, a task ARN only for Fargate). The container writes
``LOCALCLOUD_LOG_LINES`` to CloudWatch Logs when it starts, and an out-of-memory kill adds a line with its
reason, in group ``/aws/batch/job``, stream ``<job definition name>/default/<ECS task id>`` (one stream
per attempt, as on AWS). Log timestamps follow the virtual clock within what CloudWatch Logs accepts
(14 days back to 2 hours ahead of real time) and are clamped to that window outside it.

``TerminateJob`` stops a job in any state (a running container exits 143, as on SIGTERM), ``CancelJob``
only one that has not reached STARTING (AWS: the call succeeds and the job keeps running); either ends
FAILED with the given ``statusReason`` at once, and its event is put on the bus at the next clock
advance (rules must not run inside the API call). Neither is retried. Array jobs: each child is
simulated; the parent stays PENDING until every child has ended, then SUCCEEDED or FAILED.

Also fixed in moto's Batch: ``ListJobs`` without ``jobStatus`` or ``filters`` returns RUNNING jobs only
(moto: every job), lists array children only by ``arrayJobId``, and applies the ``JOB_DEFINITION``,
``BEFORE_CREATED_AT`` and ``AFTER_CREATED_AT`` filters (moto: only ``JOB_NAME``); SubmitJob's
``retryStrategy`` and ``propagateTags`` are kept (moto drops them); moto's no-Docker SubmitJob accepts
job names AWS rejects; ``DescribeJobs`` no longer repeats ``AWS_BATCH_JOB_ID`` in the environment on
every call. Multi-node and EKS jobs are left to moto.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import datetime
from functools import partial
from typing import Any, cast
from unittest import mock

from moto.batch.exceptions import ClientException
from moto.batch.models import BatchBackend, ComputeEnvironment, Job
from moto.batch.responses import BatchResponse
from moto.batch_simple.models import BatchSimpleBackend
from moto.events.models import events_backends

from localcloud.clock import Timer, VirtualClock
from localcloud.simulators.batch_compute import DEFAULT_SCALE_IN_SECONDS, ComputeFleet, Placement
from localcloud.simulators.batch_outcome import (
    AttemptOutcome,
    allowed_attempts,
    container_environment,
    job_outcome,
    retries,
)
from localcloud.simulators.container_logs import ContainerLogs

logger = logging.getLogger(__name__)

SUBMITTED_SECONDS = 1.0
PENDING_SECONDS = 1.0
STARTING_SECONDS = 10.0
SIGTERM_EXIT_CODE = 143
LOG_GROUP = "/aws/batch/job"
STATE_CHANGE = "Batch Job State Change"
QUEUE_BLOCKED = "Batch Job Queue Blocked"
DEPENDENT_JOB_FAILED = "Dependent Job failed"
TIMEOUT_REASON = "Job attempt duration exceeded timeout"
EVENT_LOG_SIZE = 1000
STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
TERMINAL = frozenset({"SUCCEEDED", "FAILED"})
BEFORE_STARTING = frozenset({"SUBMITTED", "PENDING", "RUNNABLE"})
JOB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")  # AWS: 1-128, alphanumeric first


def _millis(epoch: float) -> int:
    return round(epoch * 1000)


def _local(epoch: float) -> datetime:
    """A naive local datetime, as moto's Job keeps its times (``datetime.now()``)."""
    return datetime.fromtimestamp(epoch)


def _prefix_match(value: str, pattern: str) -> bool:
    return value.startswith(pattern[:-1]) if pattern.endswith("*") else value == pattern


class SimulatedJob:
    """One job's simulated lifecycle, mirrored onto moto's ``Job``."""

    def __init__(self, job: Job, clock: VirtualClock, parent: SimulatedJob | None = None) -> None:
        self.job: Any = cast(Any, job)
        self.clock = clock
        self.parent = parent
        self.children: list[SimulatedJob] = []
        definition = self.job.job_definition
        properties = definition.container_properties or {}
        overrides = self.job.container_overrides or {}
        self.environment = container_environment(properties.get("environment"), overrides.get("environment"))
        self.outcome = job_outcome(self.environment)
        self.retry_strategy: dict[str, Any] = copy.deepcopy(definition.retry_strategy) or {}
        self.propagate_tags = bool(definition.propagate_tags)
        self.status = "SUBMITTED"
        self.status_reason: str | None = None
        self.created_at = clock.now()
        self.started_at: float | None = None
        self.stopped_at: float | None = None
        self.attempts: list[dict[str, Any]] = []  # ended attempts
        self.attempt = 0  # attempts started so far
        self.attempt_started_at: float | None = None
        self.container: dict[str, Any] = {}  # the latest attempt's taskArn, containerInstanceArn, ...
        self.placement: Placement | None = None
        self.timer: Timer | None = None
        self.cancelled = False
        self.terminated = False
        self.job._transitions = []  # from now on moto's state manager must not move the job
        self.job.job_created_at = _local(self.created_at)
        self.mirror()

    @property
    def job_id(self) -> str:
        return str(self.job.job_id)

    @property
    def arn(self) -> str:
        return str(self.job.arn)

    @property
    def account(self) -> str:
        return str(self.job.job_queue.backend.account_id)

    @property
    def region(self) -> str:
        return str(self.job.job_queue.backend.region_name)

    @property
    def compute_environment(self) -> ComputeEnvironment | None:
        """The job queue's first compute environment (moto keeps them in ``order``)."""
        environments = self.job.job_queue.environments
        return cast(ComputeEnvironment, environments[0]) if environments else None

    def attempt_timeout(self) -> float | None:
        seconds = self.job._get_attempt_duration()
        return float(seconds) if seconds else None

    def mirror(self) -> None:
        """Keep moto's own job fields in step (DescribeJobs/ListJobs answer from ``detail``/``summary``)."""
        job = self.job
        job.status = self.status
        job.job_stopped_reason = self.status_reason
        if self.started_at is not None:
            job.job_started_at = _local(self.started_at)
        job.job_stopped = self.status in TERMINAL
        if self.stopped_at is not None:
            job.job_stopped_at = _local(self.stopped_at)
        job.exit_code = self.container.get("exitCode")
        job.attempts = copy.deepcopy(self.attempts)
        job.log_stream_name = self.container.get("logStreamName")

    def _container(self) -> dict[str, Any]:
        properties = copy.deepcopy(self.job.job_definition.container_properties or {})
        overrides = self.job.container_overrides or {}
        container: dict[str, Any] = {key: value for key, value in properties.items() if key != "environment"}
        for key in ("command", "vcpus", "memory", "instanceType"):
            if key in overrides:
                container[key] = copy.deepcopy(overrides[key])
        if overrides.get("resourceRequirements"):
            requirements = {item["type"]: item for item in container.get("resourceRequirements") or []}
            requirements.update({item["type"]: item for item in overrides["resourceRequirements"]})
            container["resourceRequirements"] = list(requirements.values())
        container["environment"] = [
            {"name": name, "value": value} for name, value in self.environment.items()
        ]
        container["networkInterfaces"] = []
        container.update(copy.deepcopy(self.container))
        return container

    def _array_properties(self) -> dict[str, Any] | None:
        if self.children:
            summary = dict.fromkeys(STATUSES, 0)
            for child in self.children:
                summary[child.status] += 1
            return {"statusSummary": summary, "size": len(self.children)}
        index = (self.job.array_properties or {}).get("index")
        return {"index": index} if index is not None else None

    def detail(self) -> dict[str, Any]:
        """The job as ``DescribeJobs`` returns it, which is also the state-change event's ``detail``."""
        job = self.job
        definition = job.job_definition
        detail: dict[str, Any] = {
            "jobArn": self.arn,
            "jobName": job.job_name,
            "jobId": self.job_id,
            "jobQueue": job.job_queue.arn,
            "status": self.status,
        }
        if self.status_reason:
            detail["statusReason"] = self.status_reason
        detail["attempts"] = copy.deepcopy(self.attempts)
        detail["createdAt"] = _millis(self.created_at)
        if self.started_at is not None:
            detail["startedAt"] = _millis(self.started_at)
        if self.stopped_at is not None:
            detail["stoppedAt"] = _millis(self.stopped_at)
        detail["retryStrategy"] = {
            "attempts": allowed_attempts(self.retry_strategy),
            "evaluateOnExit": copy.deepcopy(self.retry_strategy.get("evaluateOnExit") or []),
        }
        detail["dependsOn"] = copy.deepcopy(job.depends_on or [])
        detail["jobDefinition"] = definition.arn
        detail["parameters"] = dict(job.parameters or {})
        detail["container"] = self._container()
        if job.timeout or definition.timeout:
            detail["timeout"] = dict(job.timeout or definition.timeout)
        detail["tags"] = job.backend.list_tags_for_resource(self.arn)
        detail["propagateTags"] = self.propagate_tags
        detail["platformCapabilities"] = list(definition.platform_capabilities or [])
        array_properties = self._array_properties()
        if array_properties is not None:
            detail["arrayProperties"] = array_properties
        if self.cancelled:
            detail["isCancelled"] = True
        if self.terminated:
            detail["isTerminated"] = True
        return detail

    def summary(self) -> dict[str, Any]:
        """The job as ``ListJobs`` returns it (a ``JobSummary``)."""
        summary: dict[str, Any] = {
            "jobArn": self.arn,
            "jobId": self.job_id,
            "jobName": self.job.job_name,
            "createdAt": _millis(self.created_at),
            "status": self.status,
        }
        if self.status_reason:
            summary["statusReason"] = self.status_reason
        if self.started_at is not None:
            summary["startedAt"] = _millis(self.started_at)
        if self.stopped_at is not None:
            summary["stoppedAt"] = _millis(self.stopped_at)
        container = {key: self.container[key] for key in ("exitCode", "reason") if key in self.container}
        if container:
            summary["container"] = container
        array_properties = self._array_properties()
        if array_properties is not None:
            summary["arrayProperties"] = {
                key: value for key, value in array_properties.items() if key in ("size", "index")
            }
        summary["jobDefinition"] = self.job.job_definition.arn
        return summary


def simulates(job: Job) -> bool:
    """Container jobs are simulated; multi-node and EKS jobs are left to moto."""
    definition = cast(Any, job).job_definition
    return bool(
        definition.type == "container"
        and definition.container_properties is not None
        and definition.eks_properties is None
    )


class BatchJobSimulator:
    """Drives every container job moto's ``submit_job`` creates while installed."""

    def __init__(self, clock: VirtualClock, scale_in_seconds: float = DEFAULT_SCALE_IN_SECONDS) -> None:
        self.clock = clock
        self.jobs: dict[str, SimulatedJob] = {}
        self.events: deque[dict[str, Any]] = deque(maxlen=EVENT_LOG_SIZE)  # state-change details
        self.fleet = ComputeFleet(clock, scale_in_seconds)
        self._waiting: list[SimulatedJob] = []  # PENDING on their dependencies
        self.logs = ContainerLogs()

    # -- patches -----------------------------------------------------------------------------------

    @contextmanager
    def install(self) -> Iterator[BatchJobSimulator]:
        simulator = self
        original_response = BatchResponse.submitjob
        original_mark = BatchSimpleBackend._mark_job_as_finished
        original_start = Job.start
        original_describe = Job.describe
        original_summary = Job.describe_short
        original_terminate = BatchBackend.terminate_job
        original_cancel = BatchBackend.cancel_job

        def submitting(original: Callable[..., tuple[str, str, str]]) -> Callable[..., tuple[str, str, str]]:
            def submit_job(backend: Any, job_name: str, *args: Any, **kwargs: Any) -> tuple[str, str, str]:
                if JOB_NAME.match(job_name or "") is None:
                    raise ClientException("Job name should match valid pattern")
                name, job_id, arn = original(backend, job_name, *args, **kwargs)
                simulator.start(backend._jobs[job_id])
                return name, job_id, arn

            return submit_job

        def submit_response(response: BatchResponse) -> str:
            body = original_response(response)
            simulator.apply_request(
                json.loads(body)["jobId"],
                response._get_param("retryStrategy"),
                response._get_param("propagateTags"),
            )
            return body

        def mark(backend: Any, include_start_attempt: bool, job: Job) -> None:
            if simulates(job):  # registered, not finished: the simulation runs it
                backend.backend._jobs[job.job_id] = job
            else:
                original_mark(backend, include_start_attempt, job)

        def start(job: Job) -> None:  # the Docker backend's thread
            if not simulates(job):
                original_start(job)

        def describe(job: Job) -> dict[str, Any]:
            sim = simulator.simulated(job)
            return sim.detail() if sim is not None else original_describe(job)

        def summary(job: Job) -> dict[str, Any]:
            sim = simulator.simulated(job)
            return sim.summary() if sim is not None else original_summary(job)

        def list_jobs(backend: BatchBackend, *args: Any, **kwargs: Any) -> list[Job]:
            return simulator.list_jobs(backend, *args, **kwargs)

        def stopping(original: Callable[..., None], cancel: bool) -> Callable[..., None]:
            def stop(backend: BatchBackend, job_id: str, reason: str) -> None:
                if job_id and reason and simulator.stop(job_id, reason, cancel=cancel):
                    return
                original(backend, job_id, reason)  # validation errors, unknown and unsimulated jobs

            return stop

        patches: list[tuple[Any, str, Any]] = [
            (BatchBackend, "submit_job", submitting(BatchBackend.submit_job)),
            (BatchSimpleBackend, "submit_job", submitting(BatchSimpleBackend.submit_job)),
            (BatchSimpleBackend, "_mark_job_as_finished", mark),
            (BatchResponse, "submitjob", submit_response),
            (Job, "start", start),
            (Job, "describe", describe),
            (Job, "describe_short", summary),
            (BatchBackend, "list_jobs", list_jobs),
            (BatchBackend, "terminate_job", stopping(original_terminate, cancel=False)),
            (BatchBackend, "cancel_job", stopping(original_cancel, cancel=True)),
        ]
        with ExitStack() as stack:
            for owner, name, replacement in patches:
                stack.enter_context(mock.patch.object(owner, name, replacement))
            yield self

    def simulated(self, job: Job) -> SimulatedJob | None:
        sim = self.jobs.get(str(cast(Any, job).job_id))
        return sim if sim is not None and sim.job is job else None

    def apply_request(self, job_id: str, retry_strategy: Any, propagate_tags: Any) -> None:
        """SubmitJob's own ``retryStrategy`` and ``propagateTags`` (moto's backend never sees them)."""
        sim = self.jobs.get(job_id)
        if sim is None:
            return
        for each in (sim, *sim.children):
            if retry_strategy is not None:
                each.retry_strategy = copy.deepcopy(retry_strategy)
            if propagate_tags is not None:
                each.propagate_tags = bool(propagate_tags)

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self, job: Job) -> None:
        if not simulates(job) or self.simulated(job) is not None:
            return
        sim = SimulatedJob(job, self.clock)
        self.jobs[sim.job_id] = sim
        sim.timer = self.clock.call_later(SUBMITTED_SECONDS, lambda: self._pending(sim))
        for child_job in cast(Any, job)._child_jobs or []:
            child = SimulatedJob(child_job, self.clock, parent=sim)
            self.jobs[child.job_id] = child
            sim.children.append(child)
            child.timer = self.clock.call_later(SUBMITTED_SECONDS, partial(self._pending, child))

    def _pending(self, sim: SimulatedJob) -> None:
        sim.timer = None
        self._change(sim, "PENDING")
        if not sim.children:  # an array parent waits for its children
            self._after_dependencies(sim)

    def _dependencies(self, sim: SimulatedJob) -> str:
        """``ready``, ``failed`` or ``waiting``; dependencies the simulator does not know are ignored."""
        others = [self.jobs.get(str(item.get("jobId"))) for item in sim.job.depends_on or []]
        known = [other for other in others if other is not None]
        if any(other.status == "FAILED" for other in known):
            return "failed"
        return "ready" if all(other.status in TERMINAL for other in known) else "waiting"

    def _after_dependencies(self, sim: SimulatedJob) -> None:
        state = self._dependencies(sim)
        if state == "waiting":
            if sim not in self._waiting:
                self._waiting.append(sim)
            return
        if sim in self._waiting:
            self._waiting.remove(sim)
        if state == "failed":
            sim.timer = self.clock.call_later(
                PENDING_SECONDS, lambda: self._publish(sim, self._finish(sim, "FAILED", DEPENDENT_JOB_FAILED))
            )
        else:
            sim.timer = self.clock.call_later(PENDING_SECONDS, lambda: self._runnable(sim))

    def _runnable(self, sim: SimulatedJob) -> None:
        sim.timer = None
        sim.status_reason = sim.outcome.runnable_reason
        detail = self._change(sim, "RUNNABLE")
        if sim.outcome.runnable_reason:
            self._emit(sim, detail, QUEUE_BLOCKED, [sim.arn, str(sim.job.job_queue.arn)])
        sim.timer = self.clock.call_later(sim.outcome.runnable_seconds, lambda: self._starting(sim))

    def _starting(self, sim: SimulatedJob) -> None:
        sim.attempt += 1
        sim.status_reason = None
        sim.placement = self.fleet.place(sim.compute_environment, sim.account, sim.region)
        sim.container = {"taskArn": sim.placement.task_arn}
        if sim.placement.container_instance_arn is not None:
            sim.container["containerInstanceArn"] = sim.placement.container_instance_arn
        self._change(sim, "STARTING")
        attempt = sim.outcome.attempt(sim.attempt)
        next_step = self._running if attempt.starts else self._failed_to_start
        sim.timer = self.clock.call_later(STARTING_SECONDS, lambda: next_step(sim, attempt))

    def _running(self, sim: SimulatedJob, attempt: AttemptOutcome) -> None:
        now = self.clock.now()
        sim.attempt_started_at = now
        if sim.started_at is None:
            sim.started_at = now
        task_id = str(sim.container["taskArn"]).rsplit("/", 1)[-1]
        sim.container["logStreamName"] = f"{sim.job.job_definition.name}/default/{task_id}"
        self._write_logs(sim, sim.outcome.log_lines)
        self._change(sim, "RUNNING")
        run_seconds, timeout = sim.outcome.run_seconds, sim.attempt_timeout()
        if timeout is not None and timeout < run_seconds:
            sim.timer = self.clock.call_later(timeout, lambda: self._timed_out(sim))
        else:
            sim.timer = self.clock.call_later(run_seconds, lambda: self._exited(sim, attempt))

    def _exited(self, sim: SimulatedJob, attempt: AttemptOutcome) -> None:
        if attempt.container_reason:  # an out-of-memory kill: the reason shows in the job's log
            self._write_logs(sim, (attempt.container_reason,))
        self._end_attempt(sim, attempt.exit_code, attempt.container_reason, attempt.status_reason)
        if not attempt.failed:
            self._publish(sim, self._finish(sim, "SUCCEEDED", attempt.status_reason))
        else:
            self._retry_or_fail(sim, attempt)

    def _failed_to_start(self, sim: SimulatedJob, attempt: AttemptOutcome) -> None:
        self._end_attempt(sim, None, attempt.container_reason, attempt.status_reason)
        self._retry_or_fail(sim, attempt)

    def _timed_out(self, sim: SimulatedJob) -> None:
        self._end_attempt(sim, SIGTERM_EXIT_CODE, None, TIMEOUT_REASON)
        self._publish(sim, self._finish(sim, "FAILED", TIMEOUT_REASON))

    def _retry_or_fail(self, sim: SimulatedJob, attempt: AttemptOutcome) -> None:
        if retries(sim.retry_strategy, sim.attempt, attempt):
            self._runnable(sim)
        else:
            self._publish(sim, self._finish(sim, "FAILED", attempt.status_reason))

    def _end_attempt(
        self, sim: SimulatedJob, exit_code: int | None, reason: str | None, status_reason: str
    ) -> None:
        sim.timer = None
        if exit_code is not None:
            sim.container["exitCode"] = exit_code
        if reason:
            sim.container["reason"] = reason
        container: dict[str, Any] = {
            key: sim.container[key]
            for key in ("containerInstanceArn", "taskArn", "exitCode", "reason", "logStreamName")
            if key in sim.container
        }
        container["networkInterfaces"] = []
        record: dict[str, Any] = {"container": container}
        if sim.attempt_started_at is not None:
            record["startedAt"] = _millis(sim.attempt_started_at)
        record["stoppedAt"] = _millis(self.clock.now())
        record["statusReason"] = status_reason
        sim.attempts.append(record)
        sim.attempt_started_at = None
        self.fleet.release(sim.placement)
        sim.placement = None

    def _finish(self, sim: SimulatedJob, status: str, reason: str | None) -> dict[str, Any]:
        """End the job (no event yet: ``_publish`` emits it and lets dependents and the parent move)."""
        sim.timer = None
        sim.status_reason = reason
        sim.stopped_at = self.clock.now()
        return self._change(sim, status, emit=False)

    def _publish(self, sim: SimulatedJob, detail: dict[str, Any]) -> None:
        self._emit(sim, detail)
        parent = sim.parent
        if (
            parent is not None
            and parent.status not in TERMINAL
            and all(child.status in TERMINAL for child in parent.children)
        ):
            self._publish(parent, self._end_array(parent))
        for waiting in list(self._waiting):
            self._after_dependencies(waiting)

    def _end_array(self, parent: SimulatedJob) -> dict[str, Any]:
        started = [child.started_at for child in parent.children if child.started_at is not None]
        parent.started_at = min(started) if started else None
        succeeded = all(child.status == "SUCCEEDED" for child in parent.children)
        return self._finish(parent, "SUCCEEDED" if succeeded else "FAILED", None)

    def _change(self, sim: SimulatedJob, status: str, *, emit: bool = True) -> dict[str, Any]:
        sim.status = status
        sim.mirror()
        detail = sim.detail()
        if emit:
            self._emit(sim, detail)
        return detail

    # -- TerminateJob / CancelJob ------------------------------------------------------------------

    def stop(self, job_id: str, reason: str, *, cancel: bool) -> bool:
        """TerminateJob (``cancel=False``) or CancelJob: False when the job is not simulated."""
        sim = self.jobs.get(job_id)
        if sim is None:
            return False
        self._stop(sim, reason, cancel=cancel)
        return True

    def _stop(self, sim: SimulatedJob, reason: str, *, cancel: bool) -> None:
        if sim.status in TERMINAL or (cancel and sim.status not in BEFORE_STARTING):
            return  # AWS: CancelJob succeeds and leaves a STARTING or RUNNING job alone
        if sim.children:
            for child in sim.children:
                self._stop(child, reason, cancel=cancel)
            if any(child.status not in TERMINAL for child in sim.children):
                return  # ends with its last child
        if sim.timer is not None:
            sim.timer.cancel()
        if sim in self._waiting:
            self._waiting.remove(sim)
        if sim.status == "RUNNING":
            self._end_attempt(sim, SIGTERM_EXIT_CODE, None, reason)
        elif sim.status == "STARTING":
            self._end_attempt(sim, None, None, reason)
        started = sim.status in ("STARTING", "RUNNING")
        sim.terminated, sim.cancelled = started, not started
        detail = self._finish(sim, "FAILED", reason)
        self.clock.call_later(0, lambda: self._publish(sim, detail))

    # -- ListJobs ----------------------------------------------------------------------------------

    def _status(self, job: Job) -> str | None:
        sim = self.simulated(job)
        return sim.status if sim is not None else cast(Any, job).status

    def _created_millis(self, job: Job) -> int:
        sim = self.simulated(job)
        if sim is not None:
            return _millis(sim.created_at)
        return _millis(cast(Any, job).job_created_at.timestamp())

    def list_jobs(
        self,
        backend: BatchBackend,
        job_queue_name: str | None,
        array_job_id: str | None,
        job_status: str | None = None,
        filters: list[dict[str, Any]] | None = None,
    ) -> list[Job]:
        """ListJobs as AWS answers it (see the module docstring); not paginated, as in moto."""
        candidates: list[Job] = []
        if job_queue_name:
            queue = backend.get_job_queue(job_queue_name)
            if queue is None:
                raise ClientException(f"Job queue {job_queue_name} does not exist")
            candidates.extend(job for job in queue.jobs if "index" not in (job.array_properties or {}))
        if array_job_id:
            parent = backend.get_job_by_id(array_job_id)
            candidates.extend(cast(Any, parent)._child_jobs or [] if parent is not None else [])
        if filters:
            return [job for job in candidates if any(self._matches(job, item) for item in filters)]
        status = job_status or "RUNNING"
        if status not in STATUSES:
            raise ClientException(f"Job status is not one of {' | '.join(STATUSES)}")
        return [job for job in candidates if self._status(job) == status]

    def _matches(self, job: Job, item: Mapping[str, Any]) -> bool:
        name, values = item.get("name"), [str(value) for value in item.get("values") or []]
        any_job = cast(Any, job)
        if name == "JOB_NAME":
            return any(_prefix_match(str(any_job.job_name).lower(), value.lower()) for value in values)
        if name == "JOB_DEFINITION":
            definition = any_job.job_definition
            return any(
                definition.arn == value if value.startswith("arn:") else _prefix_match(definition.name, value)
                for value in values
            )
        if name in ("BEFORE_CREATED_AT", "AFTER_CREATED_AT"):
            created = self._created_millis(job)
            try:
                moments = [int(value) for value in values]
            except ValueError:
                return False
            if name == "BEFORE_CREATED_AT":
                return any(created <= moment for moment in moments)
            return any(created >= moment for moment in moments)
        return True  # moto's convention for filters it does not know

    # -- events and logs ---------------------------------------------------------------------------

    def _emit(
        self,
        sim: SimulatedJob,
        detail: dict[str, Any],
        detail_type: str = STATE_CHANGE,
        resources: list[str] | None = None,
    ) -> None:
        if detail_type == STATE_CHANGE:
            self.events.append(detail)
        entry = {
            "Source": "aws.batch",
            "DetailType": detail_type,
            "Detail": json.dumps(detail),
            "Resources": resources or [sim.arn],
            "Time": self.clock.now(),
        }
        events_backends[sim.account][sim.region].put_events([entry])

    def _write_logs(self, sim: SimulatedJob, lines: tuple[str, ...]) -> None:
        stream = str(sim.container["logStreamName"])
        self.logs.write(sim.account, sim.region, LOG_GROUP, stream, lines, self.clock.now())
