"""Latency percentiles: linear interpolation between order statistics (numpy's default).

p = 50 of [1, 2, 3, 4] is 2.5; p = 95 is 3 + 0.85 * (4 - 3) = 3.85. Written out rather than
calling numpy so the definition is visible where the report's p50/p95 come from.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def percentile(values: Iterable[float], p: float) -> float | None:
    """The p-th percentile (0..100) of the values, or None for no values."""
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within 0..100, got {p}")
    ordered = sorted(values)
    if not ordered:
        return None
    rank = p / 100 * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Iterable[float]) -> float | None:
    return percentile(values, 50)
