"""Batch staging files (``b2m stage``): CSV, Parquet or Excel in, the same plus staging columns out.

The file is streamed through Polars' streaming engine (scan, validate, stage, sink), so memory stays
bounded whatever the file size and nothing is held in Python; only the first line of a CSV file is
read here, to refuse a hostile header (a million columns, a NUL byte, binary data) before any work
and to detect its dialect (comma, or semicolon / tab with a decimal comma).

Every value of the contract columns is validated: a malformed file stops with one line naming the
column, the row and the accepted forms (never the row itself or an identifier); with ``on_invalid
="null"`` the value becomes unknown and ``b2m_issues`` says why. Censored results (``"<0.5"``,
``">20"``) stay censored and are staged by their direction, as in the cohort loaders
(:func:`b2m.cohort.assemble.censored_inputs`). A value outside its column's plausible range gets the
unit layer's hint (``looks like g/L``: :func:`b2m.units.labvalue.check_plausible`). The output goes
to a temporary file beside the target and replaces it only when complete
(:class:`b2m.io.publish.Outputs`).
"""

from __future__ import annotations

import csv
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import narwhals as nw
import polars as pl

from b2m.cohort.assemble import CENSORABLE_INPUTS, INTERVAL_COLUMNS, censored_inputs
from b2m.cohort.at_diagnosis import OPERATOR_NAMES
from b2m.engines.csv_safety import safe_frame
from b2m.errors import FileFormatError, ImplausibleValueError
from b2m.io.columns import FALSE_FORMS, NULL_FORMS, TRUE_FORMS, as_censored
from b2m.io.publish import Outputs
from b2m.rules.inputs import BATCH_COLUMNS, FISH_COLUMNS, NUMERIC_COLUMNS
from b2m.rules.registry import output_columns
from b2m.rules.staging import stage_frame
from b2m.units.analytes import ANALYTES

INPUT_FORMATS = (".csv", ".parquet", ".xlsx")
OUTPUT_FORMATS = (".csv", ".parquet")
FORMATS = OUTPUT_FORMATS  # kept for callers that check an output suffix
# Every staging system builds on ISS, which needs both: a file without either is most likely a
# misspelt header, not a table of unknowns. The other six may be absent (unknown for every row).
REQUIRED_COLUMNS: tuple[str, ...] = ("b2m_mg_l", "albumin_g_dl")
MAX_COLUMNS = 4096
MAX_HEADER_BYTES = 1 << 20
_SNIFF_BYTES = MAX_HEADER_BYTES + 1
_BINARY_PROBE = 1 << 16
_MAX_PARQUET_FOOTER = 64 << 20
_LOCATE_ROWS = 50_000_000  # a parse error is looked for this far (bounded time on the error path)
CENSORED_COLUMNS: dict[str, str] = {
    "b2m_mg_l": "b2m_censored",
    "albumin_g_dl": "albumin_censored",
    "ldh_u_l": "ldh_censored",
}
ISSUES_COLUMN = "b2m_issues"
OnInvalid = Literal["error", "null"]

# Numeric batch columns -> analyte whose plausibility bounds apply (the ULN shares LDH's bounds).
_BOUNDS_OF = {"b2m_mg_l": "b2m", "albumin_g_dl": "albumin", "ldh_u_l": "ldh", "ldh_uln_u_l": "ldh"}
_NUMBER_LIKE = set("0123456789.,<>=≤≥+-eE ")
_BAD, _RAW, _NUM = "_b2m_bad_", "_b2m_raw_", "_b2m_num_"
_NOT_A_NUMBER, _IMPLAUSIBLE, _NOT_A_FLAG, _CENSORED_LIMIT = 1, 2, 3, 4

Progress = Callable[[int], None]
Notice = Callable[[str], None]

NUMBER_FORMS = (
    "plain numbers in the column's unit, a censored value such as '<0.5' or '>20' (B2M, albumin, LDH), "
    "or empty for unknown"
)
FLAG_FORMS = "true/false, 1/0, yes/no, or empty for unknown"
_NO_PROBLEM_FOUND = "a row it cannot parse"
_CSV_FORMS = "a CSV file (comma-, semicolon- or tab-separated UTF-8 text) with a header row"


@dataclass(frozen=True, slots=True)
class Dialect:
    """How a CSV file was read: its separator, and whether numbers may use a decimal comma."""

    separator: str
    decimal_comma: bool

    def describe(self) -> str:
        name = {",": "comma", ";": "semicolon", "\t": "tab"}[self.separator]
        return f"{name}-separated" + (", decimal comma accepted" if self.decimal_comma else "")


