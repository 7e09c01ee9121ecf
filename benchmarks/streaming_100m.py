"""Staging a 100M-row Parquet file, streamed with bounded memory: peak RSS under 4 GiB.

Run: ``.venv/bin/python benchmarks/streaming_100m.py`` (``--rows`` to scale down, ``--dir`` for the
scratch folder; the input is reused when it already has the requested row count).

Setup: the input (the batch contract's eight columns) is generated and written row group by row
group with ``pyarrow.parquet.ParquetWriter``, so generation itself never holds more than one group.

Measured, each in its own child process (peak RSS from ``resource.getrusage(RUSAGE_CHILDREN)``
after the child exits, so the parent's memory is not counted):

- ``b2m stage IN.parquet -o OUT.parquet``: the CLI path (1M-row chunks: validation, the staging
  expressions, write);
- the same narwhals expressions on ``polars.scan_parquet`` -> ``sink_parquet`` (Polars' streaming
  engine).

Target (issue #3): peak RSS < 4 GiB for 100M rows.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

GIB = 1 << 30
GROUP = 1_000_000

SINK = """
import sys, narwhals as nw, polars as pl
from b2m.rules.inputs import StagingInputs
from b2m.rules.staging import staged
lf = nw.from_native(pl.scan_parquet(sys.argv[1]))
out = staged(lf, StagingInputs.exact()).to_native()
out.sink_parquet(sys.argv[2])
"""


def write_input(path: Path, rows: int, seed: int = 42) -> None:
    if path.exists() and pq.ParquetFile(path).metadata.num_rows == rows:
        return
    rng = np.random.default_rng(seed)
    writer: pq.ParquetWriter | None = None
    done = 0
    while done < rows:
        n = min(GROUP, rows - done)

        def nulls(a: np.ndarray, rate: float, n: int = n) -> pa.Array:
            return pa.array(a, mask=rng.random(n) < rate)

        table = pa.table(
            {
                "b2m_mg_l": nulls(np.round(rng.lognormal(1.2, 0.6, n), 1).clip(0.05, 250), 0.02),
                "albumin_g_dl": nulls(np.round(rng.normal(3.6, 0.5, n), 1).clip(1.0, 7.0), 0.02),
                "ldh_u_l": nulls(np.round(rng.normal(200, 60, n)).clip(10, None), 0.02),
                "ldh_uln_u_l": pa.array(rng.choice([214.0, 225.0, 248.0], n)),
                "del17p": nulls(rng.random(n) < 0.10, 0.05),
                "t4_14": nulls(rng.random(n) < 0.12, 0.05),
                "t14_16": nulls(rng.random(n) < 0.03, 0.05),
                "gain1q": nulls(rng.random(n) < 0.35, 0.05),
            }
        )
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=GROUP)
        done += n
    assert writer is not None
    writer.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000_000)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "b2m-bench")
    ap.add_argument("--path", choices=["cli", "sink", "both"], default="both")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    src = args.dir / f"batch_{args.rows}.parquet"

    t = time.perf_counter()
    write_input(src, args.rows)
    print(
        f"input: {args.rows:,} rows, {src.stat().st_size / GIB:.2f} GiB on disk ({time.perf_counter() - t:.0f} s setup)"
    )
    paths = ["cli", "sink"] if args.path == "both" else [args.path]
    for name in paths:
        dst = args.dir / f"staged_{name}.parquet"
        if name == "cli":
            cmd = [sys.executable, "-m", "b2m", "stage", str(src), "-o", str(dst)]
        else:
            cmd = [sys.executable, "-c", SINK, str(src), str(dst)]
        # A fresh interpreter per path, so each peak RSS belongs to that path alone.
        probe = [sys.executable, "-c", _MEASURE, *cmd]
        out = subprocess.run(probe, check=True, capture_output=True, text=True).stdout.split()
        wall, peak = float(out[0]), float(out[1])
        rows = pq.ParquetFile(dst).metadata.num_rows
        assert rows == args.rows, (rows, args.rows)
        print(
            f"{name:5s} {wall:8.1f} s  {args.rows / wall / 1e6:6.2f} M rows/s  peak RSS {peak:5.2f} GiB  "
            f"(target < 4 GiB: {'met' if peak < 4 else 'NOT met'})"
        )
        dst.unlink()


_MEASURE = """
import resource, subprocess, sys, time
t = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
wall = time.perf_counter() - t
print(wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / (1 << 30))
"""


if __name__ == "__main__":
    main()
