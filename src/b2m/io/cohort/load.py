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
  :mod:`b2m.io.cohort.omop`). FISH is read only from the site's own concepts, ``fish_concept_ids``.

``source`` (and ``patients``) may be a path (CSV read as text, or Parquet) or a native frame
(Polars, Arrow, pandas, a DuckDB relation, a Spark DataFrame). ``engine`` is ``"polars"`` (default),
``"duckdb"`` or ``"spark"`` (or an adapter from :mod:`b2m.engines`); every engine runs the same
narwhals expressions and gives the same result.

``ldh_uln_u_l``: the LDH upper limit of normal to assume where the data give none (GSE24080 has
none). A measured LDH's own ``upper_limit`` always wins; every patient for whom the assumed value
was used has ``ldh_uln_assumed = True`` and ``notes`` says so. Without it and without a reported
limit, LDH status is unknown and R-ISS / R2-ISS give ranges (b2m reference E7).

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
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import narwhals as nw

from b2m.cohort import at_diagnosis as ad
from b2m.cohort.assemble import EFS_SCHEMA, CohortData, ProvenanceMode, cohort_from_events
from b2m.engines import Engine, EngineName, PolarsEngine, make_engine
from b2m.errors import InputError
from b2m.io.batch import check_input_file, engine_failure
from b2m.io.cohort.long import events_from_long, patients_from_long
from b2m.io.cohort.wide import load_wide
from b2m.io.columns import renamed
from b2m.units.analytes import ANALYTES

if TYPE_CHECKING:
    import duckdb
    from pyspark.sql import SparkSession

Kind = Literal["wide", "long", "omop"]
KINDS: tuple[Kind, ...] = ("wide", "long", "omop")


def _check_uln(ldh_uln_u_l: float | None) -> None:
    if ldh_uln_u_l is None:
        return
    lo, hi = ANALYTES["ldh"].plausible
    if isinstance(ldh_uln_u_l, bool) or not isinstance(ldh_uln_u_l, int | float) or not lo <= ldh_uln_u_l <= hi:
        raise InputError(
            "ldh_uln_u_l", f"not a plausible LDH upper limit: {ldh_uln_u_l!r}", f"a number in U/L, {lo:g}-{hi:g}"
        )


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
    paths = _input_files(source, patients)
    for path in paths:
        check_input_file(path)  # empty, binary, a header too wide, an incomplete Parquet file: one line
    try:
        return _load_cohort(
            source,
            kind=kind,
            engine=engine,
            window_days=window_days,
            policy=policy,
            ldh_uln_u_l=ldh_uln_u_l,
            patients=patients,
            columns=columns,
            provenance=provenance,
            connection=connection,
            spark=spark,
            myeloma_concept_ids=myeloma_concept_ids,
            fish_concept_ids=fish_concept_ids,
            audit_trail=audit_trail,
        )
    except BaseException as e:  # an engine failing on a malformed file: one line, not a traceback
        raise engine_failure(e, paths) from None


def _input_files(*sources: object) -> list[Path]:
    """The CSV / Parquet files among the sources (a folder: the tables in it)."""
    files: list[Path] = []
    for source in sources:
        if not isinstance(source, str | os.PathLike):
            continue
        path = Path(source)
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in (".csv", ".parquet"))
        elif path.is_file():
            files.append(path)
    return files


def _load_cohort(
    source: object,
    *,
    kind: Kind,
    engine: EngineName | Engine,
    window_days: tuple[int, int],
    policy: ad.Policy,
    ldh_uln_u_l: float | None,
    patients: object | None,
    columns: Mapping[str, str] | None,
    provenance: ProvenanceMode,
    connection: duckdb.DuckDBPyConnection | None,
    spark: SparkSession | None,
    myeloma_concept_ids: Collection[int],
    fish_concept_ids: Mapping[str, Collection[int]] | None,
    audit_trail: str | os.PathLike[str] | None,
) -> CohortData:
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
        data = load_wide(source, eng, columns, ldh_uln_u_l, provenance)
        if trail is not None:  # one row per patient and analyte: small, written from here
            PolarsEngine().sink(nw.from_native(data.provenance.lazy()), trail)
            data = replace(data, provenance=data.provenance.clear())
    elif kind == "long":
        if patients is None:
            raise InputError(
                "patients",
                "a long lab table needs a patient table",
                "a patient table: --patients FILE (in Python, patients=PATH or a frame)",
            )
        labs = renamed(eng.read(source), columns)
        pts = patients_from_long(renamed(eng.read(patients), columns))
        events = events_from_long(eng, labs)
        has_efs = any(c in renamed(eng.read(patients), columns).collect_schema() for c in EFS_SCHEMA)
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
        from b2m.io.cohort import omop

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
