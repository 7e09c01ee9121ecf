"""Why a staging system gives the stages it gives, and what each missing result could change.

Both answers come from evaluating the system's own definition again (:mod:`b2m.rules.expr`) with one
input changed, never from retyped thresholds: the text shown with them is the criteria's own
descriptions (:class:`~b2m.rules.spec.CriterionDef`).

- **Why**: for a stage the system does not give, the one input whose change would make it possible,
  and the criteria that would then hold where they do not now (ISS II with B2M 4.2 mg/L: stage I
  needs "serum B2M < 3.5 mg/L", stage III "serum B2M ≥ 5.5 mg/L"). Candidate values are a grid over
  the input's plausible range (:data:`b2m.units.ANALYTES`) and both answers of a yes/no input; of the
  values reaching a stage, the one nearest the patient's (the fewest thresholds crossed) is kept.
- **Missing**: for an unknown input, the stages still possible now and the distinct sets of stages the
  system would give once it is known (the other inputs as they are), each with the criteria that lead
  there. An input read only together with another unknown one (LDH and the lab's upper limit of
  normal) is probed with it.

Pure functions of the patient's staging values; microseconds per evaluation, so a few hundred per
patient (the terminal summary of ``b2m assess``, not its JSON).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import product

from b2m.rules import registry
from b2m.rules.expr import Tri
from b2m.rules.inputs import FISH_COLUMNS, NUMERIC_COLUMNS, StagingInputs, StagingValues
from b2m.rules.kleene import bounds
from b2m.rules.spec import Conditions, StagingSystem
from b2m.units import ANALYTES

# The analyte whose plausible range (canonical unit = the column's unit) gives each numeric input's grid.
ANALYTE_OF: dict[str, str] = {"b2m_mg_l": "b2m", "albumin_g_dl": "albumin", "ldh_u_l": "ldh", "ldh_uln_u_l": "ldh"}
GRID_POINTS = 32  # log-spaced; neighbouring points differ by < 35 % over B2M's range (0.05-250 mg/L)
PAIR_GRID_POINTS = 6  # per input, for two unknown numbers compared with each other (LDH and its upper limit)

Met = Mapping[str, bool | None]


@dataclass(frozen=True, slots=True)
class Evaluated:
    """One system's answer: the stages still possible and each criterion's truth (``None`` = open)."""

    possible: tuple[str, ...]
    met: Met


@dataclass(frozen=True, slots=True)
class Reach:
    """A stage the system does not give now, reached by changing ``input`` alone; ``criteria`` (codes) would
    then hold where they do not now. ``value`` is the nearest value that reaches it (``True``/``False`` for a
    yes/no input)."""

    stage: str
    input: str
    criteria: tuple[str, ...]
    value: float | bool


@dataclass(frozen=True, slots=True)
class Case:
    """What a system gives once a missing input is known: its possible stages, and the criteria (codes, of
    those open now) that hold in every such case; ``values`` the input values that give it (yes/no inputs)."""

    possible: tuple[str, ...]
    criteria: tuple[str, ...]
    values: tuple[bool, ...] = ()


@dataclass(frozen=True, slots=True)
class MissingEffect:
    """An unknown input (or two read together) and the cases the system would give once it is known."""

    inputs: tuple[str, ...]
    now: tuple[str, ...]
    cases: tuple[Case, ...]

    @property
    def changes(self) -> bool:
        """Whether knowing the input could narrow the possible stages."""
        return any(c.possible != self.now for c in self.cases)


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why one system gives what it gives for one patient."""

    system: str
    now: Evaluated
    reached_by: tuple[Reach, ...]
    missing: tuple[MissingEffect, ...]


def evaluate(values: StagingValues, systems: Sequence[StagingSystem] | None = None) -> dict[str, Evaluated]:
    """Every system for one patient (the definitions of :func:`b2m.rules.staging_results.stage_patient`)."""
    x = StagingInputs.of(values)
    earlier: dict[str, Conditions[int]] = {}
    out: dict[str, Evaluated] = {}
    for s in registry.staging_systems() if systems is None else systems:
        ev = s.evaluate(x, earlier)
        earlier[s.name] = ev.stages
        if s.score is not None:
            assert ev.score is not None, s.name
            groups = s.score.groups(*ev.score)
            possible = tuple(st for st in s.stages if groups[st])
        else:
            possible = tuple(st for st in s.stages if ev.stages[st].possible)
        out[s.name] = Evaluated(possible, {d.code: Tri.value(ev.criteria[d.code]) for d in s.criteria})
    return out


def grid(column: str, points: int = GRID_POINTS) -> tuple[float, ...]:
    """Log-spaced candidate values over the plausible range of a numeric input (none for an unknown column)."""
    analyte = ANALYTES.get(ANALYTE_OF.get(column, ""))
    if analyte is None:
        return ()
    lo, hi = analyte.plausible
    lo = max(lo, hi * 1e-4)
    step = math.log(hi / lo) / (points - 1)
    return tuple(float(f"{lo * math.exp(step * i):.4g}") for i in range(points))


def _candidates(column: str, points: int = GRID_POINTS) -> tuple[float | bool, ...]:
    if column in FISH_COLUMNS:
        return (True, False)
    return grid(column, points) if column in NUMERIC_COLUMNS else ()


