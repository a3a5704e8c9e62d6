"""Scheduled EventBridge rules (``ScheduleExpression``) fired on the virtual clock.

moto stores a rule's schedule and never fires it. Each enabled scheduled rule gets a daemon timer on
the virtual clock; when it fires, the rule's targets receive the ``Scheduled Event`` AWS sends
(``source: aws.events``, ``resources: [rule ARN]``, empty ``detail``) through the same target
delivery as any event, then the next occurrence is armed. A ``rate(...)`` rule first
fires one period after it is first seen (AWS starts counting at creation).

The timers are daemons: they fire whenever the clock passes them, but never make
``run_until_idle`` advance time on their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.events.models import events_backends

from localcloud.clock import Timer, VirtualClock
from localcloud.sources.schedule_expressions import Schedule, UnsupportedScheduleError, parse_schedule


@dataclass
class ScheduledRule:
    """One scheduled rule as the local cloud runs it (for status output and assertions)."""

    arn: str
    bus: str
    name: str
    expression: str
    next_fire: float | None = None
    fired: int = 0
    error: str | None = None
    timer: Timer | None = None

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = None
        self.next_fire = None


Deliver = Callable[[Any, dict[str, Any]], None]


class ScheduledRules:
    """Arms a timer per enabled scheduled rule; ``deliver(rule, event)`` sends the event to its targets."""

    def __init__(self, clock: VirtualClock, account_id: str, region: str, deliver: Deliver) -> None:
        self.clock = clock
        self.deliver = deliver
        self.account_id = account_id
        self.region = region
        self.rules: dict[str, ScheduledRule] = {}

    def _current_rules(self) -> dict[str, Any]:
        backend = events_backends[self.account_id][self.region]
        return {
            rule.arn: rule
            for bus in list(backend.event_buses.values())
            for rule in list(bus.rules.values())
            if rule.scheduled_expression and rule.state == "ENABLED"
        }

    def sync(self) -> None:
        """Arm new or changed scheduled rules; disarm deleted and disabled ones."""
        current = self._current_rules()
        for arn in set(self.rules) - set(current):
            self.rules.pop(arn).cancel()
        for arn, rule in current.items():
            known = self.rules.get(arn)
            if known is not None and known.expression == rule.scheduled_expression:
                continue
            if known is not None:
                known.cancel()
            entry = ScheduledRule(arn, rule.event_bus_name, rule.name, rule.scheduled_expression)
            self.rules[arn] = entry
            try:
                schedule = parse_schedule(entry.expression)
            except UnsupportedScheduleError as exc:
                entry.error = str(exc)
                continue
            self._arm(entry, schedule)

    def _arm(self, entry: ScheduledRule, schedule: Schedule) -> None:
        entry.next_fire = schedule.next_after(self.clock.now())
        if entry.next_fire is not None:
            entry.timer = self.clock.call_at(
                entry.next_fire, lambda: self._fire(entry, schedule), daemon=True
            )

    def _fire(self, entry: ScheduledRule, schedule: Schedule) -> None:
        rule = self._current_rules().get(entry.arn)
        if rule is None or self.rules.get(entry.arn) is not entry:
            entry.cancel()
            return
        now = self.clock.now()
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self.account_id,
            "time": now,
            "region": self.region,
            "resources": [rule.arn],
            "detail": {},
            "ingestion-time": now,
        }
        entry.fired += 1
        self.deliver(rule, event)
        self._arm(entry, schedule)
