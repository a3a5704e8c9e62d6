"""EventBridge Scheduler schedules fired on the virtual clock.

Why: moto's ``scheduler`` backend stores schedules and groups, and nothing ever fires them; moto's
CloudFormation skips ``AWS::Scheduler::Schedule``/``ScheduleGroup`` (the deploy appliers create them
through the API). ``Scheduler`` arms a timer for every ``ENABLED`` schedule of that backend and invokes its
target when the clock reaches it, re-reading the backend each round (``UpdateSchedule``, ``DeleteSchedule``
and a changed ``State`` apply at once):

- **Expressions** ``rate(...)``, ``cron(...)`` (``schedule_expressions.py``) and
  ``at(yyyy-mm-ddThh:mm:ss)``, evaluated in ``ScheduleExpressionTimezone`` (zoneinfo; UTC by default).
  A cron wall time that does not exist (spring forward) is skipped and a repeated hour (fall back) fires
  once, as Scheduler documents.
  A rate counts fixed durations from ``StartDate``, or from when the schedule is first seen: AWS "starts
  invoking immediately". ``StartDate``/``EndDate`` bound recurring schedules and are ignored by ``at()``.
- **FlexibleTimeWindow**: the invocation happens at the start of the window (AWS picks a moment within
  it; the start keeps runs deterministic).
- **Timers**: recurring schedules are daemon timers, like scheduled rules: they fire whenever the clock
  passes them but never make ``run_until_idle`` advance on their own. A one-time schedule is pending work
  like a delayed message: ``run_until_idle`` advances to it within its bound. An ``at()`` time already
  past when the schedule is first seen fires at once.
- **Targets** (templated, not universal): Lambda (asynchronous ``Invoke``: function errors are Lambda's
  business, not a failed invocation), Step Functions (``StartExecution``), SQS (``SqsParameters``), SNS and
  EventBridge buses (``PutEvents`` with ``EventBridgeParameters`` ``DetailType``/``Source``). ``Input`` is
  sent verbatim (``{}`` when absent) with the context attributes ``<aws.scheduler.schedule-arn>``,
  ``<aws.scheduler.scheduled-time>``, ``<aws.scheduler.execution-id>`` and
  ``<aws.scheduler.attempt-number>`` filled in.
- **Failures**: a target that cannot be invoked (missing, input rejected, not emulated) is retried with
  exponential back-off (1, 2, 4 ... s, at most 60 s: AWS documents no schedule) within ``RetryPolicy``
  (``MaximumRetryAttempts`` default 185, ``MaximumEventAgeInSeconds`` default 86400), then the input goes
  to ``DeadLetterConfig`` (SQS) with the ``ERROR_CODE``, ``ERROR_MESSAGE``, ``EXHAUSTED_RETRY_CONDITION``,
  ``RETRY_ATTEMPTS``, ``SCHEDULE_ARN`` and ``TARGET_ARN`` attributes; without one it is dropped.
- **ActionAfterCompletion** ``DELETE``: the schedule is deleted after its last invocation (an ``at()``
  schedule's only one, or the last before ``EndDate``).

``fire_schedule(name, group)`` invokes a schedule's target now, whatever its expression and state.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import re
import uuid
from collections import deque
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from moto.scheduler.models import Schedule, scheduler_backends
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from localcloud.clock import Timer, VirtualClock, isoformat
from localcloud.sources.destinations import UnsupportedDestinationError, send
from localcloud.sources.eventbridge import DeliveryError
from localcloud.sources.invoke import MOTO_ERRORS, invoke
from localcloud.sources.schedule_expressions import Cron, Rate, UnsupportedScheduleError, parse_schedule

__all__ = ["ScheduleEntry", "ScheduleInvocation", "Scheduler", "next_in_zone", "timing_of"]

DEFAULT_RETRY_ATTEMPTS = 185
DEFAULT_EVENT_AGE_SECONDS = 86400
MAX_BACKOFF_SECONDS = 60.0
INVOCATION_LOG_SIZE = 1000
_AT = re.compile(r"^at\(\s*(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\s*\)$")

# -- when a schedule fires --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OneTime:
    """``at(...)``: one moment."""

    moment: float

    def first(self, now: float) -> float | None:
        return self.moment

    def after(self, moment: float) -> float | None:
        return None


@dataclass(frozen=True)
class Every:
    """``rate(...)``: fixed durations from ``anchor`` (the start date, or when first seen), until ``end``."""

    seconds: int
    anchor: float
    end: float | None = None

    def first(self, now: float) -> float | None:
        periods = max(0, math.ceil((now - self.anchor) / self.seconds))
        return self._bounded(self.anchor + periods * self.seconds)

    def after(self, moment: float) -> float | None:
        periods = max(0, math.floor((moment - self.anchor) / self.seconds) + 1)
        return self._bounded(self.anchor + periods * self.seconds)

    def _bounded(self, moment: float) -> float | None:
        return None if self.end is not None and moment > self.end else moment


@dataclass(frozen=True)
class ZonedCron:
    """``cron(...)`` in a time zone, from ``start`` until ``end``."""

    cron: Cron
    zone: ZoneInfo
    start: float | None = None
    end: float | None = None

    def first(self, now: float) -> float | None:
        return self.after(now if self.start is None else max(now, self.start - 1))

    def after(self, moment: float) -> float | None:
        found = next_in_zone(self.cron, moment, self.zone)
        return None if found is None or (self.end is not None and found > self.end) else found


Timing = OneTime | Every | ZonedCron


def next_in_zone(cron: Cron, moment: float, zone: ZoneInfo) -> float | None:
    """The first occurrence of ``cron``'s wall-clock times in ``zone`` strictly after ``moment``.

    The cron is evaluated on wall times (written as if they were UTC, which ``Cron`` computes in); each
    candidate is mapped back to an instant. A wall time that does not exist is skipped; of a repeated
    wall time the first instant is taken, so a repeated hour fires once.
    """
    cursor = datetime.fromtimestamp(moment, zone).replace(tzinfo=UTC).timestamp()
    while True:
        candidate = cron.next_after(cursor)
        if candidate is None:
            return None
        cursor = candidate
        wall = datetime.fromtimestamp(candidate, UTC).replace(tzinfo=None)
        local = wall.replace(tzinfo=zone)
        if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
            continue  # in the gap of a spring-forward change
        if local.timestamp() > moment:
            return local.timestamp()


def _epoch(value: Any) -> float | None:
    """A schedule date as stored by moto (epoch seconds from the API, or an ISO 8601 string)."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    try:
        return float(value)
    except (TypeError, ValueError):
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def timing_of(schedule: Schedule, first_seen: float) -> Timing:
    """When ``schedule`` fires (``UnsupportedScheduleError`` for what cannot be scheduled offline)."""
    try:
        zone = ZoneInfo(str(schedule.schedule_expression_timezone or "UTC"))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnsupportedScheduleError(f"unknown time zone {schedule.schedule_expression_timezone}") from exc
    expression = str(schedule.schedule_expression).strip()
    at = _AT.match(expression)
    if at:
        return OneTime(datetime.fromisoformat(at.group(1)).replace(tzinfo=zone).timestamp())
    start, end = _epoch(schedule.start_date), _epoch(schedule.end_date)
    parsed = parse_schedule(expression)
    if isinstance(parsed, Rate):
        return Every(parsed.seconds, first_seen if start is None else start, end)
    return ZonedCron(parsed, zone, start, end)


