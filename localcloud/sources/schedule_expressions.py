"""EventBridge ``rate(...)`` and ``cron(...)`` schedule expressions: when does a rule fire next (UTC).

moto stores ``ScheduleExpression`` and never fires it. Supported: ``rate(N minute|minutes|hour|hours|
day|days)`` and six-field ``cron(minutes hours day-of-month month day-of-week year)`` with numbers,
names (JAN-DEC, SUN-SAT), ``*``, ``?``, lists, ranges and ``/`` steps. The ``L``, ``W`` and ``#`` forms
are rejected with ``UnsupportedScheduleError`` (the rule then never fires offline, and the status says so).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}
_DAYS = {name: number for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)}
_LAST_YEAR = 2199
_SPECIAL = re.compile(r"L|LW|\d*[LW]")  # last day, nearest weekday: not supported


class UnsupportedScheduleError(ValueError):
    """An expression the local cloud cannot schedule."""


@dataclass(frozen=True)
class Rate:
    seconds: int

    def next_after(self, moment: float) -> float | None:
        return moment + self.seconds


@dataclass(frozen=True)
class Cron:
    """A parsed cron expression; ``None`` for a day field means ``?`` (no constraint)."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int] | None
    months: frozenset[int]
    days_of_week: frozenset[int] | None
    years: frozenset[int]

    def _day_matches(self, moment: datetime) -> bool:
        aws_weekday = (moment.weekday() + 1) % 7 + 1  # AWS counts SUN=1 .. SAT=7
        return (self.days_of_month is None or moment.day in self.days_of_month) and (
            self.days_of_week is None or aws_weekday in self.days_of_week
        )

    def next_after(self, moment: float) -> float | None:
        """The first matching minute strictly after ``moment``; None if there is none before 2200."""
        current = datetime.fromtimestamp(moment, UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        while current.year <= _LAST_YEAR:
            if current.year not in self.years:
                current = datetime(current.year + 1, 1, 1, tzinfo=UTC)
            elif current.month not in self.months:
                year, month = divmod(current.year * 12 + current.month, 12)  # the next month
                current = datetime(year, month + 1, 1, tzinfo=UTC)
            elif not self._day_matches(current):
                current = current.replace(hour=0, minute=0) + timedelta(days=1)
            elif current.hour not in self.hours:
                current = current.replace(minute=0) + timedelta(hours=1)
            elif current.minute not in self.minutes:
                current += timedelta(minutes=1)
            else:
                return current.timestamp()
        return None


Schedule = Rate | Cron


def _value(token: str, names: dict[str, int]) -> int:
    token = token.upper()
    if token in names:
        return names[token]
    if not token.isdigit():
        raise UnsupportedScheduleError(f"unsupported cron value {token!r}")
    return int(token)


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() else 1
        if step_text and not step_text.isdigit():
            raise UnsupportedScheduleError(f"unsupported cron step {part!r}")
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = _value(first, names or {}), _value(last, names or {})
        else:
            start = _value(base, names or {})
            end = high if step_text else start
        if not low <= start <= end <= high:
            raise UnsupportedScheduleError(f"cron value {part!r} is out of range {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def parse_schedule(expression: str) -> Schedule:
    """Parse a rule's ``ScheduleExpression``."""
    expression = expression.strip()
    rate = _RATE.match(expression)
    if rate:
        amount, unit = int(rate.group(1)), rate.group(2).rstrip("s")
        if amount <= 0:
            raise UnsupportedScheduleError(f"rate must be positive: {expression}")
        return Rate(amount * _UNIT_SECONDS[unit])
    cron = _CRON.match(expression)
    if not cron:
        raise UnsupportedScheduleError(f"not a rate() or cron() expression: {expression}")
    fields = cron.group(1).split()
    if len(fields) != 6:
        raise UnsupportedScheduleError(f"cron needs 6 fields: {expression}")
    minutes, hours, dom, month, dow, year = fields
    if any(
        _SPECIAL.fullmatch(token) or "#" in token
        for field in (dom, dow)
        for token in re.split(r"[,/-]", field)
    ):
        raise UnsupportedScheduleError(f"L, W and # are not supported offline: {expression}")
    return Cron(
        minutes=_field(minutes, 0, 59),
        hours=_field(hours, 0, 23),
        days_of_month=None if dom == "?" else _field(dom, 1, 31),
        months=_field(month, 1, 12, _MONTHS),
        days_of_week=None if dow == "?" else _field(dow, 1, 7, _DAYS),
        years=_field(year, 1970, _LAST_YEAR),
    )
