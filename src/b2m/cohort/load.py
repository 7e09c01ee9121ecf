"""Load a cohort, pick the lab values at diagnosis, and stage every patient, on any engine.

Interface (agreed with cohort analytics; stable)::

    load_cohort(source, *, kind, engine="polars", window_days=(-60, 30), policy="nearest",
                ldh_uln_u_l=None, patients=None, columns=None, provenance="all",
                connection=None, spark=None, myeloma_concept_ids=(), fish_concept_ids=None)
                -> CohortData

``kind``:

- ``"wide"``: one row per patient, the batch contract of ``b2m stage`` (``b2m_mg_l, albumin_g_dl,
  ldh_u_l, ldh_uln_u_l, del17p, t4_14, t14_16, gain1q``) plus ``patient_id, age, sex,
  creatinine_mg_dl, os_months, os_event`` (and ``efs_months, efs_event``). Absent lab or FISH columns
  are unknown for every patient (and said so in ``notes``). Values are validated by the batch
  contract (:func:`b2m.io.batch.prepare`): a value that is not a number or is implausible becomes
  unknown and is reported, never used. ``columns`` renames source columns, e.g. for GSE24080:
  ``{"original_order": "patient_id", "alb_g_dl": "albumin_g_dl", "creat_mg_dl": "creatinine_mg_dl",
  "os_time_months": "os_months", "efs_time_months": "efs_months"}``.
- ``"long"``: ``source`` is a lab-event table (``patient_id, analyte, value, unit, date`` and
  optionally ``lower_limit, upper_limit, source_id``; ``analyte`` is a name such as ``b2m`` or a LOINC
  code such as ``1952-1``), ``patients`` a table with ``patient_id, index_date`` (diagnosis) and
  optionally ``age, sex, os_months, os_event, efs_months, efs_event, del17p, t4_14, t14_16, gain1q``.
  Without ``source_id`` the 1-based row number of the lab file is the source id. FISH may also come
  as lab rows (analyte ``del17p``, ``t4_14``, ``t14_16`` or ``gain1q``, value 1 present / 0 absent),
  picked like a lab value; a known patient-table result wins.
- ``"omop"``: OMOP CDM v5.4 tables ``person, condition_occurrence, measurement`` (required) and
  ``death, observation_period, observation, concept, concept_ancestor`` (used when present) from a
  DuckDB file, a folder of CSV/Parquet files, or a mapping of table name -> frame (see
  :mod:`b2m.cohort.omop`). FISH is read only from the site's own concepts, ``fish_concept_ids``.

``source`` (and ``patients``) may be a path (CSV read as text, or Parquet) or a native frame
(Polars, Arrow, pandas, a DuckDB relation, a Spark DataFrame). ``engine`` is ``"polars"`` (default),
``"duckdb"`` or ``"spark"`` (or an adapter from :mod:`b2m.cohort.engines`); every engine runs the same
narwhals expressions and gives the same result.

``ldh_uln_u_l``: the LDH upper limit of normal to assume where the data give none (GSE24080 has
none). A measured LDH's own ``upper_limit`` always wins; every patient for whom the assumed value
was used has ``ldh_uln_assumed = True`` and ``notes`` says so. Without it and without a reported
limit, LDH status is unknown and R-ISS / R2-ISS give ranges (reference sheet §12 #7).

Returns :class:`CohortData`:

- ``table`` (Polars, one row per patient, sorted by ``patient_id``): ``patient_id, age, sex,
  index_date, b2m_mg_l, albumin_g_dl, ldh_u_l, ldh_uln_u_l, ldh_uln_assumed, creatinine_mg_dl,
  b2m_censored, albumin_censored, ldh_censored, creatinine_censored, del17p, t4_14, t14_16, gain1q,
  os_months, os_event`` (+ ``efs_months, efs_event`` when present) and the staging outputs ``iss,
  r_iss, r2_iss, r2_iss_score, iss_possible, r_iss_possible, r2_iss_possible`` from
  :func:`b2m.rules.staging.staged`. Labs are in canonical units (column name); FISH and events are
  booleans (null = unknown); ``age`` in years; ``os_months`` in months. A lab feed's censored result
  (``"<0.5"``, ``">20"``, ``"<="``, ``"≥"``; OMOP ``operator_concept_id``) is a measurement like any
  other for the pick; when used, its lab column stays empty (no exact value), ``*_censored`` shows it
  (``"<0.5"``, canonical unit) and staging uses its direction (a B2M ``">20"`` is ISS III).
- ``provenance``: every measurement considered (``provenance="all"``), only those used
  (``"used"``), or none (``"none"``; the counts stay in ``unit_report``): ``patient_id, analyte,
  used, reason, date, days_from_index, value, operator, unit`` (as received), ``value_canonical,
  unit_canonical, upper_limit_canonical, source_id, detail``. ``reason`` is ``"used"`` or why not:
  :data:`b2m.cohort.at_diagnosis.REASONS`.
- ``unit_report``: per analyte and unit as received: ``rows, accepted, converted, refused_unit,
  implausible, value_missing`` and the refusal ``problem``; unrecognised analyte names/codes are
  listed with ``analyte = null``. Nothing is dropped silently.
- ``notes``: assumptions and data facts a report must show (assumed ULN, absent columns).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import narwhals as nw
import polars as pl

from b2m.cohort import at_diagnosis as ad
from b2m.cohort.engines import Engine, EngineName, PolarsEngine, make_engine
from b2m.errors import FileFormatError, InputError
from b2m.io.batch import _FALSE, _NULL, _TRUE, prepare  # the batch contract's own accepted forms
from b2m.rules.expr import NumExpr
from b2m.rules.inputs import FISH_COLUMNS, NUMERIC_COLUMNS, StagingInputs
from b2m.rules.staging import OUTPUT_COLUMNS, staged
from b2m.units.analytes import ANALYTES

if TYPE_CHECKING:
    import duckdb
    from pyspark.sql import SparkSession

Kind = Literal["wide", "long", "omop"]
ProvenanceMode = Literal["all", "used", "none"]
KINDS: tuple[Kind, ...] = ("wide", "long", "omop")

PATIENT_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "age": pl.Float64,
    "sex": pl.String,
    "index_date": pl.Date,
    "b2m_mg_l": pl.Float64,
    "albumin_g_dl": pl.Float64,
    "ldh_u_l": pl.Float64,
    "ldh_uln_u_l": pl.Float64,
    "ldh_uln_assumed": pl.Boolean,
    "creatinine_mg_dl": pl.Float64,
    # A censored lab result used for the patient: operator and bound in the lab column's unit ("<0.5");
    # the lab column itself is then empty (no exact value), and staging uses the bound's direction.
    "b2m_censored": pl.String,
    "albumin_censored": pl.String,
    "ldh_censored": pl.String,
    "creatinine_censored": pl.String,
    "del17p": pl.Boolean,
    "t4_14": pl.Boolean,
    "t14_16": pl.Boolean,
    "gain1q": pl.Boolean,
    "os_months": pl.Float64,
    "os_event": pl.Boolean,
}
EFS_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {"efs_months": pl.Float64, "efs_event": pl.Boolean}
STAGE_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    c: (pl.Float64 if c == "r2_iss_score" else pl.String) for c in OUTPUT_COLUMNS
}
TABLE_COLUMNS: tuple[str, ...] = ("patient_id", *PATIENT_SCHEMA, *EFS_SCHEMA, *OUTPUT_COLUMNS)
PROVENANCE_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "analyte": pl.String,
    "used": pl.Boolean,
    "reason": pl.String,
    "date": pl.Date,
    "days_from_index": pl.Int32,
    "value": pl.Float64,
    "operator": pl.String,  # of a censored value ("<", "<=", ">", ">="), null when exact
    "unit": pl.String,
    "value_canonical": pl.Float64,
    "unit_canonical": pl.String,
    "upper_limit_canonical": pl.Float64,
    "source_id": pl.String,
    "detail": pl.String,
}
# ASCII only, on purpose: engines disagree on Unicode digits and spaces (Polars' \d matches "٣", which
# its cast then refuses; RE2's \s does not match a no-break space), so such text is no number anywhere.
_NUMBER_RE = r"^ *[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)? *$"
_DATE_RE = r"^ *[0-9]{4}-[0-9]{2}-[0-9]{2}"
_SEX = {"f": "female", "female": "female", "w": "female", "m": "male", "male": "male"}


@dataclass(frozen=True)
class CohortData:
    """A staged cohort: the per-patient table, the audit trail, the unit report, and notes."""

    table: pl.DataFrame
    provenance: pl.DataFrame
    unit_report: pl.DataFrame
    notes: tuple[str, ...] = ()
    settings: Mapping[str, object] = field(default_factory=dict)


# -- typed columns from whatever the source had --------------------------------------------------------
def as_float(name: str, dtype: nw.dtypes.DType | None) -> nw.Expr:
    if dtype is None:
        return nw.lit(None, dtype=nw.Float64())
    c = nw.col(name)
    if dtype == nw.String:
        return nw.when(c.str.contains(_NUMBER_RE)).then(c.str.strip_chars()).cast(nw.Float64())
    return c.cast(nw.Float64())


_CENSOR_PREFIX = r"^ *(<=|>=|≤|≥|<|>) *"


def as_censored(text: nw.Expr) -> tuple[nw.Expr, nw.Expr]:
    """A result as text -> (number, operator code): ``"4.2"`` -> (4.2, null), ``"<0.5"`` -> (0.5, "<"),
    ``"≥ 20"`` -> (20.0, ">="); anything else -> (null, null). Codes: :data:`at_diagnosis.OPERATORS`."""
    t = text.str.strip_chars(" ")  # spaces only: engines strip other whitespace differently
    rest = t.str.replace_all(_CENSOR_PREFIX, "", literal=False)  # anchored: at most one match
    number = nw.when(rest.str.contains(_NUMBER_RE)).then(rest.str.strip_chars(" ")).cast(nw.Float64())
    forms = (("<=", "<="), ("≤", "<="), (">=", ">="), ("≥", ">="), ("<", "<"), (">", ">"))  # longest first
    code = ad.OPERATORS
    op = nw.when(t.str.starts_with(forms[0][0])).then(nw.lit(code[forms[0][1]], dtype=nw.Int8()))
    for prefix, name in forms[1:]:
        op = op.when(t.str.starts_with(prefix)).then(nw.lit(code[name], dtype=nw.Int8()))
    return number, nw.when(~number.is_null()).then(op)


def as_int(name: str, dtype: nw.dtypes.DType | None) -> nw.Expr:
    """Whole numbers (ids): text is parsed directly, never through a float (ids exceed 2**53)."""
    if dtype is None:
        return nw.lit(None, dtype=nw.Int64())
    c = nw.col(name)
    if dtype == nw.String:
        return nw.when(c.str.contains(r"^ *[-+]?[0-9]{1,18} *$")).then(c.str.strip_chars()).cast(nw.Int64())
    return c.cast(nw.Int64())


def as_date(name: str, dtype: nw.dtypes.DType | None) -> nw.Expr:
    if dtype is None:
        return nw.lit(None, dtype=nw.Date())
    c = nw.col(name)
    if dtype == nw.String:
        return nw.when(c.str.contains(_DATE_RE)).then(c.str.strip_chars().str.slice(0, 10)).str.to_date("%Y-%m-%d")
    return c.cast(nw.Date())


def as_flag(name: str, dtype: nw.dtypes.DType | None) -> nw.Expr:
    """Yes/no in any of the batch contract's spellings (true/false, 1/0, yes/no); else unknown."""
    if dtype is None:
        return nw.lit(None, dtype=nw.Boolean())
    c = nw.col(name)
    if dtype == nw.Boolean:
        return c
    if dtype.is_numeric():
        return nw.when(c == 1).then(nw.lit(value=True)).when(c == 0).then(nw.lit(value=False))
    low = c.cast(nw.String()).str.strip_chars().str.to_lowercase()
    return (
        nw.when(low.is_in(list(_TRUE))).then(nw.lit(value=True)).when(low.is_in(list(_FALSE))).then(nw.lit(value=False))
    )


