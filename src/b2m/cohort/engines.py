"""Engine adapters: where cohort data live and how they are read, materialised and collected.

Every cohort computation in :mod:`b2m.cohort` (unit lookup, window pick, pivot, and the ISS / R-ISS /
R2-ISS expressions of :mod:`b2m.rules.staging`) is written once as narwhals expressions and runs
unchanged on each engine here. An adapter only does what differs between engines and is not a rule:

- reading a file, a folder or a native frame into a narwhals ``LazyFrame`` on that engine;
- turning a small Polars frame (a unit lookup) into a frame of the same engine, so it can be joined;
- a day number (days since 1970-01-01) for date arithmetic (narwhals has no portable date difference);
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
_EPOCH_JDN = 2440588  # Julian day number of 1970-01-01
_counter = itertools.count()


def julian_day(expr: nw.Expr) -> nw.Expr:
    """Julian day number of a date, from year/month/day with integer arithmetic (Fliegel & Van
    Flandern, *Commun ACM* 1968;11(10):657). Portable to every narwhals backend."""
    y, m, d = expr.dt.year(), expr.dt.month(), expr.dt.day()
    a = (14 - m) // 12
    yy = y + 4800 - a
    mm = m + 12 * a - 3
    return d + (153 * mm + 2) // 5 + 365 * yy + yy // 4 - yy // 100 + yy // 400 - 32045


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
        return julian_day(expr) - _EPOCH_JDN

    @abstractmethod
    def with_row_number(self, frame: nw.LazyFrame[Any], name: str) -> nw.LazyFrame[Any]:
        """Add the 1-based row number in the order the source was read (a file's row order)."""

    def collect(self, frame: nw.LazyFrame[Any]) -> pl.DataFrame:
        out: pl.DataFrame = frame.collect(backend="polars").to_native()
        return out

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

    def collect(self, frame: nw.LazyFrame[Any]) -> pl.DataFrame:
        # PySpark leaves the socket that carried the Arrow result to the garbage collector, which then
        # warns "unclosed <socket.socket ...>" at an arbitrary later moment. Release it here, quietly,
        # and only that warning.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            out = super().collect(frame)
            gc.collect()
        return out

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
