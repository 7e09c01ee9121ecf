r"""CLL-IPI: the International Prognostic Index for chronic lymphocytic leukaemia (2016).

International CLL-IPI working group. An international prognostic index for patients with chronic
lymphocytic leukaemia (CLL-IPI): a meta-analysis of individual patient data. *Lancet Oncol.*
2016;17(6):779–790. DOI 10.1016/S1470-2045(16)30029-8 (b2m reference CLLIPI).

A weighted sum of five factors, each 1 when adverse and 0 otherwise:

.. math::

    \text{CLL-IPI} = 4\,[\text{del(17p) and/or } TP53\text{ mutation}]
        + 2\,[\text{IGHV unmutated}] + 2\,[\beta_2\text{M} > 3.5\ \text{mg/L}]
        + 1\,[\text{Binet B–C or Rai I–IV}] + 1\,[\text{age} > 65\ \text{y}]

grouped low 0–1, intermediate 2–3, high 4–6, very high 7–10. :func:`cll_ipi_2016` implements it.
"""

from __future__ import annotations

from typing import Literal, get_args

from b2m.errors import InputError
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
from b2m.rules.base import Criterion, Note, Outcome, RuleResult
from b2m.rules.kleene import Num, Tri, gt, or_
from b2m.rules.spec import ScoreRule

BinetStage = Literal["A", "B", "C"]
RaiStage = Literal[0, 1, 2, 3, 4]

SOURCE = Source(
    citation=(
        "International CLL-IPI working group. An international prognostic index for patients with "
        "chronic lymphocytic leukaemia (CLL-IPI): a meta-analysis of individual patient data. "
        "Lancet Oncol. 2016;17(6):779-790."
    ),
    doi="10.1016/S1470-2045(16)30029-8",
)
REF = RuleRef("cll_ipi", "2016", "CLL International Prognostic Index (CLL-IPI)", SOURCE)
INPUTS: tuple[str, ...] = (
    "del17p",
    "tp53_mutated",
    "ighv_unmutated",
    "b2m_mg_l",
    "binet_stage",
    "rai_stage",
    "age_years",
)

TP53_POINTS = 4  # CLL-IPI 2016: del(17p) by FISH and/or TP53 mutation
IGHV_UNMUTATED_POINTS = 2  # CLL-IPI 2016: unmutated IGHV
B2M_ADVERSE_MG_L = 3.5  # CLL-IPI 2016: adverse is > 3.5 mg/L (exclusive; 3.5 scores 0, b2m reference E11)
B2M_POINTS = 2
STAGE_POINTS = 1  # CLL-IPI 2016: Binet B–C or Rai I–IV (vs Binet A / Rai 0)
BINET_ADVANCED: frozenset[str] = frozenset({"B", "C"})
RAI_ADVANCED_MIN = 1  # Rai I–IV (inclusive from I)
AGE_ADVERSE_YEARS = 65  # CLL-IPI 2016: adverse is > 65 years (exclusive; 65 scores 0, b2m reference E12)
AGE_POINTS = 1

LOW, INTERMEDIATE, HIGH, VERY_HIGH = "low", "intermediate", "high", "very high"
# CLL-IPI 2016 risk groups (totals inclusive at both ends)
BANDS = (Band(LOW, 0, 1), Band(INTERMEDIATE, 2, 3), Band(HIGH, 4, 6), Band(VERY_HIGH, 7, 10))
STAGES: tuple[str, ...] = tuple(b.group for b in BANDS)

_COHORT = "CLL-IPI meta-analysis: treatment-naive patients of 8 phase-3 trials (training set n = 2,308)"
OUTCOMES: tuple[Outcome, ...] = tuple(
    Outcome(group, "5-year overall survival", value, "%", _COHORT, SOURCE, "C")
    for group, value in ((LOW, 93.2), (INTERMEDIATE, 79.3), (HIGH, 63.3), (VERY_HIGH, 23.3))
)

NOTES: tuple[Note, ...] = (
    Note(
        "cll_ipi_missing_data",
        "unconfirmed",
        "How the CLL-IPI derivation handled patients with a missing factor is unconfirmed (b2m reference CLLIPI [U]). "
        "Here no factor is imputed: an unknown factor widens score_range and possible; the alternative (scoring an "
        "untested factor as absent) is never applied.",
    ),
    Note(
        "cll_ipi_setting",
        "setting",
        "Derived in 3,472 treatment-naive patients from 8 phase-3 trials (external validation: Mayo "
        "n = 838, SCALE n = 416); applying it later in the disease course is outside that setting.",
    ),
)


