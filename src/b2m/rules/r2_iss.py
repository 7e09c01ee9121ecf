"""Second revision of the International Staging System (R2-ISS).

D'Agostino M, Cairns DA, Lahuerta JJ, et al. Second Revision of the International Staging System
(R2-ISS) for Overall Survival in Multiple Myeloma: A European Myeloma Network (EMN) Report Within the
HARMONY Project. J Clin Oncol. 2022;40(29):3406-3418. DOI 10.1200/JCO.21.02614 (b2m reference R2ISS-2).

.. math::

    S = 1\\,[\\mathrm{ISS\\ II}] + 1.5\\,[\\mathrm{ISS\\ III}] + 1\\,[\\mathrm{del(17p)}]
        + 1\\,[\\mathrm{LDH} > \\mathrm{ULN}] + 1\\,[t(4;14)] + 0.5\\,[\\mathrm{1q+}]

Groups: I = 0; II = 0.5-1; III = 1.5-2.5; IV = 3-5.

Points are summed in integer half-points so no float rounding can move a score across a group edge.
With unknown factors the score lies in ``[min, max]``; the possible groups are those whose score
range meets that interval. Every score in between is reachable (each unknown adds 0.5-1.5 points and
no group is narrower than 0.5), so the interval is exact.
"""

from __future__ import annotations

from collections.abc import Mapping

from b2m.provenance import RuleRef, Source
from b2m.rules import iss
from b2m.rules.base import Note, Outcome
from b2m.rules.expr import Tri, V, points
from b2m.rules.inputs import StagingInputs
from b2m.rules.r_iss import ldh_above_uln
from b2m.rules.spec import Conditions, CriterionDef, Score, Staged, StagingSystem

SOURCE = Source(
    "D'Agostino M, Cairns DA, Lahuerta JJ, et al. Second Revision of the International Staging System "
    "(R2-ISS) for Overall Survival in Multiple Myeloma: A European Myeloma Network (EMN) Report Within the "
    "HARMONY Project. J Clin Oncol. 2022;40(29):3406-3418. Erratum: J Clin Oncol. 2022;40(34):4032.",
    "10.1200/JCO.21.02614",
)
REF = RuleRef("r2_iss", "2022", "Second revision of the ISS (R2-ISS)", SOURCE)
STAGES: tuple[str, ...] = ("I", "II", "III", "IV")
INPUTS: tuple[str, ...] = (*iss.INPUTS, "ldh_u_l", "ldh_uln_u_l", "del17p", "t4_14", "gain1q")

# D'Agostino 2022 points, in half-points (x2) for exact integer arithmetic.
HALF_POINTS_ISS_II = 2  # 1 point
HALF_POINTS_ISS_III = 3  # 1.5 points
HALF_POINTS_DEL17P = 2  # 1 point
HALF_POINTS_LDH_HIGH = 2  # 1 point (LDH > ULN)
HALF_POINTS_T4_14 = 2  # 1 point
HALF_POINTS_1Q = 1  # 0.5 point; gain and amplification count once (b2m reference E8)

# Group boundaries in half-points, inclusive on both ends (I = 0; II = 0.5-1; III = 1.5-2.5; IV = 3-5).
GROUP_HALF_POINTS: dict[str, tuple[int, int]] = {"I": (0, 0), "II": (1, 2), "III": (3, 5), "IV": (6, 10)}

CRITERIA: tuple[CriterionDef, ...] = (
    CriterionDef("iss_ii", f"ISS stage II ({HALF_POINTS_ISS_II / 2:g} point)", iss.INPUTS),
    CriterionDef("iss_iii", f"ISS stage III ({HALF_POINTS_ISS_III / 2:g} points)", iss.INPUTS),
    CriterionDef("del17p", f"del(17p) by iFISH ({HALF_POINTS_DEL17P / 2:g} point)", ("del17p",)),
    CriterionDef(
        "ldh_above_uln",
        f"LDH above the reporting lab's upper limit of normal ({HALF_POINTS_LDH_HIGH / 2:g} point)",
        ("ldh_u_l", "ldh_uln_u_l"),
    ),
    CriterionDef("t4_14", f"t(4;14) by iFISH ({HALF_POINTS_T4_14 / 2:g} point)", ("t4_14",)),
    CriterionDef("gain1q", f"1q gain or amplification ({HALF_POINTS_1Q / 2:g} point, counted once)", ("gain1q",)),
)


def criteria(x: StagingInputs[V], iss_conditions: Conditions[V] | None = None) -> dict[str, Tri[V]]:
    """``iss_conditions`` may be passed precomputed (e.g. as columns) to share work with other rules."""
    s = iss_conditions or iss.conditions(x)
    return {
        "iss_ii": s["II"],
        "iss_iii": s["III"],
        "del17p": x.del17p,
        "ldh_above_uln": ldh_above_uln(x.ldh_u_l, x.ldh_uln_u_l),
        "t4_14": x.t4_14,
        "gain1q": x.gain1q,
    }


