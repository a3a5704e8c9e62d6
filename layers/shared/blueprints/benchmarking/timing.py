"""Time for costing: aware UTC instants, intervals, their union, calendar-month slices, phase timings.

Every instant is timezone-aware UTC; Batch's epoch milliseconds are converted once, at the edge
(``from_epoch_ms``). Durations are exact ``Decimal`` seconds computed from the whole ``timedelta`` (days
included: ``timedelta.seconds`` would drop them).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

TERMINAL = ("COMPLETE", "FAILED")
PHASES = ("REGISTERED", "WAITING", "READY", "LAUNCHING", "RUNNING")


def parse_time(text: str) -> datetime:
    """An ISO 8601 instant with an offset (``Z`` or ``+00:00``) as aware UTC; naive text is refused."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset")
    return moment.astimezone(UTC)


def from_epoch_ms(value: int) -> datetime:
    """Batch's ``startedAt``/``stoppedAt`` (epoch milliseconds) as aware UTC."""
    return datetime.fromtimestamp(value / 1000, UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def seconds_between(start: datetime, end: datetime) -> Decimal:
    """Exact seconds from ``start`` to ``end`` (negative when ``end`` is earlier)."""
    delta: timedelta = end - start
    whole = Decimal(delta.days * 86_400 + delta.seconds)
    return whole + Decimal(delta.microseconds) / Decimal(1_000_000)


@dataclass(frozen=True, order=True)
class Interval:
    """``[start, end)`` in aware UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("intervals take timezone-aware instants")
        if self.end < self.start:
            raise ValueError(f"interval ends ({self.end.isoformat()}) before it starts")

    @property
    def seconds(self) -> Decimal:
        return seconds_between(self.start, self.end)

    def overlap(self, other: Interval) -> Interval | None:
        start, end = max(self.start, other.start), min(self.end, other.end)
        return Interval(start, end) if start < end else None

    def as_json(self) -> dict[str, str]:
        return {"start": iso(self.start), "end": iso(self.end)}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Interval:
        return cls(parse_time(str(value["start"])), parse_time(str(value["end"])))


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """The union as disjoint intervals in time order (overlapping or touching ones merged)."""
    merged: list[Interval] = []
    for interval in sorted(intervals):
        if merged and interval.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = Interval(last.start, max(last.end, interval.end))
        else:
            merged.append(interval)
    return merged


def total_seconds(intervals: Iterable[Interval]) -> Decimal:
    return sum((interval.seconds for interval in union(intervals)), Decimal(0))


def month_seconds(year: int, month: int) -> Decimal:
    """Seconds in that calendar month (28 to 31 days: what a GB-month is prorated against)."""
    return Decimal(calendar.monthrange(year, month)[1] * 86_400)


def month_slices(interval: Interval) -> list[tuple[Interval, Decimal]]:
    """The interval cut at calendar-month boundaries (UTC), each piece with its month's seconds."""
    pieces: list[tuple[Interval, Decimal]] = []
    start = interval.start
    while start < interval.end:
        year, month = start.year, start.month
        following = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
        end = min(following, interval.end)
        pieces.append((Interval(start, end), month_seconds(year, month)))
        start = end
    return pieces


@dataclass(frozen=True)
class PhaseTimings:
    """Seconds spent in each status during one attempt, and from its first status to its terminal one.

    ``waiting`` is the restore wait (WAITING -> READY), ``launching`` the queue time (LAUNCHING ->
    RUNNING), ``running`` the run time (RUNNING -> COMPLETE/FAILED).
    """

    registered: Decimal = Decimal(0)
    waiting: Decimal = Decimal(0)
    ready: Decimal = Decimal(0)
    launching: Decimal = Decimal(0)
    running: Decimal = Decimal(0)
    wall: Decimal = Decimal(0)
    terminal_status: str = ""
    terminal_at: str = ""

    def as_attribute_values(self) -> dict[str, str]:
        """Seconds as decimal strings with millisecond precision, by attribute name."""
        values = {
            "registeredSeconds": self.registered,
            "waitingSeconds": self.waiting,
            "readySeconds": self.ready,
            "launchingSeconds": self.launching,
            "runningSeconds": self.running,
            "wallSeconds": self.wall,
        }
        return {name: format(value.quantize(Decimal("0.001")), "f") for name, value in values.items()}


def phase_timings(history: Sequence[Mapping[str, Any]], attempt: int) -> PhaseTimings:
    """Phase durations of ``attempt`` from the registry's ``status_history`` ``[{status, at, attempt}]``.

    Entries are taken in the order they were appended; a status lasts until the next entry of the same
    attempt (a negative gap, from clocks of different writers, counts 0). Time after the terminal entry
    does not count. A status seen twice adds up.
    """
    entries = [
        (str(entry["status"]), parse_time(str(entry["at"])))
        for entry in history
        if int(entry.get("attempt", 1)) == attempt
    ]
    durations: dict[str, Decimal] = dict.fromkeys(PHASES, Decimal(0))
    terminal: tuple[str, datetime] | None = None
    for index, (status, at) in enumerate(entries):
        if status in TERMINAL:
            terminal = (status, at)
            break
        if index + 1 < len(entries) and status in durations:
            durations[status] += max(Decimal(0), seconds_between(at, entries[index + 1][1]))
    wall = Decimal(0)
    if terminal is not None and entries:
        wall = max(Decimal(0), seconds_between(entries[0][1], terminal[1]))
    return PhaseTimings(
        registered=durations["REGISTERED"],
        waiting=durations["WAITING"],
        ready=durations["READY"],
        launching=durations["LAUNCHING"],
        running=durations["RUNNING"],
        wall=wall,
        terminal_status=terminal[0] if terminal else "",
        terminal_at=iso(terminal[1]) if terminal else "",
    )
