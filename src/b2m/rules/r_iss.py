"""Revised International Staging System (R-ISS).

Palumbo A, Avet-Loiseau H, Oliva S, et al. Revised International Staging System for Multiple
Myeloma: A Report From International Myeloma Working Group. J Clin Oncol. 2015;33(26):2863-2869.
DOI 10.1200/JCO.2015.61.2267 (b2m reference RISS-2).

- Stage I:   ISS I and no high-risk CA [del(17p), t(4;14), t(14;16) by iFISH] and LDH not above ULN
- Stage III: ISS III and (high-risk CA or LDH above ULN)
- Stage II:  all other combinations (ISS III + standard-risk CA + normal LDH is stage II)
"""

from __future__ import annotations

from collections.abc import Mapping

from b2m.provenance import RuleRef, Source
from b2m.rules import iss
from b2m.rules.base import Note, Outcome
from b2m.rules.expr import Number, Tri, V, gt_num
from b2m.rules.inputs import StagingInputs
from b2m.rules.spec import Conditions, CriterionDef, Staged, StagingSystem

SOURCE = Source(
    "Palumbo A, Avet-Loiseau H, Oliva S, et al. Revised International Staging System for Multiple Myeloma: "
    "A Report From International Myeloma Working Group. J Clin Oncol. 2015;33(26):2863-2869.",
    "10.1200/JCO.2015.61.2267",
)
REF = RuleRef("r_iss", "2015", "Revised International Staging System (R-ISS)", SOURCE)
STAGES: tuple[str, ...] = ("I", "II", "III")
INPUTS: tuple[str, ...] = (*iss.INPUTS, "ldh_u_l", "ldh_uln_u_l", "del17p", "t4_14", "t14_16")

CRITERIA: tuple[CriterionDef, ...] = (
    CriterionDef("iss_i", "ISS stage I", iss.INPUTS),
    CriterionDef("iss_iii", "ISS stage III", iss.INPUTS),
    CriterionDef(
        "high_risk_ca",
        "high-risk chromosomal abnormality by iFISH: del(17p), t(4;14) or t(14;16)",
        ("del17p", "t4_14", "t14_16"),
    ),
    CriterionDef(
        "ldh_above_uln", "serum LDH above the reporting lab's upper limit of normal", ("ldh_u_l", "ldh_uln_u_l")
    ),
)


def ldh_above_uln(ldh: Number[V], uln: Number[V]) -> Tri[V]:
    """LDH > ULN; LDH equal to the ULN is normal (b2m reference E6). No default ULN, ever (b2m reference E7)."""
    return gt_num(ldh, uln)


def criteria(x: StagingInputs[V], iss_conditions: Conditions[V] | None = None) -> dict[str, Tri[V]]:
    """``iss_conditions`` may be passed precomputed (e.g. as columns) to share work with other rules."""
    s = iss_conditions or iss.conditions(x)
    return {
        "iss_i": s["I"],
        "iss_iii": s["III"],
        "high_risk_ca": x.del17p | x.t4_14 | x.t14_16,
        "ldh_above_uln": ldh_above_uln(x.ldh_u_l, x.ldh_uln_u_l),
    }


def conditions(
    x: StagingInputs[V], iss_conditions: Conditions[V] | None = None, c: Mapping[str, Tri[V]] | None = None
) -> dict[str, Tri[V]]:
    c = c or criteria(x, iss_conditions)
    stage_i = c["iss_i"] & ~c["high_risk_ca"] & ~c["ldh_above_uln"]
    stage_iii = c["iss_iii"] & (c["high_risk_ca"] | c["ldh_above_uln"])
    return {"I": stage_i, "II": ~stage_i & ~stage_iii, "III": stage_iii}


def evaluate(x: StagingInputs[V], earlier: Mapping[str, Conditions[V]], /) -> Staged[V]:
    c = criteria(x, earlier["iss"])
    return Staged(c, stages=conditions(x, c=c))


NOTES: tuple[Note, ...] = (
    Note(
        "r_iss_from_iss",
        "discrepancy",
        "R-ISS is derived from the ISS stage (B2M ≥ 5.5 mg/L for ISS III, Greipp 2005); the R-ISS abstract "
        "writes '> 5.5 mg/L' (b2m reference E2).",
    ),
    Note(
        "r_iss_ldh_equal_uln",
        "discrepancy",
        "LDH equal to the upper limit of normal counts as normal ('high' = above ULN, as in the HARMONY "
        "update); Palumbo's phrase 'less than ULN' leaves LDH = ULN ambiguous (b2m reference E6).",
    ),
    Note(
        "r_iss_fish",
        "caveat",
        "High-risk abnormalities are defined by interphase FISH on CD138-purified plasma cells; FISH "
        "positivity cut-offs for R-ISS are not confirmed (EMN suggests 10% for fusion/break-apart probes).",
    ),
    Note(
        "r_iss_medians",
        "unconfirmed",
        "Median OS/PFS per R-ISS stage are not shown: published figures disagree and were not confirmed "
        "against the primary paper (b2m reference RISS-5).",
    ),
)

_COHORT = "3,060 newly diagnosed patients with ISS, iFISH and LDH all available, of 4,445 from 11 trials (Palumbo 2015)"
OUTCOMES: tuple[Outcome, ...] = (
    Outcome("I", "5-year overall survival", 82, "%", _COHORT, SOURCE),
    Outcome("II", "5-year overall survival", 62, "%", _COHORT, SOURCE),
    Outcome("III", "5-year overall survival", 40, "%", _COHORT, SOURCE),
    Outcome("I", "5-year progression-free survival", 55, "%", _COHORT, SOURCE),
    Outcome("II", "5-year progression-free survival", 36, "%", _COHORT, SOURCE),
    Outcome("III", "5-year progression-free survival", 24, "%", _COHORT, SOURCE),
)

SPEC = StagingSystem(
    name="r_iss",
    label="R-ISS",
    ref=REF,
    stages=STAGES,
    inputs=INPUTS,
    criteria=CRITERIA,
    notes=NOTES,
    outcomes=OUTCOMES,
    evaluate=evaluate,
    uses=("iss",),
)
