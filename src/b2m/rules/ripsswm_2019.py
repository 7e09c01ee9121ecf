r"""Revised IPSSWM: revised International Prognostic Scoring System for Waldenström macroglobulinemia (2019).

Kastritis E, et al. A revised international prognostic score system for Waldenström's
macroglobulinemia. *Leukemia.* 2019. DOI 10.1038/s41375-019-0431-y (b2m reference RIPSSWM; volume,
pages and co-authors are unconfirmed there and are not quoted).

.. math::

    \text{rIPSSWM} = \begin{cases}0 & \text{age} \le 65\\ 1 & 66 \le \text{age} \le 75\\
        2 & \text{age} \ge 76\end{cases}
        + [\beta_2\text{M} \ge 4\ \text{mg/L}] + [\text{LDH} \ge 250\ \text{IU/L}]
        + [\text{albumin} < 3.5\ \text{g/dL}]

with age in completed years, grouped very low 0, low 1, intermediate 2, high 3, very high 4–5.
:func:`ripsswm_2019` implements it.
"""

from __future__ import annotations

from b2m.provenance import RuleRef, Source
from b2m.rules._points import (
    Band,
    Options,
    age_caveats,
    completed_years,
    determined,
    possible_bands,
    score_range,
    yes_no,
)
from b2m.rules.base import Criterion, Note, Outcome, RuleResult, missing_names
from b2m.rules.kleene import Num, ge, lt
from b2m.rules.spec import ScoreRule

SOURCE = Source(
    "Kastritis E, et al. A revised international prognostic score system for Waldenström's "
    "macroglobulinemia. Leukemia. 2019.",
    "10.1038/s41375-019-0431-y",
)
REF = RuleRef(
    "ripsswm",
    "2019",
    "Revised International Prognostic Scoring System for Waldenström macroglobulinemia (rIPSSWM)",
    SOURCE,
)
INPUTS: tuple[str, ...] = ("age_years", "b2m_mg_l", "ldh_u_l", "albumin_g_dl")

AGE_ONE_POINT_MIN_YEARS = 66  # Kastritis 2019: 66–75 scores 1 (inclusive, completed years, b2m reference E17)
AGE_TWO_POINTS_MIN_YEARS = 76  # Kastritis 2019: ≥ 76 scores 2 (inclusive, completed years, b2m reference E17)
B2M_ADVERSE_MG_L = 4.0  # Kastritis 2019 abstract: ≥ 4 mg/L (inclusive) [D: "> 4" in BMJ BP / Medscape]
LDH_ADVERSE_U_L = 250.0  # Kastritis 2019 abstract: ≥ 250 IU/L (inclusive; lab ULN < 225) [D: "> 250" BMJ BP]
ALBUMIN_ADVERSE_G_DL = 3.5  # Kastritis 2019: < 3.5 g/dL (exclusive; 3.5 scores 0)
AGE_66_75_POINTS = 1  # Kastritis 2019
AGE_76_PLUS_POINTS = 2  # Kastritis 2019
LAB_POINTS = 1  # Kastritis 2019: B2M, LDH and albumin score 1 point each

VERY_LOW, LOW, INTERMEDIATE, HIGH, VERY_HIGH = "very low", "low", "intermediate", "high", "very high"
# Kastritis 2019 groups as given by secondary sources (b2m reference RIPSSWM [S]); totals inclusive at both ends.
BANDS = (
    Band(VERY_LOW, 0, 0),
    Band(LOW, 1, 1),
    Band(INTERMEDIATE, 2, 2),
    Band(HIGH, 3, 3),
    Band(VERY_HIGH, 4, 5),
)
STAGES: tuple[str, ...] = tuple(b.group for b in BANDS)

_COHORT = "Kastritis 2019: symptomatic patients (training n = 492, validation n = 229)"
OUTCOMES: tuple[Outcome, ...] = (
    *(
        Outcome(group, "3-year WM-related death", value, "%", _COHORT, SOURCE, "C")
        for group, value in zip(STAGES, (0, 10, 14, 38, 48), strict=True)
    ),
    *(
        Outcome(group, "10-year survival", value, "%", _COHORT, SOURCE, "C")
        for group, value in zip(STAGES, (84, 59, 37, 19, 9), strict=True)
    ),
)

