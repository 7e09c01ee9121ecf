"""The engine interface: what differs between engines (reading, materialising, collecting), never a rule."""

from __future__ import annotations

import itertools
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Literal

import narwhals as nw
import polars as pl
import pyarrow as pa

from b2m.errors import FileFormatError

EngineName = Literal["polars", "duckdb", "spark"]
ENGINES: tuple[EngineName, ...] = ("polars", "duckdb", "spark")
_LEAP_DAYS_BEFORE_1970 = 1969 // 4 - 1969 // 100 + 1969 // 400  # leap years 1..1969 (477)
counter = itertools.count()
DENSE_LIMIT = 1 << 22  # distinct analyte texts x distinct unit texts gathered by position (Polars)


def days_since_epoch(expr: nw.Expr) -> nw.Expr:
    """Days from 1970-01-01 to a date (negative before), portable to every narwhals backend: whole
    years of 365 days, plus the leap days (Gregorian: every 4th year, not every 100th, every 400th)
    from 1970 up to the date's year, plus the day of the year. Flat on purpose: an engine that inlines
    it at every use (DuckDB) re-evaluates a few terms, not a nested formula."""
    y = expr.dt.year()
    before = y - 1  # leap days in the years before the date's year, counted from year 1
    leap_days = before // 4 - before // 100 + before // 400 - _LEAP_DAYS_BEFORE_1970
    return (y - 1970) * 365 + leap_days + expr.dt.ordinal_day() - 1


class Engine(ABC):
    """What differs between engines; never a rule."""

    name: EngineName

    @abstractmethod
    def lazy(self, obj: object) -> nw.LazyFrame[Any]:
        """A native frame of this engine (or a Polars / Arrow frame, converted) as a narwhals LazyFrame."""

    @abstractmethod
    def from_polars(self, df: pl.DataFrame) -> nw.LazyFrame[Any]:
        """A small Polars frame (a lookup table) as a frame of this engine."""

    @abstractmethod
    def read_file(self, path: Path) -> nw.LazyFrame[Any]:
        """A CSV (every column as text) or Parquet file."""

    @abstractmethod
    def materialise(self, frame: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
        """Compute ``frame`` once so that several results can be derived from it."""

    def day_number(self, expr: nw.Expr) -> nw.Expr:
        """Days since 1970-01-01 (negative before)."""
        return days_since_epoch(expr)

    def with_days_between(self, frame: nw.LazyFrame[Any], end: str, start: str, name: str) -> nw.LazyFrame[Any]:
        """Add ``name``: whole days from date column ``start`` to date column ``end`` (Int32; null
        when either is null). Engines with a native date difference use it."""
        days = self.day_number(nw.col(end)) - self.day_number(nw.col(start))
        return frame.with_columns(days.cast(nw.Int32()).alias(name))

    @abstractmethod
    def with_row_number(self, frame: nw.LazyFrame[Any], name: str) -> nw.LazyFrame[Any]:
        """Add the 1-based row number in the order the source was read (a file's row order)."""

    def attach_lookup(self, events: nw.LazyFrame[Any], lookup: pl.DataFrame, keep: list[str]) -> nw.LazyFrame[Any]:
        """``events`` (with ``analyte`` and ``unit_key`` as received) joined with the ``keep`` columns
        of the ``lookup`` row of their pair; events whose pair has a null ``analyte_code`` (not
        recognised) are dropped. ``lookup`` is :func:`b2m.cohort.at_diagnosis.unit_lookup`."""
        small = lookup.filter(pl.col("analyte_code").is_not_null()).select("analyte", "unit_key", *keep)
        return events.join(self.from_polars(small), on=["analyte", "unit_key"], how="inner").drop("analyte", "unit_key")

    def collect(self, frame: nw.LazyFrame[Any]) -> pl.DataFrame:
        out: pl.DataFrame = frame.collect(backend="polars").to_native()
        return out

    def join_small(self, frame: nw.LazyFrame[Any], small: pl.DataFrame, on: str) -> nw.LazyFrame[Any]:
        """``frame`` left-joined with a small Polars table on column ``on`` (every row of ``frame`` once)."""
        return frame.join(self.from_polars(small), on=on, how="left")

    @abstractmethod
    def sink(self, frame: nw.LazyFrame[Any], path: str) -> None:
        """Write ``frame`` to ``path`` (.parquet or .csv with a header) without collecting it here
        (a local path, or for Spark any URI it writes to, such as ``s3a://bucket/audit.parquet``)."""

    def collect_all(self, frames: list[nw.LazyFrame[Any]]) -> list[pl.DataFrame]:
        """Collect several results derived from one shared intermediate."""
        return [self.collect(f) for f in frames]

    def shared(self, frame: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
        """Prepare ``frame`` to be read by several results (materialised unless the engine shares plans)."""
        return self.materialise(frame)

    def close(self) -> None:  # noqa: B027  (optional hook: most engines create nothing to release)
        """Release what this adapter created (temporary tables, cached frames)."""

    # -- shared helpers ------------------------------------------------------------------------------
    def read(self, obj: object) -> nw.LazyFrame[Any]:
        """A path (CSV / Parquet) or any native frame."""
        if isinstance(obj, str | os.PathLike):
            path = Path(obj)
            if not path.is_file():
                raise FileFormatError(str(path), "no such file", "a .csv or .parquet file")
            if path.suffix.lower() not in (".csv", ".parquet"):
                raise FileFormatError(str(path), f"unsupported file type {path.suffix!r}", ".csv, .parquet")
            return self.read_file(path)
        return self.lazy(obj)


def is_csv(path: Path) -> bool:
    return path.suffix.lower() == ".csv"


def to_arrow(obj: object) -> pa.Table | None:
    """Arrow view of a frame from another library (Polars, pandas, Arrow, DuckDB relation)."""
    if isinstance(obj, pa.Table):
        return obj
    if isinstance(obj, pl.LazyFrame):
        return obj.collect().to_arrow()
    if isinstance(obj, pl.DataFrame):
        return obj.to_arrow()
    anything: Any = obj
    try:
        native = nw.from_native(anything)
    except TypeError:
        return None
    if isinstance(native, nw.LazyFrame):
        native = native.collect(backend="pyarrow")
    table: pa.Table = native.to_arrow()
    return table
