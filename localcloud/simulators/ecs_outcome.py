"""How a simulated ECS task ends, read from its containers' ``LOCALCLOUD_*`` environment variables.

The environment is the task definition's container environment merged with RunTask's
``containerOverrides`` (overrides win), as the container would see it:

- ``LOCALCLOUD_EXIT_CODE``: the container's exit code (default 0; 137 for an out-of-memory kill);
- ``LOCALCLOUD_STOPPED_REASON``: a reason AWS reports. Start failures (``Timeout waiting for network
  interface provisioning to complete.``, ``CannotPullContainerError: ...``, ``ResourceInitializationError:
  ...``) stop the task with ``TaskFailedToStart`` before it runs; ``OutOfMemoryError: ...`` is the
  container's reason, with exit code 137; a Spot interruption gives ``SpotInterruption``; any other
  reason becomes the task's ``stoppedReason``;
- ``LOCALCLOUD_STOP_CODE``: the ``stopCode``, when the reason alone does not say it;
- ``LOCALCLOUD_RUN_SECONDS``: how long the task runs, in virtual seconds (default 60);
- ``LOCALCLOUD_LOG_LINES``: newline-separated lines the container writes to its ``awslogs`` log stream when
  it starts (an out-of-memory kill adds a line with its reason);
- ``LOCALCLOUD_FAILED_RUNS=<key>:<n>``: only the first n tasks carrying this key end as the variables
  above say; later ones run normally (exit 0), so a retry of the same request can succeed.

``RunTask`` itself can fail before any task exists (moto never throttles and always returns an empty
``failures[]``). Those faults belong to the task definition, not to the caller, so only the task
definition's own container environment sets them (overrides cannot), counted per family:

- ``LOCALCLOUD_RUNTASK_THROTTLE=N``: the first N RunTask calls fail with ``ThrottlingException``;
- ``LOCALCLOUD_RUNTASK_FAILURE=<reason>`` with ``LOCALCLOUD_RUNTASK_FAILURE_COUNT=N`` (default 1): the
  next N calls return no tasks and ``failures: [{arn, reason}]`` (for example ``RESOURCE:MEMORY`` or
  "You've reached the limit on the number of tasks you can run concurrently").
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from localcloud.simulators.container_logs import lines_from

logger = logging.getLogger(__name__)

EXIT_CODE = "LOCALCLOUD_EXIT_CODE"
STOPPED_REASON = "LOCALCLOUD_STOPPED_REASON"
STOP_CODE = "LOCALCLOUD_STOP_CODE"
RUN_SECONDS = "LOCALCLOUD_RUN_SECONDS"
FAILED_RUNS = "LOCALCLOUD_FAILED_RUNS"
FAILURE_KNOBS = (EXIT_CODE, STOPPED_REASON, STOP_CODE)
RUNTASK_THROTTLE = "LOCALCLOUD_RUNTASK_THROTTLE"
RUNTASK_FAILURE = "LOCALCLOUD_RUNTASK_FAILURE"
RUNTASK_FAILURE_COUNT = "LOCALCLOUD_RUNTASK_FAILURE_COUNT"

ESSENTIAL_EXITED = "Essential container in task exited"
ENI_TIMEOUT = "Timeout waiting for network interface provisioning"
OUT_OF_MEMORY = "OutOfMemoryError"
OOM_EXIT_CODE = 137
DEFAULT_RUN_SECONDS = 60.0

# Reason prefix -> (stopCode, whether the task reaches RUNNING).
_KNOWN_REASONS: tuple[tuple[str, str, bool], ...] = (
    (ENI_TIMEOUT, "TaskFailedToStart", False),
    ("CannotPullContainerError", "TaskFailedToStart", False),
    ("ResourceInitializationError", "TaskFailedToStart", False),
    ("Your Spot Task was interrupted", "SpotInterruption", True),
)


class RunTaskFault(StrEnum):
    THROTTLED = "throttled"
    FAILED = "failed"


@dataclass(frozen=True)
class RunTaskFaults:
    """How many RunTask calls of a family fail, and how: throttles first, then failures."""

    throttles: int = 0
    failures: int = 0
    failure_reason: str = ""

    def fault(self, call: int) -> RunTaskFault | None:
        """The fault of the ``call``-th call (1-based), or ``None`` when it starts its tasks."""
        if call <= self.throttles:
            return RunTaskFault.THROTTLED
        if call <= self.throttles + self.failures:
            return RunTaskFault.FAILED
        return None


@dataclass(frozen=True)
class TaskOutcome:
    """What the simulator will report when the task stops."""

    container: str
    exit_code: int | None
    container_reason: str | None
    stopped_reason: str
    stop_code: str
    starts: bool
    provisions: bool
    run_seconds: float
    log_lines: tuple[str, ...] = ()


def container_environments(
    container_definitions: Sequence[Mapping[str, Any]], overrides: Mapping[str, Any] | None
) -> dict[str, dict[str, str]]:
    """Each container's environment: its definition's, then RunTask's overrides for it."""
    by_name = {item.get("name"): item for item in (overrides or {}).get("containerOverrides") or []}
    environments: dict[str, dict[str, str]] = {}
    for definition in container_definitions:
        name = str(definition.get("name"))
        environment = {str(item["name"]): str(item["value"]) for item in definition.get("environment") or []}
        override = by_name.get(name) or {}
        environment.update(
            {str(item["name"]): str(item["value"]) for item in override.get("environment") or []}
        )
        environments[name] = environment
    return environments


