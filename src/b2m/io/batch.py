"""Batch staging files (``b2m stage``): CSV or Parquet in, the same plus staging columns out.

Files are streamed in chunks, so memory stays bounded whatever the file size, and every chunk is
validated before anything is written: a malformed file stops with one line naming the column, the
row and the accepted forms. Output is written to a temporary file and moved into place only when
complete, so an existing output is never left half-overwritten.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Literal

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from b2m.errors import FileFormatError
from b2m.io.columns import FALSE_FORMS, NULL_FORMS, TRUE_FORMS
from b2m.rules.inputs import BATCH_COLUMNS, FISH_COLUMNS, NUMERIC_COLUMNS
from b2m.rules.registry import output_columns
from b2m.rules.staging import stage_frame
from b2m.units.analytes import ANALYTES

FORMATS = (".csv", ".parquet")
CHUNK_ROWS = 1_000_000

# Numeric batch columns -> analyte whose plausibility bounds apply (the ULN shares LDH's bounds).
_BOUNDS_OF = {"b2m_mg_l": "b2m", "albumin_g_dl": "albumin", "ldh_u_l": "ldh", "ldh_uln_u_l": "ldh"}

Progress = Callable[[int], None]


def _format(path: Path, field: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise FileFormatError(field, f"unsupported file type {path.suffix or '(none)'!r}", ", ".join(FORMATS))
    return suffix


class _CountingReader:
    """File wrapper reporting bytes read (CSV progress without a second pass)."""

    def __init__(self, raw: BinaryIO, progress: Progress | None) -> None:
        self._raw, self._progress = raw, progress
        self.closed = False

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        if self._progress:
            self._progress(len(data))
        return data

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True


_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError)


def _open_csv(path: Path, fh: BinaryIO, progress: Progress | None) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    # Every contract column is read as text first so validation can name the offending value.
    try:
        reader = pacsv.open_csv(
            _CountingReader(fh, progress),
            read_options=pacsv.ReadOptions(block_size=64 << 20),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in BATCH_COLUMNS}),
        )
    except _ARROW_ERRORS as e:
        raise FileFormatError(
            str(path), f"not a readable CSV file ({str(e).splitlines()[0]})", "a comma-separated file with a header row"
        ) from None

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from reader
        except _ARROW_ERRORS as e:
            raise FileFormatError(
                str(path), f"not a readable CSV file ({str(e).splitlines()[0]})", "a comma-separated file"
            ) from None

    return reader.schema, batches()


def _open_parquet(path: Path, progress: Progress | None) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    try:
        pf = pq.ParquetFile(path)
    except (*_ARROW_ERRORS, OSError) as e:
        raise FileFormatError(str(path), f"not a readable Parquet file ({e})", "an Apache Parquet file") from None

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in pf.iter_batches(batch_size=CHUNK_ROWS):
            if progress:
                progress(batch.num_rows)
            yield batch

    return pf.schema_arrow, batches()


def _check_columns(names: list[str]) -> None:
    """The contract's columns must all be there, once, and no output column may be overwritten."""
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise FileFormatError("input", f"duplicate column(s) {', '.join(dupes)}", "each column name once")
    missing = [c for c in BATCH_COLUMNS if c not in names]
    if missing:
        raise FileFormatError("input", f"missing column(s) {', '.join(missing)}", "columns " + ", ".join(BATCH_COLUMNS))
    clash = [c for c in (*output_columns(), ISSUES_COLUMN) if c in names]
    if clash:
        raise FileFormatError(
            "input", f"already has output column(s) {', '.join(clash)}", "an input without staging columns"
        )


def total_work(path: Path) -> int:
    """Units the progress callback will receive in total (rows for Parquet, bytes for CSV)."""
    if _format(path, "input") == ".parquet":
        try:
            return int(pq.ParquetFile(path).metadata.num_rows)
        except (pa.ArrowInvalid, OSError):
            return 0
    return path.stat().st_size


NUMBER_FORMS = (
    "plain numbers in the column's unit, or empty for unknown (censored values such as '<0.5' are accepted "
    "by `b2m assess`, not in batch columns)"
)
FLAG_FORMS = "true/false, 1/0, yes/no, or empty for unknown"
ISSUES_COLUMN = "b2m_issues"
OnInvalid = Literal["error", "null"]


