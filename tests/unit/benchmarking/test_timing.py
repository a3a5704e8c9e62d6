"""Time for costing: aware instants, intervals and their union, calendar-month slices, phase timings."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blueprints.benchmarking.timing import (
    Interval,
    from_epoch_ms,
    month_seconds,
    month_slices,
    parse_time,
    phase_timings,
    seconds_between,
    total_seconds,
    union,
)

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def span(start: float, end: float) -> Interval:
    return Interval(at(start), at(end))


def test_iso_instants_with_z_or_an_offset_become_aware_utc() -> None:
    assert parse_time("2025-01-06T09:00:00Z") == T0
    assert parse_time("2025-01-06T10:00:00+01:00") == T0
    assert parse_time("2025-01-06T09:00:00.250000+00:00") == T0 + timedelta(milliseconds=250)


def test_a_time_without_offset_is_refused() -> None:
    with pytest.raises(ValueError, match="no UTC offset"):
        parse_time("2025-01-06T09:00:00")


def test_batch_epoch_milliseconds_are_converted_once() -> None:
    assert from_epoch_ms(1736154000000) == T0


def test_a_run_longer_than_a_day_keeps_its_whole_days() -> None:
    # timedelta.seconds would give 7200 for 26 hours
    assert seconds_between(T0, T0 + timedelta(hours=26)) == Decimal(93_600)
    assert seconds_between(T0, T0 + timedelta(microseconds=1500)) == Decimal("0.0015")


def test_intervals_refuse_naive_instants_and_negative_lengths() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Interval(datetime(2025, 1, 6), datetime(2025, 1, 7))
    with pytest.raises(ValueError, match="before it starts"):
        Interval(at(10), at(5))


def test_overlapping_and_touching_intervals_merge_and_separate_ones_stay_apart() -> None:
    # Given three jobs packed on one instance for overlapping hours, one right after, one later
    jobs = [span(0, 120), span(30, 150), span(60, 90), span(150, 160), span(200, 210)]

    merged = union(jobs)

    # Then the union is two spans: 160 minutes and 10 minutes (the sum would be 330 minutes)
    assert merged == [span(0, 160), span(200, 210)]
    assert total_seconds(jobs) == Decimal(170 * 60)


def test_overlap_of_two_intervals() -> None:
    assert span(0, 60).overlap(span(30, 90)) == span(30, 60)
    assert span(0, 60).overlap(span(60, 90)) is None


def test_an_interval_round_trips_through_json() -> None:
    interval = span(0, 61)

    assert Interval.from_json(interval.as_json()) == interval


intervals = st.lists(
    st.tuples(st.integers(0, 10_000), st.integers(0, 5_000)).map(
        lambda pair: span(pair[0], pair[0] + pair[1])
    ),
    max_size=12,
)


def minutes_of(item: Interval) -> range:
    return range(int(seconds_between(T0, item.start)) // 60, int(seconds_between(T0, item.end)) // 60)


@given(intervals)
def test_the_union_is_sorted_disjoint_and_covers_exactly_the_same_minutes(items: list[Interval]) -> None:
    merged = union(items)

    assert all(left.end < right.start for left, right in itertools.pairwise(merged))
    covered = {minute for item in items for minute in minutes_of(item)}
    merged_minutes = {minute for item in merged for minute in minutes_of(item)}
    assert merged_minutes == covered
    assert total_seconds(items) == Decimal(60 * len(covered))


def test_a_span_over_a_month_end_is_cut_at_midnight_utc_with_each_month_length() -> None:
    # Given 2 hours on 31 January and 3 hours on 1 February 2025
    interval = Interval(datetime(2025, 1, 31, 22, tzinfo=UTC), datetime(2025, 2, 1, 3, tzinfo=UTC))

    slices = month_slices(interval)

    assert [(piece.seconds, month) for piece, month in slices] == [
        (Decimal(7200), Decimal(31 * 86_400)),
        (Decimal(10_800), Decimal(28 * 86_400)),
    ]


def test_february_of_a_leap_year_and_december_have_their_own_lengths() -> None:
    assert month_seconds(2024, 2) == Decimal(29 * 86_400)
    assert month_seconds(2025, 12) == Decimal(31 * 86_400)
    pieces = month_slices(
        Interval(datetime(2025, 12, 31, 23, tzinfo=UTC), datetime(2026, 1, 1, 1, tzinfo=UTC))
    )
    assert [piece.start.month for piece, _ in pieces] == [12, 1]


@given(st.integers(0, 400 * 24), st.integers(0, 80 * 24))
def test_month_slices_add_up_to_the_interval(start_hours: int, length_hours: int) -> None:
    interval = Interval(T0 + timedelta(hours=start_hours), T0 + timedelta(hours=start_hours + length_hours))

    slices = month_slices(interval)

    assert sum((piece.seconds for piece, _ in slices), Decimal(0)) == interval.seconds
    assert all(piece.start.month == (piece.end - timedelta(microseconds=1)).month for piece, _ in slices)


def history(*entries: tuple[str, float, int]) -> list[dict[str, object]]:
    return [
        {"status": status, "at": at(minute).isoformat(), "attempt": attempt}
        for status, minute, attempt in entries
    ]


def test_each_phase_of_a_launch_that_waited_for_a_restore_is_timed() -> None:
    # Given a launch that waited 4 hours for a restore, was ready 1 minute, queued 2, ran 60
    entries = history(
        ("REGISTERED", 0, 1),
        ("WAITING", 0.5, 1),
        ("READY", 240.5, 1),
        ("LAUNCHING", 241.5, 1),
        ("RUNNING", 243.5, 1),
        ("COMPLETE", 303.5, 1),
    )

    timings = phase_timings(entries, 1)

    assert (timings.registered, timings.waiting, timings.ready) == (Decimal(30), Decimal(14_400), Decimal(60))
    assert (timings.launching, timings.running, timings.wall) == (
        Decimal(120),
        Decimal(3600),
        Decimal(18_210),
    )
    assert (timings.terminal_status, timings.terminal_at) == ("COMPLETE", at(303.5).isoformat())
    assert timings.as_attribute_values() == {
        "registeredSeconds": "30.000",
        "waitingSeconds": "14400.000",
        "readySeconds": "60.000",
        "launchingSeconds": "120.000",
        "runningSeconds": "3600.000",
        "wallSeconds": "18210.000",
    }


def test_a_retried_launch_is_timed_on_its_own_attempt_only() -> None:
    entries = history(
        ("REGISTERED", 0, 1),
        ("LAUNCHING", 1, 1),
        ("RUNNING", 2, 1),
        ("FAILED", 12, 1),
        ("RETRY_REQUESTED", 30, 1),
        ("LAUNCHING", 31, 2),
        ("RUNNING", 33, 2),
        ("COMPLETE", 93, 2),
    )

    second = phase_timings(entries, 2)

    assert (second.launching, second.running, second.wall) == (Decimal(120), Decimal(3600), Decimal(3720))
    assert second.registered == Decimal(0)
    assert phase_timings(entries, 1).terminal_status == "FAILED"


def test_clocks_of_different_writers_never_give_a_negative_phase() -> None:
    # Given a tracker event stamped (event time) before the launcher's claim was written
    entries = history(("REGISTERED", 0, 1), ("LAUNCHING", 5, 1), ("RUNNING", 4, 1), ("COMPLETE", 64, 1))

    timings = phase_timings(entries, 1)

    assert (timings.launching, timings.running) == (Decimal(0), Decimal(3600))


def test_an_attempt_without_a_terminal_entry_has_no_wall_time() -> None:
    timings = phase_timings(history(("REGISTERED", 0, 1), ("LAUNCHING", 1, 1)), 1)

    assert (timings.registered, timings.wall, timings.terminal_status) == (Decimal(60), Decimal(0), "")
