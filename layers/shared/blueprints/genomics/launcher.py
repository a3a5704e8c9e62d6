"""The launcher: turn a launchable stream record into exactly one started attempt.

Per record (docs/blueprints/genomics.md, "Launcher"): check the required parameters, claim the launch
with a conditional write (a duplicate record loses the claim and is skipped), read the configuration,
size the data path, then either hand the launch to the Glacier restore flow (``WAITING`` and a
restore request) or build the engine's plan, stage its artifacts and start compute. Permanent problems
end the launch ``FAILED`` with the error class as ``error_code``; transient ones release the claim and
raise, so the stream retries the record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
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
from blueprints.genomics.status import LAUNCHABLE, Status
from blueprints.genomics.storage import DataSize, LaunchStorage

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
    "log_group",
    "log_stream",
    "runnable_since",
    "alerts",
    "last_event_time",
    "compute_resources",
    "exit_code",
    *COST_ATTRIBUTES,  # the new attempt gets its own costing
)


class Outcome(StrEnum):
    STARTED = "started"
    WAITING = "waiting"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    FAILED = "failed"


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
    ) -> None:
        self.registry = registry
        self.storage = storage
        self.runners = runners
        self.config = config
        self.now = now
        self._at: datetime | None = None  # the time of the record being handled

    def _now(self) -> datetime:
        return self._at or self.now()

    def handle(self, change: LaunchChange) -> Outcome:
        self._at = change.observed_at
        launch_id = str(change.new.get("launch_id", ""))
        status = change.new.get("status")
        if status not in LAUNCHABLE or (change.event_name == "INSERT") != (status == Status.REGISTERED):
            return Outcome.IGNORED  # the mapping's filter already says so; moto ignores filters
        launch = Launch.from_plain(change.new)
        logger.append_keys(launch_id=launch_id, attempt=launch.attempt)
        if launch.status is Status.RETRY_REQUESTED and change.old_status not in (None, "FAILED", "LAUNCHING"):
            logger.warning("Retry requested from a status that cannot be retried", previous=change.old_status)
            self.registry.update(
                launch_id,
                attempt=launch.attempt,
                status=Status.RETRY_REQUESTED,
                now=self._now(),
                set_values={"error_message": f"a retry is allowed only from FAILED, not {change.old_status}"},
            )
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
        if launch.restore_check and launch.status is Status.REGISTERED:
            try:  # only inputs in an archive class send the launch through the restore flow
                size = self.storage.size(launch.s3_data_path, self.config.listing_budget_seconds)
            except PermanentError as exc:
                self._fail(launch, launch.status, launch.attempt, exc)
                return Outcome.FAILED
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
        except LaunchTransientError:
            self._release(claimed, previous=launch)
            raise

    def _claim(self, launch: Launch, *, restore: bool) -> Launch | None:
        target = Status.WAITING if restore else Status.LAUNCHING
        if launch.status is Status.RETRY_REQUESTED:
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
                target=Status.LAUNCHING,
                now=self._now(),
                next_attempt=launch.attempt + 1,
                set_values={"attempt_history": history},
                remove=ATTEMPT_FIELDS,
            )
        return self.registry.transition(
            launch.launch_id, attempt=launch.attempt, sources={launch.status}, target=target, now=self._now()
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
            "s3_urls": [launch.s3_data_path],
            "tier": self.config.restore_tier,
            "days": self.config.restore_days,
            "deadline_hours": self.config.restore_deadline_hours,
        }
        uri = f"s3://{self.config.restore_bucket}/restore/{launch.launch_id}.json"
        try:
            self.storage.write_json(uri, document)
        except LaunchTransientError:
            self.registry.transition(
                launch.launch_id,
                attempt=launch.attempt,
                sources={Status.WAITING},
                target=Status.REGISTERED,
                now=self._now(),
            )
            raise
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

    def _release(self, launch: Launch, *, previous: Launch) -> None:
        """Give a claim back after a transient failure, so the retried record can claim it again."""
        released = self.registry.transition(
            launch.launch_id,
            attempt=launch.attempt,
            sources={launch.status},
            target=previous.status if launch.status is Status.LAUNCHING else Status.REGISTERED,
            now=self._now(),
            next_attempt=previous.attempt if previous.attempt != launch.attempt else None,
        )
        logger.warning("Launch claim released after a transient failure", released=released is not None)

    def _fail(self, launch: Launch, current: Status, attempt: int, error: Exception) -> None:
        code = str(getattr(error, "error_code", type(error).__name__))
        failed = self.registry.transition(
            launch.launch_id,
            attempt=attempt,
            sources={current},
            target=Status.FAILED,
            now=self._now(),
            set_values={"error_code": code, "error_message": str(error)[:1024], "log_scan": "NOT_APPLICABLE"},
        )
        logger.warning("Launch failed before compute started", error_code=code, recorded=failed is not None)
