r"""CKD-EPI 2012 cystatin C equation (eGFRcys), adults only.

Inker LA, Schmid CH, Tighiouart H, et al. Estimating glomerular filtration rate from serum
creatinine and cystatin C. N Engl J Med. 2012;367(1):20-29. DOI 10.1056/NEJMoa1114248.

.. math::

    \mathrm{eGFR_{cys}} = 133 \times \min(S_{cys}/0.8, 1)^{-0.499}
        \times \max(S_{cys}/0.8, 1)^{-1.328} \times 0.996^{\mathrm{Age}}
        \times 0.932\ [\text{if female}]

with :math:`S_{cys}` the standardised (IFCC-traceable) serum cystatin C in mg/L and age in years;
the result is in mL/min/1.73 m². The equation never had a race term. The knot :math:`S_{cys} = 0.8`
is continuous (b2m reference E43).

Disputed coefficient [D] (b2m reference KID-3, D21): the age term is printed ``0.996^Age`` by
kidney.org and review tables, and ``0.9962^Age`` by some calculators. This module implements the
documented choice, 0.996 (b2m reference D21), and attaches a discrepancy note to every result.
"""

from __future__ import annotations

from b2m.kidney.base import (
    UNIT_ML_MIN_1_73_M2,
    KidneyEstimate,
    Sex,
    adults_only_note,
    is_adult,
    require_positive,
    require_sex,
)
from b2m.provenance import Note, RuleRef, Source

RULE = RuleRef(
    id="ckd_epi_2012_cystatin",
    version="2012",
    title="CKD-EPI 2012 cystatin C equation",
    source=Source(
        citation=(
            "Inker LA, Schmid CH, Tighiouart H, et al. Estimating glomerular filtration rate from "
            "serum creatinine and cystatin C. N Engl J Med. 2012;367(1):20-29."
        ),
        doi="10.1056/NEJMoa1114248",
    ),
)

# Coefficients: Inker 2012 (NEJM) as printed on kidney.org; b2m reference KID-3 [S].
EGFR_COEFFICIENT = 133.0  # leading constant, mL/min/1.73 m²
CYSTATIN_KNOT_MG_L = 0.8  # Scys/0.8
EXPONENT_BELOW_KNOT = -0.499  # exponent of min(Scys/0.8, 1)
EXPONENT_ABOVE_KNOT = -1.328  # exponent of max(Scys/0.8, 1)
AGE_BASE_PER_YEAR = 0.996  # [D] b2m's choice (b2m reference D21): kidney.org / review table print 0.996^Age
ALTERNATIVE_AGE_BASE_PER_YEAR = 0.9962  # [D] the other printing (some calculators); not used
FEMALE_FACTOR = 0.932  # × 0.932 if female


def _age_base_note(age_years: float) -> Note:
    higher_pct = ((ALTERNATIVE_AGE_BASE_PER_YEAR / AGE_BASE_PER_YEAR) ** age_years - 1.0) * 100.0
    return Note(
        code="ckd_epi_2012_cystatin.age_term",
        kind="discrepancy",
        text=(
            f"Sources disagree on the age term: {AGE_BASE_PER_YEAR:g}^age (used here; kidney.org "
            f"equation page and review tables) versus {ALTERNATIVE_AGE_BASE_PER_YEAR:g}^age (some "
            f"calculators). At age {age_years:g} years the alternative gives an estimate "
            f"{higher_pct:.1f}% higher."
        ),
    )


def estimate(*, cystatin_c_mg_l: float, age_years: float, sex: Sex) -> KidneyEstimate:
    r"""eGFR by the CKD-EPI 2012 cystatin C equation.

    .. math::

        133 \times \min(S_{cys}/0.8, 1)^{-0.499} \times \max(S_{cys}/0.8, 1)^{-1.328}
            \times 0.996^{\mathrm{Age}} \times 0.932\ [\text{if female}]

    Every result carries a discrepancy note on the age term (0.996 used; 0.9962 elsewhere).
    Raises :class:`~b2m.errors.InputError` for a cystatin C or age that is not a finite number > 0,
    or an unknown sex. Under 18 years the value is ``None`` with a caveat note.
    """
    inputs: dict[str, object] = {"cystatin_c_mg_l": cystatin_c_mg_l, "age_years": age_years, "sex": sex}
    scys = require_positive("cystatin_c_mg_l", cystatin_c_mg_l, "mg/L")
    age = require_positive("age_years", age_years, "years")
    sex = require_sex(sex)
    discrepancy = _age_base_note(age)
    if not is_adult(age):
        notes = (adults_only_note(RULE.title, age), discrepancy)
        return KidneyEstimate(RULE, None, UNIT_ML_MIN_1_73_M2, inputs, notes)

    ratio = scys / CYSTATIN_KNOT_MG_L
    value = (
        EGFR_COEFFICIENT
        * min(ratio, 1.0) ** EXPONENT_BELOW_KNOT
        * max(ratio, 1.0) ** EXPONENT_ABOVE_KNOT
        * AGE_BASE_PER_YEAR**age
        * (FEMALE_FACTOR if sex == "female" else 1.0)
    )
    return KidneyEstimate(RULE, value, UNIT_ML_MIN_1_73_M2, inputs, (discrepancy,))
