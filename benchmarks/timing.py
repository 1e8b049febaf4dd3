"""Timing helpers: medians and 95th percentiles over repeats, interleaved comparisons, and the
floor a computation cannot beat on this machine (its FLOPs over the measured matmul rate)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode


def timed(work: Callable[[], object]) -> tuple[float, float]:
    """Milliseconds of one run of `work`: wall clock, and this process' CPU time summed over its
    threads (with one thread, a busy machine leaves it near what an idle one would take)."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def repeat(work: Callable[[], object], repeats: int, warmup: int = 2) -> dict[str, float]:
    """`work` over `repeats` runs after `warmup` unmeasured ones (see summary)."""
    for _ in range(warmup):
        work()
    return summary([timed(work) for _ in range(repeats)])


def summary(runs: list[tuple[float, float]]) -> dict[str, float]:
    """Median, 95th percentile and fastest of (wall, CPU) millisecond timings; median CPU."""
    ordered = sorted(wall for wall, _ in runs)
    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 3),
        "min_ms": round(ordered[0], 3),
        "cpu_p50_ms": round(statistics.median(cpu for _, cpu in runs), 3),
        "runs": len(ordered),
    }


def interleaved(
    variants: dict[str, Callable[[], object]], repeats: int
) -> dict[str, dict[str, float]]:
    """Time several variants turn by turn (A, B, A, B, ...) so machine noise hits them alike."""
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for work in variants.values():
        work()
    for _ in range(repeats):
        for name, work in variants.items():
            runs[name].append(timed(work))
    return {name: summary(values) for name, values in runs.items()}


def flop_count(work: Callable[[], object]) -> int:
    """Floating-point operations torch counts while `work` runs (matrix products and attention,
    forward and backward)."""
    with FlopCounterMode(display=False) as counter:
        work()
    return int(counter.get_total_flops())


def matmul_rate(rows: int, width: int, repeats: int, device: torch.device | str = "cpu") -> float:
    """This machine's float32 matrix-multiply rate, FLOP/s, from the fastest of `repeats`
    products (rows, width) @ (width, width), the shape of a transformer's linear layers: on a
    shared machine the fastest run comes nearest to what the hardware can do."""
    a = torch.randn(rows, width, device=device)
    b = torch.randn(width, width, device=device)

    def product() -> None:
        a @ b
        if a.is_cuda:
            torch.cuda.synchronize()

    return 2 * rows * width * width / (repeat(product, repeats)["min_ms"] / 1000)
