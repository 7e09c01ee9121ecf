"""Wide cohort tables: one row per patient in the batch contract's columns (plus id, age, sex, outcomes).

Values are validated by the batch contract (:func:`b2m.io.batch.prepare`): a value that is not a number
or is implausible becomes unknown and is reported in the audit trail and the unit report, never used.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import narwhals as nw
import polars as pl

from b2m.cohort import at_diagnosis as ad
from b2m.cohort.assemble import (
    CohortData,
    ProvenanceMode,
    ldh_note,
    provenance_mode,
    staged_plan,
    typed_provenance,
    typed_table,
)
from b2m.engines import Engine, make_engine
from b2m.errors import FileFormatError
from b2m.io.batch import prepare
from b2m.io.columns import NULL_FORMS, as_date, as_flag, as_float, as_sex, dtype_of
from b2m.rules.inputs import FISH_COLUMNS, NUMERIC_COLUMNS
from b2m.rules.staging import OUTPUT_COLUMNS
from b2m.units.analytes import ANALYTES

_WIDE_LABS = {"b2m_mg_l": "b2m", "albumin_g_dl": "albumin", "ldh_u_l": "ldh", "creatinine_mg_dl": "creatinine"}


def _read_wide(source: object) -> pl.DataFrame:
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        if str(path).lower().endswith(".csv"):
            return pl.read_csv(path, infer_schema=False)
        if str(path).lower().endswith(".parquet"):
            return pl.read_parquet(path)
        raise FileFormatError(str(path), "unsupported file type", ".csv, .parquet")
    native = make_engine("polars").lazy(source)
    return native.collect(backend="polars").to_native()  # type: ignore[no-any-return]


def load_wide(
    source: object, engine: Engine, columns: Mapping[str, str] | None, ldh_uln_u_l: float | None, mode: ProvenanceMode
) -> CohortData:
    raw = _read_wide(source)
    if columns:
        raw = raw.rename({k: v for k, v in columns.items() if k in raw.columns})
    if "patient_id" not in raw.columns:
        raise FileFormatError("input", "missing column patient_id", "a patient_id column")
    notes: list[str] = []
    previous = [c for c in (*OUTPUT_COLUMNS, "b2m_issues") if c in raw.columns]
    if previous:  # the output of `b2m stage` is a valid input: its stages are recomputed, not trusted
        raw = raw.drop(previous)
        notes.append(f"existing column(s) {', '.join(previous)} ignored: stages recomputed from the inputs")
    absent = [c for c in (*NUMERIC_COLUMNS, *FISH_COLUMNS, "creatinine_mg_dl") if c not in raw.columns]
    if absent:
        notes.append(f"column(s) {', '.join(absent)} absent from the input: unknown for every patient")
    raw = raw.with_columns(pl.lit(None, pl.String).alias(c) for c in absent).with_row_index("_row", offset=1)
    text = {c: raw[c].cast(pl.String).str.strip_chars() for c in _WIDE_LABS}
    # The batch contract validates its eight columns; creatinine (not in it) gets its analyte's bounds.
    checked = prepare(raw.drop("creatinine_mg_dl"), on_invalid="null")
    creat = _checked_creatinine(raw["creatinine_mg_dl"])
    patients = checked.with_columns(creat.alias("creatinine_mg_dl"))
    has_efs = "efs_months" in raw.columns or "efs_event" in raw.columns
    schema = dict(patients.schema)
    frame = nw.from_native(patients.lazy())
    frame = frame.select(
        "patient_id",
        as_float("age", dtype_of(schema, "age")).alias("age"),
        as_sex("sex", dtype_of(schema, "sex")).alias("sex"),
        as_date("index_date", dtype_of(schema, "index_date")).alias("index_date"),
        *(nw.col(c) for c in (*NUMERIC_COLUMNS, "creatinine_mg_dl", *FISH_COLUMNS)),
        as_float("os_months", dtype_of(schema, "os_months")).alias("os_months"),
        as_flag("os_event", dtype_of(schema, "os_event")).alias("os_event"),
        as_float("efs_months", dtype_of(schema, "efs_months")).alias("efs_months"),
        as_flag("efs_event", dtype_of(schema, "efs_event")).alias("efs_event"),
    )
    native = frame.collect().to_native()
    table = typed_table(engine.collect(staged_plan(engine.lazy(native), ldh_uln_u_l)), has_efs)
    notes += ldh_note(table, ldh_uln_u_l)

    # Provenance and unit report: one "measurement" per patient and lab column.
    parts = []
    for col, key in _WIDE_LABS.items():
        received = text[col].replace(list(NULL_FORMS), None) if text[col].dtype == pl.String else text[col]
        number = received.cast(pl.Float64, strict=False)
        clean = patients[col]
        reason = (
            pl.when(pl.lit(clean).is_not_null())
            .then(pl.lit("used"))
            .when(pl.lit(number).is_null())
            .then(pl.lit("value_missing"))
            .otherwise(pl.lit("implausible"))
        )
        parts.append(
            pl.DataFrame({"patient_id": raw["patient_id"], "source_id": raw["_row"]}).with_columns(
                pl.lit(key).alias("analyte"),
                pl.select(reason).to_series().alias("reason"),
                pl.lit(None, pl.Date).alias("date"),
                pl.lit(None, pl.Int32).alias("days_from_index"),
                number.alias("value"),
                pl.lit(None, pl.String).alias("operator"),
                pl.lit(ANALYTES[key].display).alias("unit"),
                clean.alias("value_canonical"),
                pl.lit(ANALYTES[key].display).alias("unit_canonical"),
                (patients["ldh_uln_u_l"] if key == "ldh" else pl.lit(None, pl.Float64)).alias("upper_limit_canonical"),
                pl.lit(None, pl.String).alias("detail"),
                pl.lit(received.is_not_null()).alias("_present"),
            )
        )
    long = pl.concat(parts).filter(pl.col("_present")).with_columns((pl.col("reason") == "used").alias("used"))
    report = (
        long.group_by("analyte", "unit_canonical")
        .agg(
            pl.len().alias("rows"),
            (pl.col("reason") == "used").sum().alias("accepted"),
            pl.lit(0).alias("converted"),
            pl.lit(0).alias("refused_unit"),
            (pl.col("reason") == "implausible").sum().alias("implausible"),
            (pl.col("reason") == "value_missing").sum().alias("value_missing"),
            pl.lit(0).alias("censored"),  # the batch contract takes plain numbers only
        )
        .with_columns(
            pl.col("unit_canonical").alias("unit"),
            pl.lit(1.0).alias("factor"),
            pl.lit(None, pl.String).alias("problem"),
        )
        .select([pl.col(k).cast(v) for k, v in ad.UNIT_REPORT_SCHEMA.items()])
        .sort("analyte")
    )
    prov = typed_provenance(long)
    return CohortData(table, provenance_mode(prov, mode), report, tuple(notes), {})


def _checked_creatinine(raw: pl.Series) -> pl.Series:
    lo, hi = ANALYTES["creatinine"].plausible
    text = raw.cast(pl.String).str.strip_chars().replace(list(NULL_FORMS), None)
    number = text.cast(pl.Float64, strict=False)
    return pl.select(pl.when(pl.lit(number).is_between(lo, hi)).then(pl.lit(number))).to_series()
