"""Money: parsed from strings only, rounded half-up to 4 places for output."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blueprints.benchmarking.money import amount, hours, rounded, usd


def test_amounts_are_parsed_from_their_strings_exactly() -> None:
    assert amount("0.0960000000") == Decimal("0.096")
    assert amount(" 40.96 ") == Decimal("40.96")


@pytest.mark.parametrize("bad", ["", "abc", "-0.01", "NaN", "Infinity"])
def test_anything_but_a_non_negative_decimal_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="amount"):
        amount(bad)


def test_a_float_is_refused_before_it_can_lose_precision() -> None:
    with pytest.raises(TypeError, match="float"):
        amount(0.1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("0.00005", "0.0001"),  # half goes up
        ("0.000049999", "0.0000"),
        ("1.23445", "1.2345"),  # half-up, where banker's rounding would give 1.2344
        ("1.23455", "1.2346"),
        ("12", "12.0000"),
        ("0", "0.0000"),
    ],
)
def test_output_strings_round_half_up_to_four_places(value: str, text: str) -> None:
    assert usd(Decimal(value)) == text


def test_hours_are_seconds_over_3600() -> None:
    assert hours(Decimal(5400)) == Decimal("1.5")


@given(st.decimals(min_value=0, max_value=10**9, allow_nan=False, allow_infinity=False, places=12))
def test_a_rounded_amount_is_within_half_a_unit_and_always_shows_four_places(value: Decimal) -> None:
    text = usd(value)

    assert text.split(".")[1].__len__() == 4
    assert abs(Decimal(text) - value) <= Decimal("0.00005")
    assert rounded(value) == Decimal(text)
