"""Stuck-launch detection (scheduled): Batch jobs RUNNABLE too long get one ``RUNNABLE_STUCK`` alert
and a notice; launches still LAUNCHING after the hard timeout end FAILED (``LaunchTimeout``) and
their task or job is stopped; launches parked after a transient start failure are re-driven once their
``next_try_at`` has passed (removing it is the MODIFY record the launcher's stream filter lets through)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from blueprints.core.observability import logger
from blueprints.genomics.records import Launch
from blueprints.genomics.registration import Notifier
from blueprints.genomics.registry import LaunchRegistry
from blueprints.genomics.status import Status

RUNNABLE_STUCK = "RUNNABLE_STUCK"
LAUNCHING_TOO_LONG = "LAUNCHING_TOO_LONG"
SLOW_CAUSES = (
    "the image is large or its registry slow or unreachable (no route to ECR)",
    "no ENI could be attached in the subnets (IP addresses exhausted, quota)",
    "Fargate or Spot capacity is short in the region",
    "the compute did not report its start (no state-change events reach the blueprint)",
)
CAUSES = (
    "the compute environment's maxvCpus is too low for the queued jobs",
    "no instance type of the compute environment fits the job's vCPU or memory",
    "the subnets have no route to ECS and ECR, so instances cannot register",
    "the EC2 quota or Spot capacity is exhausted",
)


class Stopper(Protocol):
    def stop(self, launch: Launch, reason: str) -> None: ...


@dataclass(frozen=True)
class Thresholds:
    runnable_alert: timedelta
    hard_timeout: timedelta
    launching_alert: timedelta = timedelta(minutes=30)


@dataclass(frozen=True)
class Report:
    checked: int
    alerted: list[str]
    timed_out: list[str]
    redriven: list[str] = field(default_factory=list)
    slow: list[str] = field(default_factory=list)  # LAUNCHING_TOO_LONG notices sent by this check


# Compute whose status comes from its own events (track_remote_run) and that the stopper does not stop.
REMOTE_RUNS = {"parallelcluster": "head-node SSM command", "stepfunctions": "Step Functions execution"}
PARKABLE = (Status.REGISTERED, Status.READY, Status.RETRY_REQUESTED)  # where a start failure parks


def _due(next_try_at: str, now: datetime) -> bool:
    try:
        return datetime.fromisoformat(next_try_at.replace("Z", "+00:00")) <= now
    except ValueError:
        return True  # an unreadable time must not park a launch for ever


class StuckDetector:
    def __init__(
        self,
        registry: LaunchRegistry,
        notifier: Notifier,
        stopper: Stopper,
        thresholds: Thresholds,
    ) -> None:
        self.registry = registry
        self.notifier = notifier
        self.stopper = stopper
        self.thresholds = thresholds

    def check(self, now: datetime) -> Report:
        """``now``: the scheduled time of this check (writes are stamped with it)."""
        redriven = self._redrive(now)
        cutoff = now - min(
            self.thresholds.runnable_alert, self.thresholds.hard_timeout, self.thresholds.launching_alert
        )
        checked, alerted, timed_out, slow = 0, [], [], []
        start: dict[str, Any] | None = None
        while True:
            page = self.registry.by_status(
                Status.LAUNCHING, updated_before=cutoff.isoformat(), start_key=start
            )
            for values in page.items:
                launch = Launch.from_plain(values)
                checked += 1
                if self._timed_out(launch, now):
                    timed_out.append(launch.launch_id)
                elif self._alert(launch, now):
                    alerted.append(launch.launch_id)
                elif self._slow(launch, now):
                    slow.append(launch.launch_id)
            if page.next_token is None:
                return Report(checked, alerted, timed_out, redriven, slow)
            start = json.loads(page.next_token)

    def _redrive(self, now: datetime) -> list[str]:
        """Un-park every launch whose ``next_try_at`` has passed: remove it (conditional on the value
        read, so a launch parked again meanwhile keeps its new time); the launcher takes the MODIFY."""
        redriven = []
        for status in PARKABLE:
            start: dict[str, Any] | None = None
            while True:
                page = self.registry.by_status(status, updated_before=now.isoformat(), start_key=start)
                for values in page.items:
                    next_try_at = values.get("next_try_at")
                    if not isinstance(next_try_at, str) or not _due(next_try_at, now):
                        continue
                    moved = self.registry.update(
                        str(values["launch_id"]),
                        attempt=int(values.get("attempt", 1)),
                        status=status,
                        now=now,
                        remove=("next_try_at",),
                        expect={"next_try_at": next_try_at},
                    )
                    if moved is not None:
                        logger.info(
                            "Parked launch re-driven",
                            launch_id=values["launch_id"],
                            start_tries=values.get("start_tries"),
                        )
                        redriven.append(str(values["launch_id"]))
                if page.next_token is None:
                    break
                start = json.loads(page.next_token)
        return redriven

    def _alert(self, launch: Launch, now: datetime) -> bool:
        if not launch.runnable_since or RUNNABLE_STUCK in launch.alerts:
            return False
        since = datetime.fromisoformat(launch.runnable_since.replace("Z", "+00:00"))
        if now - since < self.thresholds.runnable_alert:
            return False
        if not self._mark_alert(launch, RUNNABLE_STUCK, now):
            return False  # another run alerted first, or the job moved on
        minutes = int((now - since).total_seconds() // 60)
        logger.warning("Batch job stuck in RUNNABLE", launch_id=launch.launch_id, minutes=minutes)
        self.notifier.notify(
            f"Blueprints genomics launch stuck: {launch.launch_id}",
            {
                "launch_id": launch.launch_id,
                "alert": RUNNABLE_STUCK,
                "runnable_since": launch.runnable_since,
                "minutes": minutes,
                "batch_job_ids": sorted(launch.batch_job_ids),
                "likely_causes": list(CAUSES),
            },
        )
        return True

    def _mark_alert(self, launch: Launch, alert: str, now: datetime) -> bool:
        """Record ``alert`` on a launch still LAUNCHING at its attempt, once: False when another run
        recorded it first or the launch moved on (so exactly one notice is sent)."""
        marked = self.registry.update(
            launch.launch_id,
            attempt=launch.attempt,
            status=Status.LAUNCHING,
            now=now,
            add_to_sets={"alerts": {alert}},
            unless_member=("alerts", alert),
        )
        return marked is not None

    def _slow(self, launch: Launch, now: datetime) -> bool:
        """One notice for a launch LAUNCHING longer than the alert threshold (a Batch job waiting in
        RUNNABLE has its own alert and causes), well before the hard timeout fails it."""
        started = launch.launch_started_at  # (an alert write moves updated_at: it cannot be the start)
        if launch.runnable_since or LAUNCHING_TOO_LONG in launch.alerts or not started:
            return False
        waited = now - datetime.fromisoformat(started)
        if waited < self.thresholds.launching_alert:
            return False
        if not self._mark_alert(launch, LAUNCHING_TOO_LONG, now):
            return False  # another run alerted first, or the launch moved on
        minutes = int(waited.total_seconds() // 60)
        logger.warning("Launch still launching", launch_id=launch.launch_id, minutes=minutes)
        self.notifier.notify(
            f"Blueprints genomics launch slow to start: {launch.launch_id}",
            {
                "launch_id": launch.launch_id,
                "alert": LAUNCHING_TOO_LONG,
                "attempt": launch.attempt,
                "compute_service": launch.compute_service,
                "launch_started_at": started,
                "minutes": minutes,
                "hard_timeout_minutes": int(self.thresholds.hard_timeout.total_seconds() // 60),
                "likely_causes": list(SLOW_CAUSES),
            },
        )
        return True

    def _timed_out(self, launch: Launch, now: datetime) -> bool:
        started = launch.launch_started_at or str(launch.raw.get("updated_at", ""))
        if not started or now - datetime.fromisoformat(started) < self.thresholds.hard_timeout:
            return False
        minutes = int(self.thresholds.hard_timeout.total_seconds() // 60)
        remote = REMOTE_RUNS.get(launch.compute_service)
        outcome = (
            f"no status change arrived from its {remote}, which was left as it is"
            if remote
            else "the task or job was stopped"
        )
        failed = self.registry.transition(
            launch.launch_id,
            attempt=launch.attempt,
            sources={Status.LAUNCHING},
            target=Status.FAILED,
            now=now,
            set_values={
                "error_code": "LaunchTimeout",
                "error_message": f"still launching after {minutes} minutes; {outcome}",
            },
        )
        if failed is None:
            return False
        if remote is None:  # the stopper stops ECS tasks and Batch jobs only
            self.stopper.stop(launch, f"Blueprints: launch timeout after {minutes} minutes")
        return True
