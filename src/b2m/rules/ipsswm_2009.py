r"""IPSSWM: International Prognostic Scoring System for Waldenström macroglobulinemia (2009).

Morel P, Duhamel A, Gobbi P, et al. International prognostic scoring system for Waldenström
macroglobulinemia. *Blood.* 2009;113(18):4163–4170. DOI 10.1182/blood-2008-08-174961
(b2m reference IPSSWM).

Five adverse characteristics: age > 65 years, haemoglobin ≤ 11.5 g/dL, platelets ≤ 100 × 10⁹/L,
B2M > 3 mg/L, serum monoclonal protein > 7.0 g/dL. With :math:`a = [\text{age} > 65]` and
:math:`n` the number of the other four present:

- low:          :math:`a = 0` and :math:`n \le 1` (0 or 1 adverse characteristic, not counting age)
- high:         :math:`a + n \ge 3`
- intermediate: otherwise, i.e. :math:`a + n = 2`, or age > 65 alone (:math:`a = 1, n = 0`)

So age > 65 with one other characteristic is 2 characteristics, intermediate. The group is not a
function of the count alone (age alone and one non-age factor both count 1); the reported ``score``
is the count :math:`a + n` of adverse characteristics. :func:`ipsswm_2009` implements it.
"""

from __future__ import annotations

from b2m.provenance import RuleRef, Source
from b2m.rules._points import age_caveats, completed_years, determined, possible_groups, score_range, yes_no
from b2m.rules.base import Criterion, Note, Outcome, RuleResult, missing_names
from b2m.rules.kleene import Num, gt, le
from b2m.rules.spec import ScoreRule

SOURCE = Source(
    "Morel P, Duhamel A, Gobbi P, et al. International prognostic scoring system for Waldenström "
    "macroglobulinemia. Blood. 2009;113(18):4163-4170.",
    "10.1182/blood-2008-08-174961",
)
REF = RuleRef(
    "ipsswm", "2009", "International Prognostic Scoring System for Waldenström macroglobulinemia (IPSSWM)", SOURCE
)
INPUTS: tuple[str, ...] = ("age_years", "hemoglobin_g_dl", "platelets_10e9_l", "b2m_mg_l", "m_protein_g_dl")

AGE_ADVERSE_YEARS = 65  # Morel 2009: adverse is > 65 years (exclusive; 65 is not adverse, b2m reference E15)
HEMOGLOBIN_ADVERSE_G_DL = 11.5  # Morel 2009: adverse is ≤ 11.5 g/dL (inclusive, b2m reference E14)
PLATELETS_ADVERSE_10E9_L = 100.0  # Morel 2009: adverse is ≤ 100 × 10⁹/L (inclusive, b2m reference E14)
B2M_ADVERSE_MG_L = 3.0  # Morel 2009: adverse is > 3 mg/L (exclusive; 3 is not adverse, b2m reference E13)
M_PROTEIN_ADVERSE_G_DL = 7.0  # Morel 2009: adverse is > 7.0 g/dL = 70 g/L (exclusive, b2m reference E15)
LOW_MAX_NON_AGE_FACTORS = 1  # Morel 2009: low = 0 or 1 adverse characteristic, age not among them
HIGH_MIN_FACTORS = 3  # Morel 2009: high = more than 2 adverse characteristics
FACTOR_POINTS = 1  # Morel 2009: each adverse characteristic counts once

LOW, INTERMEDIATE, HIGH = "low", "intermediate", "high"
STAGES: tuple[str, ...] = (LOW, INTERMEDIATE, HIGH)

_COHORT = "Morel 2009: 587 symptomatic patients, scored at initiation of treatment"
OUTCOMES: tuple[Outcome, ...] = (
    *(
        Outcome(group, "5-year survival", value, "%", _COHORT, SOURCE, "C")
        for group, value in ((LOW, 87), (INTERMEDIATE, 68), (HIGH, 36))
    ),
    *(
        Outcome(group, "median survival", value, "months", _COHORT, SOURCE, "S")
        for group, value in ((LOW, 142), (INTERMEDIATE, 99), (HIGH, 43))
    ),
)

NOTES: tuple[Note, ...] = (
    Note(
        "ipsswm_setting",
        "setting",
        "Derived in 587 symptomatic patients scored when treatment started; it is not a score for "
        "asymptomatic (smouldering) disease or for the time of diagnosis without an indication to treat.",
    ),
    Note(
        "ipsswm_median_survival",
        "caveat",
        "The median survival per group (142 / 99 / 43 months) is from secondary sources only (status S); "
        "the 5-year survival figures are confirmed.",
    ),
)


def classify(points: tuple[int, ...]) -> str:
    """Group from one 0/1 flag per characteristic, age first (Morel 2009 definitions)."""
    age, *others = points
    n = sum(others)
    if age + n >= HIGH_MIN_FACTORS:
        return HIGH
    if age == 0 and n <= LOW_MAX_NON_AGE_FACTORS:
        return LOW
    return INTERMEDIATE


def ipsswm_2009(
    *,
    age_years: float | None,
    hemoglobin_g_dl: Num,
    platelets_10e9_l: Num,
    b2m_mg_l: Num,
    m_protein_g_dl: Num,
) -> RuleResult:
    """IPSSWM risk group and adverse-characteristic count (Morel 2009). Age in completed years."""
    age = completed_years(age_years)
    old = None if age is None else age > AGE_ADVERSE_YEARS
    hb = le(hemoglobin_g_dl, HEMOGLOBIN_ADVERSE_G_DL)
    plt = le(platelets_10e9_l, PLATELETS_ADVERSE_10E9_L)
    b2m = gt(b2m_mg_l, B2M_ADVERSE_MG_L)
    mp = gt(m_protein_g_dl, M_PROTEIN_ADVERSE_G_DL)

    criteria = (
        Criterion("age", f"age > {AGE_ADVERSE_YEARS} years, completed years", old, ("age_years",)),
        Criterion("hemoglobin", f"haemoglobin ≤ {HEMOGLOBIN_ADVERSE_G_DL:g} g/dL", hb, ("hemoglobin_g_dl",)),
        Criterion("platelets", f"platelets ≤ {PLATELETS_ADVERSE_10E9_L:g} × 10⁹/L", plt, ("platelets_10e9_l",)),
        Criterion("b2m", f"serum B2M > {B2M_ADVERSE_MG_L:g} mg/L", b2m, ("b2m_mg_l",)),
        Criterion(
            "m_protein", f"serum monoclonal protein > {M_PROTEIN_ADVERSE_G_DL:.1f} g/dL", mp, ("m_protein_g_dl",)
        ),
    )
    options = [yes_no(c.met, FACTOR_POINTS) for c in criteria]  # age first, as classify() expects
    possible = possible_groups(options, classify, STAGES)
    inputs: dict[str, object] = {
        "age_years": age_years,
        "hemoglobin_g_dl": hemoglobin_g_dl,
        "platelets_10e9_l": platelets_10e9_l,
        "b2m_mg_l": b2m_mg_l,
        "m_protein_g_dl": m_protein_g_dl,
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
    name="ipsswm",
    ref=REF,
    stages=STAGES,
    inputs=INPUTS,
    notes=NOTES,
    evaluate=ipsswm_2009,
    arguments={
        "age_years": "age_years",
        "hemoglobin_g_dl": "hemoglobin_g_dl",
        "platelets_10e9_l": "platelets_10e9_l",
        "b2m_mg_l": "b2m_mg_l",
        "m_protein_g_dl": "m_protein_g_dl",
    },
    diseases=("waldenstrom",),
    outcomes=OUTCOMES,
)