def as_sex(name: str, dtype: nw.dtypes.DType | None) -> nw.Expr:
    if dtype is None:
        return nw.lit(None, dtype=nw.String())
    low = nw.col(name).cast(nw.String()).str.strip_chars().str.to_lowercase()
    return low.replace_strict(_SEX, default=None, return_dtype=nw.String())


def as_string(name: str, dtype: nw.dtypes.DType | None) -> nw.Expr:
    if dtype is None:
        return nw.lit(None, dtype=nw.String())
    return nw.col(name).cast(nw.String())


def _renamed(frame: nw.LazyFrame[Any], columns: Mapping[str, str] | None) -> nw.LazyFrame[Any]:
    if not columns:
        return frame
    names = frame.collect_schema().names()
    return frame.rename({k: v for k, v in columns.items() if k in names})


# -- shared tail: patient-level frame -> staged table ---------------------------------------------------
def _staged_plan(frame: nw.LazyFrame[Any], ldh_uln_u_l: float | None, *, censored: bool = False) -> nw.LazyFrame[Any]:
    """Fill the assumed LDH ULN where an LDH came without one, then add the staging columns. With
    ``censored``, lab columns may hold a censored bound (``<column>__op`` set) and stage as intervals."""
    c = nw.col
    assume = (c("ldh_uln_u_l").is_null() & ~c("ldh_u_l").is_null()) & nw.lit(ldh_uln_u_l is not None)
    frame = frame.with_columns(
        assume.alias("ldh_uln_assumed"),
        nw.when(assume).then(nw.lit(ldh_uln_u_l, dtype=nw.Float64())).otherwise(c("ldh_uln_u_l")).alias("ldh_uln_u_l"),
    )
    if not censored:
        return staged(frame, StagingInputs.exact())
    labs = ("b2m_mg_l", "albumin_g_dl", "ldh_u_l")  # the staging inputs a lab feed may censor
    frame = frame.with_columns(*(e for col in labs for e in _interval(col)))
    b2m, albumin, ldh = (NumExpr.bounded(f"{col}__lo", f"{col}__hi") for col in labs)
    inputs = replace(StagingInputs.exact(), b2m_mg_l=b2m, albumin_g_dl=albumin, ldh_u_l=ldh)
    return staged(frame, inputs).drop(*(f"{col}__{e}" for col in labs for e in ("lo", "hi")))


