"""Lazy Polars: the embedded default engine (no server); files are scanned, not loaded whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import narwhals as nw
import polars as pl

from b2m.engines.base import DENSE_LIMIT, Engine, EngineName, is_csv, to_arrow
from b2m.engines.csv_safety import safe_frame
from b2m.errors import InputError


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
        table = to_arrow(obj)
        if table is None:
            raise InputError("source", f"not a data frame: {type(obj).__name__}", "a path or a data frame")
        return nw.from_native(pl.from_arrow(table).lazy())  # type: ignore[union-attr]

    def from_polars(self, df: pl.DataFrame) -> nw.LazyFrame[Any]:
        return nw.from_native(df.lazy())

    def read_file(self, path: Path) -> nw.LazyFrame[Any]:
        if is_csv(path):
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
        if len(analytes) * len(units) > DENSE_LIMIT:
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
        if is_csv(Path(path)):
            text_safe: pl.LazyFrame = safe_frame(frame).to_native()  # no cell a spreadsheet would run
            text_safe.sink_csv(path)
        else:
            native: pl.LazyFrame = frame.to_native()
            native.sink_parquet(path)