def _distance(column: str, actual: object, candidate: float | bool) -> float:
    """How far a candidate is from the patient's value (log scale for numbers: thresholds are ratios)."""
    if isinstance(candidate, bool) or column not in NUMERIC_COLUMNS:
        return 0.0
    b = bounds(actual)  # type: ignore[arg-type]
    if b is None:
        return 0.0
    lo, hi = (max(v, 1e-12) for v in b)  # a censored value's bounds: 0 and infinity included
    c = max(float(candidate), 1e-12)
    if lo <= c <= hi:
        return 0.0
    return math.log(lo / c) if c < lo else math.log(c / hi)


class _Probe:
    """Evaluations of every system with some inputs changed, each computed once for all systems."""

    def __init__(self, values: StagingValues, systems: Sequence[StagingSystem]) -> None:
        self.values = values
        self.systems = systems
        self._cache: dict[tuple[tuple[str, object], ...], dict[str, Evaluated]] = {}

    def __call__(self, changes: Mapping[str, object]) -> dict[str, Evaluated]:
        key = tuple(changes.items())
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = evaluate(replace(self.values, **changes), self.systems)  # type: ignore[arg-type]
        return hit


def _newly_met(before: Met, after: Met) -> tuple[str, ...]:
    return tuple(code for code, v in after.items() if v is True and before.get(code) is not True)


def _reached(probe: _Probe, system: StagingSystem, now: Evaluated) -> tuple[Reach, ...]:
    best: dict[tuple[str, str], tuple[float, Reach]] = {}
    for column in system.inputs:
        actual = getattr(probe.values, column)
        if actual is None or probe({column: None})[system.name].possible == now.possible:
            continue  # unknown, or no value of it could change the stages: nothing to probe
        for candidate in _candidates(column):
            if candidate == actual:
                continue
            ev = probe({column: candidate})[system.name]
            for stage in ev.possible:
                if stage in now.possible:
                    continue
                d = _distance(column, actual, candidate)
                key = (stage, column)
                if key not in best or d < best[key][0]:
                    best[key] = (d, Reach(stage, column, _newly_met(now.met, ev.met), candidate))
    order = {s: i for i, s in enumerate(system.stages)}
    return tuple(r for _, r in sorted(best.values(), key=lambda dr: (order[dr[1].stage], dr[0])))


def _cases(probe: _Probe, system: StagingSystem, now: Evaluated, columns: tuple[str, ...]) -> tuple[Case, ...]:
    points = GRID_POINTS if len(columns) == 1 else PAIR_GRID_POINTS
    groups: dict[tuple[str, ...], list[tuple[Met, tuple[float | bool, ...]]]] = {}
    for combo in product(*(_candidates(c, points) for c in columns)):
        ev = probe(dict(zip(columns, combo, strict=True)))[system.name]
        groups.setdefault(ev.possible, []).append((ev.met, combo))
    open_now = [code for code, v in now.met.items() if v is None]
    order = {s: i for i, s in enumerate(system.stages)}
    cases = []
    for possible, members in sorted(groups.items(), key=lambda kv: [order[s] for s in kv[0]]):
        held = tuple(code for code in open_now if all(m.get(code) is True for m, _ in members))
        flags = tuple(sorted({c[0] for _, c in members if isinstance(c[0], bool)}, reverse=True))
        cases.append(Case(possible, held, flags if len(columns) == 1 else ()))
    return tuple(cases)


def _missing_groups(values: StagingValues, system: StagingSystem) -> list[tuple[str, ...]]:
    """Unknown inputs of the system, each alone or with the unknown number a criterion compares it with."""
    unknown = [c for c in system.inputs if getattr(values, c) is None and _candidates(c)]
    groups: list[tuple[str, ...]] = []
    seen: set[str] = set()
    for column in unknown:
        if column in seen:
            continue
        partners = {
            other
            for d in system.criteria
            if column in d.inputs and len(d.inputs) > 1
            for other in d.inputs
            if other != column and other in unknown and column in NUMERIC_COLUMNS and other in NUMERIC_COLUMNS
        }
        group = (column, *sorted(partners))[:2]
        seen.update(group)
        groups.append(group)
    return groups


def explain(values: StagingValues, systems: Iterable[StagingSystem] | None = None) -> dict[str, Explanation]:
    """Why each staging system gives its stages for one patient, and what each missing input could change."""
    chosen = tuple(registry.staging_systems() if systems is None else systems)
    probe = _Probe(values, chosen)
    base = probe({})
    out: dict[str, Explanation] = {}
    for s in chosen:
        now = base[s.name]
        missing = []
        for columns in _missing_groups(values, s):
            effect = MissingEffect(columns, now.possible, _cases(probe, s, now, columns))
            if effect.changes:
                missing.append(effect)
        out[s.name] = Explanation(s.name, now, _reached(probe, s, now), tuple(missing))
    return out


__all__ = [
    "ANALYTE_OF",
    "Case",
    "Evaluated",
    "Explanation",
    "MissingEffect",
    "Reach",
    "evaluate",
    "explain",
    "grid",
]
