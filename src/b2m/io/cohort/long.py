"""Long lab feeds: one lab result per row (``patient_id, analyte, value, unit, date``, optional limits
and source id) with a patient table (index date = diagnosis, age, sex, outcomes, FISH)."""

from __future__ import annotations

from typing import Any

import narwhals as nw

from b2m.engines import Engine
from b2m.errors import FileFormatError
from b2m.io.columns import as_censored, as_date, as_flag, as_float, as_int, as_sex, as_string
from b2m.rules.inputs import FISH_COLUMNS


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