class _Checker:
    """Applies the ``--on-invalid`` policy: stop at the first bad value, or null it and say why.

    Nulling never hides anything: the value becomes *unknown* (so stages widen, never improve) and the
    row's ``b2m_issues`` column names the column, the value and the problem.
    """

    def __init__(self, on_invalid: OnInvalid, offset: int) -> None:
        self.on_invalid, self.offset = on_invalid, offset
        self.issues: list[pl.Series] = []

    def check(self, col: str, raw: pl.Series, clean: pl.Series, bad: pl.Series, problem: str, forms: str) -> pl.Series:
        bad = bad.fill_null(value=False)
        if not bad.any():
            return clean
        if self.on_invalid == "error":
            i = int(bad.arg_max() or 0)
            raise FileFormatError(f"column {col}, row {self.offset + i + 1}", f"{problem}: {raw[i]!r}", forms)
        text = pl.lit(f"{col}: {problem} ") + raw.cast(pl.String).fill_null("")
        self.issues.append(pl.select(pl.when(pl.lit(bad)).then(text)).to_series())
        return pl.select(pl.when(pl.lit(bad)).then(None).otherwise(pl.lit(clean))).to_series()

    def issues_column(self, n: int) -> pl.Series:
        if not self.issues:
            return pl.repeat(None, n, dtype=pl.String, eager=True).alias(ISSUES_COLUMN)
        joined = pl.concat_str(self.issues, separator="; ", ignore_nulls=True)
        any_issue = pl.any_horizontal([pl.lit(i).is_not_null() for i in self.issues])
        return pl.select(pl.when(any_issue).then(joined)).to_series().alias(ISSUES_COLUMN)


def _numeric(df: pl.DataFrame, col: str, checker: _Checker) -> pl.Series:
    raw = df[col]
    if raw.dtype == pl.String:
        text = raw.str.strip_chars().replace(list(NULL_FORMS), None)
        parsed = text.cast(pl.Float64, strict=False)
        s = checker.check(col, raw, parsed, parsed.is_null() & text.is_not_null(), "not a number", NUMBER_FORMS)
    elif raw.dtype.is_numeric() or raw.dtype == pl.Null:
        s = raw.cast(pl.Float64)
    else:
        raise FileFormatError(f"column {col}", f"has type {raw.dtype}", "numbers")
    a = ANALYTES[_BOUNDS_OF[col]]
    lo, hi = a.plausible
    problem = f"implausible for {a.label} (plausible {lo:g}-{hi:g} {a.display}: {a.bounds_reason})"
    return checker.check(col, raw, s, ~s.is_between(lo, hi) | s.is_nan(), problem, f"values in {a.display}")


def _flag(df: pl.DataFrame, col: str, checker: _Checker) -> pl.Series:
    raw = df[col]
    if raw.dtype == pl.Boolean:
        return raw
    if raw.dtype == pl.Null:
        return raw.cast(pl.Boolean)
    if raw.dtype.is_integer():
        clean = pl.select(pl.when(pl.lit(raw) == 1).then(True).when(pl.lit(raw) == 0).then(False)).to_series()
        return checker.check(col, raw, clean, ~raw.is_in([0, 1]) & raw.is_not_null(), "not a yes/no value", FLAG_FORMS)
    if raw.dtype != pl.String:
        raise FileFormatError(f"column {col}", f"has type {raw.dtype}", FLAG_FORMS)
    low = raw.str.strip_chars().str.to_lowercase()
    clean = pl.select(
        pl.when(pl.lit(low).is_in(TRUE_FORMS)).then(True).when(pl.lit(low).is_in(FALSE_FORMS)).then(False)
    ).to_series()
    unknown = ~(low.is_in([*TRUE_FORMS, *FALSE_FORMS, *NULL_FORMS]) | low.is_null())
    return checker.check(col, raw, clean, unknown, "not a yes/no value", FLAG_FORMS)


