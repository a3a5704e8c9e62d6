"""The launcher: turn a launchable stream record into exactly one started attempt.

Per record (docs/blueprints/genomics.md, "Launcher"): check the required parameters, claim the launch
with a conditional write (a duplicate record loses the claim and is skipped), read the configuration,
size the data path, then either hand the launch to the Glacier restore flow (``WAITING`` and a
restore request) or build the engine's plan, stage its artifacts and start compute. Permanent problems
end the launch ``FAILED`` with the error class as ``error_code``. Transient ones park the launch: the
claim goes back to the status it came from with ``start_tries`` + 1 and a ``next_try_at`` (exponential
backoff with jitter); the record itself succeeds, so the stream never loops on it. The scheduled stuck
check re-drives parked launches once ``next_try_at`` has passed, and the launch ends ``FAILED``
(``StartRetriesExhausted``) when the tries run out.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any

from blueprints.core.errors import PermanentError
from blueprints.core.observability import logger
from blueprints.genomics.compute import Runner
from blueprints.genomics.engines import BuildContext, LaunchPlan, build
from blueprints.genomics.errors import (
    LaunchRejectedError,
    LaunchTransientError,
    MissingRequiredParametersError,
)
from blueprints.genomics.records import COST_ATTRIBUTES, Launch
from blueprints.genomics.registry import LaunchRegistry
from blueprints.genomics.status import LAUNCHABLE, RANK, Status
from blueprints.genomics.storage import DataSize, LaunchStorage
from blueprints.genomics.tracking import compute_ref

# Cleared when a retry starts a new attempt: they describe the previous one.
ATTEMPT_FIELDS = (
    "error_code",
    "error_message",
    "error_lines",
    "error_lines_truncated",
    "log_scan",
    "task_arn",
    "batch_job_ids",
    "sfn_execution_arn",
    "ssm_command_id",
    "compute_ref",
    "log_group",
    "log_stream",
    "runnable_since",
    "alerts",
    "last_event_time",
    "compute_resources",
    "exit_code",
    "start_tries",
    "next_try_at",
    "last_start_error",
    "retry_prepared",
    *COST_ATTRIBUTES,  # the new attempt gets its own costing
)


class Outcome(StrEnum):
    STARTED = "started"
    WAITING = "waiting"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    FAILED = "failed"
    DEFERRED = "deferred"  # a transient start failure: parked until the stuck check re-drives it


@dataclass(frozen=True)
class LaunchChange:
    """A stream record of the launches table, reduced to what the launcher reads; ``observed_at`` is the
    record's approximate creation time (what the status history records, so phases add up)."""

    event_name: str
    new: dict[str, Any]
    old_status: str | None
    observed_at: datetime | None = None


@dataclass(frozen=True)
class LauncherConfig:
    artifacts_bucket: str
    restore_bucket: str
    results_bucket: str
    region: str
    batch_job_queue: str
    tibanna_step_function: str
    tibanna_plugin_enabled: bool
    default_versions: dict[str, str]
    definitions: Mapping[str, Mapping[str, str]]  # compute -> definition key -> task/job definition
    listing_budget_seconds: float
    restore_tier: str
    restore_days: int
    restore_deadline_hours: int
    max_start_tries: int = 6
    container_commands: tuple[str, ...] = ()  # empty: a container launch may run any program
    retry_base_seconds: float = 60.0
    retry_cap_seconds: float = 1800.0


def retry_delay(tries: int, base_seconds: float, cap_seconds: float, jitter: float) -> timedelta:
    """Backoff before try ``tries + 1``: ``base * 2**(tries - 1)`` capped, of which the first half is
    waited for sure and the second half scaled by ``jitter`` (in [0, 1)), so parked launches spread out."""
    delay = min(cap_seconds, base_seconds * 2 ** max(0, tries - 1))
    return timedelta(seconds=delay / 2 + delay / 2 * min(max(jitter, 0.0), 1.0))


