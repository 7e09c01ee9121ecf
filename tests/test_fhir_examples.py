"""The official FHIR examples go in: HL7 R4 examples (npm hl7.fhir.r4.examples 4.0.1) and mCODE 4.0.0.

Oracle: the example files themselves. Every expected value (value, unit, reference range, date) is read
from the example JSON, never from b2m; an expected refusal is the refusal the JSON contract gives for
the same value and unit (README: "same refusals, same messages").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from b2m.errors import InputError
from b2m.io.fhir import read_fhir
from b2m.io.fhir.codes import LAB_BY_LOINC, LOINC, UCUM
from b2m.io.patient import parse_patients
from tests.fhir_support import MCODE, R4_EXAMPLES, example_files, need

TYPES = ("Observation", "Patient", "Bundle")

# R4 examples that fhir.resources' R4B models cannot parse, and why (checked to fail, so the list stays true).
R4B_CANNOT_PARSE = {
    # A primitive extension (_valueString) on an Extension's value inside a CodeSystem concept: valid R4,
    # refused by fhir.resources 8.3 (its Extension model has no _valueString). Not a resource b2m reads.
    "Bundle-v2-valuesets.json": "entry[429].resource.concept[14].extension[0]._valueString",
}


def _r4() -> Path:
    need(R4_EXAMPLES, "the HL7 R4 examples package")
    return R4_EXAMPLES


def test_every_official_observation_patient_and_bundle_parses_with_the_r4b_models() -> None:
    """130 R4 examples of these types (64 Observation, 22 Patient, 44 Bundle; service survey) and every
    mCODE 4.0.0 example of them parse with fhir.resources R4B, except the ones recorded above, which fail
    for the reason given."""
    parsed, failed = 0, {}
    for folder in (_r4(), MCODE / "example"):
        for path, doc in example_files(folder, TYPES):
            try:
                get_fhir_model_class(doc["resourceType"]).model_validate(doc)
                parsed += 1
            except ValidationError as e:
                loc = ".".join(str(p) for p in e.errors()[0]["loc"])
                failed[path.name] = loc
    assert set(failed) == set(R4B_CANNOT_PARSE)
    for name, where in R4B_CANNOT_PARSE.items():
        assert failed[name].replace(".", "").startswith(where.replace("[", "").replace("]", "").replace(".", ""))
    assert parsed >= 129 + 90


def _lab_observations() -> list[tuple[str, dict[str, Any]]]:
    """Every Observation of the R4 examples (standalone or inside a Bundle, at any depth) with a LOINC
    code b2m reads."""
    out = []

    def walk(x: Any, where: str) -> None:
        if isinstance(x, dict):
            codings = x.get("code", {}).get("coding", []) if x.get("resourceType") == "Observation" else []
            if any(cd.get("system") == LOINC and cd.get("code") in LAB_BY_LOINC for cd in codings):
                out.append((where, x))
            for k, v in x.items():
                walk(v, f"{where}.{k}")
        elif isinstance(x, list):
            for i, v in enumerate(x):
                walk(v, f"{where}[{i}]")

    for path, doc in example_files(_r4(), TYPES):
        walk(doc, path.name)
    return out


def test_the_examples_carry_lab_codes_b2m_reads() -> None:
    """The R4 examples hold 65 such Observations (counted in the files: haemoglobin in Observation-f005;
    haemoglobin and platelets in Bundle-101; creatinine, LDH, calcium and albumin in Bundle-ghp (6 with
    its haemoglobin and platelets) and in each of the 14 lab reports of Bundle-72ac8493-...)."""
    assert len(_lab_observations()) == 65


@pytest.mark.parametrize(
    ("where", "obs"), _lab_observations() if R4_EXAMPLES.exists() else [], ids=lambda x: str(x)[:60]
)
def test_every_official_lab_observation_goes_in_as_the_file_says(where: str, obs: dict[str, Any]) -> None:
    """Value, unit (UCUM code, else the unit text), reference range and date are those of the file; the
    unit layer then reads them exactly as it reads the same numbers in the JSON contract, refusals
    included (HL7's lab reports give creatinine, LOINC 14682-9, in mmol/L, which b2m refuses on purpose:
    tests/test_units.py), with the FHIR path of the element named."""
    code = next(cd["code"] for cd in obs["code"]["coding"] if cd.get("system") == LOINC and cd["code"] in LAB_BY_LOINC)
    key = LAB_BY_LOINC[code]
    q = obs["valueQuantity"]
    unit = q["code"] if q.get("system") == UCUM and q.get("code") else q.get("unit")
    expected: dict[str, Any] = {"value": float(q["value"]), "unit": unit}
    ranges = obs.get("referenceRange") or []
    if len(ranges) == 1:
        if "low" in ranges[0]:
            expected["lower_limit"] = float(ranges[0]["low"]["value"])
        if "high" in ranges[0]:
            expected["upper_limit"] = float(ranges[0]["high"]["value"])
    when = obs.get("effectiveDateTime") or (obs.get("effectivePeriod") or {}).get("start")
    if when:
        expected["date"] = when[:10]

    fi = read_fhir(obs)
    entry = fi.document["labs"][key]  # type: ignore[index]
    assert {k: entry.get(k) for k in expected} == expected
    assert entry["loinc"] == code

    contract = {"labs": {key: {k: v for k, v in entry.items()}}}
    try:
        json_lab = parse_patients(contract)[0].labs[key]
    except InputError as json_error:
        with pytest.raises(InputError) as fhir_error:
            fi.patient()
        assert fhir_error.value.problem == json_error.problem
        assert fhir_error.value.accepted == json_error.accepted
        element = json_error.field.rsplit(".", 1)[1]  # value / unit / lower_limit / upper_limit
        suffix = {
            "unit": "valueQuantity.code" if "code" in q else "valueQuantity.unit",
            "value": "valueQuantity.value",
            "lower_limit": "referenceRange[0].low.value",
            "upper_limit": "referenceRange[0].high.value",
        }[element]
        assert fhir_error.value.field == f"Observation/{obs['id']}.{suffix}"
        return
    lab = fi.patient().labs[key]
    assert lab == json_lab
    assert lab.received_value == expected["value"]
    assert lab.received_unit == unit


def _paths_in(doc: dict[str, Any], prefix: str = "Bundle") -> list[str]:
    """FHIR paths of every resource of a Bundle (nested Bundles included), as b2m names them."""
    out = []
    for i, e in enumerate(doc.get("entry", [])):
        res = e.get("resource")
        if not isinstance(res, dict):
            out.append(f"{prefix}.entry[{i}]")
            continue
        rt = res["resourceType"]
        label = rt if rt == "Patient" or "id" not in res else f"{rt}/{res['id']}"
        path = f"{prefix}.entry[{i}].resource({label})"
        if rt == "Bundle":
            out += _paths_in(res, path)
        else:
            out.append(path)
    return out


# The Bundles b2m refuses, and why (the refusal is the point: b2m reads one patient at a time, and its unit
# layer refuses creatinine in mmol/L).
REFUSED_BUNDLES = {
    "Bundle-10bb101f-a121-4264-a920-67be9cb82c74.json": "2 Patient resources in one input",
    "Bundle-3a0707d3-549e-4467-b8b8-5a2ab3800efe.json": "2 Patient resources in one input",
    "Bundle-72ac8493-52ac-41bd-8d5d-7258c289b5ea.json": "the resources refer to more than one patient",
    "Bundle-b248b1b2-1686-4b94-9936-37d7a5f94b51.json": "12 Patient resources in one input",
    "Bundle-bundle-references.json": "4 Patient resources in one input",
    "Bundle-bundle-transaction.json": "5 Patient resources in one input",
    "Bundle-ghp.json": "unit 'mmol/L' is not an accepted unit for serum creatinine",
}


def test_every_official_bundle_is_read_or_refused_and_nothing_is_dropped_silently() -> None:
    """Every resource of every R4 example Bundle is either used (an origin of the documents) or listed as
    ignored with a reason; a Bundle that is refused names the element and says why."""
    seen_refused = set()
    for path, doc in example_files(_r4(), ("Bundle",)):
        if path.name in R4B_CANNOT_PARSE:
            continue
        try:
            fi = read_fhir(doc)
            fi.patient()
        except InputError as e:
            assert path.name in REFUSED_BUNDLES, f"{path.name}: {e}"
            assert REFUSED_BUNDLES[path.name] in e.problem, e
            assert e.field.startswith("Bundle.entry[")
            seen_refused.add(path.name)
            continue
        listed = {i.path for i in (*fi.ignored, *fi.not_in_series)}
        missing = [p for p in _paths_in(doc) if p not in set(fi.used) | listed]
        assert missing == [], f"{path.name}: {missing[:3]}"
    assert seen_refused == set(REFUSED_BUNDLES)