# Lab columns that may hold a censored result -> the table column that shows it.
_CENSORABLE: dict[str, str] = {
    "b2m_mg_l": "b2m_censored",
    "albumin_g_dl": "albumin_censored",
    "ldh_u_l": "ldh_censored",
    "creatinine_mg_dl": "creatinine_censored",
}
_BELOW, _ABOVE = 1 - 2.0**-52, 1 + 2.0**-52  # the next float inside a strict bound (all bounds are > 0)


def _interval(col: str) -> tuple[nw.Expr, nw.Expr]:
    """``<col>__lo`` / ``<col>__hi``: where the true value lies. Exact: the value itself; ``<x``: from 0
    up to just below x; ``<=x``: 0..x; ``>x``: just above x, unbounded; ``>=x``: x, unbounded."""
    op, v, o = nw.col(f"{col}__op"), nw.col(col), ad.OPERATORS
    lo = (
        nw.when(op.is_null())
        .then(v)
        .when(op.is_in([o["<"], o["<="]]))
        .then(nw.lit(0.0))
        .when(op == o[">"])
        .then(v * _ABOVE)
        .otherwise(v)
    )
    hi = (
        nw.when(op.is_null())
        .then(v)
        .when(op == o["<"])
        .then(v * _BELOW)
        .when(op == o["<="])
        .then(v)
        .otherwise(nw.lit(float("inf")))
    )
    return lo.alias(f"{col}__lo"), hi.alias(f"{col}__hi")