def launchable(change: LaunchChange) -> bool:
    """What the stream mapping's filter lets through (moto and the trackers see every record): a new
    launch; a MODIFY into READY or RETRY_REQUESTED; a REGISTERED launch re-driven after a start failure.
    A parked launch (``next_try_at`` set) waits for its re-drive, which removes ``next_try_at``."""
    status = change.new.get("status")
    if change.event_name == "INSERT":
        return status == Status.REGISTERED
    if change.event_name != "MODIFY" or status not in LAUNCHABLE or "next_try_at" in change.new:
        return False
    return status != Status.REGISTERED or "start_tries" in change.new


def _ended_at(launch: Launch) -> str:
    """When the attempt ended: its last FAILED history entry (``updated_at`` is the retry request's)."""
    ends = [
        str(entry.get("at", ""))
        for entry in launch.raw.get("status_history") or []
        if entry.get("status") == Status.FAILED and entry.get("attempt") == launch.attempt
    ]
    return ends[-1] if ends else launch.updated_at


class Launcher:
    def __init__(
        self,
        registry: LaunchRegistry,
        storage: LaunchStorage,
        runners: Mapping[str, Runner],
        config: LauncherConfig,
        now: Callable[[], datetime],
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.registry = registry
        self.storage = storage
        self.runners = runners
        self.config = config
        self.now = now
        self.jitter = jitter
        self._at: datetime | None = None  # the time of the record being handled

    def _now(self) -> datetime:
        return self._at or self.now()

    def handle(self, change: LaunchChange) -> Outcome:
        self._at = change.observed_at
        launch_id = str(change.new.get("launch_id", ""))
        if not launchable(change):
            return Outcome.IGNORED  # the mapping's filter already says so; moto ignores filters
        launch = Launch.from_plain(change.new)
        logger.append_keys(launch_id=launch_id, attempt=launch.attempt)
        if launch.status is Status.RETRY_REQUESTED and change.old_status not in (
            None,
            "FAILED",
            "RETRY_REQUESTED",  # a re-drive of a parked retry
        ):
            self._refuse_retry(launch, str(change.old_status))
            return Outcome.IGNORED
        if not launch.config_s3_uri:
            self._fail(
                launch,
                launch.status,
                launch.attempt,
                MissingRequiredParametersError("missing required parameters: config_s3_uri"),
            )
            return Outcome.FAILED
        size = None
        if launch.restore_check and launch.status in (Status.REGISTERED, Status.RETRY_REQUESTED):
            try:  # only inputs in an archive class send the launch through the restore flow
                size = self.storage.size(launch.s3_data_path, self.config.listing_budget_seconds)
            except PermanentError as exc:
                self._fail(launch, launch.status, launch.attempt, exc)
                return Outcome.FAILED
            except LaunchTransientError as exc:
                return self._retry_later(launch, claimed=None, back_to=launch.status, error=exc)
        restore = size is not None and (size.archived > 0 or size.partial)
        claimed = self._claim(launch, restore=restore)
        if claimed is None:
            logger.info("Launch already claimed; duplicate record skipped", status=launch.status)
            return Outcome.DUPLICATE
        try:
            return self._run(claimed, previous=launch.status, size=size)
        except PermanentError as exc:
            self._fail(claimed, claimed.status, claimed.attempt, exc)
            return Outcome.FAILED
        except LaunchTransientError as exc:
            return self._retry_later(claimed, claimed=claimed.status, back_to=launch.status, error=exc)

    def _refuse_retry(self, launch: Launch, previous: str) -> None:
        """Undo a console edit to RETRY_REQUESTED from a status that cannot be retried: put the previous
        status back (conditional on the edit still being there), so the run that may still be going on is
        tracked again, and say why. Not a transition of the table: it takes back a write that bypassed it."""
        message = (
            f"a retry is possible only after the run ended (FAILED); the launch was {previous}, "
            "so the retry request was undone"
        )
        values: dict[str, Any] = {"error_message": message}
        if previous in Status.__members__:
            values.update({"status": previous, "status_rank": RANK[Status(previous)]})
        undone = self.registry.update(
            launch.launch_id,
            attempt=launch.attempt,
            status=Status.RETRY_REQUESTED,
            now=self._now(),
            set_values=values,
        )
        logger.warning(
            "Retry requested from a status that cannot be retried",
            previous=previous,
            undone=undone is not None and undone.status is not Status.RETRY_REQUESTED,
        )

    def _claim(self, launch: Launch, *, restore: bool) -> Launch | None:
        target = Status.WAITING if restore else Status.LAUNCHING
        parked = ("next_try_at", "retry_prepared")
        if launch.status is Status.RETRY_REQUESTED and launch.raw.get("retry_prepared") != launch.attempt:
            summary = {
                "attempt": launch.attempt,
                "error_code": str(launch.raw.get("error_code", "")),
                "task_arn": launch.task_arn,
                "batch_job_ids": sorted(launch.batch_job_ids),
                "ended_at": _ended_at(launch),
            }
            summary.update(
                {name: launch.raw[name] for name in ("totalCost", "costStatus") if name in launch.raw}
            )
            history = [*launch.raw.get("attempt_history", []), summary]
            return self.registry.transition(
                launch.launch_id,
                attempt=launch.attempt,
                sources={Status.RETRY_REQUESTED},
                target=target,
                now=self._now(),
                next_attempt=launch.attempt + 1,
                set_values={"attempt_history": history},
                remove=ATTEMPT_FIELDS,
            )
        return self.registry.transition(
            launch.launch_id,
            attempt=launch.attempt,
            sources={launch.status},
            target=target,
            now=self._now(),
            remove=parked,
        )

    def _run(self, launch: Launch, *, previous: Status, size: DataSize | None) -> Outcome:
        sheet = self.storage.read(launch.config_s3_uri)
        if size is None:
            size = self.storage.size(launch.s3_data_path, self.config.listing_budget_seconds)
        facts: dict[str, Any] = {"input_size_bytes": size.total_bytes, "input_objects": size.objects}
        if size.partial:
            facts["input_size_partial"] = True
        if launch.status is Status.WAITING:
            self._request_restore(launch, facts)
            return Outcome.WAITING
        plan = build(launch, self._context(launch, sheet))
        prefix = self._artifacts_uri(launch)
        for name, body in plan.artifacts.items():
            self.storage.write(f"{prefix}{name}", body)
        runner = self.runners[launch.compute_service]
        definition = self._definition(launch.compute_service, plan)
        started = runner.start(launch, plan, definition)
        recorded = self.registry.update(
            launch.launch_id,
            attempt=launch.attempt,
            status={Status.LAUNCHING, Status.RUNNING, Status.COMPLETE, Status.FAILED},
            now=self._now(),
            set_values={
                **facts,
                **{name: value for name, value in started.values.items() if name != "batch_job_ids"},
                "engine_version": plan.engine_version,
                "definition": definition,
                "artifacts_uri": prefix,
                "launch_started_at": self._now().isoformat(),
                **({"compute_ref": ref} if (ref := compute_ref(started.values)) else {}),
                **({"engine_job_queue": plan.engine_job_queue} if plan.engine_job_queue else {}),
            },
            add_to_sets={"batch_job_ids": started.values["batch_job_ids"]}
            if "batch_job_ids" in started.values
            else None,
        )
        logger.info(
            "Launch started", compute=launch.compute_service, recorded=recorded is not None, previous=previous
        )
        return Outcome.STARTED

    def _request_restore(self, launch: Launch, facts: dict[str, Any]) -> None:
        document = {
            "launch_id": launch.launch_id,
            "attempt": launch.attempt,  # a retry asks again: the restore flow re-indexes a higher attempt
            "s3_urls": [launch.s3_data_path],
            "tier": self.config.restore_tier,
            "days": self.config.restore_days,
            "deadline_hours": self.config.restore_deadline_hours,
        }
        uri = f"s3://{self.config.restore_bucket}/restore/{launch.launch_id}.json"
        self.storage.write_json(uri, document)  # a transient failure parks the launch (handle)
        self.registry.update(
            launch.launch_id,
            attempt=launch.attempt,
            status={Status.WAITING, Status.READY},
            now=self._now(),
            set_values={**facts, "restore_request_uri": uri},
        )
        logger.info("Launch waits for its archived inputs", restore_request=uri)

    def _context(self, launch: Launch, sheet: bytes) -> BuildContext:
        return BuildContext(
            artifacts_uri=self._artifacts_uri(launch),
            output_uri=launch.output_s3_path,
            sheet=sheet,
            sheet_name=PurePosixPath(launch.config_s3_uri).name,
            compute=launch.compute_service,
            region=self.config.region,
            batch_job_queue=self.config.batch_job_queue,
            tibanna_step_function=self.config.tibanna_step_function,
            tibanna_plugin_enabled=self.config.tibanna_plugin_enabled,
            default_versions=self.config.default_versions,
            container_commands=self.config.container_commands,
        )

    def _artifacts_uri(self, launch: Launch) -> str:
        return f"s3://{self.config.artifacts_bucket}/artifacts/launches/{launch.launch_id}/a{launch.attempt}/"

    def _definition(self, compute: str, plan: LaunchPlan) -> str:
        if compute in ("stepfunctions", "parallelcluster"):
            return ""
        definition = self.config.definitions.get(compute, {}).get(plan.definition, "")
        if not definition:
            raise LaunchRejectedError(
                "DefinitionNotConfigured", f"no {compute} definition is configured for {plan.definition}"
            )
        return definition

    def _retry_later(
        self, launch: Launch, *, claimed: Status | None, back_to: Status, error: LaunchTransientError
    ) -> Outcome:
        """Park the launch after a transient failure: give the claim (if any) back to ``back_to`` at the
        same attempt, with the try counted and the time of the next try; or fail it when the tries are
        used up. The record succeeds either way: the stuck check re-drives parked launches, not the stream.
        A parked retry keeps its new attempt (``retry_prepared``), so its re-drive does not start another."""
        tries = int(launch.raw.get("start_tries") or 0) + 1
        reason = f"{error.error_code}: {error}"[:1024]
        current = claimed or back_to
        if tries >= self.config.max_start_tries:
            exhausted = LaunchRejectedError(
                "StartRetriesExhausted", f"compute did not start after {tries} tries; last error {reason}"
            )
            self._fail(launch, current, launch.attempt, exhausted, {"start_tries": tries})
            return Outcome.FAILED
        delay = retry_delay(
            tries, self.config.retry_base_seconds, self.config.retry_cap_seconds, self.jitter()
        )
        now = self._now()
        values: dict[str, Any] = {
            "start_tries": tries,
            "next_try_at": (now + delay).isoformat(),
            "last_start_error": reason,
        }
        if back_to is Status.RETRY_REQUESTED and claimed is not None:  # the claim began the new attempt
            values["retry_prepared"] = launch.attempt
        if claimed is None:
            parked = self.registry.update(
                launch.launch_id, attempt=launch.attempt, status=back_to, now=now, set_values=values
            )
        else:
            parked = self.registry.transition(
                launch.launch_id,
                attempt=launch.attempt,
                sources={claimed},
                target=back_to,
                now=now,
                set_values=values,
            )
        logger.warning(
            "Launch parked after a transient start failure",
            error_code=error.error_code,
            start_tries=tries,
            next_try_at=values["next_try_at"],
            parked=parked is not None,
        )
        return Outcome.DEFERRED

    def _fail(
        self,
        launch: Launch,
        current: Status,
        attempt: int,
        error: Exception,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        code = str(getattr(error, "error_code", type(error).__name__))
        failed = self.registry.transition(
            launch.launch_id,
            attempt=attempt,
            sources={current},
            target=Status.FAILED,
            now=self._now(),
            set_values={
                "error_code": code,
                "error_message": str(error)[:1024],
                "log_scan": "NOT_APPLICABLE",
                **(extra or {}),
            },
            remove=("next_try_at", "retry_prepared"),
        )
        logger.warning("Launch failed before compute started", error_code=code, recorded=failed is not None)
