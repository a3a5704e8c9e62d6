"""Exponential backoff with equal jitter, applied as SQS message visibility (never a sleep)."""

from __future__ import annotations

import random
from collections.abc import Callable

MIN_VISIBILITY_S = 1
MAX_VISIBILITY_S = 43_200  # SQS maximum: 12 hours


def visibility_timeout(
    attempt: int,
    base_seconds: int,
    max_seconds: int,
    uniform: Callable[[float, float], float] = random.uniform,
) -> int:
    """Seconds to hide a message after its ``attempt``-th failed delivery.

    ``delay = min(max, base * 2 ** (attempt - 1))``, then a value drawn in ``[delay/2, delay]``,
    clamped to what SQS accepts.
    """
    exponent = max(attempt - 1, 0)
    delay = min(max_seconds, base_seconds * 2**exponent)
    jittered = delay / 2 + uniform(0, delay / 2)
    return int(min(MAX_VISIBILITY_S, max(MIN_VISIBILITY_S, round(jittered))))
