"""DuckDB: an in-memory connection (embedded, no server); a DuckDB file is attached read-only."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import narwhals as nw
import polars as pl

from b2m.engines.base import Engine, EngineName, counter, is_csv, to_arrow
from b2m.engines.csv_safety import safe_frame
from b2m.errors import InputError

if TYPE_CHECKING:
    import duckdb


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
        table = to_arrow(obj)
        if table is None:
            raise InputError("source", f"not a data frame: {type(obj).__name__}", "a path or a data frame")
        return nw.from_native(self.con.from_arrow(table))

    def from_polars(self, df: pl.DataFrame) -> nw.LazyFrame[Any]:
        return nw.from_native(self.con.from_arrow(df.to_arrow()))

    def read_file(self, path: Path) -> nw.LazyFrame[Any]:
        if is_csv(path):
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
        alias = f"b2m_src_{next(counter)}"
        self.con.execute(f"ATTACH '{str(path).replace(chr(39), chr(39) * 2)}' AS {alias} (READ_ONLY)")
        return alias

    def table(self, qualified: str) -> nw.LazyFrame[Any]:
        return nw.from_native(self.con.table(qualified))

    def materialise(self, frame: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
        name = f"b2m_tmp_{next(counter)}"
        view = f"{name}_v"
        rel = frame.to_native()
        rel.create_view(view, replace=True)
        self.con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM {view}")
        self.con.execute(f"DROP VIEW {view}")
        self._temp.append(name)
        return nw.from_native(self.con.table(name))

    def sink(self, frame: nw.LazyFrame[Any], path: str) -> None:
        if is_csv(Path(path)):
            safe_frame(frame).to_native().write_csv(path, header=True)  # no cell a spreadsheet would run
        else:
            frame.to_native().write_parquet(path)

    def close(self) -> None:
        for name in self._temp:
            self.con.execute(f"DROP TABLE IF EXISTS {name}")
        self._temp.clear()
