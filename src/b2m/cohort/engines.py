"""Engine adapters: where cohort data live and how they are read, materialised and collected.

Every cohort computation in :mod:`b2m.cohort` (unit lookup, window pick, pivot, and the ISS / R-ISS /
R2-ISS expressions of :mod:`b2m.rules.staging`) is written once as narwhals expressions and runs
unchanged on each engine here. An adapter only does what differs between engines and is not a rule:

- reading a file, a folder or a native frame into a narwhals ``LazyFrame`` on that engine;
- turning a small Polars frame (a unit lookup) into a frame of the same engine, so it can be joined,
  and attaching that lookup's row to every event (a join; Polars gathers by a dense integer code);
- a day number (days since 1970-01-01) and a difference of two dates in days (narwhals has no
  portable date difference; DuckDB and Spark use their own);
- materialising a shared intermediate once (Polars: in memory; DuckDB: a temporary table; Spark:
  ``persist``), and collecting a result to Polars.

Engines:

- ``polars`` (default, embedded, no server): lazy Polars; files are scanned, not loaded whole.
- ``duckdb`` (embedded, no server): an in-memory DuckDB connection. A DuckDB *file* is attached
  read-only, so nothing is ever written into the user's database.
- ``spark``: PySpark, local mode by default (``local[2]``). In production point ``master`` at a
  cluster, or pass an existing ``SparkSession`` (``spark-submit``, Spark Connect). Only native Spark
  expressions are used: no Python UDF, no ``mapInArrow``, no ``pandas_udf`` (measured 5x slower).
"""

from __future__ import annotations

import gc
import itertools
import os
import warnings
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import narwhals as nw
import polars as pl
import pyarrow as pa

from b2m.errors import FileFormatError, InputError

if TYPE_CHECKING:
    import duckdb
    from pyspark.sql import SparkSession

EngineName = Literal["polars", "duckdb", "spark"]
ENGINES: tuple[EngineName, ...] = ("polars", "duckdb", "spark")
_LEAP_DAYS_BEFORE_1970 = 1969 // 4 - 1969 // 100 + 1969 // 400  # leap years 1..1969 (477)
_counter = itertools.count()
_DENSE_LIMIT = 1 << 22  # distinct analyte texts x distinct unit texts gathered by position (Polars)


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


def _csv(path: Path) -> bool:
    return path.suffix.lower() == ".csv"


def _to_arrow(obj: object) -> pa.Table | None:
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


