"""Latency samples and their summaries (nearest-rank percentiles, in milliseconds)."""
from __future__ import annotations

import math
import statistics


def percentile(sorted_values: list, q: float):
    """Nearest-rank percentile of already sorted values; None when there are none."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summarize_us(samples_us: list[int]) -> dict:
    """Count, p50, p90, p99, p99.9 and max of latencies given in microseconds, reported in ms."""
    values = sorted(samples_us)
    out = {"count": len(values)}
    for name, q in (("p50", 50), ("p90", 90), ("p99", 99), ("p999", 99.9), ("max", 100)):
        v = percentile(values, q)
        out[f"{name}_ms"] = None if v is None else round(v / 1000, 3)
    return out


def median_of(values: list):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None