def _censored_note(table: pl.DataFrame) -> list[str]:
    counts = {shown: table[shown].drop_nulls().len() for shown in _CENSORABLE.values()}
    used = ", ".join(f"{k.removesuffix('_censored')} for {n} patients" for k, n in counts.items() if n)
    if not used:
        return []
    return [f"censored results used (no exact value; kept censored and staged by their direction): {used}"]


def _censored_columns(out: pl.DataFrame) -> pl.DataFrame:
    """In Polars after collecting (identical text whichever engine ran): a censored lab value moves
    from its lab column to the ``*_censored`` text column."""
    exprs = []
    for col, shown in _CENSORABLE.items():
        op = f"{col}__op"
        if op not in out.columns:
            exprs.append(pl.lit(None, pl.String).alias(shown))
            continue
        name = pl.col(op).cast(pl.Int64).replace_strict(ad.OPERATOR_NAMES, default=None, return_dtype=pl.String)
        exprs += [
            pl.when(pl.col(op).is_not_null()).then(pl.concat_str(name, pl.col(col).cast(pl.String))).alias(shown),
            pl.when(pl.col(op).is_null()).then(pl.col(col)).alias(col),
        ]
    return out.with_columns(exprs)


def _typed_table(out: pl.DataFrame, has_efs: bool) -> pl.DataFrame:
    schema = {**PATIENT_SCHEMA, **(EFS_SCHEMA if has_efs else {}), **STAGE_SCHEMA}
    out = _censored_columns(out)
    typed = out.select(pl.col("patient_id"), *(pl.col(k).cast(v) for k, v in schema.items()))
    return typed.sort("patient_id")


