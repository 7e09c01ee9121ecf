"""Timing helper shared by the benchmarks (run them as scripts: `python benchmarks/<name>.py`)."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_of(repeat: int, fn: Callable[[], object]) -> tuple[float, object]:
    """Best wall time of ``repeat`` calls (these machines are noisy) and the last result."""
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out
