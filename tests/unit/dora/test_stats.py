"""Percentiles: linear interpolation between order statistics, pinned (spec §4 and test case 4)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blueprints.dora.stats import median, p90, percentile

HOUR = 3600.0
samples = st.lists(st.floats(min_value=0, max_value=1e9, allow_nan=False), min_size=1, max_size=50)


def test_the_median_of_an_even_count_interpolates_between_the_middle_samples() -> None:
    # Given {1 h, 3 h}: a lower median would say 1 h
    # Then PERCENTILE_CONT says 2 h
    assert median([HOUR, 3 * HOUR]) == 2 * HOUR


def test_p90_of_three_samples_interpolates() -> None:
    # Given {1 h, 3 h, 5 h} (test case 3)
    # Then p90 = 3 h + 0.8 x 2 h = 4.6 h and the median is 3 h
    assert p90([5 * HOUR, HOUR, 3 * HOUR]) == pytest.approx(4.6 * HOUR)
    assert median([5 * HOUR, HOUR, 3 * HOUR]) == 3 * HOUR


def test_the_median_is_not_the_mean() -> None:
    # Given 1 h, 2 h and 100 h (test case 4): the mean is 34.33 h
    # Then the median is 2 h
    assert median([HOUR, 2 * HOUR, 100 * HOUR]) == 2 * HOUR


def test_no_samples_give_no_percentile_and_a_bad_fraction_is_refused() -> None:
    assert median([]) is None
    assert percentile([1.0], 0.3) == 1.0
    with pytest.raises(ValueError, match="out of"):
        percentile([1.0], 1.5)


@given(samples, st.floats(min_value=0, max_value=1))
def test_a_percentile_lies_between_the_extremes_and_grows_with_the_fraction(
    values: list[float], fraction: float
) -> None:
    value = percentile(values, fraction)
    assert value is not None
    assert min(values) - 1e-6 <= value <= max(values) + 1e-6
    higher = percentile(values, min(1.0, fraction + 0.1))
    assert higher is not None
    assert higher >= value - 1e-6


@given(samples)
def test_the_ends_are_the_minimum_and_maximum_and_order_does_not_matter(values: list[float]) -> None:
    assert percentile(values, 0.0) == min(values)
    assert percentile(values, 1.0) == max(values)
    assert median(list(reversed(values))) == median(values)


@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=40))
def test_the_median_matches_the_textbook_definition(values: list[int]) -> None:
    ordered = sorted(values)
    middle = len(ordered) // 2
    expected = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    found = median([float(v) for v in values])
    assert found is not None
    assert math.isclose(found, expected)
