"""A staged cohort from events and patients: the lab values at diagnosis, the stages, the audit trail.

The shared tail of every cohort source (a long lab feed, OMOP CDM, a wide table): units, the window
pick (:mod:`b2m.cohort.at_diagnosis`), the pivot to one row per patient, the ISS / R-ISS / R2-ISS
expressions (:mod:`b2m.rules.staging`), the audit trail and the unit report, on any engine
(:mod:`b2m.engines`). Reading the sources is the edge's job (:mod:`b2m.io.cohort`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

import narwhals as nw
import polars as pl

from b2m.cohort import at_diagnosis as ad
from b2m.engines import Engine
from b2m.errors import InputError
from b2m.rules.expr import NumExpr
from b2m.rules.inputs import StagingInputs
from b2m.rules.registry import output_columns, score_columns
from b2m.rules.staging import staged

ProvenanceMode = Literal["all", "used", "none"]
FrameT = TypeVar("FrameT", nw.LazyFrame[Any], nw.DataFrame[Any])

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


def stage_schema() -> dict[str, pl.DataType | type[pl.DataType]]:
    """The staging columns of the registered systems: scores are numbers, stages and possible sets text."""
    scores = set(score_columns())
    return {c: (pl.Float64 if c in scores else pl.String) for c in output_columns()}


def table_columns() -> tuple[str, ...]:
    return ("patient_id", *PATIENT_SCHEMA, *EFS_SCHEMA, *output_columns())

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


@dataclass(frozen=True)
class CohortData:
    """A staged cohort: the per-patient table, the audit trail, the unit report, and notes."""

    table: pl.DataFrame
    provenance: pl.DataFrame
    unit_report: pl.DataFrame
    notes: tuple[str, ...] = ()
    settings: Mapping[str, object] = field(default_factory=dict)


def staged_plan(frame: nw.LazyFrame[Any], ldh_uln_u_l: float | None, *, censored: bool = False) -> nw.LazyFrame[Any]:
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
    frame, inputs = censored_inputs(frame)
    return staged(frame, inputs).drop(*INTERVAL_COLUMNS)


CENSORABLE_INPUTS: tuple[str, ...] = ("b2m_mg_l", "albumin_g_dl", "ldh_u_l")  # staging inputs a lab may censor
INTERVAL_COLUMNS: tuple[str, ...] = tuple(f"{col}__{e}" for col in CENSORABLE_INPUTS for e in ("lo", "hi"))


def censored_inputs(frame: FrameT) -> tuple[FrameT, StagingInputs[nw.Expr]]:
    """The staging inputs of a frame whose lab columns may hold a censored bound (``<column>__op`` set,
    codes :data:`b2m.cohort.at_diagnosis.OPERATORS`): each becomes the interval where the true value
    lies (:data:`INTERVAL_COLUMNS`, drop them after staging), so staging uses only its direction."""
    frame = frame.with_columns(*(e for col in CENSORABLE_INPUTS for e in _interval(col)))
    b2m, albumin, ldh = (NumExpr.bounded(f"{col}__lo", f"{col}__hi") for col in CENSORABLE_INPUTS)
    return frame, replace(StagingInputs.exact(), b2m_mg_l=b2m, albumin_g_dl=albumin, ldh_u_l=ldh)


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


def censored_note(table: pl.DataFrame) -> list[str]:
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


def typed_table(out: pl.DataFrame, has_efs: bool) -> pl.DataFrame:
    schema = {**PATIENT_SCHEMA, **(EFS_SCHEMA if has_efs else {}), **stage_schema()}
    out = _censored_columns(out)
    typed = out.select(pl.col("patient_id"), *(pl.col(k).cast(v) for k, v in schema.items()))
    return typed.sort("patient_id")


def typed_provenance(df: pl.DataFrame, *, ordered: bool = False) -> pl.DataFrame:
    """The audit trail in its schema, by patient, analyte, date and source id (``ordered``: already)."""
    out = df.select(pl.col("patient_id"), *(pl.col(k).cast(v) for k, v in PROVENANCE_SCHEMA.items()))
    return out if ordered else out.sort("patient_id", "analyte", "date", "source_id", nulls_last=True)


def ldh_note(table: pl.DataFrame, ldh_uln_u_l: float | None) -> list[str]:
    n = int(table["ldh_uln_assumed"].sum())
    if ldh_uln_u_l is None or n == 0:
        return []
    return [
        f"LDH upper limit of normal assumed to be {ldh_uln_u_l:g} U/L for {n} of {table.height} patients "
        "(the data gave none); R-ISS and R2-ISS LDH status rests on this assumption"
    ]


def provenance_mode(prov: pl.DataFrame, mode: ProvenanceMode) -> pl.DataFrame:
    if mode == "used":
        return prov.filter(pl.col("used"))
    if mode == "none":
        return prov.clear()
    return prov


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
    plans = {"table": staged_plan(frame, ldh_uln_u_l, censored=censored)}
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
    table = typed_table(results["table"], has_efs)
    implausible = known
    if "implausible" in results:
        counted = results["implausible"].select(pl.col("pair_id").cast(pl.Int32), pl.col("implausible").cast(pl.UInt32))
        implausible = pl.concat([known, counted])
    report = ad.finish_unit_report(implausible, pairs, lookup, unknown)
    if mode == "none":
        prov = pl.DataFrame(schema={"patient_id": table.schema["patient_id"], **PROVENANCE_SCHEMA})
    else:
        prov = typed_provenance(ad.finish_provenance(results["provenance"], lookup), ordered=True)
    all_notes = [*(notes or []), *ldh_note(table, ldh_uln_u_l), *censored_note(table)]
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
