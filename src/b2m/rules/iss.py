"""International Staging System (ISS) for multiple myeloma.

Greipp PR, San Miguel J, Durie BGM, et al. International staging system for multiple myeloma.
J Clin Oncol. 2005;23(15):3412-3420. DOI 10.1200/JCO.2005.04.242 (b2m reference ISS-2).

- Stage I:   B2M < 3.5 mg/L and albumin >= 3.5 g/dL
- Stage III: B2M >= 5.5 mg/L (albumin irrelevant)
- Stage II:  neither I nor III
"""

from __future__ import annotations

from collections.abc import Mapping

from b2m.provenance import RuleRef, Source
from b2m.rules.base import Note, Outcome
from b2m.rules.expr import Tri, V, ge, lt
from b2m.rules.inputs import StagingInputs, StagingValues
from b2m.rules.spec import Conditions, CriterionDef, Staged, StagingSystem

SOURCE = Source(
    "Greipp PR, San Miguel J, Durie BGM, et al. International staging system for multiple myeloma. "
    "J Clin Oncol. 2005;23(15):3412-3420.",
    "10.1200/JCO.2005.04.242",
)
REF = RuleRef("iss", "2005", "International Staging System (ISS)", SOURCE)
STAGES: tuple[str, ...] = ("I", "II", "III")

B2M_STAGE_I_BELOW_MG_L = 3.5  # Greipp 2005: stage I needs B2M < 3.5 (exclusive; 3.5 is not stage I)
ALBUMIN_STAGE_I_MIN_G_DL = 3.5  # Greipp 2005: stage I needs albumin >= 3.5 (inclusive) [D: IMWG copy ">"]
B2M_STAGE_III_MIN_MG_L = 5.5  # Greipp 2005: stage III is B2M >= 5.5 (inclusive) [D: R-ISS abstract ">"]

INPUTS: tuple[str, ...] = ("b2m_mg_l", "albumin_g_dl")

CRITERIA: tuple[CriterionDef, ...] = (
    CriterionDef("b2m_lt_3_5", f"serum B2M < {B2M_STAGE_I_BELOW_MG_L:g} mg/L", ("b2m_mg_l",)),
    CriterionDef("albumin_ge_3_5", f"serum albumin ≥ {ALBUMIN_STAGE_I_MIN_G_DL:g} g/dL", ("albumin_g_dl",)),
    CriterionDef("b2m_ge_5_5", f"serum B2M ≥ {B2M_STAGE_III_MIN_MG_L:g} mg/L", ("b2m_mg_l",)),
)


def criteria(x: StagingInputs[V]) -> dict[str, Tri[V]]:
    return {
        "b2m_lt_3_5": lt(x.b2m_mg_l, B2M_STAGE_I_BELOW_MG_L),
        "albumin_ge_3_5": ge(x.albumin_g_dl, ALBUMIN_STAGE_I_MIN_G_DL),
        "b2m_ge_5_5": ge(x.b2m_mg_l, B2M_STAGE_III_MIN_MG_L),
    }


def conditions(x: StagingInputs[V], c: Mapping[str, Tri[V]] | None = None) -> dict[str, Tri[V]]:
    """Three-valued condition of each stage (undecided where the inputs leave it open)."""
    c = c or criteria(x)
    stage_i = c["b2m_lt_3_5"] & c["albumin_ge_3_5"]
    stage_iii = c["b2m_ge_5_5"]
    return {"I": stage_i, "II": ~stage_i & ~stage_iii, "III": stage_iii}


def evaluate(x: StagingInputs[V], earlier: Mapping[str, Conditions[V]], /) -> Staged[V]:
    c = criteria(x)
    return Staged(c, stages=conditions(x, c))


def boundary_notes(p: StagingValues) -> tuple[Note, ...]:
    """Notes on a value exactly on a boundary the sources write differently (given to every ISS-based system)."""
    notes = []
    if p.b2m_mg_l == B2M_STAGE_III_MIN_MG_L:
        notes.append(
            Note(
                "b2m_at_stage_iii_boundary",
                "discrepancy",
                f"B2M is exactly {B2M_STAGE_III_MIN_MG_L:g} mg/L: ISS III under Greipp's '≥'; sources that "
                "write '> 5.5' would give ISS II (b2m reference E2).",
            )
        )
    if p.albumin_g_dl == ALBUMIN_STAGE_I_MIN_G_DL:
        notes.append(
            Note(
                "albumin_at_stage_i_boundary",
                "discrepancy",
                f"Albumin is exactly {ALBUMIN_STAGE_I_MIN_G_DL:g} g/dL: meets stage I's '≥' (Greipp); the "
                "IMWG web copy's '>' would not (b2m reference E3).",
            )
        )
    return tuple(notes)


NOTES: tuple[Note, ...] = (
    Note(
        "iss_b2m_operator",
        "discrepancy",
        f"Stage III uses B2M ≥ {B2M_STAGE_III_MIN_MG_L:g} mg/L as in Greipp 2005; the IMWG web copy of the "
        "abstract and the R-ISS abstract print '> 5.5' (b2m reference D1). A value of exactly 5.5 mg/L "
        "would be stage II under '>'.",
    ),
    Note(
        "iss_albumin_operator",
        "discrepancy",
        f"Stage I uses albumin ≥ {ALBUMIN_STAGE_I_MIN_G_DL:g} g/dL as in Greipp 2005; the IMWG web copy prints "
        "'> 3.5 g/dL'. Albumin of exactly 3.5 g/dL would be stage II under '>'.",
    ),
    Note(
        "iss_missing_data",
        "unconfirmed",
        "How Greipp 2005 handled missing B2M or albumin is not stated; b2m stages only when the known "
        "values settle the stage (B2M ≥ 5.5 needs no albumin) and otherwise lists the stages still possible.",
    ),
    Note(
        "iss_stage_ii_median",
        "discrepancy",
        "Stage II median OS is 44 months in Greipp 2005; a 2022 review table quotes 45 months (b2m reference D3).",
    ),
    Note(
        "iss_renal",
        "caveat",
        "ISS uses B2M as measured: B2M rises as kidney function falls, so reduced GFR can raise the stage "
        "independently of tumour burden (b2m reference LAB-1, E48).",
    ),
)

_COHORT = "10,750 previously untreated symptomatic myeloma patients, 17 institutions (Greipp 2005)"
OUTCOMES: tuple[Outcome, ...] = (
    Outcome("I", "median overall survival", 62, "months", _COHORT, SOURCE),
    Outcome("II", "median overall survival", 44, "months", _COHORT, SOURCE),
    Outcome("III", "median overall survival", 29, "months", _COHORT, SOURCE),
)

SPEC = StagingSystem(
    name="iss",
    label="ISS",
    ref=REF,
    stages=STAGES,
    inputs=INPUTS,
    criteria=CRITERIA,
    notes=NOTES,
    outcomes=OUTCOMES,
    evaluate=evaluate,
    value_notes=boundary_notes,
)
