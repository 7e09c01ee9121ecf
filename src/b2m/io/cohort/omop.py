"""OMOP CDM v5.4 -> cohort events and patients (``load_cohort(..., kind="omop")``).

Tables read (column names as in the CDM v5.4 specification):

- ``person``: ``person_id, gender_concept_id, year_of_birth, month_of_birth, day_of_birth,
  gender_source_value``;
- ``condition_occurrence``: ``person_id, condition_concept_id, condition_start_date,
  condition_source_value, condition_source_concept_id``;
- ``measurement``: ``measurement_id, person_id, measurement_concept_id, measurement_date,
  value_as_number, unit_concept_id, unit_source_value, range_low, range_high,
  measurement_source_value, measurement_source_concept_id``;
- ``death`` (``person_id, death_date``), ``observation_period`` (``person_id,
  observation_period_end_date``), ``concept`` (``concept_id, vocabulary_id, concept_code``) and
  ``concept_ancestor``: used when present.

**Cohort and index date.** A person is in the cohort when a condition occurrence is multiple myeloma;
the index date is the earliest such ``condition_start_date``. Myeloma is recognised by code, never
by name: SNOMED CT **109989006** "Multiple myeloma (disorder)", ICD-10 **C90.0** "Multiple myeloma"
and ICD-10-CM **C90.00 / C90.01 / C90.02** (not in remission / in remission / in relapse). The
codes are matched in ``condition_source_value`` (with or without the dot), and, when the CDM has a
``concept`` table, through the concept ids carrying these codes in the SNOMED, ICD10 and ICD10CM
vocabularies (and their descendants in ``concept_ancestor``). The standard concept id is looked up,
not hard-coded; more can be given with ``myeloma_concept_ids``.

**Analytes** are recognised by LOINC code (:data:`b2m.cohort.at_diagnosis.LOINC_TO_ANALYTE`, codes
from :mod:`b2m.units.analytes`, check digits validated): through the ``concept`` table for
``measurement_concept_id`` / ``measurement_source_concept_id`` (vocabulary LOINC), else the code in
``measurement_source_value``. **Units**: ``unit_source_value``, else the UCUM code of
``unit_concept_id`` from ``concept``; converted by :func:`b2m.units.unit_factor`, once per distinct
unit. ``range_high`` is the reporting lab's upper limit (the LDH ULN of R-ISS / R2-ISS).

**Outcomes.** ``os_event`` is a death on or after the index date; ``os_months`` runs from the index
date to death, else to the end of the last observation period (else the last recorded measurement
or condition), in months of 365.25 / 12 days. **Age** is completed years at the index date from
year/month/day of birth (month and day taken as 1 July when absent). Sex: gender concept 8507 MALE,
8532 FEMALE (OMOP Gender vocabulary), else ``gender_source_value`` M/F.

**FISH** results have no agreed OMOP representation (no LOINC code for them is confirmed;
b2m reference CYTO-5), so b2m does not guess: the site names its own concepts with
``fish_concept_ids={"del17p": [...], "t4_14": [...], "t14_16": [...], "gain1q": [...]}``, matched in
``measurement`` (``measurement_concept_id`` / ``measurement_source_concept_id``) and ``observation``
(``observation_concept_id`` / ``observation_source_concept_id``). The result is read from the name
of ``value_as_concept_id`` in ``concept``, else ``value_as_string`` (observation) or
``value_source_value`` (:data:`PRESENT` / :data:`ABSENT`, case-insensitive), else the number, read
like a lab value (operator, source text, unit): an exact 1 is present, 0 absent, and anything else
("<1", "1 %", 0.5) is no result, excluded before the pick (a named result wins because the number
may be a percentage of nuclei).

**Censored results**: ``operator_concept_id`` ("<", "<=", ">", ">=") by the standard OMOP concept ids
(:data:`STANDARD_OPERATORS`) or the name in ``concept``; a censored ``value_source_value`` such as
"<0.5" counts too, when ``value_as_number`` is empty or is its bare number. The result nearest the
index date in the window is used, as for a lab value. Without ``fish_concept_ids`` FISH is unknown
for every patient (R-ISS and R2-ISS give the range of stages still possible), and ``notes`` says so.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import narwhals as nw

from b2m.cohort import at_diagnosis as ad
from b2m.cohort.assemble import CohortData, ProvenanceMode, cohort_from_events
from b2m.engines import Engine, read_tables
from b2m.errors import InputError
from b2m.io.columns import as_censored, as_date, as_float, as_int, as_string

MYELOMA_SNOMED = ("109989006",)  # Multiple myeloma (disorder)
MYELOMA_ICD10 = ("C90.0",)  # WHO ICD-10: Multiple myeloma
MYELOMA_ICD10CM = ("C90.00", "C90.01", "C90.02")  # not in remission / in remission / in relapse
GENDER_MALE, GENDER_FEMALE = 8507, 8532  # OMOP Gender vocabulary
DAYS_PER_MONTH = 365.25 / 12

# OMOP "Meas Value Operator" standard concepts (used when the CDM has no concept table; a concept
# table's own names are read too).
STANDARD_OPERATORS: dict[int, int] = {
    4171756: ad.OPERATORS["<"],
    4171754: ad.OPERATORS["<="],
    4172704: ad.OPERATORS[">"],
    4171755: ad.OPERATORS[">="],
}
PRESENT = ("positive", "present", "detected", "yes")
ABSENT = ("negative", "absent", "not detected", "no")

TABLES = {
    "person": True,
    "condition_occurrence": True,
    "measurement": True,
    "observation": False,
    "death": False,
    "observation_period": False,
    "concept": False,
    "concept_ancestor": False,
}


def myeloma_source_values() -> list[str]:
    codes = [*MYELOMA_SNOMED, *MYELOMA_ICD10, *MYELOMA_ICD10CM]
    return sorted({*codes, *(c.replace(".", "") for c in codes)})


def _typed(frame: nw.LazyFrame[Any], spec: dict[str, str]) -> nw.LazyFrame[Any]:
    """Select and type the CDM columns used (CSV arrives as text, Parquet/DuckDB typed)."""
    schema = frame.collect_schema()
    exprs = []
    for name, kind in spec.items():
        dtype = schema.get(name)
        if kind == "int":
            exprs.append(as_int(name, dtype).alias(name))
        elif kind == "float":
            exprs.append(as_float(name, dtype).alias(name))
        elif kind == "date":
            exprs.append(as_date(name, dtype).alias(name))
        else:
            text = as_string(name, dtype).str.strip_chars()
            exprs.append(nw.when(text != "").then(text).alias(name))
    return frame.select(*exprs)


def _concept_ids(
    engine: Engine, concept: nw.LazyFrame[Any] | None, vocab_codes: dict[str, Collection[str]]
) -> dict[int, str]:
    """concept_id -> concept_code for the given (vocabulary -> codes); empty without a concept table."""
    if concept is None:
        return {}
    c = _typed(concept, {"concept_id": "int", "vocabulary_id": "str", "concept_code": "str"})
    cond = nw.lit(value=False)
    for vocab, codes in vocab_codes.items():
        cond = cond | ((nw.col("vocabulary_id") == vocab) & nw.col("concept_code").is_in(list(codes)))
    rows = engine.collect(c.filter(cond))
    return {int(i): str(code) for i, code in rows.select("concept_id", "concept_code").iter_rows()}


def load_omop(
    source: object,
    engine: Engine,
    *,
    window: ad.Window,
    ldh_uln_u_l: float | None,
    mode: ProvenanceMode,
    myeloma_concept_ids: Collection[int] = (),
    fish_concept_ids: Mapping[str, Collection[int]] | None = None,
    audit_trail: str | None = None,
) -> CohortData:
    fish = _checked_fish_concepts(fish_concept_ids)
    t = read_tables(engine, source, TABLES)
    concept = t.get("concept")
    notes: list[str] = []

    # -- cohort and index date -----------------------------------------------------------------------
    mm_concepts = set(myeloma_concept_ids) | set(
        _concept_ids(engine, concept, {"SNOMED": MYELOMA_SNOMED, "ICD10": MYELOMA_ICD10, "ICD10CM": MYELOMA_ICD10CM})
    )
    if mm_concepts and "concept_ancestor" in t:
        anc = _typed(t["concept_ancestor"], {"ancestor_concept_id": "int", "descendant_concept_id": "int"})
        desc = engine.collect(anc.filter(nw.col("ancestor_concept_id").is_in(sorted(mm_concepts))))
        mm_concepts |= {int(x) for x in desc["descendant_concept_id"]}
    cond = _typed(
        t["condition_occurrence"],
        {
            "person_id": "int",
            "condition_concept_id": "int",
            "condition_source_concept_id": "int",
            "condition_start_date": "date",
            "condition_source_value": "str",
        },
    )
    is_mm = nw.col("condition_source_value").is_in(myeloma_source_values()).fill_null(value=False)
    if mm_concepts:
        ids = sorted(mm_concepts)
        is_mm = is_mm | nw.col("condition_concept_id").is_in(ids).fill_null(value=False)
        is_mm = is_mm | nw.col("condition_source_concept_id").is_in(ids).fill_null(value=False)
    index = (
        cond.filter(is_mm)
        .group_by("person_id")
        .agg(nw.col("condition_start_date").min().alias("index_date"))
        .rename({"person_id": "patient_id"})
    )

    # -- patients ------------------------------------------------------------------------------------
    person = _typed(
        t["person"],
        {
            "person_id": "int",
            "gender_concept_id": "int",
            "year_of_birth": "int",
            "month_of_birth": "int",
            "day_of_birth": "int",
            "gender_source_value": "str",
        },
    ).rename({"person_id": "patient_id"})
    follow = _last_follow_up(engine, t, cond)
    death = None
    if "death" in t:
        death = (
            _typed(t["death"], {"person_id": "int", "death_date": "date"})
            .group_by("person_id")
            .agg(nw.col("death_date").min())
            .rename({"person_id": "patient_id"})
        )
    pts = index.join(person, on="patient_id", how="left").join(follow, on="patient_id", how="left")
    pts = (
        pts.join(death, on="patient_id", how="left")
        if death is not None
        else pts.with_columns(nw.lit(None, dtype=nw.Date()).alias("death_date"))
    )
    pts = _patient_columns(engine, pts)

    # -- measurements -> events ------------------------------------------------------------------------
    loinc = ad.LOINC_TO_ANALYTE
    by_concept = {i: loinc[code] for i, code in _concept_ids(engine, concept, {"LOINC": loinc.keys()}).items()}
    meas = _typed(
        t["measurement"],
        {
            "measurement_id": "int",
            "person_id": "int",
            "measurement_concept_id": "int",
            "measurement_source_concept_id": "int",
            "measurement_date": "date",
            "value_as_number": "float",
            "operator_concept_id": "int",
            "value_source_value": "str",
            "unit_concept_id": "int",
            "unit_source_value": "str",
            "range_low": "float",
            "range_high": "float",
            "measurement_source_value": "str",
        },
    )
    analyte = nw.col("measurement_source_value").replace_strict(loinc, default=None, return_dtype=nw.String())
    if by_concept:

        def from_concept(col: str) -> nw.Expr:
            return nw.col(col).replace_strict(by_concept, default=None, return_dtype=nw.String())

        analyte = nw.coalesce(
            from_concept("measurement_concept_id"), from_concept("measurement_source_concept_id"), analyte
        )
    meas = meas.with_columns(analyte.alias("analyte")).filter(~nw.col("analyte").is_null())
    meas = meas.join(index.select("patient_id"), left_on="person_id", right_on="patient_id", how="inner")
    unit = nw.col("unit_source_value")
    if concept is not None:
        used_units = engine.collect(meas.select("unit_concept_id").unique())["unit_concept_id"].drop_nulls().to_list()
        ucum = _ucum(engine, concept, used_units) if used_units else {}
        if ucum:
            unit = nw.coalesce(
                unit, nw.col("unit_concept_id").replace_strict(ucum, default=None, return_dtype=nw.String())
            )
    value, operator = _censoring(engine, concept, meas)
    events = meas.select(
        nw.col("person_id").alias("patient_id"),
        "analyte",
        value.alias("value"),
        operator.alias("operator"),
        unit.alias("unit"),
        nw.col("range_low").alias("lower"),
        nw.col("range_high").alias("upper"),
        nw.col("measurement_date").alias("date"),
        nw.col("measurement_id").alias("source_id"),
    )
    if fish:
        events = nw.concat([events, *_fish_events(engine, t, concept, index, fish)], how="vertical")
        notes.append(
            "FISH read from the site's own concepts: "
            + "; ".join(f"{k} = {', '.join(str(i) for i in sorted(v))}" for k, v in fish.items())
        )
    else:
        notes.append(
            "FISH (del(17p), t(4;14), t(14;16), 1q+) is not read from OMOP (no fish_concept_ids given): unknown "
            "for every patient, so R-ISS and R2-ISS show the stages still possible"
        )
    return cohort_from_events(
        engine,
        events,
        pts,
        window=window,
        ldh_uln_u_l=ldh_uln_u_l,
        mode=mode,
        has_efs=False,
        notes=notes,
        audit_trail=audit_trail,
    )


def _checked_fish_concepts(given: Mapping[str, Collection[int]] | None) -> dict[str, frozenset[int]]:
    accepted = f"a mapping of {', '.join(ad.FISH_KEYS)} to OMOP concept ids"
    if not given:
        return {}
    if not isinstance(given, Mapping):
        raise InputError("fish_concept_ids", f"not a mapping: {type(given).__name__}", accepted)
    out: dict[str, frozenset[int]] = {}
    for key, ids in given.items():
        if key not in ad.FISH_KEYS:
            raise InputError("fish_concept_ids", f"unknown FISH result {key!r}", accepted)
        if isinstance(ids, str | bytes) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise InputError("fish_concept_ids", f"{key}: concept ids must be integers", accepted)
        out[key] = frozenset(ids)
    seen: dict[int, str] = {}
    for key, ids in out.items():
        for i in sorted(ids):
            if i in seen:  # one concept cannot say which abnormality it reports
                raise InputError("fish_concept_ids", f"concept {i} is listed under {seen[i]} and {key}", accepted)
            seen[i] = key
    return out


def _fish_events(
    engine: Engine,
    t: dict[str, nw.LazyFrame[Any]],
    concept: nw.LazyFrame[Any] | None,
    index: nw.LazyFrame[Any],
    fish: dict[str, frozenset[int]],
) -> list[nw.LazyFrame[Any]]:
    """FISH results as events (analyte = the FISH key, value 1 present / 0 absent / null unknown).

    A result named by its value concept or text (:data:`PRESENT` / :data:`ABSENT`) comes first; else
    the number, read like a lab value (operator, source text, unit), so that a "<1" or a "1 %" reaches
    the pick as what it is and is excluded there (:func:`b2m.cohort.at_diagnosis.exclusions`)."""
    by_id = {i: k for k, ids in fish.items() for i in ids}
    ids = sorted(by_id)
    out = []
    for prefix in ("measurement", "observation"):
        if prefix not in t:
            continue
        spec = {
            f"{prefix}_id": "int",
            "person_id": "int",
            f"{prefix}_concept_id": "int",
            f"{prefix}_source_concept_id": "int",
            f"{prefix}_date": "date",
            "value_as_number": "float",
            "value_as_concept_id": "int",
            "value_as_string": "str",  # observation only; absent columns read as null
            "value_source_value": "str",
            "operator_concept_id": "int",  # measurement only
            "unit_source_value": "str",
        }
        rows = _typed(t[prefix], spec)
        key = nw.coalesce(
            *(
                nw.col(f"{prefix}_{c}").replace_strict(by_id, default=None, return_dtype=nw.String())
                for c in ("concept_id", "source_concept_id")
            )
        )
        rows = rows.filter(
            nw.col(f"{prefix}_concept_id").is_in(ids).fill_null(value=False)
            | nw.col(f"{prefix}_source_concept_id").is_in(ids).fill_null(value=False)
        ).with_columns(key.alias("analyte"))
        rows = rows.join(index.select("patient_id"), left_on="person_id", right_on="patient_id", how="inner")
        names = _value_concept_results(engine, concept, rows)
        named = nw.coalesce(  # a named result first: value_as_number may be a percentage of nuclei
            nw.col("value_as_concept_id").replace_strict(names, default=None, return_dtype=nw.Float64())
            if names
            else nw.lit(None, dtype=nw.Float64()),
            _result_from_text(nw.col("value_as_string")),
            _result_from_text(nw.col("value_source_value")),
        )
        number, operator = _censoring(engine, concept, rows)
        numeric = named.is_null()
        out.append(
            rows.select(
                nw.col("person_id").alias("patient_id"),
                "analyte",
                nw.coalesce(named, number).alias("value"),
                nw.when(numeric).then(operator).alias("operator"),
                nw.when(numeric).then(nw.col("unit_source_value")).alias("unit"),
                nw.lit(None, dtype=nw.Float64()).alias("lower"),
                nw.lit(None, dtype=nw.Float64()).alias("upper"),
                nw.col(f"{prefix}_date").alias("date"),
                nw.col(f"{prefix}_id").alias("source_id"),
            )
        )
    return out


def _censoring(engine: Engine, concept: nw.LazyFrame[Any] | None, meas: nw.LazyFrame[Any]) -> tuple[nw.Expr, nw.Expr]:
    """(number, operator code) of a measurement: ``value_as_number`` with the operator named by
    ``operator_concept_id`` in ``concept`` ("<", "<=", ">", ">="; "=" is exact); with no number, the
    source text ``value_source_value`` when it is a number, exact ("4.2") or censored ("<0.5"), read
    by :func:`b2m.io.columns.as_censored` (an ETL that left ``value_as_number`` empty loses no result)."""
    names: dict[int, int] = dict(STANDARD_OPERATORS)
    if concept is not None and "concept_name" in concept.collect_schema():
        used = engine.collect(meas.select("operator_concept_id").unique())["operator_concept_id"].drop_nulls()
        if used.len():
            c = _typed(concept, {"concept_id": "int", "concept_name": "str"})
            found = engine.collect(c.filter(nw.col("concept_id").is_in(used.to_list())))
            names |= {int(i): ad.OPERATORS[n] for i, n in found.iter_rows() if n in ad.OPERATORS}
    stated = (
        nw.col("operator_concept_id").replace_strict(names, default=None, return_dtype=nw.Int8())
        if names
        else nw.lit(None, dtype=nw.Int8())
    )
    number, parsed = as_censored(nw.col("value_source_value"))
    has_number = ~nw.col("value_as_number").is_null()
    # Many ETLs fill value_as_number with the bare number of "<3.6": the source text's operator counts.
    same = has_number & ~parsed.is_null() & (number == nw.col("value_as_number"))
    value = nw.when(has_number).then(nw.col("value_as_number")).otherwise(number)
    operator = nw.when(same & stated.is_null()).then(parsed).when(has_number).then(stated).otherwise(parsed)
    return value, operator


def _result_from_text(col: nw.Expr) -> nw.Expr:
    low = col.str.strip_chars().str.to_lowercase()
    return nw.when(low.is_in(list(PRESENT))).then(nw.lit(1.0)).when(low.is_in(list(ABSENT))).then(nw.lit(0.0))


def _value_concept_results(
    engine: Engine, concept: nw.LazyFrame[Any] | None, rows: nw.LazyFrame[Any]
) -> dict[int, float]:
    """value_as_concept_id -> 1.0 / 0.0 by the concept's name (:data:`PRESENT` / :data:`ABSENT`)."""
    if concept is None or "concept_name" not in concept.collect_schema():
        return {}
    used = engine.collect(rows.select("value_as_concept_id").unique())["value_as_concept_id"].drop_nulls().to_list()
    if not used:
        return {}
    c = _typed(concept, {"concept_id": "int", "concept_name": "str"})
    found = engine.collect(c.filter(nw.col("concept_id").is_in(used)))
    out: dict[int, float] = {}
    for i, name in found.iter_rows():
        low = str(name).strip().lower()
        if low in PRESENT or low in ABSENT:
            out[int(i)] = 1.0 if low in PRESENT else 0.0
    return out