def half_point_range(
    x: StagingInputs[V], iss_conditions: Conditions[V] | None = None, c: Mapping[str, Tri[V]] | None = None
) -> tuple[V, V]:
    """Lowest and highest total (in half-points) consistent with the unknown inputs.

    The ISS term is the cheapest/dearest ISS stage still possible: I 0, II 2, III 3 half-points.
    """
    s = iss_conditions or iss.conditions(x)
    c = c or criteria(x, s)
    # min: 0 if I possible, else 2 if II possible, else 3;  max: 3 if III possible, else 2 if II, else 0.
    # ((~X).certain is "X not possible"; the negation is taken on the truth, never on a backend's bits.)
    not_i, not_i_nor_ii = ~s["I"], ~s["I"] & ~s["II"]
    iss_min = points(not_i.certain, HALF_POINTS_ISS_II) + points(
        not_i_nor_ii.certain, HALF_POINTS_ISS_III - HALF_POINTS_ISS_II
    )
    ii_or_iii = s["II"] | s["III"]
    iss_max = points(ii_or_iii.possible, HALF_POINTS_ISS_II) + points(
        s["III"].possible, HALF_POINTS_ISS_III - HALF_POINTS_ISS_II
    )
    factors = (
        (c["del17p"], HALF_POINTS_DEL17P),
        (c["ldh_above_uln"], HALF_POINTS_LDH_HIGH),
        (c["t4_14"], HALF_POINTS_T4_14),
        (c["gain1q"], HALF_POINTS_1Q),
    )
    lo, hi = iss_min, iss_max
    for f, p in factors:
        lo = lo + points(f.certain, p)
        hi = hi + points(f.possible, p)
    return lo, hi


def possible_flags(lo: V, hi: V, /) -> dict[str, V]:
    """Groups whose score range meets ``[lo, hi]`` (half-points, from :func:`half_point_range`)."""
    return {g: (lo <= g_hi) & (hi >= g_lo) for g, (g_lo, g_hi) in GROUP_HALF_POINTS.items()}


def evaluate(x: StagingInputs[V], earlier: Mapping[str, Conditions[V]], /) -> Staged[V]:
    s = earlier["iss"]
    c = criteria(x, s)
    return Staged(c, score=half_point_range(x, s, c))


NOTES: tuple[Note, ...] = (
    Note(
        "r2_iss_from_iss",
        "discrepancy",
        "ISS points use Greipp's ISS (B2M ≥ 5.5 mg/L for stage III); some sources write '> 5.5' (b2m reference E2).",
    ),
    Note(
        "r2_iss_ldh_equal_uln",
        "discrepancy",
        "LDH equal to the upper limit of normal counts as normal (high = above ULN, b2m reference E6).",
    ),
    Note(
        "r2_iss_complete_case",
        "caveat",
        "R2-ISS was derived on the 2,226 training patients with every factor available; with missing FISH "
        "or LDH b2m gives the range of possible groups instead of a group (b2m reference E9).",
    ),
    Note(
        "r2_iss_pmid",
        "discrepancy",
        "Public sources give different PMIDs for this paper (35605179, 35580297, 35658489); the DOI is used.",
    ),
    Note(
        "r2_iss_medians",
        "caveat",
        "Median OS per group is from secondary sources (status S); median PFS per group is unconfirmed and not shown.",
    ),
)

_COHORT = "10,843 newly diagnosed patients from 16 EMN/HARMONY trials (D'Agostino 2022)"
OUTCOMES: tuple[Outcome, ...] = (
    Outcome("I", "median overall survival", None, "months (not reached)", _COHORT, SOURCE, "S"),
    Outcome("II", "median overall survival", 109.2, "months", _COHORT, SOURCE, "S"),
    Outcome("III", "median overall survival", 68.5, "months", _COHORT, SOURCE, "S"),
    Outcome("IV", "median overall survival", 37.9, "months", _COHORT, SOURCE, "S"),
    Outcome("I", "share of patients", 19.2, "%", _COHORT, SOURCE),
    Outcome("II", "share of patients", 30.8, "%", _COHORT, SOURCE),
    Outcome("III", "share of patients", 41.2, "%", _COHORT, SOURCE),
)

SPEC = StagingSystem(
    name="r2_iss",
    label="R2-ISS",
    ref=REF,
    stages=STAGES,
    inputs=INPUTS,
    criteria=CRITERIA,
    notes=NOTES,
    outcomes=OUTCOMES,
    evaluate=evaluate,
    uses=("iss",),
    score=Score(units_per_point=2, groups=possible_flags),
)
