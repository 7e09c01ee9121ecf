"""Scaling of lab values at diagnosis + staging: from 1M to 10M patients (20 lab rows each).

Run: ``.venv/bin/python benchmarks/scaling.py`` (``--sizes 1000000,10000000``; ``--engine duckdb``;
``--dir`` for where the Parquet files go, default a temporary folder removed afterwards).

Each size is written as two Parquet files (lab rows and patients), generated in chunks of 1M
patients with the generator of ``benchmarks/at_diagnosis.py`` and written row group by row group,
so generating 200M lab rows never holds more than one chunk in memory. Each size is then timed from
its files with ``load_cohort(kind="long", provenance="none")`` (best of ``--repeat``): what a
registry run does, reading included. Printed: seconds, lab rows per second, peak RSS of the process,
and for each size the time ratio against the smallest size next to the size ratio. Target (issue
#3): time grows no worse than linearly, i.e. time ratio <= size ratio (within noise).
"""

from __future__ import annotations

import argparse
import gc
import resource
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
from at_diagnosis import synthetic  # type: ignore[import-not-found]

from b2m.io.cohort import load_cohort

CHUNK = 1_000_000


def write_cohort(folder: Path, n: int) -> tuple[Path, Path, int]:
    """Lab rows and patients of ``n`` patients as Parquet, one chunk of patients at a time."""
    labs_path, pts_path = folder / f"labs_{n}.parquet", folder / f"patients_{n}.parquet"
    labs_w = pts_w = None
    rows = 0
    for i, first in enumerate(range(0, n, CHUNK)):
        patients, labs = synthetic(min(CHUNK, n - first), seed=42 + i, first_id=first)
        pa_labs, pa_pts = labs.to_arrow(), patients.to_arrow()
        labs_w = labs_w or pq.ParquetWriter(labs_path, pa_labs.schema)
        pts_w = pts_w or pq.ParquetWriter(pts_path, pa_pts.schema)
        labs_w.write_table(pa_labs, row_group_size=CHUNK)
        pts_w.write_table(pa_pts)
        rows += labs.height
        del patients, labs, pa_labs, pa_pts
    assert labs_w is not None and pts_w is not None
    labs_w.close()
    pts_w.close()
    return labs_path, pts_path, rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000000,10000000", help="patients, comma-separated, smallest first")
    ap.add_argument("--engine", default="polars", choices=["polars", "duckdb"])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    folder = args.dir or Path(tempfile.mkdtemp(prefix="b2m-scaling-"))
    folder.mkdir(parents=True, exist_ok=True)

    results: list[tuple[int, int, float]] = []
    try:
        for n in sizes:
            t = time.perf_counter()
            labs, pts, rows = write_cohort(folder, n)
            print(f"wrote {n:,} patients, {rows:,} lab rows in {time.perf_counter() - t:.0f} s", flush=True)
            best = float("inf")
            for _ in range(args.repeat):
                t = time.perf_counter()
                out = load_cohort(labs, kind="long", patients=pts, provenance="none", engine=args.engine)  # type: ignore[arg-type]
                best = min(best, time.perf_counter() - t)
                assert out.table.height == n
                del out
                gc.collect()
            results.append((n, rows, best))
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB (Linux)
            print(
                f"{n:>12,} patients  {rows:>13,} lab rows  {best:8.2f} s  {rows / best / 1e6:6.2f} M lab rows/s  "
                f"peak RSS so far {rss:.1f} GiB",
                flush=True,
            )
            labs.unlink()
            pts.unlink()
    finally:
        if args.dir is None:
            shutil.rmtree(folder, ignore_errors=True)

    n0, _, t0 = results[0]
    for n, _, t in results[1:]:
        print(f"size x{n / n0:5.1f}  ->  time x{t / t0:5.2f}  (linear or better: time ratio <= size ratio)")


if __name__ == "__main__":
    main()