def _ucum(engine: Engine, concept: nw.LazyFrame[Any], ids: list[int]) -> dict[int, str]:
    c = _typed(concept, {"concept_id": "int", "vocabulary_id": "str", "concept_code": "str"})
    rows = engine.collect(c.filter((nw.col("vocabulary_id") == "UCUM") & nw.col("concept_id").is_in(ids)))
    return {int(i): str(code) for i, code in rows.select("concept_id", "concept_code").iter_rows()}


def _last_follow_up(engine: Engine, t: dict[str, nw.LazyFrame[Any]], cond: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
    """Per person, the last date known alive: end of the last observation period, else last record."""
    if "observation_period" in t:
        op = _typed(t["observation_period"], {"person_id": "int", "observation_period_end_date": "date"})
        return (
            op.group_by("person_id")
            .agg(nw.col("observation_period_end_date").max().alias("last_seen"))
            .rename({"person_id": "patient_id"})
        )
    meas = _typed(t["measurement"], {"person_id": "int", "measurement_date": "date"})
    dates = nw.concat(
        [
            cond.select("person_id", nw.col("condition_start_date").alias("d")),
            meas.select("person_id", nw.col("measurement_date").alias("d")),
        ]
    )
    return dates.group_by("person_id").agg(nw.col("d").max().alias("last_seen")).rename({"person_id": "patient_id"})


def _patient_columns(engine: Engine, pts: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
    c = nw.col
    idx = c("index_date")
    month = c("month_of_birth").fill_null(7)
    day = nw.when(c("month_of_birth").is_null()).then(nw.lit(1)).otherwise(c("day_of_birth").fill_null(1))
    before_birthday = (idx.dt.month() < month) | ((idx.dt.month() == month) & (idx.dt.day() < day))
    age = idx.dt.year() - c("year_of_birth") - nw.when(before_birthday).then(nw.lit(1)).otherwise(nw.lit(0))
    sex_src = (
        c("gender_source_value")
        .str.to_lowercase()
        .replace_strict(
            {"m": "male", "male": "male", "f": "female", "female": "female"}, default=None, return_dtype=nw.String()
        )
    )
    sex = (
        nw.when(c("gender_concept_id") == GENDER_MALE)
        .then(nw.lit("male"))
        .when(c("gender_concept_id") == GENDER_FEMALE)
        .then(nw.lit("female"))
        .otherwise(sex_src)
    )
    died = ~c("death_date").is_null() & (c("death_date") >= idx)
    end = nw.when(died).then(c("death_date")).otherwise(c("last_seen"))
    days = engine.day_number(end) - engine.day_number(idx)
    os_months = nw.when(days >= 0).then(days.cast(nw.Float64()) / DAYS_PER_MONTH)
    return pts.select(
        "patient_id",
        "index_date",
        age.cast(nw.Float64()).alias("age"),
        sex.alias("sex"),
        os_months.alias("os_months"),
        nw.when(~os_months.is_null()).then(died).alias("os_event"),
        *(nw.lit(None, dtype=nw.Boolean()).alias(k) for k in ad.FISH_KEYS),
    )
