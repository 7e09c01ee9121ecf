"""Identical outputs on every engine: Polars (embedded default), DuckDB (embedded) and Spark (local).

The oracle is the engines themselves held against each other: the same files give the same table,
audit trail and unit report, value for value and dtype for dtype. The cohort is generated with a
fixed seed so that it contains every case the pick has to decide (ties across the index date,
same-day duplicates, the window edges, refused and unknown units, implausible values, censored
results ("<0.5", ">=20"), missing dates, patients without labs, labs without patients). One
SparkSession serves the whole test session; the Spark tests are few and small.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import narwhals as nw
import numpy as np
import polars as pl
import pytest

from b2m.engines import spark_session
from b2m.errors import InputError
from b2m.io.cohort import CohortData, load_cohort
from b2m.rules.inputs import StagingInputs
from b2m.rules.staging import staged

UNITS = {
    "b2m": ["mg/L", "µg/mL", "µg/L", "nmol/L", "mg/dL", "foo", None],
    "1952-1": ["mg/L"],
    "albumin": ["g/dL", "g/L"],
    "ldh": ["U/L", "µkat/L", "IU/L"],
    "creatinine": ["mg/dL", "µmol/L"],
    "crp": ["mg/L"],
    "del17p": [None, None, "%"],  # FISH results as lab events: 1 / 0, or no result (0.5, censored, a unit)
    "t4_14": [None],
}
SCALE = {"µg/L": 1000.0, "nmol/L": 84.7, "g/L": 10.0, "µkat/L": 1 / 60, "µmol/L": 88.4}
TYPICAL = {"b2m": 4.0, "1952-1": 4.0, "albumin": 3.6, "ldh": 220.0, "creatinine": 1.1, "crp": 5.0}


def generated(n: int = 150, seed: int = 7) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    index = [dt.date(2019, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 700, n)]
    pts = pl.DataFrame(
        {
            "patient_id": [f"P{i:04d}" for i in range(n)],
            "index_date": [None if i % 37 == 0 else d for i, d in enumerate(index)],
            "age": rng.integers(40, 90, n).astype(float),
            "sex": rng.choice(["F", "M", "female", "x"], n),
            "os_months": np.round(rng.exponential(40, n), 2),
            "os_event": rng.integers(0, 2, n),
            "del17p": rng.choice(["yes", "no", ""], n),
            "t4_14": rng.choice(["1", "0", ""], n),
            "t14_16": rng.choice(["true", "false", ""], n),
            "gain1q": rng.choice(["yes", "no", ""], n),
        }
    )
    rows = []
    for i in range(n + 5):  # five patients with labs but no patient row
        base = index[i % n]
        for _ in range(int(rng.integers(0, 12))):
            analyte = str(rng.choice(list(UNITS)))
            unit = UNITS[analyte][int(rng.integers(0, len(UNITS[analyte])))]
            if analyte in TYPICAL:
                value = round(float(rng.lognormal(np.log(TYPICAL[analyte]), 0.4)) * SCALE.get(unit or "", 1.0), 2)
                if rng.random() < 0.03:
                    value *= 1000  # implausible
            else:
                value = float(rng.choice([0.0, 1.0, 1.0, 0.5]))
            d = int(rng.choice([-61, -60, -10, -3, 0, 3, 10, 30, 31, int(rng.integers(-90, 60))]))
            date = None if rng.random() < 0.02 else base + dt.timedelta(days=d)
            upper = 250.0 * SCALE.get(unit or "", 1.0) if analyte == "ldh" and rng.random() < 0.7 else None
            text = f"{value}"
            if rng.random() < 0.06:  # a censored result, as lab feeds write them
                text = str(rng.choice(["<", "<=", ">", ">=", "≤ ", "> "])) + text
            rows.append((f"P{i:04d}", analyte, text, unit, upper, date))
    labs = pl.DataFrame(
        rows, schema=["patient_id", "analyte", "value", "unit", "upper_limit", "date"], orient="row"
    ).with_row_index("source_id", offset=100)
    # same-day duplicates with a lower source id appended at the end of the file
    dup = labs.filter(pl.col("analyte") == "b2m").head(10)
    dup = dup.with_columns(pl.col("source_id") - 100, pl.lit("1.5").alias("value"))
    return pts, pl.concat([labs, dup.cast(labs.schema)])


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    yield spark_session("local[2]")  # getOrCreate: one session for the whole test run


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("engines")
    pts, labs = generated()
    out = {"pts.parquet": tmp / "pts.parquet", "labs.parquet": tmp / "labs.parquet"}
    pts.write_parquet(out["pts.parquet"])
    labs.write_parquet(out["labs.parquet"])
    out["pts.csv"], out["labs.csv"] = tmp / "pts.csv", tmp / "labs.csv"
    pts.write_csv(out["pts.csv"])
    labs.write_csv(out["labs.csv"])
    return out


def assert_same(a: CohortData, b: CohortData) -> None:
    assert a.table.schema == b.table.schema
    assert a.table.equals(b.table), a.table.join(b.table, on="patient_id").head()
    assert a.provenance.equals(b.provenance)
    assert a.unit_report.equals(b.unit_report)
    assert a.notes == b.notes


def test_generated_cohort_covers_the_cases(files: dict[str, Path]) -> None:
    """Guard for the equality tests below: the cohort really contains each decision."""
    r = load_cohort(files["labs.parquet"], kind="long", patients=files["pts.parquet"], ldh_uln_u_l=240.0)
    reasons = set(r.provenance["reason"])
    expected = {"used", "farther", "outside_window", "unit_refused", "implausible", "not_in_cohort", "no_index_date"}
    assert expected <= reasons
    assert {"same_day_duplicate", "date_missing"} & reasons
    assert r.table["iss"].n_unique() >= 3
    assert r.table["b2m_censored"].drop_nulls().len() > 0 and r.table["ldh_censored"].drop_nulls().len() > 0
    fish = r.provenance.filter(pl.col("analyte") == "del17p")
    assert {"used", "implausible", "unit_refused"} <= set(fish["reason"])
    assert set(fish.filter(pl.col("value") == 0.5)["reason"]) <= {"implausible", "unit_refused"}


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize("policy", ["nearest", "last_before", "first_after"])
def test_duckdb_equals_polars(files: dict[str, Path], fmt: str, policy: str) -> None:
    runs = [
        load_cohort(
            files[f"labs.{fmt}"],
            kind="long",
            patients=files[f"pts.{fmt}"],
            engine=engine,  # type: ignore[arg-type]
            policy=policy,  # type: ignore[arg-type]
            ldh_uln_u_l=240.0,
        )
        for engine in ("polars", "duckdb")
    ]
    assert_same(*runs)


def test_spark_equals_polars_and_duckdb(files: dict[str, Path], spark: Any) -> None:
    """Spark local mode, same Parquet files: identical to both embedded engines."""
    kw: dict[str, Any] = {"kind": "long", "patients": files["pts.parquet"], "ldh_uln_u_l": 240.0}
    on_spark = load_cohort(files["labs.parquet"], engine="spark", spark=spark, **kw)
    assert_same(load_cohort(files["labs.parquet"], engine="polars", **kw), on_spark)
    assert_same(load_cohort(files["labs.parquet"], engine="duckdb", **kw), on_spark)


def test_spark_runs_native_expressions_only(spark: Any) -> None:
    """The staging rules compile to Spark's own expressions: no Python UDF in the physical plan
    (BatchEvalPython / ArrowEvalPython / mapInArrow would be Python round trips)."""
    frame = pl.DataFrame(
        {
            "b2m_mg_l": np.linspace(1, 8, 20),
            "albumin_g_dl": np.linspace(2.5, 4.5, 20),
            "ldh_u_l": np.linspace(150, 350, 20),
            "ldh_uln_u_l": [250.0] * 20,
            "del17p": [None, True, False, False] * 5,
            "t4_14": [False] * 20,
            "t14_16": [False] * 20,
            "gain1q": [True, None] * 10,
        }
    )
    out = staged(nw.from_native(spark.createDataFrame(frame.to_arrow())), StagingInputs.exact()).to_native()
    plan = out._jdf.queryExecution().executedPlan().toString()
    assert "EvalPython" not in plan and "PythonUDF" not in plan and "MapInArrow" not in plan


@pytest.mark.parametrize("engine", ["duckdb", "polars"])
def test_wide_table_is_engine_neutral(engine: str, files: dict[str, Path], tmp_path: Path) -> None:
    """The wide path (batch contract) stages on the requested engine with the same result."""
    wide = load_cohort(files["labs.parquet"], kind="long", patients=files["pts.parquet"]).table
    src = tmp_path / "wide.parquet"
    wide.drop(
        "iss", "r_iss", "r2_iss", "r2_iss_score", "iss_possible", "r_iss_possible", "r2_iss_possible"
    ).write_parquet(src)
    a = load_cohort(src, kind="wide", engine=engine, ldh_uln_u_l=240.0)  # type: ignore[arg-type]
    b = load_cohort(src, kind="wide", engine="polars", ldh_uln_u_l=240.0)
    assert_same(a, b)


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
@pytest.mark.parametrize("policy", ["nearest", "last_before", "first_after"])
def test_table_only_path_equals_audited_path(files: dict[str, Path], engine: str, policy: str) -> None:
    """Without an audit trail the pick takes a cheaper route (filters instead of reason codes; one
    packed rank; implausible rows counted only in pairs whose extremes are out of bounds). It must
    give the same table and unit report as the audited route, and the unit report must agree with
    the reasons in the audit trail row for row."""
    kw: dict[str, Any] = {"kind": "long", "patients": files["pts.parquet"], "ldh_uln_u_l": 240.0, "policy": policy}
    audited = load_cohort(files["labs.parquet"], engine=engine, provenance="all", **kw)  # type: ignore[arg-type]
    for mode in ("none", "used"):
        fast = load_cohort(files["labs.parquet"], engine=engine, provenance=mode, **kw)  # type: ignore[arg-type]
        assert fast.table.equals(audited.table)
        assert fast.unit_report.equals(audited.unit_report)
    used = load_cohort(files["labs.parquet"], engine=engine, provenance="used", **kw)  # type: ignore[arg-type]
    assert used.provenance.equals(audited.provenance.filter(pl.col("used")))

    trail = audited.provenance.group_by("analyte", "unit").agg(
        pl.len().alias("rows"),
        (pl.col("reason") == "unit_refused").sum().alias("refused_unit"),
        (pl.col("reason") == "implausible").sum().alias("implausible"),
        (pl.col("reason") == "value_missing").sum().alias("value_missing"),
    )
    report = audited.unit_report.filter(pl.col("analyte").is_not_null())
    joined = report.join(trail, on=["analyte", "unit"], how="full", nulls_equal=True, suffix="_trail")
    for col in ("rows", "refused_unit", "implausible", "value_missing"):
        assert (joined[col].cast(pl.Int64) == joined[f"{col}_trail"].cast(pl.Int64)).all(), col
    assert report["implausible"].sum() > 0 and report["refused_unit"].sum() > 0  # the cases are there


def test_polars_lookup_by_join_equals_lookup_by_position(
    files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Polars attaches the unit lookup by position in the distinct texts; with too many distinct
    texts it falls back to the join every other engine uses. Both give the same cohort."""
    kw: dict[str, Any] = {"kind": "long", "patients": files["pts.parquet"], "ldh_uln_u_l": 240.0}
    by_position = load_cohort(files["labs.parquet"], **kw)
    monkeypatch.setattr("b2m.engines.polars_engine.DENSE_LIMIT", 0)
    assert_same(by_position, load_cohort(files["labs.parquet"], **kw))


