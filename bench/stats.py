"""Latency summaries: nearest-rank percentiles over recorded durations."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Latency:
    """Percentiles of a set of durations, in milliseconds (None when nothing was measured)."""

    count: int
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    mean_ms: float | None


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of an ascending, non-empty sequence."""
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summarize(seconds: Sequence[float]) -> Latency:
    """Summarize durations given in seconds."""
    if not seconds:
        return Latency(0, None, None, None, None)
    ordered = sorted(seconds)
    return Latency(
        count=len(ordered),
        p50_ms=round(percentile(ordered, 0.50) * 1000, 3),
        p99_ms=round(percentile(ordered, 0.99) * 1000, 3),
        max_ms=round(ordered[-1] * 1000, 3),
        mean_ms=round(sum(ordered) / len(ordered) * 1000, 3),
    )
