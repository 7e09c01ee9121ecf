"""Single-patient results of the ISS-family staging systems (ISS, R-ISS, R2-ISS and any registered one).

Two evaluations of the same definitions (:mod:`b2m.rules.expr`), with the same results:

- :func:`stage_patient` evaluates them in plain Python for one patient (microseconds): the path of
  ``b2m assess``.
- :func:`staging_results` lays patients out one row each on a Polars frame (numeric inputs as
  ``__lo``/``__hi`` bounds so censored results keep their direction) and runs the batch expressions of
  :func:`b2m.rules.staging.staged` on it. It is the batch contract applied to single patients, kept as
  the comparison of ``benchmarks/single_patient.py`` and as the tests' oracle for the Python path.

Each system's result becomes a :class:`RuleResult` with criteria, notes and outcomes, built by one
function from what either evaluation produced; explanations are rendered from the criterion values
the computation gave, never recomputed here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import narwhals as nw
import polars as pl

from b2m.rules import registry
from b2m.rules.base import Criterion, Note, RuleResult
from b2m.rules.expr import Tri
from b2m.rules.inputs import FISH_COLUMNS, NUMERIC_COLUMNS, Setting, StagingInputs, StagingValues
from b2m.rules.kleene import Num, bounds
from b2m.rules.kleene import Tri as Kleene
from b2m.rules.spec import Conditions, StagingSystem
from b2m.rules.staging import mask_stages, staged
from b2m.units.censored import Censored


def _frame(patients: Sequence[StagingValues]) -> pl.DataFrame:
    data: dict[str, list[object]] = {}
    for col in NUMERIC_COLUMNS:
        b = [bounds(getattr(p, col)) for p in patients]
        data[f"{col}__lo"] = [x[0] if x else None for x in b]
        data[f"{col}__hi"] = [x[1] if x else None for x in b]
    for col in FISH_COLUMNS:
        data[col] = [getattr(p, col) for p in patients]
    schema = {c: (pl.Boolean if c in FISH_COLUMNS else pl.Float64) for c in data}
    return pl.DataFrame(data, schema=schema)


def _setting_note(setting: Setting | None) -> Note | None:
    if setting in (None, "new_diagnosis"):
        return None
    return Note(
        "setting_outside_derivation",
        "setting",
        f"This staging system was derived at diagnosis of symptomatic myeloma; the patient's setting is "
        f"'{setting}', where its stages and outcome figures were not validated (b2m reference E47).",
    )


def _input_notes(system: StagingSystem, p: StagingValues) -> list[Note]:
    """Notes on how the LDH and FISH inputs were given, for the systems that read them."""
    notes: list[Note] = []
    if "ldh_uln_u_l" in system.inputs and p.ldh_u_l is not None and p.ldh_uln_u_l is None:
        notes.append(
            Note(
                "ldh_uln_unknown",
                "missing",
                "LDH was given without the reporting lab's upper limit of normal; no default limit is "
                "assumed, so 'LDH above ULN' stays unknown (b2m reference E7).",
            )
        )
    if any(c in system.inputs for c in FISH_COLUMNS):
        if p.fish_cd138_purified is False:
            notes.append(
                Note(
                    "fish_not_purified",
                    "caveat",
                    "FISH was not done on CD138-purified plasma cells; the staging assumes purified iFISH and "
                    "abnormalities may be missed (b2m reference E10).",
                )
            )
        elif p.fish_cd138_purified is None:
            notes.append(
                Note(
                    "fish_purification_unknown",
                    "caveat",
                    "Whether FISH was done on CD138-purified plasma cells was not stated.",
                )
            )
    return notes


def _value_notes(system: StagingSystem, p: StagingValues) -> list[Note]:
    """Notes on the values from this system and the systems it uses (ISS boundaries for R-ISS too)."""
    out: list[Note] = []
    for s in (*(registry.staging_system(u) for u in system.uses), system):
        if s.value_notes is not None:
            out += s.value_notes(p)
    return out


def _missing(system: StagingSystem, p: StagingValues, settled: set[str]) -> tuple[str, ...]:
    """Unknown inputs; those of a used system whose stage is settled no longer matter."""
    covered = {c for u in system.uses if u in settled for c in registry.staging_system(u).inputs}
    out = [c for c in system.inputs if getattr(p, c) is None and c not in covered]
    if "ldh_uln_u_l" in out and "ldh_u_l" in out:
        out.remove("ldh_uln_u_l")
    return tuple(out)


def _input_value(v: Num | Kleene) -> object:
    return str(v) if isinstance(v, Censored) else v


def _result(
    system: StagingSystem,
    p: StagingValues,
    possible: tuple[str, ...],
    met: Mapping[str, Kleene],
    score_range: tuple[float, float] | None,
    settled: set[str],
) -> RuleResult:
    stage = possible[0] if len(possible) == 1 else None
    notes = [*system.notes, *_value_notes(system, p), *_input_notes(system, p)]
    setting_note = _setting_note(p.setting)
    if setting_note:
        notes.append(setting_note)
    return RuleResult(
        rule=system.ref,
        possible=possible,
        criteria=tuple(Criterion(d.code, d.description, met[d.code], d.inputs) for d in system.criteria),
        inputs={c: _input_value(getattr(p, c)) for c in system.inputs},
        missing=() if stage else _missing(system, p, settled),
        notes=tuple(notes),
        outcomes=system.outcomes,  # RuleResult keeps only the settled stage's confirmed figures
        score=None if score_range is None or score_range[0] != score_range[1] else score_range[0],
        score_range=score_range,
    )


def stage_patient(p: StagingValues, systems: Sequence[StagingSystem] | None = None) -> dict[str, RuleResult]:
    """Every staging system of the registry for one patient, evaluated in Python (same definitions)."""
    x = StagingInputs.of(p)
    earlier: dict[str, Conditions[int]] = {}
    results: dict[str, RuleResult] = {}
    settled: set[str] = set()
    for s in registry.staging_systems() if systems is None else systems:
        ev = s.evaluate(x, earlier)
        earlier[s.name] = ev.stages
        score_range = None
        if s.score is not None:
            assert ev.score is not None, s.name
            lo, hi = ev.score
            groups = s.score.groups(lo, hi)
            possible = tuple(st for st in s.stages if groups[st])
            score_range = (lo / s.score.units_per_point, hi / s.score.units_per_point)
        else:
            possible = tuple(st for st in s.stages if ev.stages[st].possible)
        met = {d.code: Tri.value(ev.criteria[d.code]) for d in s.criteria}
        results[s.name] = _result(s, p, possible, met, score_range, settled)
        if len(possible) == 1:
            settled.add(s.name)
    return results


def staging_results(patients: Sequence[StagingValues]) -> list[dict[str, RuleResult]]:
    """Every staging system for each patient, evaluated on a frame of one row per patient."""
    if not patients:
        return []
    lazy = nw.from_native(_frame(patients)).lazy()
    rows = staged(lazy, StagingInputs.bounded(), detail=True).collect().rows(named=True)
    systems = registry.staging_systems()
    out: list[dict[str, RuleResult]] = []
    for p, row in zip(patients, rows, strict=True):
        results: dict[str, RuleResult] = {}
        settled: set[str] = set()
        for s in systems:
            possible = mask_stages(s.stages, int(row[f"{s.name}.mask"]))
            met = {d.code: row[f"{s.name}.{d.code}"] for d in s.criteria}
            score_range = None
            if s.score is not None:
                score_range = (float(row[f"{s.name}.score_min"]), float(row[f"{s.name}.score_max"]))
            results[s.name] = _result(s, p, possible, met, score_range, settled)
            if len(possible) == 1:
                settled.add(s.name)
        out.append(results)
    return out


__all__ = ["StagingValues", "stage_patient", "staging_results"]