NOTES: tuple[Note, ...] = (
    Note(
        "ripsswm_b2m_operator",
        "discrepancy",
        f"B2M scores 1 point at ≥ {B2M_ADVERSE_MG_L:g} mg/L as in the Kastritis 2019 abstract; BMJ Best "
        f"Practice and Medscape print '> {B2M_ADVERSE_MG_L:g}' (b2m reference D17). B2M of exactly "
        f"{B2M_ADVERSE_MG_L:g} mg/L would score 0 under '>'.",
    ),
    Note(
        "ripsswm_ldh_operator",
        "discrepancy",
        f"LDH scores 1 point at ≥ {LDH_ADVERSE_U_L:g} IU/L as in the Kastritis 2019 abstract; BMJ Best "
        f"Practice prints '> {LDH_ADVERSE_U_L:g}' and Medscape mixes the two (b2m reference D17). LDH of "
        f"exactly {LDH_ADVERSE_U_L:g} IU/L would score 0 under '>'.",
    ),
    Note(
        "ripsswm_ldh_absolute",
        "caveat",
        f"The LDH cut-off is an absolute {LDH_ADVERSE_U_L:g} IU/L, set in a laboratory whose upper limit "
        "of normal was below 225 IU/L; it is not rescaled to the reporting lab's limit, so LDH from a lab "
        "with a different method or reference interval may not be comparable.",
    ),
    Note(
        "ripsswm_groups",
        "caveat",
        "The group boundaries (very low 0, low 1, intermediate 2, high 3, very high 4–5) come from "
        "secondary sources (b2m reference RIPSSWM [S]); the points and the outcome figures are confirmed.",
    ),
    Note(
        "ripsswm_setting",
        "setting",
        "Derived in 492 symptomatic patients and validated in 229; not a score for asymptomatic disease.",
    ),
)


def age_points(age: int | None) -> Options:
    """Points of the age factor (completed years): all of 0, 1, 2 when age is unknown."""
    if age is None:
        return (0, AGE_66_75_POINTS, AGE_76_PLUS_POINTS)
    if age >= AGE_TWO_POINTS_MIN_YEARS:
        return (AGE_76_PLUS_POINTS,)
    return (AGE_66_75_POINTS,) if age >= AGE_ONE_POINT_MIN_YEARS else (0,)


def ripsswm_2019(
    *,
    age_years: float | None,
    b2m_mg_l: Num,
    ldh_u_l: Num,
    albumin_g_dl: Num,
) -> RuleResult:
    """Revised IPSSWM score and group (Kastritis 2019). Age in completed years; LDH in IU/L (= U/L)."""
    age = completed_years(age_years)
    age_opts = age_points(age)
    b2m = ge(b2m_mg_l, B2M_ADVERSE_MG_L)
    ldh = ge(ldh_u_l, LDH_ADVERSE_U_L)
    alb = lt(albumin_g_dl, ALBUMIN_ADVERSE_G_DL)

    criteria = (
        Criterion(
            "age_66_75",
            f"age {AGE_ONE_POINT_MIN_YEARS}–{AGE_TWO_POINTS_MIN_YEARS - 1} years, completed years "
            f"({AGE_66_75_POINTS} point)",
            None if age is None else age_opts == (AGE_66_75_POINTS,),
            ("age_years",),
        ),
        Criterion(
            "age_76_plus",
            f"age ≥ {AGE_TWO_POINTS_MIN_YEARS} years, completed years ({AGE_76_PLUS_POINTS} points)",
            None if age is None else age_opts == (AGE_76_PLUS_POINTS,),
            ("age_years",),
        ),
        Criterion("b2m", f"serum B2M ≥ {B2M_ADVERSE_MG_L:g} mg/L ({LAB_POINTS} point)", b2m, ("b2m_mg_l",)),
        Criterion("ldh", f"serum LDH ≥ {LDH_ADVERSE_U_L:g} IU/L ({LAB_POINTS} point)", ldh, ("ldh_u_l",)),
        Criterion(
            "albumin", f"serum albumin < {ALBUMIN_ADVERSE_G_DL:g} g/dL ({LAB_POINTS} point)", alb, ("albumin_g_dl",)
        ),
    )
    options = [age_opts, yes_no(b2m, LAB_POINTS), yes_no(ldh, LAB_POINTS), yes_no(alb, LAB_POINTS)]
    possible = possible_bands(options, BANDS)
    inputs: dict[str, object] = {
        "age_years": age_years,
        "b2m_mg_l": b2m_mg_l,
        "ldh_u_l": ldh_u_l,
        "albumin_g_dl": albumin_g_dl,
    }
    return RuleResult(
        rule=REF,
        possible=possible,
        criteria=criteria,
        inputs=inputs,
        missing=missing_names(inputs),
        notes=NOTES + age_caveats(age_years),
        outcomes=OUTCOMES,  # RuleResult keeps only the settled stage's confirmed figures
        score=determined(options),
        score_range=score_range(options),
    )


SPEC = ScoreRule(
    name="ripsswm",
    ref=REF,
    stages=STAGES,
    inputs=INPUTS,
    notes=NOTES,
    evaluate=ripsswm_2019,
    arguments={
        "age_years": "age_years",
        "b2m_mg_l": "b2m_mg_l",
        "ldh_u_l": "ldh_u_l",
        "albumin_g_dl": "albumin_g_dl",
    },
    diseases=("waldenstrom",),
    outcomes=OUTCOMES,
)
