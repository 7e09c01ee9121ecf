"""The ISS-family staging systems of the registry as one set of dataframe expressions, for whole tables.

This is the frame evaluation of the definitions both ``b2m stage`` (whole tables, exact layout) and the
one-row-frame single-patient path (bounded layout) use; :mod:`b2m.rules.staging_results` evaluates the
same definitions in plain Python for one patient. It is engine-neutral: narwhals compiles it for Polars
(the embedded default), DuckDB or Spark, so no engine has its own copy of the rules. The systems and
their columns come from :mod:`b2m.rules.registry` at call time.

Evaluation runs in three lazy steps so shared sub-results are computed once on every engine:
(1) the stage conditions of every system a later one ``uses`` (ISS), as columns; (2) for each system a
bit mask of the stages still possible (bit *i* set = stage *i* possible), or for a scored system its
score range (then, from those columns, its mask); (3) labels. A mask with one bit set is a stage; the
possible set is written ``"I|II"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, overload

import narwhals as nw
from narwhals.typing import IntoFrame

from b2m.rules import registry
from b2m.rules.expr import Tri, points
from b2m.rules.inputs import StagingInputs
from b2m.rules.spec import Conditions, StagingSystem


class _OutputColumns(Sequence[str]):
    """The registry's batch output columns, read at each use (see :func:`b2m.rules.registry.output_columns`)."""

    def __len__(self) -> int:
        return len(registry.output_columns())

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[str]: ...
    def __getitem__(self, i: int | slice) -> str | Sequence[str]:
        return registry.output_columns()[i]

    def __repr__(self) -> str:
        return repr(registry.output_columns())


OUTPUT_COLUMNS: Sequence[str] = _OutputColumns()
SYSTEMS: Mapping[str, StagingSystem] = registry.SystemView(lambda s: s)
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


def _possible(system: StagingSystem, stages: Mapping[str, Tri[nw.Expr]]) -> dict[str, nw.Expr]:
    return {st: stages[st].possible for st in system.stages}


def staged(
    frame: nw.LazyFrame[Any], x: StagingInputs[nw.Expr], *, detail: bool = False, enum_labels: bool = False
) -> nw.LazyFrame[Any]:
    """Add the batch contract's output columns (and, with ``detail``, every criterion and mask)."""
    systems = registry.staging_systems()
    used = {u for s in systems for u in s.uses}

    # Step 1: the conditions other systems read, materialised once.
    earlier: dict[str, Conditions[nw.Expr]] = {}
    for s in systems:
        if s.name in used:
            conditions = s.evaluate(x, earlier).stages
            frame = frame.with_columns(*(e for st, c in conditions.items() for e in c.columns(f"{_TMP}{s.name}_{st}")))
            earlier[s.name] = {st: Tri.column(f"{_TMP}{s.name}_{st}") for st in s.stages}

    # Step 2: masks, score ranges and (detail) criteria.
    evaluated = {s.name: s.evaluate(x, earlier) for s in systems}
    step2: list[nw.Expr] = []
    for s in systems:
        ev = evaluated[s.name]
        if s.score is not None:
            assert ev.score is not None, s.name
            lo, hi = ev.score
            step2 += [lo.alias(f"{_TMP}{s.name}_lo"), hi.alias(f"{_TMP}{s.name}_hi")]
        else:
            flags = _possible(s, earlier.get(s.name, ev.stages))
            step2.append(_mask(flags).alias(f"{_TMP}mask_{s.name}"))
    if detail:
        for s in systems:
            step2 += [evaluated[s.name].criteria[d.code].to_nullable().alias(f"{s.name}.{d.code}") for d in s.criteria]
    frame = frame.with_columns(*step2)
    scored = [(s, s.score) for s in systems if s.score is not None]
    if scored:
        score_masks: list[nw.Expr] = []
        for s, score in scored:
            groups = score.groups(nw.col(f"{_TMP}{s.name}_lo"), nw.col(f"{_TMP}{s.name}_hi"))
            score_masks.append(_mask({g: groups[g] for g in s.stages}).alias(f"{_TMP}mask_{s.name}"))
        frame = frame.with_columns(*score_masks)

    # Step 3: labels, scores and (detail) masks and score ranges.
    step3: list[nw.Expr] = []
    for s in systems:
        masks = _contiguous_masks(len(s.stages))
        labels = [possible_label(s.stages, m) for m in masks]
        dtype: nw.dtypes.DType = nw.Enum(labels) if enum_labels else nw.String()
        mask = nw.col(f"{_TMP}mask_{s.name}")
        step3.append(_lookup(mask, {1 << i: st for i, st in enumerate(s.stages)}, dtype).alias(s.name))
        step3.append(_lookup(mask, dict(zip(masks, labels, strict=True)), dtype).alias(f"{s.name}_possible"))
    for s, score in scored:
        lo, hi, unit = nw.col(f"{_TMP}{s.name}_lo"), nw.col(f"{_TMP}{s.name}_hi"), score.units_per_point
        step3.append(nw.when(lo == hi).then(lo.cast(nw.Float64()) / unit).alias(f"{s.name}_score"))
    if detail:
        step3 += [nw.col(f"{_TMP}mask_{s.name}").alias(f"{s.name}.mask") for s in systems]
        for s, score in scored:
            lo, hi, unit = nw.col(f"{_TMP}{s.name}_lo"), nw.col(f"{_TMP}{s.name}_hi"), score.units_per_point
            step3 += [(lo.cast(nw.Float64()) / unit).alias(f"{s.name}.score_min")]
            step3 += [(hi.cast(nw.Float64()) / unit).alias(f"{s.name}.score_max")]
    frame = frame.with_columns(*step3)
    return frame.drop(*(c for c in frame.collect_schema().names() if c.startswith(_TMP)))


def stage_frame(frame: FrameT, inputs: StagingInputs[nw.Expr] | None = None, *, detail: bool = False) -> FrameT:
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
