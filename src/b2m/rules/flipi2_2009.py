r"""FLIPI-2: Follicular Lymphoma International Prognostic Index 2 (2009).

Federico M, Bellei M, Marcheselli L, et al. Follicular lymphoma international prognostic index 2.
*J Clin Oncol.* 2009;27(27):4555–4562. DOI 10.1200/JCO.2008.21.3991 (b2m reference FLIPI2; pages
and DOI are secondary-source there).

One point per adverse factor:

.. math::

    \text{FLIPI-2} = [\beta_2\text{M} > \text{ULN}] + [\text{largest node} > 6\ \text{cm}]
        + [\text{marrow involved}] + [\text{Hb} < 12\ \text{g/dL}] + [\text{age} > 60]

grouped low 0, intermediate 1–2, high 3–5. ULN is the reporting laboratory's upper reference limit
for B2M; it is a required input and is never defaulted. :func:`flipi2_2009` implements it.
"""

from __future__ import annotations

from b2m.provenance import RuleRef, Source
from b2m.rules._points import (
    Band,
    age_caveats,
    completed_years,
    determined,
    possible_bands,
    score_range,
    yes_no,
)
from b2m.rules.base import Criterion, Note, Outcome, RuleResult, missing_names
from b2m.rules.kleene import Num, gt, gt_num, lt
from b2m.rules.spec import ScoreRule

SOURCE = Source(
    "Federico M, Bellei M, Marcheselli L, et al. Follicular lymphoma international prognostic index 2. "
    "J Clin Oncol. 2009;27(27):4555-4562.",
    "10.1200/JCO.2008.21.3991",
)
REF = RuleRef("flipi2", "2009", "Follicular Lymphoma International Prognostic Index 2 (FLIPI-2)", SOURCE)
INPUTS: tuple[str, ...] = (
    "b2m_mg_l",
    "b2m_upper_limit_mg_l",
    "largest_node_diameter_cm",
    "bone_marrow_involved",
    "hemoglobin_g_dl",
    "age_years",
)

# Federico 2009: B2M above the reporting lab's upper limit of normal (exclusive; B2M = ULN is not
# adverse, b2m reference E19). No numeric constant on purpose: the limit is the lab's, never a default.
NODE_ADVERSE_CM = 6.0  # Federico 2009: longest diameter of the largest involved node > 6 cm (exclusive)
HEMOGLOBIN_ADVERSE_G_DL = 12.0  # Federico 2009: Hb < 12 g/dL (exclusive; 12 is not adverse)
AGE_ADVERSE_YEARS = 60  # Federico 2009: age > 60 years (exclusive; 60 is not adverse)
FACTOR_POINTS = 1  # Federico 2009: one point per adverse factor

LOW, INTERMEDIATE, HIGH = "low", "intermediate", "high"
# Federico 2009 groups as given by secondary sources (b2m reference FLIPI2 [S]); totals inclusive at both ends.
BANDS = (Band(LOW, 0, 0), Band(INTERMEDIATE, 1, 2), Band(HIGH, 3, 5))
STAGES: tuple[str, ...] = tuple(b.group for b in BANDS)

_COHORT = "Federico 2009: 832 treated patients with complete data (of 942), median follow-up 38 months"
OUTCOMES: tuple[Outcome, ...] = (
    *(
        Outcome(group, "3-year progression-free survival", value, "%", _COHORT, SOURCE, "C")
        for group, value in zip(STAGES, (91, 69, 51), strict=True)
    ),
    *(
        Outcome(group, "3-year overall survival", value, "%", _COHORT, SOURCE, "C")
        for group, value in zip(STAGES, (99, 96, 84), strict=True)
    ),
)

