"""Money as ``Decimal``: parsed from strings, never from floats, rounded half-up to 4 places for output."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT_FRACTION = Decimal("0.0001")
ZERO = Decimal(0)
SECONDS_PER_HOUR = Decimal(3600)


def amount(text: str) -> Decimal:
    """A price or amount from its decimal string (Price List ``pricePerUnit``, EC2 ``SpotPrice``)."""
    if not isinstance(text, str):
        raise TypeError(f"amounts are parsed from strings, not {type(text).__name__}")
    try:
        value = Decimal(text.strip())
    except InvalidOperation as exc:
        raise ValueError(f"{text!r} is not a decimal amount") from exc
    if not value.is_finite() or value < 0:
        raise ValueError(f"{text!r} is not a non-negative finite amount")
    return value


def rounded(value: Decimal) -> Decimal:
    """Half-up to 4 decimal places (0.00005 -> 0.0001)."""
    return value.quantize(CENT_FRACTION, rounding=ROUND_HALF_UP)


def usd(value: Decimal) -> str:
    """The output string of an amount: rounded half-up, always 4 decimal places (``"0.0700"``)."""
    return format(rounded(value), "f")


def hours(seconds: Decimal) -> Decimal:
    return seconds / SECONDS_PER_HOUR
