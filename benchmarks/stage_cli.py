"""`b2m stage` (the real command, in a subprocess) against a bare Polars read-compare-write of the same file.

Run: ``.venv/bin/python benchmarks/stage_cli.py`` (``--rows`` for the timed files, default 5M;
``--large-rows`` for the memory run, default 20M CSV, 0 to skip; ``--dir`` for the scratch folder,
where inputs are reused when they have the requested row count).

In the same run, each in a fresh interpreter (so start-up imports count for both, and each peak RSS,
read from ``getrusage(RUSAGE_CHILDREN)`` after the child exits, belongs to that child alone):

- ``b2m stage IN -o OUT`` for IN, OUT both Parquet and both CSV;
- the floor: ``polars.scan_*`` of the same file, the same kind of comparisons on the contract
  columns (seven boolean columns: what staging computes is of that kind) and a ``sink_*`` of the same
  format, with nothing else (no validation, no censored values, no atomic publish).

Prints best-of-``--repeat`` wall times, the ratio (target: <= 3x) and each peak RSS; then the peak
RSS of ``b2m stage`` on the large CSV (target: < 1 GiB, the output streamed).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

GIB = 1 << 30
GROUP = 1_000_000

FLOOR = """
import sys, polars as pl
src, dst = sys.argv[1], sys.argv[2]
csv = src.endswith(".csv")
lf = pl.scan_csv(src, infer_schema=False) if csv else pl.scan_parquet(src)
num = {c: (pl.col(c).cast(pl.Float64, strict=False) if csv else pl.col(c))
       for c in ("b2m_mg_l", "albumin_g_dl", "ldh_u_l", "ldh_uln_u_l")}
flag = {c: (pl.col(c) == "true") if csv else pl.col(c) for c in ("del17p", "t4_14", "t14_16", "gain1q")}
lf = lf.with_columns(
    (num["b2m_mg_l"] >= 5.5).alias("c1"),
    (num["b2m_mg_l"] < 3.5).alias("c2"),
    (num["albumin_g_dl"] >= 3.5).alias("c3"),
    (num["ldh_u_l"] > num["ldh_uln_u_l"]).alias("c4"),
    (flag["del17p"] | flag["t4_14"]).alias("c5"),
    flag["t14_16"].alias("c6"),
    flag["gain1q"].alias("c7"),
)
lf.sink_csv(dst) if dst.endswith(".csv") else lf.sink_parquet(dst)
"""

MEASURE = """
import resource, subprocess, sys, time
t = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
wall = time.perf_counter() - t
print(wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / (1 << 30))
"""


def write_input(path: Path, rows: int, seed: int = 7) -> None:
    """The batch contract's columns plus a patient id, written group by group (bounded memory)."""
    if path.exists() and path.with_suffix(".rows").exists() and path.with_suffix(".rows").read_text() == str(rows):
        return
    rng = np.random.default_rng(seed)
    writer: pq.ParquetWriter | pacsv.CSVWriter | None = None
    done = 0
    while done < rows:
        n = min(GROUP, rows - done)

        def nulls(a: np.ndarray, rate: float, n: int = n) -> pa.Array:
            return pa.array(a, mask=rng.random(n) < rate)

        table = pa.table(
            {
                "patient_id": pa.array(np.char.add("P", np.arange(done, done + n).astype(str))),
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
            csv = path.suffix == ".csv"
            writer = pacsv.CSVWriter(path, table.schema) if csv else pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
        done += n
    assert writer is not None
    writer.close()
    path.with_suffix(".rows").write_text(str(rows))


def measure(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (GiB) of ``cmd`` in a child of a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", MEASURE, *cmd], check=True, capture_output=True, text=True)
    wall, peak = out.stdout.split()
    return float(wall), float(peak)


def b2m(src: Path, dst: Path) -> list[str]:
    return [sys.executable, "-m", "b2m", "stage", str(src), "-o", str(dst), "--no-progress"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--large-rows", type=int, default=20_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "b2m-bench")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    for fmt in ("parquet", "csv"):
        src = args.dir / f"stage_{args.rows}.{fmt}"
        write_input(src, args.rows)
        dst = args.dir / f"staged.{fmt}"
        runs: dict[str, list[tuple[float, float]]] = {"floor": [], "b2m stage": []}
        for _ in range(args.repeat):  # interleaved, so a busy moment of the machine hits both
            runs["floor"].append(measure([sys.executable, "-c", FLOOR, str(src), str(dst)]))
            runs["b2m stage"].append(measure(b2m(src, dst)))
        best = {k: min(v) for k, v in runs.items()}
        peak = {k: max(p for _, p in v) for k, v in runs.items()}
        ratio = best["b2m stage"][0] / best["floor"][0]
        print(
            f"{fmt:7s} {args.rows:,} rows, {src.stat().st_size / (1 << 20):,.0f} MiB: "
            f"floor {best['floor'][0]:.2f} s (peak {peak['floor']:.2f} GiB), "
            f"b2m stage {best['b2m stage'][0]:.2f} s (peak {peak['b2m stage']:.2f} GiB): "
            f"{ratio:.2f}x (target <= 3x: {'met' if ratio <= 3 else 'NOT met'})"
        )
        dst.unlink(missing_ok=True)
    if args.large_rows:
        src = args.dir / f"stage_{args.large_rows}.csv"
        write_input(src, args.large_rows)
        dst = args.dir / "staged_large.csv"
        wall, peak = measure(b2m(src, dst))
        print(
            f"csv     {args.large_rows:,} rows, {src.stat().st_size / GIB:.2f} GiB: b2m stage {wall:.1f} s, "
            f"peak RSS {peak:.2f} GiB (target < 1 GiB: {'met' if peak < 1 else 'NOT met'})"
        )
        dst.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