def prepare(df: pl.DataFrame, offset: int = 0, on_invalid: OnInvalid = "error") -> pl.DataFrame:
    """Check a chunk of the batch contract and give it canonical dtypes.

    With ``on_invalid="null"`` a bad value becomes unknown and a ``b2m_issues`` column says why.
    """
    _check_columns(df.columns)
    checker = _Checker(on_invalid, offset)
    columns = [_numeric(df, c, checker).alias(c) for c in NUMERIC_COLUMNS]
    columns += [_flag(df, c, checker).alias(c) for c in FISH_COLUMNS]
    out = df.with_columns(columns)
    return out.with_columns(checker.issues_column(df.height)) if on_invalid == "null" else out


def _finalise(staged: pl.DataFrame) -> pa.Table:
    # Enum labels become plain strings on disk so every reader sees "I|II".
    return staged.with_columns(pl.col(pl.Enum).cast(pl.String)).to_arrow()


def _check_output(src: Path, dst: Path) -> None:
    if dst.is_dir():
        raise FileFormatError("output", f"is a directory: {dst}", "a file path ending in .csv or .parquet")
    if not dst.parent.is_dir():
        raise FileFormatError("output", f"folder does not exist: {dst.parent}", "a path in an existing folder")
    if dst.exists() and src.resolve() == dst.resolve():
        raise FileFormatError("output", "is the same file as the input", "a different output path")


def stage_file(src: Path, dst: Path, progress: Progress | None = None, on_invalid: OnInvalid = "error") -> int:
    """Stage every row of ``src`` into ``dst`` (CSV or Parquet by extension). Returns rows written.

    ``on_invalid``: ``"error"`` stops at the first invalid value (nothing is written); ``"null"`` makes
    it unknown and records the problem in the ``b2m_issues`` column.
    """
    in_fmt, out_fmt = _format(src, "input"), _format(dst, "output")
    if not src.is_file():
        raise FileFormatError("input", f"no such file: {src}", "a path to a .csv or .parquet file")
    _check_output(src, dst)
    with src.open("rb") as fh:
        schema, batches = _open_parquet(src, progress) if in_fmt == ".parquet" else _open_csv(src, fh, progress)
        _check_columns(list(schema.names))
        fd, tmp_name = tempfile.mkstemp(prefix=".b2m-", suffix=out_fmt, dir=dst.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        rows = 0
        writer: pq.ParquetWriter | pacsv.CSVWriter | None = None
        try:
            for batch in batches:
                if writer is None:
                    writer = _writer(tmp, out_fmt, batch, rows, on_invalid)
                rows = _write(writer, batch, rows, on_invalid)
            if writer is None:  # no data rows: still a valid output with every column
                empty = pa.RecordBatch.from_pylist([], schema=schema)
                writer = _writer(tmp, out_fmt, empty, 0, on_invalid)
                _write(writer, empty, 0, on_invalid)
            writer.close()
            writer = None
            tmp.replace(dst)
        except _ARROW_ERRORS as e:
            raise FileFormatError(
                "output", f"cannot be written as {out_fmt} ({str(e).splitlines()[0][:120]})", "a .parquet output"
            ) from None
        finally:
            if writer is not None:
                writer.close()
            if tmp.exists():
                tmp.unlink()
    return rows


def _staged_table(batch: pa.RecordBatch, offset: int, on_invalid: OnInvalid) -> pa.Table:
    chunk = prepare(pl.from_arrow(batch), offset, on_invalid)  # type: ignore[arg-type]
    return _finalise(stage_frame(chunk))


def _writer(tmp: Path, fmt: str, batch: pa.RecordBatch, offset: int, on_invalid: OnInvalid) -> Any:
    """A writer whose schema is that of the staged first chunk."""
    schema = _staged_table(batch.slice(0, 0), offset, on_invalid).schema
    return pq.ParquetWriter(tmp, schema) if fmt == ".parquet" else pacsv.CSVWriter(tmp, schema)


def _write(writer: Any, batch: pa.RecordBatch, offset: int, on_invalid: OnInvalid) -> int:
    table = _staged_table(batch, offset, on_invalid)
    writer.write_table(table)
    return offset + int(table.num_rows)
