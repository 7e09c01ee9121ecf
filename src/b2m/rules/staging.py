"""ISS, R-ISS and R2-ISS as one set of dataframe expressions, for one patient or a registry.

This is the single definition both ``b2m assess`` (one patient, bounded layout) and ``b2m stage``
(whole tables, exact layout) evaluate. It is engine-neutral: narwhals compiles it for Polars (the
embedded default), DuckDB or Spark, so no engine has its own copy of the rules.

Evaluation runs in three lazy steps so shared sub-results are computed once on every engine:
(1) the ISS conditions; (2) for each system a bit mask of the stages still possible (bit *i* set =
stage *i* possible) and the R2-ISS score range (then its mask); (3) labels. A mask with one bit set is a stage; the
possible set is written ``"I|II"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any, TypeVar

import narwhals as nw
from narwhals.typing import IntoFrame

from b2m.rules import iss, r2_iss, r_iss
from b2m.rules.expr import Tri, points
from b2m.rules.inputs import StagingInputs

SYSTEMS: dict[str, ModuleType] = {"iss": iss, "r_iss": r_iss, "r2_iss": r2_iss}
OUTPUT_COLUMNS: tuple[str, ...] = (
    "iss",
    "r_iss",
    "r2_iss",
    "r2_iss_score",
    "iss_possible",
    "r_iss_possible",
    "r2_iss_possible",
)
POSSIBLE_SEPARATOR = "|"
_TMP = "_b2m_"

FrameT = TypeVar("FrameT", bound=IntoFrame)


def possible_label(stages: Sequence[str], mask: int) -> str:
    return POSSIBLE_SEPARATOR.join(s for i, s in enumerate(stages) if mask >> i & 1)


def mask_stages(stages: Sequence[str], mask: int) -> tuple[str, ...]:
    return tuple(s for i, s in enumerate(stages) if mask >> i & 1)


def _mask(flags: Mapping[str, nw.Expr]) -> nw.Expr:
    """Bit *i* set where stage *i* is possible (flags are never null)."""
    terms = [points(f, 1 << i) for i, f in enumerate(flags.values())]
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


def _lookup(mask: nw.Expr, mapping: Mapping[int, str], dtype: nw.dtypes.DType) -> nw.Expr:
    """``mapping[mask]`` as a when-chain (unmapped masks give null); portable to every engine."""
    items = iter(mapping.items())
    k, v = next(items)
    expr = nw.when(mask == k).then(nw.lit(v, dtype=dtype))
    for k, v in items:
        expr = expr.when(mask == k).then(nw.lit(v, dtype=dtype))
    return expr


def _contiguous_masks(n: int) -> list[int]:
    # Possible sets are always contiguous runs of stages (see r2_iss module docstring); every mask
    # that can occur is listed, so no label is ever silently missing.
    return [((1 << (j - i)) - 1) << i for i in range(n) for j in range(i + 1, n + 1)]


def staged(
    frame: nw.LazyFrame[Any], x: StagingInputs, *, detail: bool = False, enum_labels: bool = False
) -> nw.LazyFrame[Any]:
    """Add the batch contract's output columns (and, with ``detail``, every criterion and mask)."""
    frame = frame.with_columns(*(e for s, c in iss.conditions(x).items() for e in c.columns(f"{_TMP}iss_{s}")))
    iss_cols = {s: Tri.column(f"{_TMP}iss_{s}") for s in iss.STAGES}

    lo, hi = r2_iss.half_point_range(x, iss_cols)
    flags = {
        "iss": {s: c.possible for s, c in iss_cols.items()},
        "r_iss": {s: c.possible for s, c in r_iss.conditions(x, iss_cols).items()},
    }
    step2 = [_mask(f).alias(f"{_TMP}mask_{name}") for name, f in flags.items()]
    step2 += [lo.alias(f"{_TMP}r2_lo"), hi.alias(f"{_TMP}r2_hi")]
    if detail:
        step2 += [c.to_nullable().alias(f"iss.{k}") for k, c in iss.criteria(x).items()]
        step2 += [c.to_nullable().alias(f"r_iss.{k}") for k, c in r_iss.criteria(x, iss_cols).items()]
        step2 += [c.to_nullable().alias(f"r2_iss.{k}") for k, c in r2_iss.criteria(x, iss_cols).items()]
    frame = frame.with_columns(*step2)
    r2_lo, r2_hi = nw.col(f"{_TMP}r2_lo"), nw.col(f"{_TMP}r2_hi")
    frame = frame.with_columns(_mask(r2_iss.possible_flags(r2_lo, r2_hi)).alias(f"{_TMP}mask_r2_iss"))

    step3: list[nw.Expr] = []
    for name, module in SYSTEMS.items():
        stages: tuple[str, ...] = module.STAGES
        masks = _contiguous_masks(len(stages))
        labels = [possible_label(stages, m) for m in masks]
        dtype: nw.dtypes.DType = nw.Enum(labels) if enum_labels else nw.String()
        mask = nw.col(f"{_TMP}mask_{name}")
        step3.append(_lookup(mask, {1 << i: s for i, s in enumerate(stages)}, dtype).alias(name))
        step3.append(_lookup(mask, dict(zip(masks, labels, strict=True)), dtype).alias(f"{name}_possible"))
    step3.append(nw.when(r2_lo == r2_hi).then(r2_lo.cast(nw.Float64()) / 2).alias("r2_iss_score"))
    if detail:
        step3 += [nw.col(f"{_TMP}mask_{name}").alias(f"{name}.mask") for name in SYSTEMS]
        step3 += [(r2_lo.cast(nw.Float64()) / 2).alias("r2_iss.score_min")]
        step3 += [(r2_hi.cast(nw.Float64()) / 2).alias("r2_iss.score_max")]
    frame = frame.with_columns(*step3)
    return frame.drop(*(c for c in frame.collect_schema().names() if c.startswith(_TMP)))


def stage_frame(frame: FrameT, inputs: StagingInputs | None = None, *, detail: bool = False) -> FrameT:
    """Add the staging columns to ``frame`` (Polars, pandas, PyArrow, DuckDB, Spark ...), same type back.

    On Polars the labels are Enum columns (strings to every reader, compact in memory); elsewhere plain
    strings.
    """
    nw_frame: Any = nw.from_native(frame)  # eager or lazy, whichever the caller has
    enum_labels = nw_frame.implementation.is_polars()
    lazy = nw_frame.lazy()
    out = staged(lazy, inputs or StagingInputs.exact(), detail=detail, enum_labels=enum_labels)
    result = out.collect() if isinstance(nw_frame, nw.DataFrame) else out
    return result.to_native()  # type: ignore[no-any-return]