@dataclass(frozen=True, slots=True)
class _Source:
    frame: pl.LazyFrame
    schema: dict[str, pl.DataType]
    names: list[str]  # as in the file (a duplicate is refused before the schema is used)
    dialect: Dialect | None
    rows: int | None  # known (Parquet, Excel) or estimated (CSV) for the progress bar


def _format(path: Path, field: str, formats: tuple[str, ...]) -> str:
    suffix = path.suffix.lower()
    if suffix not in formats:
        raise FileFormatError(field, f"unsupported file type {path.suffix or '(none)'!r}", ", ".join(formats))
    return suffix


# ---- reading ---------------------------------------------------------------------------------------


def _sniff_csv(path: Path) -> tuple[Dialect, list[str], int | None]:
    """The header of a CSV file, read from its first line only: dialect, column names, estimated rows."""
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if not head:
        raise FileFormatError(str(path), "is an empty CSV file (no header row)", _CSV_FORMS)
    if b"\x00" in head[:_BINARY_PROBE]:
        where = "in the header row" if b"\x00" in head.split(b"\n", 1)[0] else "in its first 64 KiB"
        raise FileFormatError(str(path), f"has a NUL byte {where}: a binary file, not CSV text", _CSV_FORMS)
    end = head.find(b"\n")
    if end < 0 and len(head) > MAX_HEADER_BYTES:
        raise FileFormatError(
            str(path), f"header row longer than {MAX_HEADER_BYTES >> 20} MiB", f"at most {MAX_COLUMNS} columns"
        )
    raw = head if end < 0 else head[:end]
    try:
        line = raw.decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError:
        raise FileFormatError(str(path), "header row is not UTF-8 text", _CSV_FORMS) from None
    counts = {sep: line.count(sep) for sep in (",", ";", "\t")}
    separator = max(counts, key=lambda s: (counts[s], s == ","))
    if counts[separator] + 1 > MAX_COLUMNS:
        raise FileFormatError(
            str(path), f"header has {counts[separator] + 1:,} columns", f"at most {MAX_COLUMNS} columns"
        )
    names = next(csv.reader([line], delimiter=separator), [])
    rows = None
    if end >= 0:
        lines = head.count(b"\n")
        size = path.stat().st_size
        rows = max(lines - 1, 0) if len(head) >= size else int((size - end) / max(len(head) - end, 1) * lines)
    return Dialect(separator, decimal_comma=separator != ","), names, rows


