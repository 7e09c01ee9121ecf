"""Single-patient results of ISS, R-ISS and R2-ISS, evaluated through the shared expressions.

Patients are laid out one row each (numeric inputs as ``__lo``/``__hi`` bounds so censored results
keep their direction), the same :func:`b2m.rules.staging.staged` expressions run on them, and each
row becomes a :class:`RuleResult` with criteria, notes and outcomes. Explanations are rendered from
the criterion columns the computation produced, never recomputed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Literal

import narwhals as nw
import polars as pl

from b2m.rules import iss, r2_iss, r_iss
from b2m.rules.base import Criterion, Note, RuleResult
from b2m.rules.inputs import FISH_COLUMNS, NUMERIC_COLUMNS, StagingInputs
from b2m.rules.kleene import Num, Tri, bounds
from b2m.rules.staging import SYSTEMS, mask_stages, staged
from b2m.units.censored import Censored

Setting = Literal["new_diagnosis", "relapse", "smm", "mgus"]


@dataclass(frozen=True, slots=True)
class StagingValues:
    """Canonical staging inputs of one patient (``None`` = unknown)."""

    b2m_mg_l: Num = None
    albumin_g_dl: Num = None
    ldh_u_l: Num = None
    ldh_uln_u_l: Num = None
    del17p: Tri = None
    t4_14: Tri = None
    t14_16: Tri = None
    gain1q: Tri = None
    setting: Setting | None = None
    fish_cd138_purified: bool | None = None


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
        f"'{setting}', where its stages and outcome figures were not validated (reference sheet §12 #47).",
    )


def _boundary_notes(p: StagingValues) -> list[Note]:
    notes = []
    if p.b2m_mg_l == iss.B2M_STAGE_III_MIN_MG_L:
        notes.append(
            Note(
                "b2m_at_stage_iii_boundary",
                "discrepancy",
                f"B2M is exactly {iss.B2M_STAGE_III_MIN_MG_L:g} mg/L: ISS III under Greipp's '≥'; sources that "
                "write '> 5.5' would give ISS II (reference sheet §12 #2).",
            )
        )
    if p.albumin_g_dl == iss.ALBUMIN_STAGE_I_MIN_G_DL:
        notes.append(
            Note(
                "albumin_at_stage_i_boundary",
                "discrepancy",
                f"Albumin is exactly {iss.ALBUMIN_STAGE_I_MIN_G_DL:g} g/dL: meets stage I's '≥' (Greipp); the "
                "IMWG web copy's '>' would not (reference sheet §12 #3).",
            )
        )
    return notes


def _rule_notes(name: str, p: StagingValues) -> list[Note]:
    notes: list[Note] = []
    if name in ("r_iss", "r2_iss"):
        if p.ldh_u_l is not None and p.ldh_uln_u_l is None:
            notes.append(
                Note(
                    "ldh_uln_unknown",
                    "missing",
                    "LDH was given without the reporting lab's upper limit of normal; no default limit is "
                    "assumed, so 'LDH above ULN' stays unknown (reference sheet §12 #7).",
                )
            )
        if p.fish_cd138_purified is False:
            notes.append(
                Note(
                    "fish_not_purified",
                    "caveat",
                    "FISH was not done on CD138-purified plasma cells; the staging assumes purified iFISH and "
                    "abnormalities may be missed (reference sheet §12 #10).",
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


def _missing(module: ModuleType, p: StagingValues, iss_known: bool) -> tuple[str, ...]:
    out = [c for c in module.INPUTS if getattr(p, c) is None and not (iss_known and c in iss.INPUTS)]
    if "ldh_uln_u_l" in out and "ldh_u_l" in out:
        out.remove("ldh_uln_u_l")
    return tuple(out)


def _input_value(v: Num | Tri) -> object:
    return str(v) if isinstance(v, Censored) else v


def staging_results(patients: Sequence[StagingValues]) -> list[dict[str, RuleResult]]:
    """ISS, R-ISS and R2-ISS for each patient, from the shared rule expressions."""
    if not patients:
        return []
    lazy = nw.from_native(_frame(patients)).lazy()
    rows = staged(lazy, StagingInputs.bounded(), detail=True).collect().rows(named=True)
    out: list[dict[str, RuleResult]] = []
    for p, row in zip(patients, rows, strict=True):
        results: dict[str, RuleResult] = {}
        setting_note = _setting_note(p.setting)
        iss_known = bin(int(row["iss.mask"])).count("1") == 1
        for name, module in SYSTEMS.items():
            possible = mask_stages(module.STAGES, int(row[f"{name}.mask"]))
            stage = possible[0] if len(possible) == 1 else None
            criteria = tuple(
                Criterion(d.code, d.description, row[f"{name}.{d.code}"], d.inputs) for d in module.CRITERIA
            )
            notes = [*module.NOTES, *_boundary_notes(p), *_rule_notes(name, p)]
            if setting_note:
                notes.append(setting_note)
            score = score_range = None
            if module is r2_iss:
                lo, hi = float(row["r2_iss.score_min"]), float(row["r2_iss.score_max"])
                score_range = (lo, hi)
                score = lo if lo == hi else None
            results[name] = RuleResult(
                rule=module.REF,
                possible=possible,
                criteria=criteria,
                inputs={c: _input_value(getattr(p, c)) for c in module.INPUTS},
                missing=() if stage else _missing(module, p, iss_known),
                notes=tuple(notes),
                outcomes=module.OUTCOMES,  # RuleResult keeps only the settled stage's confirmed figures
                score=score,
                score_range=score_range,
            )
        out.append(results)
    return out


__all__ = ["StagingValues", "r_iss", "staging_results"]
