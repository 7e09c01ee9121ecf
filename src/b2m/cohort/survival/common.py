"""What the survival modules share: the systems and endpoints analysed, the rows each analysis uses.

The staging systems (every ISS-family system of :mod:`b2m.rules.registry`) and their stages
(best first), the endpoints (overall and event-free survival), the confidence level of every
interval, the error for a statistic the data cannot give (:class:`NotEstimable`), an estimate with
its interval, and the selection of rows: patients staged by every system of an analysis, with a
usable time and a known event flag.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from b2m.rules.registry import SystemView

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Read from the registry at each use: a system registered later is analysed and reported like the others.
SYSTEM_LABELS: Mapping[str, str] = SystemView(lambda s: s.label)
STAGES: Mapping[str, tuple[str, ...]] = SystemView(lambda s: s.stages)
ENDPOINTS: dict[str, str] = {"os": "overall survival", "efs": "event-free survival"}
DEFAULT_BOOTSTRAP = 500
DEFAULT_SEED = 20240601
CONFIDENCE = 0.95
MAX_CURVE_POINTS = 2000  # KM curves with more distinct times are reported on an even grid of this size

# progress(description, completed, total); total 0 = indeterminate. The text before the first ":" names
# the bar ("analysis", "bootstrap"), the rest says what is running now.
ProgressHook = Callable[[str, int, int], None]


class NotEstimable(ValueError):
    """A statistic that the data cannot give (no comparable pairs, a single stage, no events)."""


@dataclass(frozen=True)
class Interval:
    """An estimate with its confidence interval (:data:`CONFIDENCE`); ``nan`` where not estimable."""

    estimate: float
    lower: float
    upper: float

    def to_dict(self) -> dict[str, float | None]:
        return {"estimate": json_float(self.estimate), "lower": json_float(self.lower), "upper": json_float(self.upper)}


def json_float(x: float | None) -> float | None:
    """JSON-safe float: NaN and infinities become null."""
    if x is None or not math.isfinite(x):
        return None
    return float(x)


def endpoint_columns(endpoint: str) -> tuple[str, str]:
    return f"{endpoint}_months", f"{endpoint}_event"


def has_endpoint(table: pl.DataFrame, endpoint: str) -> bool:
    t, e = endpoint_columns(endpoint)
    return t in table.columns and e in table.columns and table.select(pl.col(t).is_not_null().any()).item()


def outcome_rows(table: pl.DataFrame, endpoint: str) -> pl.DataFrame:
    """Rows with a usable time (finite, >= 0) and a known event flag, as ``_time`` (float) / ``_event`` (bool)."""
    t, e = endpoint_columns(endpoint)
    out = table.with_columns(
        pl.col(t).cast(pl.Float64).alias("_time"),
        pl.col(e).cast(pl.Int8).cast(pl.Boolean).alias("_event"),
    )
    usable = pl.col("_time").is_not_null() & pl.col("_time").is_finite() & (pl.col("_time") >= 0)
    return out.filter(usable & pl.col("_event").is_not_null())


def staged_rows(table: pl.DataFrame, systems: Iterable[str]) -> pl.DataFrame:
    """Patients staged (exactly one stage) by every system in ``systems``."""
    cond = pl.lit(value=True)
    for s in systems:
        cond = cond & pl.col(s).is_not_null()
    return table.filter(cond)


def stages_present(rows: pl.DataFrame, system: str) -> tuple[str, ...]:
    """The stages of ``system`` that at least one of ``rows`` has, best first."""
    return tuple(s for s in STAGES[system] if (rows[system].cast(pl.String) == s).any())


def stage_codes(table: pl.DataFrame, system: str) -> IntArray:
    """Each row's stage of ``system`` as its index in :data:`STAGES` (0 = best)."""
    stages = STAGES[system]
    col = table[system].cast(pl.String)
    return np.asarray(col.replace_strict(list(stages), list(range(len(stages))), return_dtype=pl.Int64).to_numpy())
