"""Lab values at diagnosis + staging on the embedded engine, against a hand-written DuckDB window pick.

Run: ``.venv/bin/python benchmarks/at_diagnosis.py`` (1M patients x 20 lab rows; ``--patients``).

- floor: one hand-written DuckDB query that does only the window pick (join with the patients, keep
  -60..+30 days, ``arg_min`` of the value by (nearness, source id) per patient and analyte), over
  native DuckDB tables: no units, no plausibility, no audit, no staging;
- ours: ``load_cohort(kind="long")`` on the embedded default (Polars): unit lookup per distinct unit,
  plausibility, the window pick with reasons, the unit report, the pivot and ISS / R-ISS / R2-ISS
  (``provenance="none"``; the run with the full 20M-row audit trail is printed too, returned and
  written to Parquet by the engine).

Target (issue #3): ours within 2x the floor. Best of ``--repeat`` runs each, in one process. The
picked B2M values are checked against the floor on every patient whose in-window B2M rows all came
in mg/L and plausible (where the two must agree exactly).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow.parquet as pq
from _timing import best_of

from b2m.io.cohort import load_cohort

ANALYTES = ("b2m", "albumin", "ldh", "creatinine")
CANONICAL = ("mg/L", "g/dL", "U/L", "mg/dL")
ALTERNATIVE = (("µg/L", 1000.0), ("g/L", 10.0), ("µkat/L", 1 / 60), ("µmol/L", 88.4))


def synthetic(
    n_patients: int, per_analyte: int = 5, seed: int = 42, first_id: int = 0
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Patients with an index date; per patient 4 analytes x ``per_analyte`` dates in -180..+120 days.

    About 10% of rows come in an alternative unit (converted), 0.1% in an unknown unit (refused) and
    0.01% are 1000 times too large (a unit slip: implausible, so the unit report counts them).
    Patient ids start at ``first_id`` (source ids at ``first_id`` x rows per patient), so chunks
    generated with different seeds and ids make one cohort.
    """
    rng = np.random.default_rng(seed)
    index_day = rng.integers(0, 4000, n_patients).astype(np.int32) + (dt.date(2010, 1, 1) - dt.date(1970, 1, 1)).days
    patients = pl.DataFrame(
        {
            "patient_id": np.arange(first_id, first_id + n_patients, dtype=np.int64),
            "index_date": pl.Series(index_day).cast(pl.Date),
            "del17p": rng.random(n_patients) < 0.1,
            "t4_14": rng.random(n_patients) < 0.12,
            "t14_16": rng.random(n_patients) < 0.03,
            "gain1q": rng.random(n_patients) < 0.35,
        }
    )
    k = len(ANALYTES) * per_analyte
    m = n_patients * k
    code = np.tile(np.repeat(np.arange(len(ANALYTES), dtype=np.int8), per_analyte), n_patients)
    mean = np.array([1.2, np.log(3.6), np.log(200.0), np.log(1.0)])[code]
    sd = np.array([0.6, 0.12, 0.3, 0.4])[code]
    value = np.round(np.exp(rng.normal(mean, sd)), 2)
    alt = rng.random(m) < 0.10
    unknown = rng.random(m) < 0.001
    scale = np.array([a[1] for a in ALTERNATIVE])[code]
    value = np.where(alt, np.round(value * scale, 2), value)
    value = np.where(rng.random(m) < 0.0001, value * 1000, value)
    unit_code = np.where(unknown, 8, np.where(alt, code + 4, code)).astype(np.int8)
    units = {i: u for i, u in enumerate((*CANONICAL, *(a[0] for a in ALTERNATIVE), "foo"))}
    labs = pl.DataFrame(
        {
            "patient_id": np.repeat(np.arange(first_id, first_id + n_patients, dtype=np.int64), k),
            "analyte": pl.Series(code).replace_strict(dict(enumerate(ANALYTES)), return_dtype=pl.String),
            "value": value,
            "unit": pl.Series(unit_code).replace_strict(units, return_dtype=pl.String),
            "date": pl.Series(np.repeat(index_day, k) + rng.integers(-180, 121, m).astype(np.int32)).cast(pl.Date),
            "source_id": np.arange(first_id * k, first_id * k + m, dtype=np.int64),
        }
    )
    return patients, labs


