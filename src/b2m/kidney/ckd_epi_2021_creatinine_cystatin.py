r"""CKD-EPI 2021 creatinine-cystatin C equation (race-free eGFRcr-cys), adults only.

Inker LA, Eneanya ND, Coresh J, et al. New creatinine- and cystatin C-based equations to estimate
GFR without race. N Engl J Med. 2021;385(19):1737-1749. DOI 10.1056/NEJMoa2102953.

.. math::

    \mathrm{eGFR_{cr\text{-}cys}} = 135 \times \min(S_{cr}/\kappa, 1)^{\alpha}
        \times \max(S_{cr}/\kappa, 1)^{-0.544}
        \times \min(S_{cys}/0.8, 1)^{-0.323} \times \max(S_{cys}/0.8, 1)^{-0.778}
        \times 0.9961^{\mathrm{Age}} \times 0.963\ [\text{if female}]

with :math:`\kappa = 0.7` (female) or :math:`0.9` (male), :math:`\alpha = -0.219` (female) or
:math:`-0.144` (male), :math:`S_{cr}` the IDMS-traceable serum creatinine in mg/dL and
:math:`S_{cys}` the standardised (IFCC-traceable) serum cystatin C in mg/L. The result is in
mL/min/1.73 m². Both knots (:math:`S_{cr} = \kappa`, :math:`S_{cys} = 0.8`) are continuous: the
min and max terms both equal 1 there (b2m reference E43).
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
from b2m.provenance import RuleRef, Source

RULE = RuleRef(
    id="ckd_epi_2021_creatinine_cystatin",
    version="2021",
    title="CKD-EPI 2021 creatinine-cystatin C equation (race-free)",
    source=Source(
        citation=(
            "Inker LA, Eneanya ND, Coresh J, et al. New creatinine- and cystatin C-based equations "
            "to estimate GFR without race. N Engl J Med. 2021;385(19):1737-1749."
        ),
        doi="10.1056/NEJMoa2102953",
    ),
)

# Coefficients as printed in Inker 2021 (NEJM); b2m reference KID-2 [C, two reproductions].
EGFR_COEFFICIENT = 135.0  # leading constant, mL/min/1.73 m²
KAPPA_MG_DL: dict[Sex, float] = {"female": 0.7, "male": 0.9}  # κ, the creatinine knot (mg/dL)
ALPHA: dict[Sex, float] = {"female": -0.219, "male": -0.144}  # α, creatinine exponent below the knot
CREATININE_EXPONENT_ABOVE_KNOT = -0.544  # exponent of max(Scr/κ, 1), both sexes
CYSTATIN_KNOT_MG_L = 0.8  # Scys/0.8
CYSTATIN_EXPONENT_BELOW_KNOT = -0.323  # exponent of min(Scys/0.8, 1)
CYSTATIN_EXPONENT_ABOVE_KNOT = -0.778  # exponent of max(Scys/0.8, 1)
AGE_BASE_PER_YEAR = 0.9961  # 0.9961^Age
FEMALE_FACTOR = 0.963  # × 0.963 if female


def estimate(*, creatinine_mg_dl: float, cystatin_c_mg_l: float, age_years: float, sex: Sex) -> KidneyEstimate:
    r"""eGFR by the CKD-EPI 2021 creatinine-cystatin C equation.

    .. math::

        135 \times \min(S_{cr}/\kappa, 1)^{\alpha} \times \max(S_{cr}/\kappa, 1)^{-0.544}
            \times \min(S_{cys}/0.8, 1)^{-0.323} \times \max(S_{cys}/0.8, 1)^{-0.778}
            \times 0.9961^{\mathrm{Age}} \times 0.963\ [\text{if female}]

    Raises :class:`~b2m.errors.InputError` for a creatinine, cystatin C or age that is not a finite
    number > 0, or an unknown sex. Under 18 years the value is ``None`` with a caveat note.
    """
    inputs: dict[str, object] = {
        "creatinine_mg_dl": creatinine_mg_dl,
        "cystatin_c_mg_l": cystatin_c_mg_l,
        "age_years": age_years,
        "sex": sex,
    }
    scr = require_positive("creatinine_mg_dl", creatinine_mg_dl, "mg/dL")
    scys = require_positive("cystatin_c_mg_l", cystatin_c_mg_l, "mg/L")
    age = require_positive("age_years", age_years, "years")
    sex = require_sex(sex)
    if not is_adult(age):
        return KidneyEstimate(RULE, None, UNIT_ML_MIN_1_73_M2, inputs, (adults_only_note(RULE.title, age),))

    cr_ratio = scr / KAPPA_MG_DL[sex]
    cys_ratio = scys / CYSTATIN_KNOT_MG_L
    value = (
        EGFR_COEFFICIENT
        * min(cr_ratio, 1.0) ** ALPHA[sex]
        * max(cr_ratio, 1.0) ** CREATININE_EXPONENT_ABOVE_KNOT
        * min(cys_ratio, 1.0) ** CYSTATIN_EXPONENT_BELOW_KNOT
        * max(cys_ratio, 1.0) ** CYSTATIN_EXPONENT_ABOVE_KNOT
        * AGE_BASE_PER_YEAR**age
        * (FEMALE_FACTOR if sex == "female" else 1.0)
    )
    return KidneyEstimate(RULE, value, UNIT_ML_MIN_1_73_M2, inputs)
