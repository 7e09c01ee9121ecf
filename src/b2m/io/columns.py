"""Typed columns from whatever a source file had: text, numbers, booleans and dates, read the same on
every engine (narwhals expressions). The edge of the cohort readers (wide, long, OMOP) and of the batch
contract: a value that is not of its column's form becomes unknown here, never a guess."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import narwhals as nw
import polars as pl

from b2m.cohort.at_diagnosis import OPERATORS

# Yes/no spellings of the batch contract (and of every cohort reader); anything else is refused or unknown.
TRUE_FORMS: tuple[str, ...] = ("true", "t", "yes", "y", "1", "positive", "pos")
FALSE_FORMS: tuple[str, ...] = ("false", "f", "no", "n", "0", "negative", "neg")
NULL_FORMS: tuple[str, ...] = ("", "na", "n/a", "nan", "null", "none", "unknown", ".")

# ASCII only, on purpose: engines disagree on Unicode digits and spaces (Polars' \d matches "٣", which
# its cast then refuses; RE2's \s does not match a no-break space), so such text is no number anywhere.
_NUMBER_RE = r"^ *[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)? *$"
_DATE_RE = r"^ *[0-9]{4}-[0-9]{2}-[0-9]{2}"
_SEX = {"f": "female", "female": "female", "w": "female", "m": "male", "male": "male"}


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
    ``"≥ 20"`` -> (20.0, ">="); anything else -> (null, null). Codes: :data:`b2m.cohort.at_diagnosis.OPERATORS`."""
    t = text.str.strip_chars(" ")  # spaces only: engines strip other whitespace differently
    rest = t.str.replace_all(_CENSOR_PREFIX, "", literal=False)  # anchored: at most one match
    number = nw.when(rest.str.contains(_NUMBER_RE)).then(rest.str.strip_chars(" ")).cast(nw.Float64())
    forms = (("<=", "<="), ("≤", "<="), (">=", ">="), ("≥", ">="), ("<", "<"), (">", ">"))  # longest first
    code = OPERATORS
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
        return nw.when(_calendar_date(c)).then(c.str.strip_chars().str.slice(0, 10)).str.to_date("%Y-%m-%d")
    return c.cast(nw.Date())


def _calendar_date(c: nw.Expr) -> nw.Expr:
    """``YYYY-MM-DD...`` naming a day that exists (no 2026-02-30, no month 13): anything else is an
    unknown date, never an engine error (every engine parses only what passed this test)."""
    form = c.str.contains(_DATE_RE)
    text = nw.when(form).then(c.str.strip_chars())

    def part(start: int, length: int) -> nw.Expr:
        return text.str.slice(start, length).cast(nw.Int32())

    year, month, day = part(0, 4), part(5, 2), part(8, 2)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    days = (
        nw.when(month == 2)
        .then(nw.when(leap).then(nw.lit(29)).otherwise(nw.lit(28)))
        .when(month.is_in([4, 6, 9, 11]))
        .then(nw.lit(30))
        .otherwise(nw.lit(31))
    )
    return form & month.is_between(1, 12) & (day >= 1) & (day <= days)


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
        nw.when(low.is_in(list(TRUE_FORMS)))
        .then(nw.lit(value=True))
        .when(low.is_in(list(FALSE_FORMS)))
        .then(nw.lit(value=False))
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


def renamed(frame: nw.LazyFrame[Any], columns: Mapping[str, str] | None) -> nw.LazyFrame[Any]:
    if not columns:
        return frame
    names = frame.collect_schema().names()
    return frame.rename({k: v for k, v in columns.items() if k in names})


def dtype_of(schema: Mapping[str, Any], name: str) -> nw.dtypes.DType | None:
    if name not in schema:
        return None
    dtype: nw.dtypes.DType = nw.from_native(pl.DataFrame(schema=[(name, schema[name])])).schema[name]
    return dtype