class PolarsEngine(Engine):
    """Lazy Polars, the embedded default."""

    name: EngineName = "polars"

    def __init__(self, *, streaming: bool = False) -> None:
        self.streaming = streaming

    def lazy(self, obj: object) -> nw.LazyFrame[Any]:
        if isinstance(obj, pl.LazyFrame):
            return nw.from_native(obj)
        if isinstance(obj, pl.DataFrame):
            return nw.from_native(obj.lazy())
        table = _to_arrow(obj)
        if table is None:
            raise InputError("source", f"not a data frame: {type(obj).__name__}", "a path or a data frame")
        return nw.from_native(pl.from_arrow(table).lazy())  # type: ignore[union-attr]

    def from_polars(self, df: pl.DataFrame) -> nw.LazyFrame[Any]:
        return nw.from_native(df.lazy())

    def read_file(self, path: Path) -> nw.LazyFrame[Any]:
        if _csv(path):
            return nw.from_native(pl.scan_csv(path, infer_schema=False))
        return nw.from_native(pl.scan_parquet(path))

    def with_row_number(self, frame: nw.LazyFrame[Any], name: str) -> nw.LazyFrame[Any]:
        native: pl.LazyFrame = frame.to_native()
        return nw.from_native(native.with_row_index(name, offset=1).with_columns(pl.col(name).cast(pl.Int64)))

    def day_number(self, expr: nw.Expr) -> nw.Expr:
        return expr.cast(nw.Int32())  # Polars stores a date as days since the epoch

    def attach_lookup(self, events: nw.LazyFrame[Any], lookup: pl.DataFrame, keep: list[str]) -> nw.LazyFrame[Any]:
        # A hash join on two text columns of every event is the dearest step of the pick; instead the
        # texts become positions in their (few) distinct values (an Enum cast) and the lookup row is
        # gathered by that position. Same result as the join (see the base class).
        analytes = sorted(lookup["analyte"].drop_nulls().unique().to_list())
        units = sorted(lookup["unit_key"].drop_nulls().unique().to_list())
        if len(analytes) * len(units) > _DENSE_LIMIT:
            return super().attach_lookup(events, lookup, keep)
        dense = pl.DataFrame(
            {"analyte": [a for a in analytes for _ in units], "unit_key": [u for _ in analytes for u in units]},
            schema={"analyte": pl.String, "unit_key": pl.String},
        ).join(lookup.filter(pl.col("analyte_code").is_not_null()), on=["analyte", "unit_key"], how="left")
        position = (
            pl.col("analyte").cast(pl.Enum(analytes)).to_physical().cast(pl.Int64) * len(units)
            + pl.col("unit_key").cast(pl.Enum(units)).to_physical().cast(pl.Int64)
        )
        native: pl.LazyFrame = events.to_native()
        native = native.with_columns(position.alias("_position"))
        native = native.with_columns(pl.lit(dense[k]).gather(pl.col("_position")).alias(k) for k in keep)
        native = native.filter(pl.col("analyte_code").is_not_null()).drop("_position", "analyte", "unit_key")
        return nw.from_native(native)

    def materialise(self, frame: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
        return nw.from_native(self.collect(frame).lazy())

    def shared(self, frame: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
        return frame  # collect_all computes a common sub-plan once (comm_subplan_elim)

    def collect_all(self, frames: list[nw.LazyFrame[Any]]) -> list[pl.DataFrame]:
        natives: list[pl.LazyFrame] = [f.to_native() for f in frames]
        return pl.collect_all(natives, engine="streaming" if self.streaming else "auto")

    def collect(self, frame: nw.LazyFrame[Any]) -> pl.DataFrame:
        native: pl.LazyFrame = frame.to_native()
        return native.collect(engine="streaming" if self.streaming else "auto")

    def join_small(self, frame: nw.LazyFrame[Any], small: pl.DataFrame, on: str) -> nw.LazyFrame[Any]:
        native: pl.LazyFrame = frame.to_native()  # in the frame's row order (a sorted audit trail stays sorted)
        return nw.from_native(native.join(small.lazy(), on=on, how="left", maintain_order="left"))

    def sink(self, frame: nw.LazyFrame[Any], path: str) -> None:
        native: pl.LazyFrame = frame.to_native()
        if _csv(Path(path)):
            native.sink_csv(path)
        else:
            native.sink_parquet(path)


class DuckDBEngine(Engine):
    """An in-memory DuckDB connection (embedded, no server)."""

    name: EngineName = "duckdb"

    def __init__(self, connection: duckdb.DuckDBPyConnection | None = None) -> None:
        import duckdb

        self.con = connection if connection is not None else duckdb.connect()
        self._temp: list[str] = []

    def lazy(self, obj: object) -> nw.LazyFrame[Any]:
        import duckdb

        if isinstance(obj, duckdb.DuckDBPyRelation):
            return nw.from_native(obj)
        table = _to_arrow(obj)
        if table is None:
            raise InputError("source", f"not a data frame: {type(obj).__name__}", "a path or a data frame")
        return nw.from_native(self.con.from_arrow(table))

    def from_polars(self, df: pl.DataFrame) -> nw.LazyFrame[Any]:
        return nw.from_native(self.con.from_arrow(df.to_arrow()))

    def read_file(self, path: Path) -> nw.LazyFrame[Any]:
        if _csv(path):
            return nw.from_native(self.con.read_csv(str(path), header=True, all_varchar=True))
        return nw.from_native(self.con.read_parquet(str(path)))

    def with_row_number(self, frame: nw.LazyFrame[Any], name: str) -> nw.LazyFrame[Any]:
        rel = frame.to_native()
        out: nw.LazyFrame[Any] = nw.from_native(rel.project(f'*, CAST(row_number() OVER () AS BIGINT) AS "{name}"'))
        return out

    def with_days_between(self, frame: nw.LazyFrame[Any], end: str, start: str, name: str) -> nw.LazyFrame[Any]:
        # DuckDB inlines a derived column at every use; its own date difference keeps that cheap.
        rel = frame.to_native()
        out: nw.LazyFrame[Any] = nw.from_native(rel.project(f'*, CAST("{end}" - "{start}" AS INTEGER) AS "{name}"'))
        return out

    def attach(self, path: Path) -> str:
        """Attach a DuckDB database file read-only; returns its catalog name."""
        alias = f"b2m_src_{next(_counter)}"
        self.con.execute(f"ATTACH '{str(path).replace(chr(39), chr(39) * 2)}' AS {alias} (READ_ONLY)")
        return alias

    def table(self, qualified: str) -> nw.LazyFrame[Any]:
        return nw.from_native(self.con.table(qualified))

    def materialise(self, frame: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
        name = f"b2m_tmp_{next(_counter)}"
        view = f"{name}_v"
        rel = frame.to_native()
        rel.create_view(view, replace=True)
        self.con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM {view}")
        self.con.execute(f"DROP VIEW {view}")
        self._temp.append(name)
        return nw.from_native(self.con.table(name))

    def sink(self, frame: nw.LazyFrame[Any], path: str) -> None:
        rel = frame.to_native()
        if _csv(Path(path)):
            rel.write_csv(path, header=True)
        else:
            rel.write_parquet(path)

    def close(self) -> None:
        for name in self._temp:
            self.con.execute(f"DROP TABLE IF EXISTS {name}")
        self._temp.clear()


def spark_session(master: str = "local[2]", *, shuffle_partitions: int | None = None) -> SparkSession:
    """The SparkSession b2m uses when none is given (one per process: ``getOrCreate``).

    Binds to 127.0.0.1 (``SPARK_LOCAL_IP``), enables Arrow for collecting to Polars (41 s -> 8.5 s for
    10M rows in engine-measurements.md), uses UTC for dates, and turns the web UI off.
    """
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    builder: Any = SparkSession.builder
    session: SparkSession = (
        builder.master(master)
        .appName("b2m")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions or 4))
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    return session


class SparkEngine(Engine):
    """PySpark with native expressions only."""

    name: EngineName = "spark"

    def __init__(self, session: SparkSession | None = None) -> None:
        self.spark = session if session is not None else spark_session()
        self._cached: list[Any] = []

    def lazy(self, obj: object) -> nw.LazyFrame[Any]:
        from pyspark.sql import DataFrame as SparkDataFrame

        if isinstance(obj, SparkDataFrame):
            return nw.from_native(obj)
        table = _to_arrow(obj)
        if table is None:
            raise InputError("source", f"not a data frame: {type(obj).__name__}", "a path or a data frame")
        return self.from_polars(pl.from_arrow(table))  # type: ignore[arg-type]

    def from_polars(self, df: pl.DataFrame) -> nw.LazyFrame[Any]:
        return nw.from_native(self.spark.createDataFrame(df.to_arrow()))

    def read_file(self, path: Path) -> nw.LazyFrame[Any]:
        if _csv(path):
            return nw.from_native(self.spark.read.csv(str(path), header=True))
        return nw.from_native(self.spark.read.parquet(str(path)))

    def with_row_number(self, frame: nw.LazyFrame[Any], name: str) -> nw.LazyFrame[Any]:
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        order = Window.orderBy(F.monotonically_increasing_id())  # file order: partition, then row
        out: nw.LazyFrame[Any] = nw.from_native(
            frame.to_native().withColumn(name, F.row_number().over(order).cast("bigint"))
        )
        return out

    def with_days_between(self, frame: nw.LazyFrame[Any], end: str, start: str, name: str) -> nw.LazyFrame[Any]:
        from pyspark.sql import functions as F

        days = F.datediff(F.col(end), F.col(start)).cast("int")
        out: nw.LazyFrame[Any] = nw.from_native(frame.to_native().withColumn(name, days))
        return out

    def collect(self, frame: nw.LazyFrame[Any]) -> pl.DataFrame:
        # PySpark leaves the socket that carried the Arrow result to the garbage collector, which then
        # warns "unclosed <socket.socket ...>" at an arbitrary later moment. Release it here, quietly,
        # and only that warning.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            out = super().collect(frame)
            gc.collect()
        return out

    def sink(self, frame: nw.LazyFrame[Any], path: str) -> None:
        """A folder of part files at ``path`` (written by the executors, as Spark does)."""
        writer = frame.to_native().write.mode("overwrite")
        if _csv(Path(path)):
            writer.option("header", "true").csv(path)
        else:
            writer.parquet(path)

    def materialise(self, frame: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
        native = frame.to_native().persist()
        self._cached.append(native)
        out: nw.LazyFrame[Any] = nw.from_native(native)
        return out

    def close(self) -> None:
        for df in self._cached:
            df.unpersist()
        self._cached.clear()


def make_engine(
    engine: EngineName | Engine,
    *,
    connection: duckdb.DuckDBPyConnection | None = None,
    spark: SparkSession | None = None,
) -> Engine:
    """An adapter by name (or the one given)."""
    if isinstance(engine, Engine):
        return engine
    if engine == "polars":
        return PolarsEngine()
    if engine == "duckdb":
        return DuckDBEngine(connection)
    if engine == "spark":
        return SparkEngine(spark)
    raise InputError("engine", f"unknown engine {engine!r}", ", ".join(ENGINES))


def read_tables(engine: Engine, source: object, names: Mapping[str, bool]) -> dict[str, nw.LazyFrame[Any]]:
    """OMOP-style tables by lower-case name from a DuckDB file, a folder of CSV/Parquet files, or a
    mapping of name -> frame. ``names`` says which are required (True) or optional (False)."""
    found: dict[str, nw.LazyFrame[Any]] = {}
    if isinstance(source, Mapping):
        lowered = {str(k).lower(): v for k, v in source.items()}
        for name in names:
            if name in lowered:
                found[name] = engine.read(lowered[name])
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.is_dir():
            files = {p.stem.lower(): p for p in sorted(path.iterdir()) if p.suffix.lower() in (".csv", ".parquet")}
            for name in names:
                if name in files:
                    found[name] = engine.read_file(files[name])
        elif path.is_file() and path.suffix.lower() in (".duckdb", ".db", ".ddb"):
            found = _duckdb_tables(engine, path, names)
        else:
            raise FileFormatError(
                str(path), "not a folder or DuckDB file", "a folder of CSV/Parquet tables or a .duckdb file"
            )
    else:
        raise InputError(
            "source", f"cannot read tables from {type(source).__name__}", "a folder, a .duckdb file or a mapping"
        )
    missing = [n for n, required in names.items() if required and n not in found]
    if missing:
        raise FileFormatError(str(source), f"missing table(s) {', '.join(missing)}", ", ".join(names))
    return found


def _duckdb_tables(engine: Engine, path: Path, names: Mapping[str, bool]) -> dict[str, nw.LazyFrame[Any]]:
    import duckdb

    if isinstance(engine, DuckDBEngine):
        alias = engine.attach(path)
        rows = engine.con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = ?", [alias]
        ).fetchall()
        where = {str(t).lower(): f'{alias}."{s}"."{t}"' for s, t in rows}
        return {n: engine.table(where[n]) for n in names if n in where}
    # Another engine reading a DuckDB file: through Arrow (fine for files that fit in memory).
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
        where = {str(t).lower(): f'"{s}"."{t}"' for s, t in rows}
        return {n: engine.lazy(con.table(where[n]).to_arrow_table()) for n in names if n in where}
