"""How a simulated AWS Batch job runs and ends, read from its container's ``LOCALCLOUD_*`` variables.

The environment is the job definition's ``containerProperties.environment`` merged with SubmitJob's
``containerOverrides.environment`` (overrides win), as the container would see it. The names shared with
the ECS simulator (``ecs_outcome``) mean the same thing:

- ``LOCALCLOUD_EXIT_CODE``: the container's exit code (default 0; 137 for an out-of-memory kill). Not 0:
  the attempt fails (``statusReason`` ``Essential container in task exited``).
- ``LOCALCLOUD_STOPPED_REASON``: a reason AWS reports.
  ``OutOfMemoryError: ...`` is the container's ``reason``, with exit code 137 and the usual
  ``statusReason``; ``CannotPullContainerError``, ``CannotStartContainerError``,
  ``CannotCreateContainerError``, ``CannotInspectContainerError`` and ``ResourceInitializationError``
  reasons are the container's ``reason`` of an attempt that never runs (STARTING → FAILED, ``statusReason``
  ``Task failed to start``, no exit code); any other reason (e.g. ``Host EC2 (instance i-0abc) terminated.``)
  fails the attempt with that ``statusReason`` (no exit code unless ``LOCALCLOUD_EXIT_CODE`` gives one);
- ``LOCALCLOUD_RUN_SECONDS``: how long the container runs, in virtual seconds (default 60).

Batch-only knobs:

- ``LOCALCLOUD_RUNNABLE_SECONDS``: how long each attempt waits in RUNNABLE (default 5); a large value is
  a job stuck for lack of capacity;
- ``LOCALCLOUD_RUNNABLE_REASON``: the ``statusReason`` while RUNNABLE, as AWS reports a blocked queue
  (e.g. ``CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Service cannot fulfill the capacity requested``);
  a ``Batch Job Queue Blocked`` event is put on the bus too;
- ``LOCALCLOUD_FAILED_ATTEMPTS``: only the first N attempts end as steered above, later ones exit 0
  (default: every attempt), so a retried job can succeed;
- ``LOCALCLOUD_LOG_LINES``: newline-separated lines the container writes to CloudWatch Logs when it starts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from localcloud.simulators.container_logs import lines_from
from localcloud.simulators.ecs_outcome import (
    DEFAULT_RUN_SECONDS,
    ESSENTIAL_EXITED,
    EXIT_CODE,
    OOM_EXIT_CODE,
    OUT_OF_MEMORY,
    RUN_SECONDS,
    STOPPED_REASON,
)

logger = logging.getLogger(__name__)

RUNNABLE_SECONDS = "LOCALCLOUD_RUNNABLE_SECONDS"
RUNNABLE_REASON = "LOCALCLOUD_RUNNABLE_REASON"
FAILED_ATTEMPTS = "LOCALCLOUD_FAILED_ATTEMPTS"

DEFAULT_RUNNABLE_SECONDS = 5.0
TASK_FAILED_TO_START = "Task failed to start"
MAX_ATTEMPTS = 10  # retryStrategy.attempts is 1..10 on AWS
_START_FAILURES = (
    "CannotPullContainerError",
    "CannotStartContainerError",
    "CannotCreateContainerError",
    "CannotInspectContainerError",
    "ResourceInitializationError",
)
OPTIMAL_INSTANCE_TYPE = "m5.large"  # what "optimal" (or an unknown family) launches in the simulation
_FAMILY_SIZE = "large"


@dataclass(frozen=True)
class AttemptOutcome:
    """How one attempt ends: its container's exit code and reason, and the attempt's ``statusReason``."""

    exit_code: int | None
    container_reason: str | None
    status_reason: str
    starts: bool  # the container reaches RUNNING
    failed: bool


SUCCEEDED_ATTEMPT = AttemptOutcome(0, None, ESSENTIAL_EXITED, starts=True, failed=False)


@dataclass(frozen=True)
class JobOutcome:
    """What the environment asks of every attempt of a job."""

    steered: AttemptOutcome
    failed_attempts: int | None  # None: every attempt ends as steered
    run_seconds: float = DEFAULT_RUN_SECONDS
    runnable_seconds: float = DEFAULT_RUNNABLE_SECONDS
    runnable_reason: str | None = None
    log_lines: tuple[str, ...] = ()

    def attempt(self, number: int) -> AttemptOutcome:
        """The outcome of the ``number``-th attempt (1-based)."""
        if self.failed_attempts is not None and number > self.failed_attempts:
            return SUCCEEDED_ATTEMPT
        return self.steered


def container_environment(
    definition: Sequence[Mapping[str, Any]] | None, overrides: Sequence[Mapping[str, Any]] | None
) -> dict[str, str]:
    """The container's environment: the job definition's, then SubmitJob's overrides (which win)."""
    environment = {str(item["name"]): str(item.get("value", "")) for item in definition or []}
    environment.update({str(item["name"]): str(item.get("value", "")) for item in overrides or []})
    return environment