def _number(environment: Mapping[str, str], name: str, default: float) -> float:
    try:
        return float(environment[name]) if name in environment else default
    except ValueError:
        logger.warning("ignoring %s=%r: not a number", name, environment[name])
        return default


def task_outcome(environments: Mapping[str, Mapping[str, str]]) -> TaskOutcome:
    """The outcome steered by the first container that sets any ``LOCALCLOUD_*`` variable."""
    names = list(environments)
    steering = next(
        (name for name in names if any(key.startswith("LOCALCLOUD_") for key in environments[name])),
        names[0] if names else "",
    )
    environment = environments.get(steering, {})
    reason = environment.get(STOPPED_REASON, "").strip()
    run_seconds = max(0.0, _number(environment, RUN_SECONDS, DEFAULT_RUN_SECONDS))
    stop_code, starts, stopped_reason, container_reason = (
        "EssentialContainerExited",
        True,
        ESSENTIAL_EXITED,
        None,
    )
    default_exit = 0
    if reason.startswith(OUT_OF_MEMORY):
        container_reason, default_exit = reason, OOM_EXIT_CODE
    elif reason:
        stopped_reason = reason
        for prefix, code, reaches_running in _KNOWN_REASONS:
            if reason.startswith(prefix):
                stop_code, starts = code, reaches_running
                break
    exit_code = int(_number(environment, EXIT_CODE, default_exit)) if starts else None
    return TaskOutcome(
        container=steering,
        exit_code=exit_code,
        container_reason=container_reason,
        stopped_reason=stopped_reason,
        stop_code=environment.get(STOP_CODE, stop_code),
        starts=starts,
        provisions=not reason.startswith(ENI_TIMEOUT),
        run_seconds=run_seconds,
        log_lines=lines_from(environment),
    )


def failed_runs_key(environments: Mapping[str, Mapping[str, str]]) -> tuple[str, int] | None:
    """The ``LOCALCLOUD_FAILED_RUNS`` key and count of the first container that sets it."""
    value = next((env[FAILED_RUNS] for env in environments.values() if FAILED_RUNS in env), None)
    if value is None:
        return None
    key, _, count = value.rpartition(":")
    try:
        return key, max(0, int(count))
    except ValueError:
        logger.warning("ignoring %s=%r: expected <key>:<count>", FAILED_RUNS, value)
        return None


def without_failure(environments: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """The environments with the failure variables removed: the run ends normally."""
    return {
        name: {key: value for key, value in env.items() if key not in FAILURE_KNOBS}
        for name, env in environments.items()
    }


def run_task_faults(environments: Mapping[str, Mapping[str, str]]) -> RunTaskFaults:
    """The RunTask faults the task definition's containers ask for (the first container setting each)."""

    def first(name: str) -> str | None:
        return next((env[name] for env in environments.values() if name in env), None)

    def count(name: str, default: int) -> int:
        value = first(name)
        return default if value is None else max(0, int(_number({name: value}, name, default)))

    reason = (first(RUNTASK_FAILURE) or "").strip()
    return RunTaskFaults(
        throttles=count(RUNTASK_THROTTLE, 0),
        failures=count(RUNTASK_FAILURE_COUNT, 1) if reason else 0,
        failure_reason=reason,
    )
