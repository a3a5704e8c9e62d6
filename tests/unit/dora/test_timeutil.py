"""Timestamps are aware and UTC; report days follow the configured time zone (test case 5)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blueprints.dora.timeutil import (
    Calendar,
    from_stored,
    month_end,
    month_start,
    parse_day,
    parse_instant,
    stored,
    week_start,
)

instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))


def test_offsets_are_normalised_to_utc() -> None:
    # Given GitHub-style timestamps with offsets
    # Then they are the same instants in UTC
    assert parse_instant("2024-03-11T10:00:00+01:00") == datetime(2024, 3, 11, 9, tzinfo=UTC)
    assert parse_instant("2024-03-11T09:00:00Z") == datetime(2024, 3, 11, 9, tzinfo=UTC)
    assert parse_instant(datetime(2024, 3, 11, 4, tzinfo=timezone(timedelta(hours=-5)))).hour == 9


def test_a_timestamp_without_an_offset_is_refused() -> None:
    with pytest.raises(ValueError, match="offset"):
        parse_instant("2024-03-11T09:00:00")
    with pytest.raises(ValueError, match="Invalid isoformat"):
        parse_instant("yesterday")


@given(instants, offsets)
def test_any_offset_spelling_of_an_instant_parses_to_that_instant(
    instant: datetime, offset: timezone
) -> None:
    assert parse_instant(instant.astimezone(offset).isoformat()) == instant


@given(instants)
def test_stored_form_round_trips_and_sorts_as_time(instant: datetime) -> None:
    later = instant + timedelta(microseconds=1)
    assert from_stored(stored(instant)) == instant
    assert stored(instant) < stored(later)


def test_a_deploy_late_on_march_31_in_los_angeles_is_april_1_in_utc() -> None:
    # Given a deploy at 2024-03-31T23:30:00-07:00 (test case 5)
    deploy = parse_instant("2024-03-31T23:30:00-07:00")

    # Then the UTC report puts it on April 1, the Los Angeles report on March 31
    assert Calendar().day_of(deploy) == date(2024, 4, 1)
    assert Calendar("America/Los_Angeles").day_of(deploy) == date(2024, 3, 31)


def test_day_bounds_follow_the_time_zone() -> None:
    start, end = Calendar("America/Los_Angeles").bounds(date(2024, 3, 31), date(2024, 3, 31))
    assert (start, end) == (datetime(2024, 3, 31, 7, tzinfo=UTC), datetime(2024, 4, 1, 7, tzinfo=UTC))
    with pytest.raises(ValueError, match="unknown time zone"):
        Calendar("Mars/Olympus").day_of(start)


def test_dates_are_strictly_year_month_day() -> None:
    assert parse_day("2024-02-29") == date(2024, 2, 29)
    for bad in ("2024-2-29", "20240229", "2023-02-29", "2024-02-29T00:00"):
        with pytest.raises(ValueError, match=r"YYYY-MM-DD|day is out of range"):
            parse_day(bad)


def test_weeks_start_on_monday_and_months_end_on_their_last_day() -> None:
    assert week_start(date(2024, 3, 17)) == date(2024, 3, 11)
    assert (month_start(date(2024, 2, 10)), month_end(date(2024, 2, 10))) == (
        date(2024, 2, 1),
        date(2024, 2, 29),
    )
    assert month_end(date(2024, 12, 5)) == date(2024, 12, 31)