FLOOR_SQL = """
SELECT l.patient_id, l.analyte,
       arg_min(l.value, (abs(l.date - p.index_date) * 2 + CAST(l.date > p.index_date AS INTEGER),
                         l.source_id)) AS value
FROM labs l JOIN patients p USING (patient_id)
WHERE l.date - p.index_date BETWEEN -60 AND 30
GROUP BY l.patient_id, l.analyte
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    t0 = time.perf_counter()
    patients, labs = synthetic(args.patients)
    print(f"generated {args.patients:,} patients, {labs.height:,} lab rows in {time.perf_counter() - t0:.1f} s")
    con = duckdb.connect()
    con.register("labs_arrow", labs.to_arrow())
    con.register("patients_arrow", patients.to_arrow())
    con.execute("CREATE TABLE labs AS SELECT * FROM labs_arrow; CREATE TABLE patients AS SELECT * FROM patients_arrow")

    t_floor, floor = best_of(args.repeat, lambda: con.sql(FLOOR_SQL).pl())
    t_ours, ours = best_of(args.repeat, lambda: load_cohort(labs, kind="long", patients=patients, provenance="none"))
    t_audit, audit = best_of(1, lambda: load_cohort(labs, kind="long", patients=patients, provenance="all"))
    with tempfile.TemporaryDirectory() as tmp:
        trail = Path(tmp) / "audit.parquet"
        t_sink, _ = best_of(
            1, lambda: load_cohort(labs, kind="long", patients=patients, provenance="all", audit_trail=trail)
        )
        sink_rows = pq.ParquetFile(trail).metadata.num_rows
    t_duck, _ = best_of(
        1, lambda: load_cohort(labs, kind="long", patients=patients, provenance="none", engine="duckdb")
    )

    assert isinstance(floor, pl.DataFrame) and ours is not None and audit is not None
    table = ours.table  # type: ignore[attr-defined]
    # Check: patients whose in-window B2M rows are all mg/L must get the floor's value exactly.
    window = labs.join(patients.select("patient_id", "index_date"), on="patient_id").filter(
        (pl.col("analyte") == "b2m") & ((pl.col("date") - pl.col("index_date")).dt.total_days().is_between(-60, 30))
    )
    plausible = (pl.col("unit") == "mg/L") & pl.col("value").is_between(0.05, 250.0)
    clean = window.group_by("patient_id").agg(plausible.all().alias("ok")).filter("ok")
    want = floor.filter(pl.col("analyte") == "b2m").join(clean, on="patient_id").select("patient_id", "value")
    got = table.join(want, on="patient_id").filter(pl.col("b2m_mg_l") != pl.col("value"))
    assert got.height == 0, f"{got.height} patients differ from the floor"

    prov = audit.provenance  # type: ignore[attr-defined]
    print(f"checked {want.height:,} patients' B2M against the floor: identical")
    print(f"floor: DuckDB window pick only (arg_min)     {t_floor:7.2f} s")
    print(f"ours:  load_cohort, Polars, table + reports  {t_ours:7.2f} s  ({table.height:,} patients staged)")
    print(f"       + full audit trail ({prov.height:,} rows)  {t_audit:7.2f} s")
    print(f"       + the same written by the engine ({sink_rows:,} rows, Parquet)  {t_sink:7.2f} s")
    print(f"       same on the DuckDB engine            {t_duck:7.2f} s")
    print(f"ratio ours/floor = {t_ours / t_floor:.2f}  (target <= 2)")
    print(f"ratio ours with audit trail/floor = {t_audit / t_floor:.2f}")


if __name__ == "__main__":
    main()
