"""PRIMA-PI: the PRIMA prognostic index for follicular lymphoma (2018).

Bachy E, Maurer MJ, Habermann TM, et al. A simplified scoring system in de novo follicular lymphoma
treated initially with immunochemotherapy. *Blood.* 2018;132(1):49–58. DOI 10.1182/blood-2017-11-816405
(b2m reference PRIMA; pages are secondary-source there).

A two-step tree, not a point sum:

- high:         B2M > 3 mg/L
- intermediate: B2M ≤ 3 mg/L with bone-marrow involvement
- low:          B2M ≤ 3 mg/L without bone-marrow involvement

It has no score, so results carry ``score`` and ``score_range`` as ``None``. :func:`prima_pi_2018`
implements it.
"""

from __future__ import annotations

from b2m.provenance import RuleRef, Source
from b2m.rules._points import possible_groups, yes_no
from b2m.rules.base import Criterion, Note, Outcome, RuleResult, missing_names
from b2m.rules.kleene import Num, gt
from b2m.rules.spec import ScoreRule

SOURCE = Source(
    "Bachy E, Maurer MJ, Habermann TM, et al. A simplified scoring system in de novo follicular lymphoma "
    "treated initially with immunochemotherapy. Blood. 2018;132(1):49-58.",
    "10.1182/blood-2017-11-816405",
)
REF = RuleRef("prima_pi", "2018", "PRIMA prognostic index (PRIMA-PI)", SOURCE)
INPUTS: tuple[str, ...] = ("b2m_mg_l", "bone_marrow_involved")

B2M_HIGH_MG_L = 3.0  # Bachy 2018: high is B2M > 3 mg/L (exclusive; 3 is low/intermediate, b2m reference E18)

LOW, INTERMEDIATE, HIGH = "low", "intermediate", "high"
STAGES: tuple[str, ...] = (LOW, INTERMEDIATE, HIGH)

_PRIMA = "Bachy 2018: PRIMA trial, n = 1,135"
_VALIDATION = "Bachy 2018: external validation cohort, n = 479"
OUTCOMES: tuple[Outcome, ...] = (
    *(
        Outcome(group, "5-year progression-free survival", value, "%", _PRIMA, SOURCE, "C")
        for group, value in zip(STAGES, (69, 55, 37), strict=True)
    ),
    *(
        Outcome(group, "5-year event-free survival", value, "%", _VALIDATION, SOURCE, "C")
        for group, value in zip(STAGES, (77, 57, 44), strict=True)
    ),
)

NOTES: tuple[Note, ...] = (
    Note(
        "prima_pi_setting",
        "setting",
        "Built in de novo follicular lymphoma treated initially with immunochemotherapy (PRIMA trial); "
        "other settings are outside its derivation.",
    ),
    Note(
        "prima_pi_absolute_b2m",
        "caveat",
        f"The B2M cut-off is an absolute {B2M_HIGH_MG_L:g} mg/L, not the reporting lab's upper limit as in FLIPI-2.",
    ),
)


def classify(points: tuple[int, ...]) -> str:
    """Group from (B2M above the cut-off, marrow involved), each 0 or 1 (Bachy 2018 tree)."""
    b2m_high, marrow = points
    if b2m_high:
        return HIGH
    return INTERMEDIATE if marrow else LOW


def prima_pi_2018(*, b2m_mg_l: Num, bone_marrow_involved: bool | None) -> RuleResult:
    """PRIMA-PI group (Bachy 2018). Marrow involvement does not matter once B2M > 3 mg/L."""
    b2m = gt(b2m_mg_l, B2M_HIGH_MG_L)
    criteria = (
        Criterion("b2m", f"serum B2M > {B2M_HIGH_MG_L:g} mg/L (high risk)", b2m, ("b2m_mg_l",)),
        Criterion(
            "bone_marrow",
            "bone-marrow involvement (intermediate risk when B2M is not high)",
            bone_marrow_involved,
            ("bone_marrow_involved",),
        ),
    )
    possible = possible_groups([yes_no(b2m, 1), yes_no(bone_marrow_involved, 1)], classify, STAGES)
    inputs: dict[str, object] = {"b2m_mg_l": b2m_mg_l, "bone_marrow_involved": bone_marrow_involved}
    return RuleResult(
        rule=REF,
        possible=possible,
        criteria=criteria,
        inputs=inputs,
        missing=missing_names(inputs),
        notes=NOTES,
        outcomes=OUTCOMES,  # RuleResult keeps only the settled stage's confirmed figures
    )


SPEC = ScoreRule(
    name="prima_pi",
    ref=REF,
    stages=STAGES,
    inputs=INPUTS,
    notes=NOTES,
    evaluate=prima_pi_2018,
    arguments={
        "b2m_mg_l": "b2m_mg_l",
        "bone_marrow_involved": "bone_marrow_involved",
    },
    diseases=("follicular_lymphoma",),
    outcomes=OUTCOMES,
)
