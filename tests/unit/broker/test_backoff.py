"""Backoff as SQS visibility: exponential, capped, equal jitter, clamped to what SQS accepts."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blueprints.broker.backoff import MAX_VISIBILITY_S, MIN_VISIBILITY_S, visibility_timeout
from blueprints.broker.dispatcher import client_token


def upper(low: float, high: float) -> float:
    return high


def lower(low: float, high: float) -> float:
    return low


def test_delay_doubles_per_attempt_up_to_the_cap() -> None:
    delays = [visibility_timeout(attempt, 15, 900, upper) for attempt in range(1, 9)]
    assert delays == [15, 30, 60, 120, 240, 480, 900, 900]


def test_the_capacity_base_gives_larger_delays() -> None:
    api = [visibility_timeout(attempt, 15, 900, upper) for attempt in range(1, 5)]
    capacity = [visibility_timeout(attempt, 60, 900, upper) for attempt in range(1, 5)]
    assert capacity == [60, 120, 240, 480]
    assert all(c > a for a, c in zip(api, capacity, strict=True))


def test_equal_jitter_keeps_at_least_half_the_delay() -> None:
    assert [visibility_timeout(attempt, 15, 900, lower) for attempt in range(1, 5)] == [8, 15, 30, 60]


def test_the_jitter_draw_is_between_zero_and_half_the_delay() -> None:
    draws: list[tuple[float, float]] = []

    def spy(low: float, high: float) -> float:
        draws.append((low, high))
        return high / 2

    assert visibility_timeout(3, 15, 900, spy) == 45
    assert draws == [(0, 30.0)]


def test_floor_is_one_second() -> None:
    assert visibility_timeout(1, 1, 900, lower) == MIN_VISIBILITY_S == 1


def test_ceiling_is_twelve_hours() -> None:
    assert visibility_timeout(30, 900, 100_000, upper) == MAX_VISIBILITY_S == 43_200


@pytest.mark.parametrize("attempt", [0, -3])
def test_attempts_below_one_count_as_the_first(attempt: int) -> None:
    assert visibility_timeout(attempt, 15, 900, upper) == visibility_timeout(1, 15, 900, upper) == 15


def test_a_huge_attempt_does_not_overflow() -> None:
    assert visibility_timeout(10_000, 15, 900, upper) == 900


@settings(max_examples=300, deadline=None)
@given(
    attempt=st.integers(1, 60),
    base=st.integers(1, 900),
    cap=st.integers(1, 43_200),
    fraction=st.floats(0, 1),
)
def test_visibility_stays_within_the_jitter_band_and_sqs_limits(
    attempt: int, base: int, cap: int, fraction: float
) -> None:
    def draw(low: float, high: float) -> float:
        return low + (high - low) * fraction

    delay = min(cap, base * 2 ** (attempt - 1))
    seconds = visibility_timeout(attempt, base, cap, draw)

    assert MIN_VISIBILITY_S <= seconds <= MAX_VISIBILITY_S
    assert (
        max(MIN_VISIBILITY_S, round(delay / 2) - 1)
        <= seconds
        <= max(MIN_VISIBILITY_S, min(delay, MAX_VISIBILITY_S))
    )
    assert isinstance(seconds, int)


@settings(max_examples=100, deadline=None)
@given(attempt=st.integers(1, 20))
def test_the_real_random_draw_stays_in_the_band(attempt: int) -> None:
    delay = min(900, 15 * 2 ** (attempt - 1))
    assert round(delay / 2) <= visibility_timeout(attempt, 15, 900) <= delay


# --- clientToken -------------------------------------------------------------------------------


def test_client_token_is_stable_for_a_request_and_run() -> None:
    assert client_token("cp-2024-11-25-plate7-site3", 0) == client_token("cp-2024-11-25-plate7-site3", 0)


def test_client_token_is_the_documented_sha256() -> None:
    expected = hashlib.sha256(b"cp-2024-11-25-plate7-site3:0").hexdigest()[:64]
    assert client_token("cp-2024-11-25-plate7-site3", 0) == expected


def test_a_rerun_gets_a_new_token() -> None:
    tokens = {client_token("cp-1", rerun) for rerun in range(5)}
    assert len(tokens) == 5


@settings(max_examples=200, deadline=None)
@given(
    request_id=st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
    other=st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
    rerun=st.integers(0, 1000),
)
def test_client_token_fits_ecs_and_separates_requests(request_id: str, other: str, rerun: int) -> None:
    token = client_token(request_id, rerun)

    assert len(token) <= 64
    assert all(character in "0123456789abcdef" for character in token)
    assert token != client_token(request_id, rerun + 1)
    if other != request_id:
        assert token != client_token(other, rerun)