def _number(environment: Mapping[str, str], name: str, default: float) -> float:
    try:
        return float(environment[name]) if name in environment else default
    except ValueError:
        logger.warning("ignoring %s=%r: not a number", name, environment[name])
        return default


def job_outcome(environment: Mapping[str, str]) -> JobOutcome:
    """The outcome the container's ``LOCALCLOUD_*`` variables ask for (see the module docstring)."""
    reason = environment.get(STOPPED_REASON, "").strip()
    exit_given = EXIT_CODE in environment
    exit_code: int | None
    if reason.startswith(OUT_OF_MEMORY):
        exit_code = int(_number(environment, EXIT_CODE, OOM_EXIT_CODE))
        steered = AttemptOutcome(exit_code, reason, ESSENTIAL_EXITED, starts=True, failed=True)
    elif reason.startswith(_START_FAILURES):
        steered = AttemptOutcome(None, reason, TASK_FAILED_TO_START, starts=False, failed=True)
    elif reason:
        exit_code = int(_number(environment, EXIT_CODE, 0)) if exit_given else None
        steered = AttemptOutcome(exit_code, None, reason, starts=True, failed=True)
    else:
        exit_code = int(_number(environment, EXIT_CODE, 0))
        steered = AttemptOutcome(exit_code, None, ESSENTIAL_EXITED, starts=True, failed=exit_code != 0)
    failed_attempts = (
        max(0, int(_number(environment, FAILED_ATTEMPTS, 0))) if FAILED_ATTEMPTS in environment else None
    )
    lines = lines_from(environment)
    return JobOutcome(
        steered=steered,
        failed_attempts=failed_attempts,
        run_seconds=max(0.0, _number(environment, RUN_SECONDS, DEFAULT_RUN_SECONDS)),
        runnable_seconds=max(0.0, _number(environment, RUNNABLE_SECONDS, DEFAULT_RUNNABLE_SECONDS)),
        runnable_reason=environment.get(RUNNABLE_REASON, "").strip() or None,
        log_lines=lines,
    )


def allowed_attempts(retry_strategy: Mapping[str, Any] | None) -> int:
    """``retryStrategy.attempts``, clamped to AWS's 1..10 (1 when absent)."""
    try:
        attempts = int((retry_strategy or {}).get("attempts") or 1)
    except (TypeError, ValueError):
        return 1
    return min(max(attempts, 1), MAX_ATTEMPTS)


def _glob(pattern: str | None, value: str) -> bool:
    """AWS's ``EvaluateOnExit`` patterns: an exact match, or a prefix when the pattern ends with ``*``."""
    if pattern is None:
        return True
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return value == pattern


def retries(retry_strategy: Mapping[str, Any] | None, attempt: int, outcome: AttemptOutcome) -> bool:
    """Whether a failed ``attempt`` (1-based) is retried: attempts left and, with ``evaluateOnExit``,
    the first condition whose patterns all match says ``RETRY`` (no condition matching retries too)."""
    if attempt >= allowed_attempts(retry_strategy):
        return False
    exit_code = "" if outcome.exit_code is None else str(outcome.exit_code)
    for condition in (retry_strategy or {}).get("evaluateOnExit") or []:
        if (
            _glob(condition.get("onExitCode"), exit_code)
            and _glob(condition.get("onReason"), outcome.container_reason or "")
            and _glob(condition.get("onStatusReason"), outcome.status_reason)
        ):
            return str(condition.get("action", "")).upper() == "RETRY"
    return True


def instance_type(instance_types: Sequence[str], known: Mapping[str, Any]) -> str:
    """The instance type a simulated EC2 compute environment launches: its first concrete type, else its
    first family's ``.large`` size (``m5`` → ``m5.large``), else ``m5.large`` (``optimal``)."""
    for name in instance_types:
        if "." in name:
            return name
    for family in instance_types:
        if family == "optimal":
            continue
        sized = f"{family}.{_FAMILY_SIZE}"
        if sized in known:
            return sized
        sizes = sorted(name for name in known if name.startswith(f"{family}."))
        if sizes:
            return sizes[0]
    return OPTIMAL_INSTANCE_TYPE
