"""Percentiles with linear interpolation between order statistics (SQL ``PERCENTILE_CONT``).

For sorted samples x[0..n-1] and a fraction p, the rank is h = (n - 1)·p and the value
x[⌊h⌋] + (h - ⌊h⌋)·(x[⌊h⌋+1] - x[⌊h⌋]). So the median of {1 h, 3 h} is 2 h (a lower median would say
1 h) and the p90 of {1 h, 3 h, 5 h} is 4.6 h. The method is pinned by tests (spec §4).
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def percentile(samples: Iterable[float], fraction: float) -> float | None:
    """The ``fraction`` (0..1) percentile of ``samples``; ``None`` when there are none."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"percentile fraction out of [0, 1]: {fraction}")
    ordered = sorted(samples)
    if not ordered:
        return None
    rank = (len(ordered) - 1) * fraction
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (rank - low) * (ordered[high] - ordered[low])


def median(samples: Iterable[float]) -> float | None:
    return percentile(samples, 0.5)


def p90(samples: Iterable[float]) -> float | None:
    return percentile(samples, 0.9)
