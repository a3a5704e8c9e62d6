"""Timestamps and report calendars.

Every instant is a timezone-aware ``datetime`` in UTC inside the domain. External timestamps carry their
own offset (GitHub's commit times do) and are normalised here; a timestamp without an offset is refused,
since its instant is unknown. The fact store keeps fixed-width UTC strings, so they sort as they compare.
Report windows are calendar days of a configured time zone (UTC by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

STORED_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def parse_instant(value: str | datetime) -> datetime:
    """An ISO 8601 timestamp (or datetime) with an offset, as an aware UTC datetime.

    Raises ``ValueError`` when the value has no offset or is not a timestamp.
    """
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"timestamp without a UTC offset: {value!r}")
    return parsed.astimezone(UTC)


def stored(instant: datetime) -> str:
    """The fact store's fixed-width UTC form (sorts lexicographically in time order)."""
    return instant.astimezone(UTC).strftime(STORED_FORMAT)


def from_stored(value: str) -> datetime:
    return datetime.strptime(value, STORED_FORMAT).replace(tzinfo=UTC)


def parse_day(value: str) -> date:
    """A ``YYYY-MM-DD`` calendar date (strictly that form)."""
    if len(value) != 10 or value[4] != "-" or value[7] != "-":
        raise ValueError(f"not a YYYY-MM-DD date: {value!r}")
    return date.fromisoformat(value)


@dataclass(frozen=True)
class Calendar:
    """Calendar days of one time zone: which day an instant falls on, and where a day starts."""

    time_zone: str = "UTC"

    @cached_property
    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.time_zone!r}") from exc

    def day_of(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

    def start_of(self, day: date) -> datetime:
        """The first instant of ``day`` in this time zone, in UTC."""
        return datetime.combine(day, time(0), tzinfo=self.zone).astimezone(UTC)

    def bounds(self, first: date, last: date) -> tuple[datetime, datetime]:
        """``[start of first, start of the day after last)`` in UTC: an inclusive range of days."""
        return self.start_of(first), self.start_of(last + timedelta(days=1))


def week_start(day: date) -> date:
    """The Monday of ``day``'s ISO week."""
    return day - timedelta(days=day.weekday())


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)
