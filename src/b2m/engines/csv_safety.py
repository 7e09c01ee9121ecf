"""Cells of a CSV file that a spreadsheet would run as a formula are neutralised before they are written.

A CSV file b2m writes is opened by people in spreadsheets; a text cell that starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return is read there as a formula (``=HYPERLINK(...)``,
``+cmd|' /C calc'!A0``, ``@SUM(...)``). The OWASP rule ("CSV Injection") is applied to every text
cell of every CSV b2m writes: such a cell gets a leading single quote, which spreadsheets show as
text and do not evaluate. A number stays a number: numeric columns are never touched, and a text
cell that is a plain number (``-5``, ``+1.5e3``) is left as it is, since no spreadsheet runs it.

One rule, two forms: :func:`safe_cell` for values written from Python (the cohort report's tables),
:func:`safe_frame` as a narwhals expression on every text column, so the engine that writes a file
(Polars, DuckDB, Spark) applies it itself, without the rows passing through this process.
"""

from __future__ import annotations

import re
from typing import Any

import narwhals as nw

FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
# ASCII only: the same pattern means the same on Polars, DuckDB (RE2) and Spark (Java).
NUMBER_PATTERN = r"^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$"
_NUMBER = re.compile(NUMBER_PATTERN)


def safe_cell(value: object) -> object:
    """``value`` as it may go into a CSV cell: text a spreadsheet would evaluate gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not _NUMBER.match(value):
        return QUOTE + value
    return value


def safe_text(expr: nw.Expr) -> nw.Expr:
    """:func:`safe_cell` as an expression on a text column (null stays null)."""
    risky = expr.str.starts_with(FORMULA_PREFIXES[0])
    for prefix in FORMULA_PREFIXES[1:]:
        risky = risky | expr.str.starts_with(prefix)
    risky = risky & ~expr.str.contains(NUMBER_PATTERN)
    return nw.when(risky).then(nw.concat_str(nw.lit(QUOTE), expr)).otherwise(expr)


def safe_frame(frame: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
    """Every text column of ``frame`` through :func:`safe_text`; other columns as they are."""
    schema = frame.collect_schema()
    text = [name for name, dtype in schema.items() if dtype == nw.String]
    if not text:
        return frame
    return frame.with_columns(*(safe_text(nw.col(name)).alias(name) for name in text))