# -- the scheduler ----------------------------------------------------------------------------------------


@dataclass
class ScheduleEntry:
    """One schedule as the local cloud runs it (for status output and assertions)."""

    group: str
    name: str
    arn: str
    schedule: Schedule
    signature: tuple[Any, ...]
    timing: Timing | None = None
    next_fire: float | None = None
    fired: int = 0
    error: str | None = None
    timer: Timer | None = None

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = None
        self.next_fire = None


@dataclass(frozen=True)
class ScheduleInvocation:
    """One attempt to invoke a schedule's target."""

    schedule_arn: str
    target_arn: str
    scheduled_time: str
    attempt: int
    body: str
    error: str | None = None
    dead_letter_arn: str | None = None


def _signature(schedule: Schedule) -> tuple[Any, ...]:
    return (
        schedule.schedule_expression,
        schedule.schedule_expression_timezone,
        str(schedule.start_date),
        str(schedule.end_date),
        schedule.state,
    )


class Scheduler:
    """Fires moto's EventBridge Scheduler schedules on the virtual clock (see the module docstring)."""

    def __init__(self, clock: VirtualClock, account_id: str, region: str) -> None:
        self.clock = clock
        self.account_id = account_id
        self.region = region
        self.entries: dict[tuple[str, str], ScheduleEntry] = {}
        self.invocations: deque[ScheduleInvocation] = deque(maxlen=INVOCATION_LOG_SIZE)

    def _backend(self) -> Any:
        return scheduler_backends[self.account_id][self.region]

    def _current(self) -> dict[tuple[str, str], Schedule]:
        return {
            (str(group.name), str(schedule.name)): schedule
            for group in list(self._backend().schedule_groups.values())
            for schedule in list(group.schedules.values())
        }

    def entry(self, name: str, group: str = "default") -> ScheduleEntry:
        self.sync()
        return self.entries[(group, name)]

    def sync(self) -> None:
        """Arm new or changed schedules; disarm deleted and disabled ones."""
        current = self._current()
        for key in set(self.entries) - set(current):
            self.entries.pop(key).cancel()
        for key, schedule in current.items():
            known = self.entries.get(key)
            signature = _signature(schedule)
            if known is not None and known.schedule is schedule and known.signature == signature:
                continue
            if known is not None:
                known.cancel()
            entry = ScheduleEntry(key[0], key[1], str(schedule.arn), schedule, signature)
            self.entries[key] = entry
            if schedule.state != "ENABLED":
                continue
            try:
                entry.timing = timing_of(schedule, self.clock.now())
            except UnsupportedScheduleError as exc:
                entry.error = str(exc)
                continue
            self._arm(entry, entry.timing.first(self.clock.now()))

    def fire_schedule(self, name: str, group: str = "default") -> ScheduleInvocation:
        """Invoke the target of schedule ``group/name`` now (whatever its expression and state)."""
        schedule = self._current().get((group, name))
        if schedule is None:
            raise KeyError(f"no schedule {group}/{name}")
        self._invoke(
            str(schedule.arn), copy.deepcopy(schedule.target), self.clock.now(), str(uuid.uuid4()), 1
        )
        return self.invocations[-1]

    def _arm(self, entry: ScheduleEntry, when: float | None) -> None:
        entry.next_fire = when
        if when is None:
            self._complete(entry)
            return
        recurring = not isinstance(entry.timing, OneTime)
        entry.timer = self.clock.call_at(when, lambda: self._fire(entry), daemon=recurring)

    def _fire(self, entry: ScheduleEntry) -> None:
        key = (entry.group, entry.name)
        schedule = self._current().get(key)
        if (
            schedule is not entry.schedule
            or self.entries.get(key) is not entry
            or schedule.state != "ENABLED"
        ):
            entry.cancel()
            return
        scheduled = entry.next_fire if entry.next_fire is not None else self.clock.now()
        entry.timer = None
        entry.fired += 1
        self._invoke(entry.arn, copy.deepcopy(schedule.target), scheduled, str(uuid.uuid4()), 1)
        if entry.timing is not None:
            self._arm(entry, entry.timing.after(scheduled))

    def _complete(self, entry: ScheduleEntry) -> None:
        """No occurrence is left: ``ActionAfterCompletion: DELETE`` deletes the schedule."""
        if getattr(entry.schedule, "action_after_completion", None) != "DELETE":
            return  # kept (and never re-armed: its signature is unchanged)
        with contextlib.suppress(*MOTO_ERRORS):
            self._backend().delete_schedule(entry.group, entry.name)
        self.entries.pop((entry.group, entry.name), None)

    def _invoke(
        self, schedule_arn: str, target: dict[str, Any], scheduled: float, execution_id: str, attempt: int
    ) -> None:
        body = _input(target, schedule_arn, scheduled, execution_id, attempt)
        record = ScheduleInvocation(schedule_arn, str(target.get("Arn")), isoformat(scheduled), attempt, body)
        try:
            self._deliver(target, body, execution_id)
        except DeliveryError as failure:
            self._failed(record, target, scheduled, execution_id, failure)
        else:
            self.invocations.append(record)

    def _failed(
        self,
        record: ScheduleInvocation,
        target: dict[str, Any],
        scheduled: float,
        execution_id: str,
        failure: DeliveryError,
    ) -> None:
        policy = target.get("RetryPolicy") or {}
        retries = record.attempt - 1
        max_retries = int(policy.get("MaximumRetryAttempts", DEFAULT_RETRY_ATTEMPTS))
        max_age = float(policy.get("MaximumEventAgeInSeconds", DEFAULT_EVENT_AGE_SECONDS))
        delay = min(2.0**retries, MAX_BACKOFF_SECONDS)
        if retries < max_retries and self.clock.now() + delay - scheduled <= max_age:
            self.invocations.append(replace(record, error=failure.code))
            arn, attempt = record.schedule_arn, record.attempt + 1
            self.clock.call_later(delay, lambda: self._invoke(arn, target, scheduled, execution_id, attempt))
            return
        condition = "MaximumRetryAttempts" if retries >= max_retries else "MaximumEventAgeInSeconds"
        dead_letter = (target.get("DeadLetterConfig") or {}).get("Arn")
        if dead_letter:
            attributes = {
                "ERROR_CODE": failure.code,
                "ERROR_MESSAGE": failure.message[:256],
                "EXHAUSTED_RETRY_CONDITION": condition,
                "RETRY_ATTEMPTS": str(retries),
                "SCHEDULE_ARN": record.schedule_arn,
                "TARGET_ARN": record.target_arn,
            }
            try:
                send(str(dead_letter), record.body, attributes)
            except (UnsupportedDestinationError, *MOTO_ERRORS):
                dead_letter = None
        self.invocations.append(replace(record, error=failure.code, dead_letter_arn=dead_letter))

    def _deliver(self, target: dict[str, Any], body: str, execution_id: str) -> None:
        arn = str(target.get("Arn"))
        parts = arn.split(":")
        if len(parts) < 6:
            raise DeliveryError("ValidationException", f"not a target ARN: {arn}")
        service, region, account_id, name = parts[2], parts[3], parts[4], parts[5]
        try:
            if service == "lambda":
                if (
                    invoke(account_id, region, arn, json.loads(body), asynchronous=True).function_error
                    == "Missing"
                ):
                    raise DeliveryError("ResourceNotFoundException", f"Function not found: {arn}")
            elif service == "states":
                from moto.stepfunctions.responses import get_backend

                get_backend(account_id, region).start_execution(
                    state_machine_arn=arn, name=execution_id, execution_input=body
                )
            elif service == "sqs":
                fifo = name.endswith(".fifo")
                sqs_backends[account_id][region].send_message(
                    queue_name=name,
                    message_body=body,
                    group_id=(target.get("SqsParameters") or {}).get("MessageGroupId"),
                    deduplication_id=execution_id if fifo else None,
                )
            elif service == "sns":
                sns_backends[account_id][region].publish(message=body, arn=arn)
            elif service == "events":
                self._put_event(target, arn, account_id, region, body)
            else:
                raise DeliveryError(
                    "UnsupportedTarget", f"target {arn} is not emulated (templated targets are)"
                )
        except ValueError as exc:
            raise DeliveryError("ValidationException", f"target input is not valid: {exc}") from exc
        except MOTO_ERRORS as exc:
            raise DeliveryError(type(exc).__name__, str(exc)) from exc

    @staticmethod
    def _put_event(target: dict[str, Any], arn: str, account_id: str, region: str, body: str) -> None:
        from moto.events.models import events_backends

        parameters = target.get("EventBridgeParameters") or {}
        entry = {
            "EventBusName": arn,
            "Source": parameters.get("Source"),
            "DetailType": parameters.get("DetailType"),
            "Detail": body,
        }
        result = events_backends[account_id][region].put_events([entry])[0]
        if result.get("ErrorCode"):
            raise DeliveryError(str(result["ErrorCode"]), str(result.get("ErrorMessage")))


def _input(
    target: dict[str, Any], schedule_arn: str, scheduled: float, execution_id: str, attempt: int
) -> str:
    """The target input with Scheduler's context attributes filled in."""
    text = str(target.get("Input") or "{}")
    for name, value in (
        ("schedule-arn", schedule_arn),
        ("scheduled-time", isoformat(scheduled)),
        ("execution-id", execution_id),
        ("attempt-number", str(attempt)),
    ):
        text = text.replace(f"<aws.scheduler.{name}>", value)
    return text