def _stage_advanced(binet_stage: BinetStage | None, rai_stage: RaiStage | None) -> tuple[Tri, tuple[Note, ...]]:
    """Clinical-stage factor from whichever staging system was given.

    The paper pools trials staged by Binet or by Rai; a patient staged by one system only is scored
    by it. When both are given and disagree (e.g. Binet A with Rai I), both published categories
    ("Binet A or Rai 0" and "Binet B–C or Rai I–IV") describe the patient, so the factor is unknown.
    """
    if binet_stage is not None and binet_stage not in get_args(BinetStage):
        raise InputError("binet_stage", f"unknown Binet stage {binet_stage!r}", accepted="'A', 'B', 'C' or null")
    if rai_stage is not None and (isinstance(rai_stage, bool) or rai_stage not in get_args(RaiStage)):
        raise InputError(
            "rai_stage",
            f"unknown Rai stage {rai_stage!r}",
            accepted="0, 1, 2, 3, 4 or null",
            hint="give Rai stage as an integer (I = 1, ..., IV = 4)",
        )
    binet: Tri = None if binet_stage is None else binet_stage in BINET_ADVANCED
    rai: Tri = None if rai_stage is None else rai_stage >= RAI_ADVANCED_MIN
    if binet is None:
        return rai, ()
    if rai is None or binet == rai:
        return binet, ()
    return None, (
        Note(
            "cll_ipi_stage_systems_disagree",
            "caveat",
            f"Binet {binet_stage} and Rai {rai_stage} fall on opposite sides of the CLL-IPI stage "
            "factor, and the paper does not say which system wins; the factor is left unknown. "
            "Give only the system the patient was staged by to decide it.",
        ),
    )


def cll_ipi_2016(
    *,
    del17p: bool | None,
    tp53_mutated: bool | None,
    ighv_unmutated: bool | None,
    b2m_mg_l: Num,
    binet_stage: BinetStage | None,
    rai_stage: RaiStage | None,
    age_years: float | None,
) -> RuleResult:
    """CLL-IPI score and risk group (CLL-IPI working group 2016).

    ``del17p`` is del(17p) by FISH, ``tp53_mutated`` a TP53 mutation by sequencing; either one
    present scores the TP53 factor, and it is scored absent only when both are known absent.
    Give ``binet_stage`` and/or ``rai_stage`` (0-4); ``None`` means not staged by that system.
    Age is taken in completed years.
    """
    age = completed_years(age_years)
    tp53 = or_(del17p, tp53_mutated)
    b2m = gt(b2m_mg_l, B2M_ADVERSE_MG_L)
    stage, stage_notes = _stage_advanced(binet_stage, rai_stage)
    old = None if age is None else age > AGE_ADVERSE_YEARS

    criteria = (
        Criterion(
            "tp53", f"del(17p) by FISH and/or TP53 mutation ({TP53_POINTS} points)", tp53, ("del17p", "tp53_mutated")
        ),
        Criterion(
            "ighv_unmutated", f"IGHV unmutated ({IGHV_UNMUTATED_POINTS} points)", ighv_unmutated, ("ighv_unmutated",)
        ),
        Criterion("b2m", f"serum B2M > {B2M_ADVERSE_MG_L:g} mg/L ({B2M_POINTS} points)", b2m, ("b2m_mg_l",)),
        Criterion(
            "clinical_stage",
            f"Binet {'–'.join(sorted(BINET_ADVANCED))} or Rai stage ≥ {RAI_ADVANCED_MIN} ({STAGE_POINTS} point)",
            stage,
            ("binet_stage", "rai_stage"),
        ),
        Criterion("age", f"age > {AGE_ADVERSE_YEARS} years, completed years ({AGE_POINTS} point)", old, ("age_years",)),
    )
    options = [
        yes_no(tp53, TP53_POINTS),
        yes_no(ighv_unmutated, IGHV_UNMUTATED_POINTS),
        yes_no(b2m, B2M_POINTS),
        yes_no(stage, STAGE_POINTS),
        yes_no(old, AGE_POINTS),
    ]
    possible = possible_bands(options, BANDS)
    inputs: dict[str, object] = {
        "del17p": del17p,
        "tp53_mutated": tp53_mutated,
        "ighv_unmutated": ighv_unmutated,
        "b2m_mg_l": b2m_mg_l,
        "binet_stage": binet_stage,
        "rai_stage": rai_stage,
        "age_years": age_years,
    }
    unstaged = binet_stage is None and rai_stage is None
    missing = tuple(k for k, v in inputs.items() if v is None and (unstaged or k not in ("binet_stage", "rai_stage")))
    return RuleResult(
        rule=REF,
        possible=possible,
        criteria=criteria,
        inputs=inputs,
        missing=missing,
        notes=NOTES + stage_notes + age_caveats(age_years),
        outcomes=OUTCOMES,  # RuleResult keeps only the settled stage's confirmed figures
        score=determined(options),
        score_range=score_range(options),
    )


SPEC = ScoreRule(
    name="cll_ipi",
    ref=REF,
    stages=STAGES,
    inputs=INPUTS,
    notes=NOTES,
    evaluate=cll_ipi_2016,
    arguments={
        "del17p": "del17p",
        "tp53_mutated": "tp53_mutation",
        "ighv_unmutated": "ighv_unmutated",
        "b2m_mg_l": "b2m_mg_l",
        "binet_stage": "binet_stage",
        "rai_stage": "rai_stage",
        "age_years": "age_years",
    },
    diseases=("cll",),
    outcomes=OUTCOMES,
)
