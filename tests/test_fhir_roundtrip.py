"""Round trip: JSON contract -> FHIR -> JSON contract gives the same assessment (Hypothesis).

Oracle: the JSON path itself. For every generated patient, ``b2m assess`` on the JSON document and on the
document read back from the FHIR resources b2m writes for it must give the same result object (stages,
criteria, notes, eGFR, B2M interpretation, flags, scores, echoed inputs); where the JSON contract refuses
the document, the FHIR path refuses it with the same problem and accepted forms.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from b2m.assessment import assess
from b2m.errors import InputError
from b2m.io.fhir import contract_to_fhir, read_fhir
from b2m.io.fhir.codes import FISH_KEYS
from b2m.io.patient import parse_patients
from b2m.patient import SETTINGS
from b2m.units import ANALYTES, unit_factor

AS_OF = dt.date(2026, 2, 1)
# Unit spellings that are UCUM codes, per analyte (each is an accepted unit of b2m.units.analytes).
UNITS: dict[str, tuple[str, ...]] = {
    "b2m": ("mg/L", "ug/mL", "ug/L", "ng/mL", "nmol/L"),
    "albumin": ("g/dL", "g/L"),
    "ldh": ("U/L", "[IU]/L", "ukat/L"),
    "creatinine": ("mg/dL", "umol/L", "mg/L"),
    "cystatin_c": ("mg/L",),
    "crp": ("mg/L", "mg/dL"),
    "calcium": ("mg/dL", "mmol/L"),
    "hemoglobin": ("g/dL", "g/L"),
    "platelets": ("10*9/L", "10*3/uL", "/uL"),
    "m_protein": ("g/dL", "g/L"),
    "flc_kappa": ("mg/L", "mg/dL"),
    "flc_lambda": ("mg/L", "mg/dL"),
}
CONTEXT = ("rheumatoid arthritis", "ICD10:B20", "SNOMED:86406008", "hypertension", "chronic kidney disease stage 4")
MEDICATIONS = ("lithium", "ATC:L04AD01", "biotin", "paracetamol")


@st.composite
def lab(draw: st.DrawFn, key: str) -> dict[str, Any]:
    a = ANALYTES[key]
    unit = draw(st.sampled_from(UNITS[key]))
    factor = unit_factor(key, unit, "unit")
    lo, hi = a.plausible

    def number(lo_c: float, hi_c: float) -> float:
        canonical = draw(st.floats(min_value=max(lo_c, 1e-3), max_value=hi_c, allow_nan=False, allow_infinity=False))
        return float(f"{canonical / factor:.4g}")

    value: object = number(lo * 0.8, hi * 1.2)  # a little beyond the bounds: refusals are compared too
    if draw(st.booleans()) and draw(st.booleans()):
        value = f"{draw(st.sampled_from(('<', '<=', '>', '>=')))}{value:g}"
    out: dict[str, Any] = {"value": value, "unit": unit, "loinc": draw(st.sampled_from(a.loinc))}
    if draw(st.booleans()):
        out["upper_limit"] = number(lo, hi)
        if draw(st.booleans()):
            out["lower_limit"] = float(f"{out['upper_limit'] * draw(st.floats(0.1, 1.0)):.3g}")
    if draw(st.booleans()):
        out["date"] = (AS_OF - dt.timedelta(days=draw(st.integers(0, 400)))).isoformat()
    if draw(st.booleans()):
        out["method"] = draw(st.sampled_from(("nephelometry", "turbidimetry", "ECLIA")))
    return out


@st.composite
def patients(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(sorted(UNITS)), unique=True, max_size=len(UNITS)))
    doc: dict[str, Any] = {"id": draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,15}", fullmatch=True))}
    if draw(st.booleans()):
        doc["age"] = draw(st.integers(18, 99))
    if draw(st.booleans()):
        doc["sex"] = draw(st.sampled_from(("female", "male")))
    if draw(st.booleans()):
        doc["setting"] = draw(st.sampled_from(SETTINGS))
    if keys:
        doc["labs"] = {k: draw(lab(k)) for k in keys}
    cyto = {k: v for k in FISH_KEYS if (v := draw(st.sampled_from((None, True, False)))) is not None}
    if cyto:
        doc["cytogenetics"] = cyto
    for name, pool in (("conditions", CONTEXT), ("medications", MEDICATIONS)):
        items = draw(st.lists(st.sampled_from(pool), unique=True, max_size=3))
        if items:
            doc[name] = items
    return doc


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patients())
def test_json_to_fhir_to_json_gives_the_same_assessment(doc: dict[str, Any]) -> None:
    try:
        expected = assess(parse_patients(doc))[0].to_dict()
    except InputError as json_error:
        try:
            fhir = json.loads(contract_to_fhir(doc, as_of=AS_OF).model_dump_json())
            read_fhir(fhir, as_of=AS_OF, setting=doc.get("setting")).patient()
        except InputError as fhir_error:
            assert (fhir_error.problem, fhir_error.accepted) == (json_error.problem, json_error.accepted)
            return
        raise AssertionError(f"JSON refused ({json_error}) but FHIR accepted") from None
    fhir = json.loads(contract_to_fhir(doc, as_of=AS_OF).model_dump_json())
    fi = read_fhir(fhir, as_of=AS_OF, setting=doc.get("setting"))
    got = assess([fi.patient()])[0].to_dict()
    assert _same_numbers(got) == _same_numbers(expected)


def _same_numbers(assessment: dict[str, Any]) -> dict[str, Any]:
    """The assessment with each lab's value *as received* read as a number: FHIR carries a quantity as a
    decimal, not the text it was written in (JSON's ``"<1e+06"`` arrives as ``<1000000``); everything the
    engine derived, and the canonical values, are compared exactly."""
    out = json.loads(json.dumps(assessment))
    for lab in out["patient"]["labs"].values():
        received = lab["received"]
        if isinstance(received["value"], str):
            op = received["value"].rstrip("0123456789.e+-")
            received["value"] = (op, float(received["value"][len(op) :]))
    return out