NOTES: tuple[Note, ...] = (
    Note(
        "flipi2_groups",
        "caveat",
        "The group boundaries (low 0, intermediate 1–2, high 3–5) come from secondary sources (b2m reference FLIPI2 "
        "[S]); the factors and the 3-year outcome figures are confirmed.",
    ),
    Note(
        "flipi2_5yr_pfs",
        "unconfirmed",
        "5-year progression-free survival per group is not shown: the figures were not confirmed against "
        "the primary paper (b2m reference FLIPI2 [U]).",
    ),
    Note(
        "flipi2_setting",
        "setting",
        "Built on 832 patients with complete data among 942 treated (registered 2003–2005); "
        "progression-free survival was the primary endpoint.",
    ),
)

_NO_ULN = Note(
    "flipi2_b2m_uln_missing",
    "missing",
    "The B2M factor compares with the reporting lab's upper limit of normal; without it the factor is "
    "unknown. No generic limit is substituted.",
)


def flipi2_2009(
    *,
    b2m_mg_l: Num,
    b2m_upper_limit_mg_l: Num,
    largest_node_diameter_cm: Num,
    bone_marrow_involved: bool | None,
    hemoglobin_g_dl: Num,
    age_years: float | None,
) -> RuleResult:
    """FLIPI-2 score and group (Federico 2009). Age in completed years.

    ``b2m_upper_limit_mg_l`` is the reporting lab's upper reference limit for B2M, in mg/L.
    """
    age = completed_years(age_years)
    b2m = gt_num(b2m_mg_l, b2m_upper_limit_mg_l)
    node = gt(largest_node_diameter_cm, NODE_ADVERSE_CM)
    hb = lt(hemoglobin_g_dl, HEMOGLOBIN_ADVERSE_G_DL)
    old = None if age is None else age > AGE_ADVERSE_YEARS

    criteria = (
        Criterion(
            "b2m",
            "serum B2M above the reporting lab's upper limit of normal",
            b2m,
            ("b2m_mg_l", "b2m_upper_limit_mg_l"),
        ),
        Criterion(
            "largest_node",
            f"longest diameter of the largest involved node > {NODE_ADVERSE_CM:g} cm",
            node,
            ("largest_node_diameter_cm",),
        ),
        Criterion("bone_marrow", "bone-marrow involvement", bone_marrow_involved, ("bone_marrow_involved",)),
        Criterion("hemoglobin", f"haemoglobin < {HEMOGLOBIN_ADVERSE_G_DL:g} g/dL", hb, ("hemoglobin_g_dl",)),
        Criterion("age", f"age > {AGE_ADVERSE_YEARS} years, completed years", old, ("age_years",)),
    )
    options = [yes_no(c.met, FACTOR_POINTS) for c in criteria]
    possible = possible_bands(options, BANDS)
    inputs: dict[str, object] = {
        "b2m_mg_l": b2m_mg_l,
        "b2m_upper_limit_mg_l": b2m_upper_limit_mg_l,
        "largest_node_diameter_cm": largest_node_diameter_cm,
        "bone_marrow_involved": bone_marrow_involved,
        "hemoglobin_g_dl": hemoglobin_g_dl,
        "age_years": age_years,
    }
    uln_notes = (_NO_ULN,) if b2m_upper_limit_mg_l is None else ()
    return RuleResult(
        rule=REF,
        possible=possible,
        criteria=criteria,
        inputs=inputs,
        missing=missing_names(inputs),
        notes=NOTES + uln_notes + age_caveats(age_years),
        outcomes=OUTCOMES,  # RuleResult keeps only the settled stage's confirmed figures
        score=determined(options),
        score_range=score_range(options),
    )


SPEC = ScoreRule(
    name="flipi2",
    ref=REF,
    stages=STAGES,
    inputs=INPUTS,
    notes=NOTES,
    evaluate=flipi2_2009,
    arguments={
        "b2m_mg_l": "b2m_mg_l",
        "b2m_upper_limit_mg_l": "b2m_upper_limit_mg_l",
        "largest_node_diameter_cm": "largest_node_diameter_cm",
        "bone_marrow_involved": "bone_marrow_involved",
        "hemoglobin_g_dl": "hemoglobin_g_dl",
        "age_years": "age_years",
    },
    diseases=("follicular_lymphoma",),
    outcomes=OUTCOMES,
)