DATES = [
    dt.date(1900, 2, 28),
    dt.date(1900, 3, 1),  # 1900 is not a leap year
    dt.date(1969, 12, 31),
    dt.date(1970, 1, 1),
    dt.date(2000, 2, 29),  # 2000 is
    dt.date(2000, 3, 1),
    dt.date(2023, 12, 31),
    dt.date(2024, 2, 29),
    dt.date(2100, 3, 1),
    *(dt.date(1995, 1, 1) + dt.timedelta(days=int(d)) for d in np.random.default_rng(3).integers(0, 20000, 200)),
]


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_day_number_is_days_since_1970(engine: str, spark: Any) -> None:
    """The portable day number (every engine but Polars, which stores dates as it) against Python's
    own calendar, across leap and non-leap century years."""
    from b2m.engines import make_engine

    eng = make_engine(engine, spark=spark if engine == "spark" else None)  # type: ignore[arg-type]
    frame = eng.lazy(pl.DataFrame({"d": DATES}))
    got = eng.collect(frame.select(nw.col("d"), eng.day_number(nw.col("d")).alias("n"))).sort("d")
    want = sorted((d, (d - dt.date(1970, 1, 1)).days) for d in DATES)
    assert list(zip(got["d"], got["n"], strict=True)) == want


def _sorted_trail(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort("patient_id", "analyte", "date", "source_id", "reason", nulls_last=True)


def _read_trail(path: Path) -> pl.DataFrame:
    source = path / "*.parquet" if path.is_dir() else path  # Spark writes a folder of parts
    return pl.read_parquet(source)


@pytest.mark.parametrize("engine", ["polars", "duckdb", "spark"])
def test_audit_trail_written_by_the_engine_equals_the_returned_one(
    files: dict[str, Path], engine: str, spark: Any, tmp_path: Path
) -> None:
    """``audit_trail=PATH``: the engine writes the audit trail itself (rows in no set order; Spark a
    folder). Sorted, it is the audit trail ``load_cohort`` returns, value for value and dtype for
    dtype, for every event and for the used ones; the table is the same either way."""
    kw: dict[str, Any] = {"kind": "long", "patients": files["pts.parquet"], "ldh_uln_u_l": 240.0}
    if engine == "spark":
        kw["spark"] = spark
    for mode in ("all", "used"):
        returned = load_cohort(files["labs.parquet"], engine=engine, provenance=mode, **kw)  # type: ignore[arg-type]
        path = tmp_path / f"{mode}.parquet"
        written = load_cohort(files["labs.parquet"], engine=engine, provenance=mode, audit_trail=path, **kw)  # type: ignore[arg-type]
        assert written.provenance.height == 0 and written.table.equals(returned.table)
        assert written.unit_report.equals(returned.unit_report)
        got = _read_trail(path)
        assert got.schema == returned.provenance.schema
        assert _sorted_trail(got).equals(_sorted_trail(returned.provenance)), mode
    with pytest.raises(InputError, match="audit_trail"):
        load_cohort(files["labs.parquet"], engine=engine, provenance="none", audit_trail=tmp_path / "x.parquet", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("engine", ["polars", "duckdb", "spark"])
def test_audit_trail_csv_has_no_spreadsheet_formula(engine: str, spark: Any, tmp_path: Path) -> None:
    """The audit trail is written by the engine: a source id or unit as received that a spreadsheet would
    run (``=``, ``+``, ``-``, ``@``, tab, CR; OWASP "CSV Injection") is written with a leading quote by
    every engine's CSV sink, and a negative number stays a number."""
    labs = pl.DataFrame(
        {
            "patient_id": ["A", "A", "B"],
            "analyte": ["b2m", "albumin", "b2m"],
            "value": ["6.1", "4.0", "2.0"],
            "unit": ["mg/L", "=1+1", "mg/L"],
            "date": [dt.date(2020, 3, 1)] * 3,
            "source_id": ["=HYPERLINK(1)", "@SUM(1)", "-5"],
        }
    )
    labs.write_parquet(tmp_path / "labs.parquet")
    patients = pl.DataFrame({"patient_id": ["A", "B"], "index_date": [dt.date(2020, 3, 1)] * 2})
    patients.write_parquet(tmp_path / "p.parquet")
    kw: dict[str, Any] = {"spark": spark} if engine == "spark" else {}
    trail = tmp_path / "audit.csv"
    load_cohort(tmp_path / "labs.parquet", kind="long", patients=tmp_path / "p.parquet", engine=engine,
                audit_trail=trail, **kw)  # fmt: skip
    files = sorted(trail.rglob("*.csv")) if trail.is_dir() else [trail]
    cells = [c for f in files for row in csv.reader(f.read_text(encoding="utf-8").splitlines()) for c in row]
    assert "'=HYPERLINK(1)" in cells and "'@SUM(1)" in cells and "'=1+1" in cells and "-5" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r") or (c[:1] == "-" and not c[1:].isdigit())]