def _check_parquet(path: Path) -> None:
    """Refuse what is not a whole Parquet file (magic bytes, footer length) before a reader opens it."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(4)
        fh.seek(max(size - 8, 0))
        tail = fh.read(8)
    if size < 12 or head != b"PAR1" or tail[4:] != b"PAR1":
        raise FileFormatError(
            str(path), "is not a complete Parquet file (truncated or another format)", "an Apache Parquet file"
        )
    footer = int.from_bytes(tail[:4], "little")
    if footer > size - 12:
        raise FileFormatError(str(path), "has a corrupt Parquet footer (truncated?)", "an Apache Parquet file")
    if footer > _MAX_PARQUET_FOOTER:
        raise FileFormatError(
            str(path), f"Parquet footer larger than {_MAX_PARQUET_FOOTER >> 20} MiB", f"at most {MAX_COLUMNS} columns"
        )


def _open(path: Path) -> _Source:
    fmt = _format(path, "input", INPUT_FORMATS)
    if path.is_dir():
        raise FileFormatError("input", f"is a folder: {path}", "a path to a .csv, .parquet or .xlsx file")
    if not path.is_file():
        raise FileFormatError("input", f"no such file: {path}", "a path to a .csv, .parquet or .xlsx file")
    if fmt == ".csv":
        dialect, names, rows = _sniff_csv(path)
        _check_names(names)
        frame = pl.scan_csv(path, separator=dialect.separator, infer_schema=False, raise_if_empty=False)
        return _Source(frame, dict.fromkeys(names, pl.String()), names, dialect, rows)
    if fmt == ".parquet":
        _check_parquet(path)
        try:
            frame = pl.scan_parquet(path)
            schema = dict(frame.collect_schema())
        except pl.exceptions.PolarsError:
            raise FileFormatError(
                str(path), "is not a readable Parquet file (corrupt metadata)", "an Apache Parquet file"
            ) from None
        if len(schema) > MAX_COLUMNS:
            raise FileFormatError(str(path), f"has {len(schema):,} columns", f"at most {MAX_COLUMNS} columns")
        _check_names(list(schema))
        rows = _parquet_rows(frame)
        return _Source(frame, schema, list(schema), None, rows)
    table = _read_xlsx(path)
    return _Source(table.lazy(), dict(table.schema), table.columns, None, table.height)


def _parquet_rows(frame: pl.LazyFrame) -> int | None:
    try:
        return int(frame.select(pl.len()).collect().item())  # from the footer's row-group counts
    except pl.exceptions.PolarsError:
        return None


def _read_xlsx(path: Path) -> pl.DataFrame:
    """The first sheet of an Excel workbook, every cell as text (an .xlsx sheet holds at most 1,048,576 rows)."""
    import fastexcel

    try:
        sheet = fastexcel.read_excel(str(path)).load_sheet(0, dtypes="string")
        if sheet.width > MAX_COLUMNS:
            raise FileFormatError(
                str(path), f"first sheet has {sheet.width:,} columns", f"at most {MAX_COLUMNS} columns"
            )
        table = sheet.to_polars()
    except fastexcel.FastExcelError:
        raise FileFormatError(
            str(path),
            "is not a readable Excel workbook",
            "an .xlsx workbook whose first sheet has a header row (or .csv, .parquet)",
        ) from None
    _check_names(table.columns)
    return table


def _check_names(names: list[str]) -> None:
    if any("\x00" in n for n in names):
        raise FileFormatError("input", "a column name contains a NUL byte", "column names in plain text")


def check_columns(names: list[str], *, censored_outputs: bool = True) -> list[str]:
    """Duplicates, the two required columns and output columns are refused (``censored_outputs``: the
    ``*_censored`` columns too, which b2m stage writes); returns the absent optional ones."""
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise FileFormatError("input", f"duplicate column(s) {', '.join(dupes)}", "each column name once")
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise FileFormatError(
            "input",
            f"missing column(s) {', '.join(missing)}",
            f"columns {', '.join(REQUIRED_COLUMNS)} (every staging system builds on them); optional: "
            + ", ".join(c for c in BATCH_COLUMNS if c not in REQUIRED_COLUMNS),
        )
    written = (*output_columns(), ISSUES_COLUMN, *(CENSORED_COLUMNS.values() if censored_outputs else ()))
    clash = [c for c in written if c in names]
    if clash:
        raise FileFormatError(
            "input", f"already has output column(s) {', '.join(clash)}", "an input without staging columns"
        )
    return [c for c in BATCH_COLUMNS if c not in names]


# ---- validation as expressions -------------------------------------------------------------------


def _numeric(col: str, dtype: pl.DataType, dialect: Dialect | None, censored: bool) -> list[list[pl.Expr]]:
    """Steps that each read the columns the step before wrote (no sub-expression is evaluated twice, and
    the slow text forms are parsed only on the few rows that are not plain numbers): ``col`` as a
    canonical number, ``<col>__op`` for a censored lab, ``_b2m_bad_<col>`` a problem code. Step 3 is
    :func:`b2m.io.columns.as_censored` (the cohort loaders' reading of ``"<0.5"``), on narwhals."""
    censorable = col in CENSORED_COLUMNS
    a = ANALYTES[_BOUNDS_OF[col]]
    lo, hi = a.plausible
    t, e, x, n, o, nf = (f"_b2m_{k}_{col}" for k in ("t", "e", "x", "n", "o", "nf"))
    code = {k: pl.lit(k, pl.Int8) for k in (_NOT_A_NUMBER, _CENSORED_LIMIT, _IMPLAUSIBLE)}
    number = pl.col(col)
    if dtype == pl.String:
        odd: pl.Expr = pl.when((pl.col(e).is_null() | ~pl.col(e).is_finite()) & pl.col(col).is_not_null()).then(
            pl.col(t)
        )
        if dialect is not None and dialect.decimal_comma:
            odd = odd.str.replace_all(",", ".", literal=True)
        exact = pl.when(pl.col(e).is_finite()).then(pl.col(e))
        bad: pl.Expr = (
            pl.when(pl.col(x).is_not_null() & ~pl.col(nf) & pl.col(n).is_null())
            .then(code[_NOT_A_NUMBER])
            .when(pl.col(o).is_not_null() & pl.lit(not censored))
            .then(code[_NOT_A_NUMBER])
            .when(pl.col(o).is_not_null() & pl.lit(not censorable))
            .then(code[_CENSORED_LIMIT])
            .when(~number.is_between(lo, hi) | number.is_nan())
            .then(code[_IMPLAUSIBLE])
        )
        steps: list[list[pl.Expr]] = [
            [pl.col(col).cast(pl.Float64, strict=False).alias(e)],  # plain numbers: most rows
            [pl.when(pl.col(e).is_null()).then(pl.col(col)).str.strip_chars().alias(t)],
            [odd.alias(x)],
            [],  # as_censored on the odd rows (narwhals), see _validated
            [
                pl.coalesce(exact, pl.col(n)).alias(col),
                pl.col(x).str.to_lowercase().is_in(list(NULL_FORMS)).fill_null(value=False).alias(nf),
            ],
            [bad.alias(f"{_BAD}{col}"), *([pl.col(o).alias(f"{col}__op")] if censorable else [])],
        ]
        return steps
    if not (dtype.is_numeric() or dtype == pl.Null):
        raise FileFormatError(f"column {col}", f"has type {dtype}", "numbers, or text")
    implausible = pl.when(~number.is_between(lo, hi) | number.is_nan()).then(code[_IMPLAUSIBLE])
    last = [implausible.alias(f"{_BAD}{col}"), *([pl.lit(None, pl.Int8).alias(f"{col}__op")] if censorable else [])]
    return [[pl.col(col).cast(pl.Float64)], [], [], [], [], last]


def _flag(col: str, dtype: pl.DataType) -> list[list[pl.Expr]]:
    """Yes/no: the usual spellings by lookup, the rest (few rows) through strip and lower case."""
    c, y, v = pl.col(col), f"_b2m_y_{col}", f"_b2m_v_{col}"
    code = pl.lit(_NOT_A_FLAG, pl.Int8)
    if dtype == pl.Boolean or dtype == pl.Null:
        return [[c.cast(pl.Boolean).alias(col), pl.lit(None, pl.Int8).alias(f"{_BAD}{col}")], [], []]
    if dtype.is_integer():
        clean = pl.when(c == 1).then(True).when(c == 0).then(False)
        return [
            [clean.alias(col), pl.when(c.is_not_null() & ~c.is_in([0, 1])).then(code).alias(f"{_BAD}{col}")],
            [],
            [],
        ]
    if dtype != pl.String:
        raise FileFormatError(f"column {col}", f"has type {dtype}", FLAG_FORMS)
    forms = {**dict.fromkeys(TRUE_FORMS, True), **dict.fromkeys(FALSE_FORMS, False)}
    spelt = {k: b for f, b in forms.items() for k in (f, f.upper(), f.capitalize())}
    low = pl.col(y).str.strip_chars().str.to_lowercase()
    unknown = pl.col(y).is_not_null() & ~low.is_in([*TRUE_FORMS, *FALSE_FORMS, *NULL_FORMS])
    yes = [k for k, b in spelt.items() if b]
    no = [k for k, b in spelt.items() if not b]
    first = [  # is_in and when/then, not replace_strict: they stream (replace_strict held the file in memory)
        pl.when(c.is_in(yes)).then(True).when(c.is_in(no)).then(False).alias(v),
    ]
    second = [pl.when(pl.col(v).is_null()).then(c).alias(y)]
    last = [
        pl.coalesce(
            pl.col(v), pl.when(low.is_in(list(TRUE_FORMS))).then(True).when(low.is_in(list(FALSE_FORMS))).then(False)
        ).alias(col),
        pl.when(unknown).then(code).alias(f"{_BAD}{col}"),
    ]
    return [first, second, last]


_PROBLEMS = {
    _NOT_A_NUMBER: "not a number",
    _NOT_A_FLAG: "not a yes/no value",
    _CENSORED_LIMIT: "a censored value is not a limit",
}


def _problem(col: str, code: int) -> str:
    if code == _IMPLAUSIBLE:
        a = ANALYTES[_BOUNDS_OF[col]]
        lo, hi = a.plausible
        return f"implausible for {a.label} (plausible {lo:g}-{hi:g} {a.display}: {a.bounds_reason})"
    return _PROBLEMS[code]


def _forms(col: str) -> str:
    return FLAG_FORMS if col in FISH_COLUMNS else f"{NUMBER_FORMS} ({ANALYTES[_BOUNDS_OF[col]].display})"


def unit_hint(col: str, value: float) -> str:
    """The unit layer's "looks like ..." hint for a number outside ``col``'s plausible range, or ''."""
    from b2m.units.labvalue import check_plausible

    key = _BOUNDS_OF[col]
    try:
        check_plausible(key, value, value, ANALYTES[key].display, col)
    except ImplausibleValueError as e:
        return e.hint
    return ""


def _validated(
    frame: pl.LazyFrame, schema: dict[str, pl.DataType], dialect: Dialect | None, keep: bool, censored: bool = True
) -> pl.LazyFrame:
    """Every contract column canonical, with its problem code; ``keep``: the raw text and number too."""
    lf = frame
    if keep:
        lf = lf.with_columns(pl.col(c).cast(pl.String).alias(f"{_RAW}{c}") for c in BATCH_COLUMNS)
    numeric = {c: _numeric(c, schema[c], dialect, censored) for c in NUMERIC_COLUMNS}
    flags = [_flag(c, schema[c]) for c in FISH_COLUMNS]
    for i in range(6):
        if i == 3:  # censored forms ("<0.5", "≥ 20") as the cohort loaders read them
            odd = [c for c in NUMERIC_COLUMNS if schema[c] == pl.String]
            if not odd:
                continue
            nlf = nw.from_native(lf)
            parsed = [as_censored(nw.col(f"_b2m_x_{c}")) for c in odd]
            nlf = nlf.with_columns(
                *(
                    e
                    for c, (num, op) in zip(odd, parsed, strict=True)
                    for e in (num.alias(f"_b2m_n_{c}"), op.alias(f"_b2m_o_{c}"))
                )
            )
            lf = nlf.to_native()
            continue
        exprs = [e for steps in numeric.values() for e in steps[i]]
        exprs += [e for f in flags for e in (f[0] if i == 0 else f[1] if i == 1 else f[2] if i == 5 else [])]
        if exprs:
            lf = lf.with_columns(exprs)
    any_bad = pl.any_horizontal(pl.col(f"{_BAD}{c}").is_not_null() for c in BATCH_COLUMNS)
    lf = lf.with_columns(any_bad.alias("_b2m_any_bad"))
    if keep:
        lf = lf.with_columns(pl.col(c).alias(f"{_NUM}{c}") for c in NUMERIC_COLUMNS)
    names = lf.collect_schema().names()
    scratch = [n for n in names if n.startswith("_b2m_") and not n.startswith((_BAD, _RAW, _NUM, "_b2m_any_bad"))]
    return lf.drop(scratch)


def prepare(df: pl.DataFrame, offset: int = 0, on_invalid: OnInvalid = "error") -> pl.DataFrame:
    """Check a frame of the batch contract (every column present) and give it canonical dtypes.

    Exact numbers only (a censored value is "not a number" here; ``b2m stage`` keeps it censored).
    With ``on_invalid="null"`` a bad value becomes unknown and a ``b2m_issues`` column says why; with
    ``"error"`` the first one is refused, naming its row (``offset`` + its position).
    """
    check_columns(df.columns, censored_outputs=False)
    absent = [c for c in BATCH_COLUMNS if c not in df.columns]
    if absent:
        df = df.with_columns(pl.lit(None, pl.String).alias(c) for c in absent)
    schema = dict(df.schema)
    checked = _validated(df.lazy(), schema, None, keep=True, censored=False).collect()
    if on_invalid == "error":
        first = checked.with_row_index("_b2m_row", offset=offset + 1).filter(pl.col("_b2m_any_bad"))
        if first.height:
            raise _bad_value_error(first.row(0, named=True))
    out = _nulled(checked.lazy(), hints=True).collect() if on_invalid == "null" else checked
    helpers = [c for c in out.columns if c.startswith(("_b2m_", *(f"{c}__" for c in BATCH_COLUMNS)))]
    return out.drop(helpers)


def _shown(col: str, raw: object) -> str:
    """A refused value as it may appear in an error: a short number-like text; anything else by size only
    (a shifted column could hold an identifier, and no identifier goes into an error message)."""
    text = "" if raw is None else str(raw)
    if col in NUMERIC_COLUMNS and 0 < len(text) <= 24 and set(text) <= _NUMBER_LIKE:
        return f": {text!r}"
    return f" (text of {len(text)} characters)"


def _bad_value_error(row: dict[str, Any]) -> FileFormatError:
    """The error for the first bad value of a row (``_b2m_row`` = its 1-based row number)."""
    col = next(c for c in BATCH_COLUMNS if row.get(f"{_BAD}{c}") is not None)
    code = int(row[f"{_BAD}{col}"])
    hint = ""
    number = row.get(f"{_NUM}{col}")
    if code == _IMPLAUSIBLE and isinstance(number, float) and number == number:
        hint = unit_hint(col, number)
    return FileFormatError(
        f"column {col}, row {row['_b2m_row']}",
        _problem(col, code) + _shown(col, row.get(f"{_RAW}{col}")),
        _forms(col),
        hint=hint,
    )


# ---- the --on-invalid null policy ----------------------------------------------------------------


def _hints_udf(col: str) -> Callable[[pl.Series], pl.Series]:
    """Per batch: the unit hint of each distinct implausible number (few), mapped back onto the rows."""

    def hints(numbers: pl.Series) -> pl.Series:
        distinct = numbers.drop_nulls().drop_nans().unique().to_list()[:10_000]
        if not distinct:
            return pl.repeat(None, len(numbers), dtype=pl.String, eager=True)
        found = {v: unit_hint(col, v) or None for v in distinct}
        return numbers.replace_strict(found, default=None, return_dtype=pl.String)

    return hints


def _nulled(lf: pl.LazyFrame, *, hints: bool) -> pl.LazyFrame:
    """Bad values become unknown; ``b2m_issues`` names column, problem, value and the unit hint."""
    texts: list[pl.Expr] = []
    for col in BATCH_COLUMNS:
        code, raw = pl.col(f"{_BAD}{col}"), pl.col(f"{_RAW}{col}").fill_null("")
        codes = (_NOT_A_FLAG,) if col in FISH_COLUMNS else (_NOT_A_NUMBER, _CENSORED_LIMIT, _IMPLAUSIBLE)
        problem = pl.lit(None, pl.String)
        for k in codes:  # a when-chain, not replace_strict: it streams
            problem = pl.when(code == k).then(pl.lit(_problem(col, k))).otherwise(problem)
        text = pl.concat_str(pl.lit(f"{col}: "), problem, pl.lit(" "), raw)
        if col in NUMERIC_COLUMNS and hints:
            implausible = pl.when(code == _IMPLAUSIBLE).then(pl.col(f"{_NUM}{col}"))
            hint = implausible.map_batches(_hints_udf(col), return_dtype=pl.String, is_elementwise=True)
            text = pl.concat_str(text, pl.concat_str(pl.lit(" ("), hint, pl.lit(")")), ignore_nulls=True)
        texts.append(pl.when(code.is_not_null()).then(text))
    issues = pl.when(pl.col("_b2m_any_bad")).then(pl.concat_str(texts, separator="; ", ignore_nulls=True))
    nulled = [pl.when(pl.col(f"{_BAD}{c}").is_null()).then(pl.col(c)).alias(c) for c in BATCH_COLUMNS]
    nulled += [
        pl.when(pl.col(f"{_BAD}{c}").is_null()).then(pl.col(f"{c}__op")).alias(f"{c}__op") for c in CENSORED_COLUMNS
    ]
    return lf.with_columns(issues.alias(ISSUES_COLUMN)).with_columns(nulled)


# ---- the streamed run ----------------------------------------------------------------------------


class _BadValueSeen(Exception):
    """Raised inside the engine to stop the stream at the first invalid value (error policy)."""


class _Inspector:
    """Sees every batch on its way to the sink: counts rows, reports progress, stops at a bad value."""

    def __init__(self, stop_on_bad: bool, progress: Progress | None) -> None:
        self.stop_on_bad, self.progress = stop_on_bad, progress
        self.rows = 0
        self.bad_seen = False
        self._lock = threading.Lock()

    def __call__(self, bad: pl.Series) -> pl.Series:
        if self.stop_on_bad and bad.any():
            self.bad_seen = True
            raise _BadValueSeen
        with self._lock:
            self.rows += len(bad)
        if self.progress:
            self.progress(len(bad))
        return bad.is_not_null() | bad.is_null()  # every row is kept


def _staged(lf: pl.LazyFrame, schema: dict[str, pl.DataType]) -> pl.LazyFrame:
    """The staging columns (:func:`b2m.rules.staging.stage_frame`); censored labs staged as intervals."""
    censorable = any(schema[c] == pl.String for c in CENSORABLE_INPUTS)
    if not censorable:
        staged: pl.LazyFrame = stage_frame(lf)
        return staged.with_columns(pl.lit(None, pl.String).alias(c) for c in CENSORED_COLUMNS.values())
    frame, inputs = censored_inputs(nw.from_native(lf))
    staged = stage_frame(frame.to_native(), inputs).drop(*INTERVAL_COLUMNS)
    shown = []
    for col, name in CENSORED_COLUMNS.items():
        op = pl.col(f"{col}__op")
        sign = pl.lit(None, pl.String)
        for k, v in OPERATOR_NAMES.items():  # a when-chain, not replace_strict: it streams
            sign = pl.when(op == k).then(pl.lit(v)).otherwise(sign)
        text = pl.concat_str(sign, pl.col(col).cast(pl.String))
        shown += [pl.when(op.is_not_null()).then(text).alias(name), pl.when(op.is_null()).then(pl.col(col)).alias(col)]
    return staged.with_columns(shown)


def _plan(source: _Source, names: list[str], on_invalid: OnInvalid, inspector: _Inspector) -> pl.LazyFrame:
    keep = on_invalid == "null"
    lf = _validated(source.frame, source.schema, source.dialect, keep)
    lf = lf.filter(pl.col("_b2m_any_bad").map_batches(inspector, return_dtype=pl.Boolean, is_elementwise=True))
    if keep:
        lf = _nulled(lf, hints=True)
    lf = _staged(lf, source.schema)
    issues = [ISSUES_COLUMN] if keep else []
    columns = [*names, *CENSORED_COLUMNS.values(), *issues, *output_columns()]
    # Labels stay Enum: text in a CSV file; in Parquet a dictionary-encoded string column (the cheapest
    # to write; every reader sees "I|II": pandas as a category, Polars as an Enum).
    return lf.select(columns)


def _check_output(src: Path, dst: Path) -> None:
    if dst.is_dir():
        raise FileFormatError("output", f"is a directory: {dst}", "a file path ending in .csv or .parquet")
    if not dst.parent.is_dir():
        raise FileFormatError("output", f"folder does not exist: {dst.parent}", "a path in an existing folder")
    same = src.resolve() == dst.resolve() or (dst.exists() and src.exists() and os.path.samefile(src, dst))
    if same:
        raise FileFormatError("output", "is the same file as the input", "a different output path")


def estimated_rows(path: Path) -> int | None:
    """Rows the progress callback will count (exact for Parquet, estimated from the first MiB of a CSV)."""
    try:
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            _check_parquet(path)
            return _parquet_rows(pl.scan_parquet(path))
        if suffix == ".csv":
            return _sniff_csv(path)[2]
    except (FileFormatError, OSError):
        return None
    return None


def stage_file(
    src: Path,
    dst: Path,
    progress: Progress | None = None,
    on_invalid: OnInvalid = "error",
    notice: Notice | None = None,
) -> int:
    """Stage every row of ``src`` (CSV, Parquet or Excel) into ``dst`` (CSV or Parquet). Returns rows written.

    ``on_invalid``: ``"error"`` stops at the first invalid value (nothing is written); ``"null"`` makes
    it unknown and records the problem in the ``b2m_issues`` column. ``notice`` receives one line for
    each thing the user should know (the CSV dialect used, absent columns).
    """
    out_fmt = _format(dst, "output", OUTPUT_FORMATS)
    _format(src, "input", INPUT_FORMATS)
    _check_output(src, dst)
    with Outputs({"output": dst}) as outputs:
        source = _open(src)
        absent = check_columns(source.names)
        names = list(source.schema)
        if source.dialect is not None and source.dialect.separator != ",":
            _say(notice, f"read {src.name} as {source.dialect.describe()}")
        if absent:
            _say(notice, f"column(s) {', '.join(absent)} absent from the input: unknown for every row")
            source = _Source(
                source.frame.with_columns(pl.lit(None, pl.String).alias(c) for c in absent),
                {**source.schema, **dict.fromkeys(absent, pl.String())},
                [*names, *absent],
                source.dialect,
                source.rows,
            )
            names = [*names, *absent]
        if out_fmt == ".csv":
            nested = [n for n, t in source.schema.items() if t.is_nested()]
            if nested:
                raise FileFormatError(
                    "output", f"column(s) {', '.join(nested)} hold nested values, which CSV cannot", "a .parquet output"
                )
        inspector = _Inspector(on_invalid == "error", progress)
        plan = _plan(source, names, on_invalid, inspector)
        tmp = outputs.temporary("output")
        try:
            if out_fmt == ".csv":
                safe: pl.LazyFrame = safe_frame(nw.from_native(plan)).to_native()
                safe.sink_csv(tmp)
            else:
                plan.sink_parquet(tmp)
        except BaseException as e:
            if inspector.bad_seen:
                raise _locate_bad(source, on_invalid) from None
            raise _read_error(src, source, e) from None
        outputs.publish()
    return inspector.rows


def _say(notice: Notice | None, text: str) -> None:
    if notice is not None:
        notice(text)


def _locate_bad(source: _Source, on_invalid: OnInvalid) -> FileFormatError:
    """The first invalid value, found by a second pass that stops there (the error path only)."""
    lf = _validated(source.frame, source.schema, source.dialect, keep=True).with_row_index("_b2m_row", offset=1)
    first = lf.filter(pl.col("_b2m_any_bad")).head(1).collect()
    if not first.height:  # cannot happen: the first pass saw one
        return FileFormatError("input", "has an invalid value", NUMBER_FORMS)
    return _bad_value_error(first.row(0, named=True))


def _is_panic(e: BaseException) -> bool:
    return type(e).__name__ == "PanicException"


def _read_error(src: Path, source: _Source, e: BaseException) -> BaseException:
    """An engine's failure as one line naming the file, the problem and, for CSV, the row (never its text)."""
    if not isinstance(e, pl.exceptions.PolarsError | OSError) and not _is_panic(e):
        return e  # KeyboardInterrupt, SystemExit, our own errors: as they are
    message = str(e).lower()
    if isinstance(e, OSError) or "os error" in message or "no space" in message:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else "the disk refused it"
        return FileFormatError("output", f"cannot be written ({reason})", "a folder with space you can write to")
    if source.dialect is not None:
        return FileFormatError(str(src), f"not a readable CSV file ({_locate_csv_problem(src, source)})", _CSV_FORMS)
    if src.suffix.lower() == ".parquet":
        return FileFormatError(
            str(src), "is not a readable Parquet file (corrupt or truncated data)", "an Apache Parquet file"
        )
    return FileFormatError(str(src), "could not be read", "a .csv, .parquet or .xlsx file")


def _locate_csv_problem(path: Path, source: _Source) -> str:
    """Where a CSV file stops being CSV: the first row whose fields do not match the header, a quote
    left open, or text that is not UTF-8. Only row numbers and counts, never the row itself."""
    assert source.dialect is not None
    width = len(source.schema)
    row = 0
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, delimiter=source.dialect.separator, strict=True)
            next(reader, None)
            for row, record in enumerate(reader, start=1):
                if record and len(record) != width:
                    return f"row {row} has {len(record)} fields, the header {width}"
                if row >= _LOCATE_ROWS:
                    break
    except UnicodeDecodeError:
        return f"text that is not UTF-8 after row {row}"
    except csv.Error:
        return f"row {row + 1}: a quote is left open or misplaced"
    return _NO_PROBLEM_FOUND