def _typed_provenance(df: pl.DataFrame, *, ordered: bool = False) -> pl.DataFrame:
    """The audit trail in its schema, by patient, analyte, date and source id (``ordered``: already)."""
    out = df.select(pl.col("patient_id"), *(pl.col(k).cast(v) for k, v in PROVENANCE_SCHEMA.items()))
    return out if ordered else out.sort("patient_id", "analyte", "date", "source_id", nulls_last=True)


def _ldh_note(table: pl.DataFrame, ldh_uln_u_l: float | None) -> list[str]:
    n = int(table["ldh_uln_assumed"].sum())
    if ldh_uln_u_l is None or n == 0:
        return []
    return [
        f"LDH upper limit of normal assumed to be {ldh_uln_u_l:g} U/L for {n} of {table.height} patients "
        "(the data gave none); R-ISS and R2-ISS LDH status rests on this assumption"
    ]


def _check_uln(ldh_uln_u_l: float | None) -> None:
    if ldh_uln_u_l is None:
        return
    lo, hi = ANALYTES["ldh"].plausible
    if isinstance(ldh_uln_u_l, bool) or not isinstance(ldh_uln_u_l, int | float) or not lo <= ldh_uln_u_l <= hi:
        raise InputError(
            "ldh_uln_u_l", f"not a plausible LDH upper limit: {ldh_uln_u_l!r}", f"a number in U/L, {lo:g}-{hi:g}"
        )


# -- wide ----------------------------------------------------------------------------------------------
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


def _load_wide(
    source: object, engine: Engine, columns: Mapping[str, str] | None, ldh_uln_u_l: float | None, mode: ProvenanceMode
) -> CohortData:
    raw = _read_wide(source)
    if columns:
        raw = raw.rename({k: v for k, v in columns.items() if k in raw.columns})
    if "patient_id" not in raw.columns:
        raise FileFormatError(
            "input", "missing column patient_id", "a patient_id column (or columns={'id': 'patient_id'})"
        )
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
        as_float("age", _dtype(schema, "age")).alias("age"),
        as_sex("sex", _dtype(schema, "sex")).alias("sex"),
        as_date("index_date", _dtype(schema, "index_date")).alias("index_date"),
        *(nw.col(c) for c in (*NUMERIC_COLUMNS, "creatinine_mg_dl", *FISH_COLUMNS)),
        as_float("os_months", _dtype(schema, "os_months")).alias("os_months"),
        as_flag("os_event", _dtype(schema, "os_event")).alias("os_event"),
        as_float("efs_months", _dtype(schema, "efs_months")).alias("efs_months"),
        as_flag("efs_event", _dtype(schema, "efs_event")).alias("efs_event"),
    )
    native = frame.collect().to_native()
    table = _typed_table(engine.collect(_staged_plan(engine.lazy(native), ldh_uln_u_l)), has_efs)
    notes += _ldh_note(table, ldh_uln_u_l)

    # Provenance and unit report: one "measurement" per patient and lab column.
    parts = []
    for col, key in _WIDE_LABS.items():
        received = text[col].replace(list(_NULL), None) if text[col].dtype == pl.String else text[col]
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
    prov = _typed_provenance(long)
    return CohortData(table, _provenance_mode(prov, mode), report, tuple(notes), {})


def _checked_creatinine(raw: pl.Series) -> pl.Series:
    lo, hi = ANALYTES["creatinine"].plausible
    text = raw.cast(pl.String).str.strip_chars().replace(list(_NULL), None)
    number = text.cast(pl.Float64, strict=False)
    return pl.select(pl.when(pl.lit(number).is_between(lo, hi)).then(pl.lit(number))).to_series()


def _dtype(schema: Mapping[str, Any], name: str) -> nw.dtypes.DType | None:
    if name not in schema:
        return None
    dtype: nw.dtypes.DType = nw.from_native(pl.DataFrame(schema=[(name, schema[name])])).schema[name]
    return dtype


