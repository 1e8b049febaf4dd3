"""Timing helpers: medians and 95th percentiles over repeats, and interleaved comparisons."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def repeat(work: Callable[[], object], repeats: int, warmup: int = 2) -> dict[str, float]:
    """Milliseconds of `work` over `repeats` runs after `warmup` unmeasured ones: p50 and p95."""
    for _ in range(warmup):
        work()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return summary(times)


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 3),
        "runs": len(ordered),
    }


def interleaved(
    variants: dict[str, Callable[[], object]], repeats: int
) -> dict[str, dict[str, float]]:
    """Time several variants turn by turn (A, B, A, B, ...) so machine noise hits them alike."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    for work in variants.values():
        work()
    for _ in range(repeats):
        for name, work in variants.items():
            start = time.perf_counter()
            work()
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: summary(values) for name, values in times.items()}