def check_input_file(path: Path) -> None:
    """Refuse an input file the engines would fail on, with one line: an empty, binary or not-UTF-8 CSV,
    a header too wide, an incomplete Parquet file (used by the cohort loaders before an engine reads)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        names = _sniff_csv(path)[1]
        _check_names(names)
    elif suffix == ".parquet":
        _check_parquet(path)


def engine_failure(e: BaseException, inputs: list[Path]) -> BaseException:
    """An engine's error while reading ``inputs`` as one line that names the file and, for CSV, the row
    (never the engine's message: it may quote a row); anything that is not an engine error as it is."""
    module = type(e).__module__ or ""
    engine = isinstance(e, pl.exceptions.PolarsError) or _is_panic(e)
    engine = engine or module.startswith(("duckdb", "pyarrow", "pyspark", "py4j", "_duckdb"))
    if not engine:
        return e
    for path in inputs:
        if path.is_file() and path.suffix.lower() == ".csv":
            dialect, names, _ = _sniff_csv(path)
            source = _Source(pl.LazyFrame(), dict.fromkeys(names, pl.String()), names, dialect, None)
            problem = _locate_csv_problem(path, source)
            if problem != _NO_PROBLEM_FOUND:
                return FileFormatError(str(path), f"not a readable CSV file ({problem})", _CSV_FORMS)
    shown = ", ".join(p.name for p in inputs) or "the input"
    return FileFormatError(
        shown, f"could not be read ({type(e).__name__} in the engine)", "well-formed CSV or Parquet tables"
    )
