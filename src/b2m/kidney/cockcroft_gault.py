r"""Cockcroft-Gault creatinine clearance (1976), adults only.

Cockcroft DW, Gault MH. Prediction of creatinine clearance from serum creatinine. Nephron.
1976;16(1):31-41. DOI 10.1159/000180580.

.. math::

    C_{cr} = \frac{(140 - \mathrm{Age}) \times \mathrm{weight}}{72 \times S_{cr}}
        \times 0.85\ [\text{if female}]

with age in years, weight in kg and :math:`S_{cr}` in mg/dL (mg/100 ml in the paper's wording), and
the female adjustment "15% less in females". The result is a creatinine clearance in mL/min: it is
**not** indexed to 1.73 m² body surface area and is not an eGFR.

What was checked, and against what: b2m reference KID-4 gives the formula only from a concordant
review table [S] and the paper's volume, pages and PMID as unconfirmed [U]. An earlier helper read
the formula, the female factor and the citation above (volume 16, issue 1, pages 31-41) from a
scanned copy of the 1976 paper; that reading was not repeated against the publisher's record here,
so every result carries the ``cockcroft_gault.source_check`` note saying so. The three independent
calculators in the tests (R packages transplantr, clinPK and egfr) agree with the formula.

Which weight to use (actual, ideal or adjusted body weight) is not fixed by the original paper [U]
(b2m reference KID-4): this module uses the weight it is given, as given, and says so in a note on
every result. IMWG 2016 renal-impairment recommendations (Dimopoulos et al., J Clin Oncol
2016;34(13):1544-1557) prefer CKD-EPI for estimating GFR in myeloma (b2m reference KID-6); every result
says that too.
"""

from __future__ import annotations

from b2m.errors import InputError
from b2m.kidney.base import (
    UNIT_ML_MIN,
    KidneyEstimate,
    Sex,
    adults_only_note,
    is_adult,
    require_positive,
    require_sex,
)
from b2m.provenance import Note, RuleRef, Source

RULE = RuleRef(
    id="cockcroft_gault",
    version="1976",
    title="Cockcroft-Gault creatinine clearance",
    source=Source(
        citation=(
            "Cockcroft DW, Gault MH. Prediction of creatinine clearance from serum creatinine. "
            "Nephron. 1976;16(1):31-41."
        ),
        doi="10.1159/000180580",
    ),
)

# Constants as read from a scanned copy of Cockcroft & Gault 1976 (earlier helper; see the module
# docstring); b2m reference KID-4 has the same formula from a review table [S].
AGE_CONSTANT_YEARS = 140.0  # (140 - age); an age >= 140 would give a clearance <= 0 and is refused
DENOMINATOR_FACTOR = 72.0  # 72 × Scr (mg/dL)
FEMALE_FACTOR = 0.85  # "15% less in females"

SOURCE_CHECK_NOTE = Note(
    code="cockcroft_gault.source_check",
    kind="unconfirmed",
    text=(
        f"The formula (({AGE_CONSTANT_YEARS:g} - age) × weight / ({DENOMINATOR_FACTOR:g} × creatinine), "
        f"× {FEMALE_FACTOR:g} if female) and the citation's volume and pages were read from a scanned "
        "copy of the 1976 paper, not checked against the publisher's record; the b2m reference has the formula from "
        "secondary sources only [S] and the volume, pages and PMID as unconfirmed [U] (b2m reference KID-4, U18)."
    ),
)


def _notes(weight_kg: float) -> tuple[Note, ...]:
    return (
        SOURCE_CHECK_NOTE,
        Note(
            code="cockcroft_gault.weight",
            kind="unconfirmed",
            text=(
                f"Actual body weight was used as given ({weight_kg:g} kg). The original paper does not "
                "fix which weight to use (actual, ideal or adjusted body weight); ideal or adjusted "
                "weight gives a different clearance, most of all in obesity."
            ),
        ),
        Note(
            code="cockcroft_gault.not_indexed",
            kind="caveat",
            text=(
                f"Creatinine clearance in {UNIT_ML_MIN}, not indexed to 1.73 m² body surface area: "
                "it is not an eGFR and not a KDIGO GFR-category input."
            ),
        ),
        Note(
            code="cockcroft_gault.imwg_prefers_ckd_epi",
            kind="caveat",
            text=(
                "IMWG 2016 renal-impairment recommendations (Dimopoulos et al., J Clin Oncol "
                "2016;34:1544-1557) prefer the CKD-EPI equation for estimating GFR in myeloma; "
                "Cockcroft-Gault remains common for drug-dose labelling."
            ),
        ),
    )


def estimate(*, creatinine_mg_dl: float, age_years: float, weight_kg: float, sex: Sex) -> KidneyEstimate:
    r"""Creatinine clearance (mL/min) by the Cockcroft-Gault equation.

    .. math::

        \frac{(140 - \mathrm{Age}) \times \mathrm{weight}}{72 \times S_{cr}}
            \times 0.85\ [\text{if female}]

    Raises :class:`~b2m.errors.InputError` for a creatinine, weight or age that is not a finite
    number > 0, an age of 140 years or more, or an unknown sex. Under 18 years the value is ``None``
    with a caveat note. Every result carries the source-check, weight, indexing and IMWG notes.
    """
    inputs: dict[str, object] = {
        "creatinine_mg_dl": creatinine_mg_dl,
        "age_years": age_years,
        "weight_kg": weight_kg,
        "sex": sex,
    }
    scr = require_positive("creatinine_mg_dl", creatinine_mg_dl, "mg/dL")
    age = require_positive("age_years", age_years, "years")
    if age >= AGE_CONSTANT_YEARS:
        raise InputError(
            "age_years",
            f"{age_years!r} years leaves no positive (140 - age) term",
            f"a finite number > 0 and < {AGE_CONSTANT_YEARS:g}, in years",
        )
    weight = require_positive("weight_kg", weight_kg, "kg")
    sex = require_sex(sex)
    notes = _notes(weight)
    if not is_adult(age):
        return KidneyEstimate(RULE, None, UNIT_ML_MIN, inputs, (adults_only_note(RULE.title, age), *notes))

    value = (
        (AGE_CONSTANT_YEARS - age) * weight / (DENOMINATOR_FACTOR * scr) * (FEMALE_FACTOR if sex == "female" else 1.0)
    )
    return KidneyEstimate(RULE, value, UNIT_ML_MIN, inputs, notes)
