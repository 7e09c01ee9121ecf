"""Engine adapters: where cohort data live and how they are read, materialised and collected.

Every cohort computation in :mod:`b2m.cohort` and the cohort readers of :mod:`b2m.io` (unit lookup,
window pick, pivot, and the ISS / R-ISS / R2-ISS expressions of :mod:`b2m.rules.staging`) is written
once as narwhals expressions and runs unchanged on each engine here. An adapter only does what differs
between engines and is not a rule:

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

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import narwhals as nw

from b2m.engines.base import ENGINES, Engine, EngineName, days_since_epoch
from b2m.engines.duckdb_engine import DuckDBEngine
from b2m.engines.polars_engine import PolarsEngine
from b2m.engines.spark_engine import SparkEngine, spark_session
from b2m.errors import FileFormatError, InputError

if TYPE_CHECKING:
    import duckdb
    from pyspark.sql import SparkSession


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


__all__ = [
    "ENGINES",
    "DuckDBEngine",
    "Engine",
    "EngineName",
    "PolarsEngine",
    "SparkEngine",
    "days_since_epoch",
    "make_engine",
    "read_tables",
    "spark_session",
]