def _provenance_mode(prov: pl.DataFrame, mode: ProvenanceMode) -> pl.DataFrame:
    if mode == "used":
        return prov.filter(pl.col("used"))
    if mode == "none":
        return prov.clear()
    return prov


# -- long and OMOP: events + patients ------------------------------------------------------------------
def events_from_long(engine: Engine, labs: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
    """Normalise a long lab table to the event columns (``analyte`` as received: a name or a LOINC code)."""
    schema = labs.collect_schema()
    missing = [c for c in ("patient_id", "analyte", "value", "unit", "date") if c not in schema]
    if missing:
        raise FileFormatError(
            "labs", f"missing column(s) {', '.join(missing)}", "patient_id, analyte, value, unit, date"
        )
    if "source_id" not in schema:
        labs = engine.with_row_number(labs, "source_id")
    elif schema["source_id"] == nw.String:  # a CSV: ids compare as numbers when every one is a whole number
        whole = as_int("source_id", schema["source_id"])
        text_only = ~nw.col("source_id").is_null() & whole.is_null()
        others = engine.collect(labs.select(text_only.cast(nw.Int64()).sum().alias("n")))
        if int(others["n"][0] or 0) == 0:
            labs = labs.with_columns(whole.alias("source_id"))
    if schema["value"] == nw.String:  # text may carry censored results ("<0.5", ">20")
        value, operator = as_censored(nw.col("value"))
    else:
        value, operator = as_float("value", schema["value"]), nw.lit(None, dtype=nw.Int8())
    return labs.select(
        nw.col("patient_id"),
        as_string("analyte", schema["analyte"]).alias("analyte"),
        value.alias("value"),
        operator.alias("operator"),
        as_string("unit", schema["unit"]).alias("unit"),
        as_float("lower_limit", schema.get("lower_limit")).alias("lower"),
        as_float("upper_limit", schema.get("upper_limit")).alias("upper"),
        as_date("date", schema["date"]).alias("date"),
        nw.col("source_id"),
    )


def patients_from_long(frame: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
    schema = frame.collect_schema()
    if "patient_id" not in schema or "index_date" not in schema:
        raise FileFormatError("patients", "missing column patient_id or index_date", "patient_id, index_date, ...")
    g = schema.get
    return frame.select(
        "patient_id",
        as_date("index_date", g("index_date")).alias("index_date"),
        as_float("age", g("age")).alias("age"),
        as_sex("sex", g("sex")).alias("sex"),
        as_float("os_months", g("os_months")).alias("os_months"),
        as_flag("os_event", g("os_event")).alias("os_event"),
        as_float("efs_months", g("efs_months")).alias("efs_months"),
        as_flag("efs_event", g("efs_event")).alias("efs_event"),
        *(as_flag(c, g(c)).alias(c) for c in FISH_COLUMNS),
    )


def cohort_from_events(
    engine: Engine,
    events: nw.LazyFrame[Any],
    patients: nw.LazyFrame[Any],
    *,
    window: ad.Window,
    ldh_uln_u_l: float | None,
    mode: ProvenanceMode,
    has_efs: bool,
    notes: list[str] | None = None,
    audit_trail: str | None = None,
) -> CohortData:
    """The shared tail of the long and OMOP paths: units, window pick, pivot, staging, reports.

    With ``audit_trail`` (a .parquet or .csv path) the audit trail of ``mode`` is written there by the
    engine itself, in no particular row order, instead of being returned (a Spark engine writes a
    folder of parts): nothing of it is held in memory beyond what the engine needs, so it scales
    with the engine. The table then takes the cheaper route of ``mode="none"``.

    FISH results may come as events too (analyte ``del17p``, ``t4_14``, ``t14_16``, ``gain1q``; value
    1 = present, 0 = absent; picked around the index date like a lab value). A patient-table FISH
    column that is known wins; an event fills it only where it is unknown.
    """
    dup = engine.collect(
        patients.group_by("patient_id").agg(nw.len().alias("n")).filter(nw.col("n") > 1).select(nw.len())
    )
    if int(dup.item()):  # a count, not the id: messages may end up in logs
        raise InputError("patients", f"{int(dup.item())} patient id(s) appear more than once", "one row per patient")
    buckets = ad.distinct_pairs(events, engine)
    pairs = ad.per_pair(buckets)
    if int(pairs["source_missing"].sum()):
        raise InputError(
            "source_id",
            f"{int(pairs['source_missing'].sum())} lab row(s) without a source id",
            "a unique id on every row, or no source_id column (then the row number is used)",
        )
    lookup = ad.unit_lookup(pairs)
    unknown = ad.unrecognised(pairs, lookup)
    censored = int(pairs["censored"].sum()) > 0  # else every value is exact: the cheaper exact staging
    sink, mode = (mode, "none") if audit_trail is not None else (None, mode)
    ev = ad.attached(events if censored or mode != "none" else events.drop("operator"), lookup, engine)
    if mode != "none":
        base = engine.shared(_audit_base(events, lookup, patients, window, engine))
        usable = base.filter(nw.col("_excluded").is_null())
    else:
        usable = ad.eligible(ev, patients, window, engine)
    targets = dict(ad.LAB_COLUMNS)
    fish_events = [k for k in ad.FISH_KEYS if k in set(lookup["analyte_key"].drop_nulls())]
    targets.update({k: f"_fish_{k}" for k in fish_events})
    picked = ad.picked_values(ad.chosen(usable, ad.packed_rank(window, pairs)), targets)
    frame = patients.join(picked, on="patient_id", how="left").rename({"_ldh_uln_reported": "ldh_uln_u_l"})
    if fish_events:
        c = nw.col

        def result(k: str) -> nw.Expr:  # 1 present, 0 absent (nothing else is picked: ad.exclusions)
            v = c(f"_fish_{k}")
            return nw.when(v == 1.0).then(nw.lit(value=True)).when(v == 0.0).then(nw.lit(value=False))

        frame = frame.with_columns(*(nw.coalesce(c(k), result(k)).alias(k) for k in fish_events))
        notes = [
            *(notes or []),
            f"FISH read from lab events ({', '.join(fish_events)}): used where the patient table gives no result",
        ]
    plans = {"table": _staged_plan(frame, ldh_uln_u_l, censored=censored)}
    known, open_pairs = ad.implausible_counts(buckets, lookup)
    if open_pairs:  # pairs the value buckets cannot decide are counted row by row
        plans["implausible"] = ad.unit_report_plan(events, lookup, window, engine, open_pairs)
    if mode != "none":
        plans["provenance"] = _audit_plan(base, window, patients, fish_events, mode)
    if mode == "none":
        # Nothing large is shared: one streamed pass per result keeps memory bounded (computing the
        # common part once would hold every lab row in memory: 17 GiB at 200M rows).
        results = {name: engine.collect(plan) for name, plan in plans.items()}
    else:
        results = dict(zip(plans, engine.collect_all(list(plans.values())), strict=True))
    twice = results["table"].filter(pl.col("_used_rows") > pl.col("_used_analytes"))
    if twice.height:
        raise InputError(
            "source_id",
            f"{twice.height} patient(s) with two lab rows of one analyte on one date under the same source id",
            "a unique source id on every row (or no source_id column: the row number is used)",
        )
    if sink is not None and audit_trail is not None:
        trail = _audit_plan(_audit_base(events, lookup, patients, window, engine), window, patients, fish_events, sink)
        engine.sink(ad.provenance_texts(trail, lookup, engine), audit_trail)
    engine.close()
    table = _typed_table(results["table"], has_efs)
    implausible = known
    if "implausible" in results:
        counted = results["implausible"].select(pl.col("pair_id").cast(pl.Int32), pl.col("implausible").cast(pl.UInt32))
        implausible = pl.concat([known, counted])
    report = ad.finish_unit_report(implausible, pairs, lookup, unknown)
    if mode == "none":
        prov = pl.DataFrame(schema={"patient_id": table.schema["patient_id"], **PROVENANCE_SCHEMA})
    else:
        prov = _typed_provenance(ad.finish_provenance(results["provenance"], lookup), ordered=True)
    all_notes = [*(notes or []), *_ldh_note(table, ldh_uln_u_l), *_censored_note(table)]
    return CohortData(table, prov, report, tuple(all_notes), {})


def _audit_base(
    events: nw.LazyFrame[Any], lookup: pl.DataFrame, patients: nw.LazyFrame[Any], window: ad.Window, engine: Engine
) -> nw.LazyFrame[Any]:
    """Every event, attached and placed, with its exclusion code and rank key (what the audit trail is
    made of)."""
    keep = [*ad.PROVENANCE_SOURCE, "_excluded", "_key"]
    audit = ad.prepared(ad.placed(ad.attached(events, lookup, engine), patients, engine), window)
    return audit.select(*(k for k in keep if k not in ("used", "reason")))


def _audit_plan(
    base: nw.LazyFrame[Any], window: ad.Window, patients: nw.LazyFrame[Any], fish: list[str], mode: ProvenanceMode
) -> nw.LazyFrame[Any]:
    """The audit trail in codes: every event (``all``) or the used ones (``used``)."""
    if mode == "all":
        return ad.provenance(ad.patient_table_wins(ad.audited(base, window), patients, fish))
    usable = ad.ranked(base.filter(nw.col("_excluded").is_null()), window)
    return ad.provenance(ad.patient_table_wins(usable, patients, fish).filter(nw.col("used")))


def load_cohort(
    source: object,
    *,
    kind: Kind,
    engine: EngineName | Engine = "polars",
    window_days: tuple[int, int] = (-60, 30),
    policy: ad.Policy = "nearest",
    ldh_uln_u_l: float | None = None,
    patients: object | None = None,
    columns: Mapping[str, str] | None = None,
    provenance: ProvenanceMode = "all",
    connection: duckdb.DuckDBPyConnection | None = None,
    spark: SparkSession | None = None,
    myeloma_concept_ids: Collection[int] = (),
    fish_concept_ids: Mapping[str, Collection[int]] | None = None,
    audit_trail: str | os.PathLike[str] | None = None,
) -> CohortData:
    """Load, pick values at diagnosis, stage. See the module docstring for the full contract.

    ``audit_trail``: write the audit trail of ``provenance`` ("all" or "used") to this .parquet or
    .csv path from the engine (bounded by the engine, not by this process; rows in no particular
    order; Spark writes a folder of parts) instead of returning it in ``provenance``."""
    if kind not in KINDS:
        raise InputError("kind", f"unknown kind {kind!r}", ", ".join(KINDS))
    if provenance not in ("all", "used", "none"):
        raise InputError("provenance", f"unknown mode {provenance!r}", "all, used, none")
    trail = os.fspath(audit_trail) if audit_trail is not None else None  # a URI stays a URI (s3a://...)
    if trail is not None and (provenance == "none" or Path(trail).suffix.lower() not in (".parquet", ".csv")):
        accepted = "a .parquet or .csv path, with provenance 'all' or 'used'"
        raise InputError("audit_trail", f"{Path(trail).name!r} with provenance={provenance!r}", accepted)
    _check_uln(ldh_uln_u_l)
    if fish_concept_ids and kind != "omop":
        raise InputError("fish_concept_ids", f"given for kind {kind!r}", "OMOP concept ids with kind='omop' only")
    window = ad.Window(window_days[0], window_days[1], policy)
    eng = make_engine(engine, connection=connection, spark=spark)
    settings = {
        "kind": kind,
        "engine": eng.name,
        "window_days": (window.lo_days, window.hi_days),
        "policy": window.policy,
        "window": window.describe(),
        "ldh_uln_u_l": ldh_uln_u_l,
    }
    if kind == "wide":
        data = _load_wide(source, eng, columns, ldh_uln_u_l, provenance)
        if trail is not None:  # one row per patient and analyte: small, written from here
            PolarsEngine().sink(nw.from_native(data.provenance.lazy()), trail)
            data = replace(data, provenance=data.provenance.clear())
    elif kind == "long":
        if patients is None:
            raise InputError("patients", "a long lab table needs a patient table", "patients=PATH or a frame")
        labs = _renamed(eng.read(source), columns)
        pts = patients_from_long(_renamed(eng.read(patients), columns))
        events = events_from_long(eng, labs)
        has_efs = any(c in _renamed(eng.read(patients), columns).collect_schema() for c in EFS_SCHEMA)
        data = cohort_from_events(
            eng,
            events,
            pts,
            window=window,
            ldh_uln_u_l=ldh_uln_u_l,
            mode=provenance,
            has_efs=has_efs,
            audit_trail=trail,
        )
    else:
        from b2m.cohort import omop

        data = omop.load_omop(
            source,
            eng,
            window=window,
            ldh_uln_u_l=ldh_uln_u_l,
            mode=provenance,
            myeloma_concept_ids=myeloma_concept_ids,
            fish_concept_ids=fish_concept_ids,
            audit_trail=trail,
        )
    return CohortData(data.table, data.provenance, data.unit_report, data.notes, settings)
