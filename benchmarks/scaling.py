"""Scaling of lab values at diagnosis + staging: from 1M to 10M patients (20 lab rows each).

Run: ``.venv/bin/python benchmarks/scaling.py`` (``--sizes 1000000,10000000``; ``--engine duckdb``
to spill to disk when the lab rows do not fit in memory).

Each size is generated with the same generator as ``benchmarks/at_diagnosis.py`` and timed with
``load_cohort(kind="long", provenance="none")`` (best of ``--repeat``). Printed: seconds, lab rows per
second, and for each size the time ratio against the smallest size next to the size ratio. Target
(issue #3): time grows no worse than linearly, i.e. time ratio <= size ratio (within noise).
"""

from __future__ import annotations

import argparse
import gc
import time

from at_diagnosis import synthetic  # type: ignore[import-not-found]

from b2m.cohort import load_cohort


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000000,10000000", help="patients, comma-separated, smallest first")
    ap.add_argument("--engine", default="polars", choices=["polars", "duckdb"])
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    results: list[tuple[int, int, float]] = []
    for n in sizes:
        patients, labs = synthetic(n)
        rows = labs.height
        best = float("inf")
        for _ in range(args.repeat):
            t = time.perf_counter()
            out = load_cohort(labs, kind="long", patients=patients, provenance="none", engine=args.engine)  # type: ignore[arg-type]
            best = min(best, time.perf_counter() - t)
            assert out.table.height == n
            del out
        results.append((n, rows, best))
        print(
            f"{n:>12,} patients  {rows:>13,} lab rows  {best:8.2f} s  {rows / best / 1e6:6.2f} M lab rows/s", flush=True
        )
        del patients, labs
        gc.collect()

    n0, _, t0 = results[0]
    for n, _, t in results[1:]:
        print(f"size x{n / n0:5.1f}  ->  time x{t / t0:5.2f}  (linear or better: time ratio <= size ratio)")


if __name__ == "__main__":
    main()
