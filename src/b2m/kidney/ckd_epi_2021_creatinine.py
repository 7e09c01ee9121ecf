r"""CKD-EPI 2021 creatinine equation (race-free eGFRcr), adults only.

Inker LA, Eneanya ND, Coresh J, et al. New creatinine- and cystatin C-based equations to estimate
GFR without race. N Engl J Med. 2021;385(19):1737-1749. DOI 10.1056/NEJMoa2102953.

.. math::

    \mathrm{eGFR_{cr}} = 142 \times \min(S_{cr}/\kappa, 1)^{\alpha}
        \times \max(S_{cr}/\kappa, 1)^{-1.200} \times 0.9938^{\mathrm{Age}}
        \times 1.012\ [\text{if female}]

with :math:`\kappa = 0.7` (female) or :math:`0.9` (male), :math:`\alpha = -0.241` (female) or
:math:`-0.302` (male), :math:`S_{cr}` the IDMS-traceable serum creatinine in mg/dL, age in years.
The result is in mL/min/1.73 m². At the knot :math:`S_{cr} = \kappa` both the min and the max term
equal 1, so the equation is continuous there and needs no special case (b2m reference E43).
Creatinine reported in µmol/L is converted to mg/dL by the units layer before it reaches this module
(b2m reference E44).
"""

from __future__ import annotations

import narwhals as nw

from b2m.kidney.base import (
    ADULT_MIN_AGE_YEARS,
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
    id="ckd_epi_2021_creatinine",
    version="2021",
    title="CKD-EPI 2021 creatinine equation (race-free)",
    source=Source(
        citation=(
            "Inker LA, Eneanya ND, Coresh J, et al. New creatinine- and cystatin C-based equations "
            "to estimate GFR without race. N Engl J Med. 2021;385(19):1737-1749."
        ),
        doi="10.1056/NEJMoa2102953",
    ),
)

# Coefficients as printed in Inker 2021 (NEJM) and on kidney.org; b2m reference KID-1 [C].
EGFR_COEFFICIENT = 142.0  # leading constant, mL/min/1.73 m²
KAPPA_MG_DL: dict[Sex, float] = {"female": 0.7, "male": 0.9}  # κ, the knot in Scr (mg/dL)
ALPHA: dict[Sex, float] = {"female": -0.241, "male": -0.302}  # α, exponent below the knot
EXPONENT_ABOVE_KNOT = -1.200  # exponent of max(Scr/κ, 1), both sexes
AGE_BASE_PER_YEAR = 0.9938  # 0.9938^Age
FEMALE_FACTOR = 1.012  # × 1.012 if female


def estimate(*, creatinine_mg_dl: float, age_years: float, sex: Sex) -> KidneyEstimate:
    r"""eGFR by the CKD-EPI 2021 creatinine equation.

    .. math::

        142 \times \min(S_{cr}/\kappa, 1)^{\alpha} \times \max(S_{cr}/\kappa, 1)^{-1.200}
            \times 0.9938^{\mathrm{Age}} \times 1.012\ [\text{if female}]

    Raises :class:`~b2m.errors.InputError` for a creatinine or age that is not a finite number > 0,
    or an unknown sex. Under 18 years the value is ``None`` with a caveat note (adults only).
    """
    inputs: dict[str, object] = {"creatinine_mg_dl": creatinine_mg_dl, "age_years": age_years, "sex": sex}
    scr = require_positive("creatinine_mg_dl", creatinine_mg_dl, "mg/dL")
    age = require_positive("age_years", age_years, "years")
    sex = require_sex(sex)
    if not is_adult(age):
        return KidneyEstimate(RULE, None, UNIT_ML_MIN_1_73_M2, inputs, (adults_only_note(RULE.title, age),))

    ratio = scr / KAPPA_MG_DL[sex]
    value = (
        EGFR_COEFFICIENT
        * min(ratio, 1.0) ** ALPHA[sex]
        * max(ratio, 1.0) ** EXPONENT_ABOVE_KNOT
        * AGE_BASE_PER_YEAR**age
        * (FEMALE_FACTOR if sex == "female" else 1.0)
    )
    return KidneyEstimate(RULE, value, UNIT_ML_MIN_1_73_M2, inputs)


def expression(creatinine_mg_dl: nw.Expr, age_years: nw.Expr, sex: nw.Expr) -> nw.Expr:
    """The same equation over a whole table (narwhals: Polars, DuckDB, Spark), from the same constants.

    ``sex`` holds ``"female"`` / ``"male"``. Null wherever :func:`estimate` gives no value or refuses
    the inputs: creatinine or age missing, not finite or not > 0, an unknown sex, or a child (age below
    the adult limit). Equal to :func:`estimate` on every row (tested on generated inputs).
    """
    female = sex == "female"
    kappa = nw.when(female).then(nw.lit(KAPPA_MG_DL["female"])).otherwise(nw.lit(KAPPA_MG_DL["male"]))
    alpha = nw.when(female).then(nw.lit(ALPHA["female"])).otherwise(nw.lit(ALPHA["male"]))
    ratio = creatinine_mg_dl / kappa
    value = (
        EGFR_COEFFICIENT
        * ratio.clip(upper_bound=1.0) ** alpha
        * ratio.clip(lower_bound=1.0) ** EXPONENT_ABOVE_KNOT
        * nw.lit(AGE_BASE_PER_YEAR) ** age_years
        * nw.when(female).then(nw.lit(FEMALE_FACTOR)).otherwise(nw.lit(1.0))
    )
    valid = (
        sex.is_in(["female", "male"])
        & (creatinine_mg_dl > 0)
        & ~creatinine_mg_dl.is_nan()
        & (creatinine_mg_dl < float("inf"))
        & (age_years >= ADULT_MIN_AGE_YEARS)
        & (age_years < float("inf"))
    )
    return nw.when(valid.fill_null(value=False)).then(value)
