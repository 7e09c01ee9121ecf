"""FHIR in: the reading rules of b2m.io.fhir (docs/fhir-conformance.md), and refusals that name FHIR paths.

Oracles: the FHIR R4 specification (Quantity.comparator, effective[x], referenceRange, Bundle), the JSON
contract's own refusals for the same values (README: "same refusals, same messages"), and the staging
definitions (ISS, Greipp 2005, DOI 10.1200/JCO.2005.04.242) where a stage is checked.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from b2m.errors import InputError
from b2m.io.fhir import codes as c
from b2m.io.fhir import read_fhir
from b2m.io.patient import parse_patients
from b2m.io.series import parse_series_document
from b2m.units import Censored

SUBJECT = {"reference": "Patient/p"}
UCUM = "http://unitsofmeasure.org"


def obs(oid: str, loinc: str, value: float, unit: str, date: str | None = "2026-01-31", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "subject": SUBJECT,
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
        **extra,
    }
    if date:
        out["effectiveDateTime"] = date
    return out


def bundle(*resources: dict[str, Any], patient: dict[str, Any] | None = None) -> dict[str, Any]:
    p = {"resourceType": "Patient", "id": "p", "birthDate": "1958-06-15", "gender": "female", **(patient or {})}
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in (p, *resources)]}


def test_latest_result_per_analyte_for_the_assessment_every_dated_one_for_the_series() -> None:
    fi = read_fhir(
        bundle(
            obs("b1", "1952-1", 3.0, "mg/L", "2025-11-02"),
            obs("b2", "1952-1", 6.0, "mg/L", "2026-01-31"),
            obs("b0", "1952-1", 2.0, "mg/L", "2025-06-01"),
        )
    )
    assert fi.document["labs"]["b2m"]["value"] == 6.0  # type: ignore[index]
    assert fi.origins["labs.b2m"].reference == "Observation/b2"
    assert [e["value"] for e in fi.series["series"]["b2m"]] == [2.0, 3.0, 6.0]  # type: ignore[index]
    assert fi.as_of == dt.date(2026, 1, 31)
    # ISS III: B2M 6.0 >= 5.5 mg/L (Greipp 2005)
    from b2m.assessment import assess

    assert assess([fi.patient()])[0].staging["iss"].stage == "III"


def test_as_of_leaves_later_results_out_of_the_assessment_only() -> None:
    raw = bundle(obs("b1", "1952-1", 3.0, "mg/L", "2025-11-02"), obs("b2", "1952-1", 6.0, "mg/L", "2026-01-31"))
    fi = read_fhir(raw, as_of=dt.date(2025, 12, 31))
    assert fi.document["labs"]["b2m"]["value"] == 3.0  # type: ignore[index]
    assert len(fi.series["series"]["b2m"]) == 2  # type: ignore[index]


def test_age_is_completed_years_at_the_assessment_date_and_sex_is_the_administrative_gender() -> None:
    """Born 1958-06-15: 67 on 2026-01-31 (birthday not yet reached), 68 on 2026-06-15."""
    fi = read_fhir(bundle(obs("b", "1952-1", 3.0, "mg/L", "2026-01-31")))
    assert (fi.document["age"], fi.document["sex"]) == (67, "female")
    fi = read_fhir(bundle(obs("b", "1952-1", 3.0, "mg/L", "2026-06-15")))
    assert fi.document["age"] == 68
    # A birth year alone leaves two possible ages on most days: unknown, with a note.
    fi = read_fhir(bundle(obs("b", "1952-1", 3.0, "mg/L", "2026-01-31"), patient={"birthDate": "1958"}))
    assert "age" not in fi.document
    assert [n.code for n in fi.notes] == ["fhir_age_partial_birth_date"]
    # ... but not on 31 December, when every birth date of that year has passed.
    fi = read_fhir(bundle(obs("b", "1952-1", 3.0, "mg/L", "2026-12-31"), patient={"birthDate": "1958"}))
    assert fi.document["age"] == 68
    fi = read_fhir(bundle(obs("b", "1952-1", 3.0, "mg/L"), patient={"gender": "unknown"}))
    assert "sex" not in fi.document


def test_comparator_is_kept_as_censoring() -> None:
    """Quantity.comparator '<' means the real value is below the number (FHIR R4): a censored B2M."""
    o = obs("b", "1952-1", 0.5, "mg/L")
    o["valueQuantity"]["comparator"] = "<"
    lab = read_fhir(bundle(o)).patient().labs["b2m"]
    assert lab.value == Censored("<", 0.5)
    o["valueQuantity"]["comparator"] = ">="
    o["valueQuantity"]["value"] = 20
    assert read_fhir(bundle(o)).patient().labs["b2m"].value == Censored(">=", 20.0)


def test_reference_range_method_and_date_go_in() -> None:
    o = obs(
        "b",
        "1952-1",
        4.2,
        "mg/L",
        method={"text": "nephelometry"},
        referenceRange=[{"low": {"value": 1.21, "unit": "mg/L"}, "high": {"value": 2.7, "unit": "mg/L"}}],
    )
    lab = read_fhir(bundle(o)).patient().labs["b2m"]
    assert (lab.lower_limit, lab.upper_limit, lab.method, lab.date) == (1.21, 2.7, "nephelometry", dt.date(2026, 1, 31))


def test_two_ranges_leave_the_limits_unknown_and_a_typed_normal_range_is_the_one() -> None:
    ranges = [
        {"high": {"value": 250}, "age": {"low": {"value": 18}}},
        {"high": {"value": 300}, "age": {"high": {"value": 17}}},
    ]
    lab = read_fhir(bundle(obs("l", "2532-0", 310, "U/L", referenceRange=ranges))).patient().labs["ldh"]
    assert lab.upper_limit is None  # never a guess between two (unknown is never normal: LDH high stays unknown)
    typed = [
        {
            "high": {"value": 248},
            "type": {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/referencerange-meaning", "code": "normal"}]
            },
        }
    ]
    lab = read_fhir(bundle(obs("l", "2532-0", 310, "U/L", referenceRange=typed))).patient().labs["ldh"]
    assert lab.upper_limit == 248


def test_a_unit_refusal_is_the_json_contracts_with_the_fhir_path() -> None:
    """B2M in mg/dL is refused (README); the message is the JSON contract's, the field the FHIR element."""
    try:
        parse_patients({"labs": {"b2m": {"value": 4.2, "unit": "mg/dL"}}})
    except InputError as e:
        json_error = e
    with pytest.raises(InputError) as fhir_error:
        read_fhir(bundle(obs("abc", "1952-1", 4.2, "mg/dL"))).patient()
    assert fhir_error.value.field == "Bundle.entry[1].resource(Observation/abc).valueQuantity.code"
    assert (fhir_error.value.problem, fhir_error.value.accepted) == (json_error.problem, json_error.accepted)


def test_an_implausible_value_names_the_value_element_and_the_likely_unit() -> None:
    raw = bundle(obs("abc", "1952-1", 4200, "mg/L"))
    with pytest.raises(InputError) as e:
        read_fhir(raw).patient()
    assert e.value.field == "Bundle.entry[1].resource(Observation/abc).valueQuantity.value"
    assert "looks like µg/L" in e.value.hint


def test_unit_text_is_read_when_there_is_no_ucum_code() -> None:
    o = obs("b", "1952-1", 4200, "µg/L")
    o["valueQuantity"] = {"value": 4200, "unit": "µg/L"}
    assert read_fhir(bundle(o)).patient().labs["b2m"].value == 4.2
    o["valueQuantity"] = {"value": 4200, "unit": "MG/L", "system": UCUM, "code": "mg/L"}
    with pytest.raises(InputError) as e:
        read_fhir(bundle(o)).patient()
    assert e.value.field.endswith("valueQuantity.value")  # the UCUM code is the unit read


def test_a_reference_range_in_another_unit_is_refused_never_converted() -> None:
    o = obs(
        "b",
        "1952-1",
        4.2,
        "mg/L",
        referenceRange=[{"high": {"value": 2700, "unit": "ug/L", "system": UCUM, "code": "ug/L"}}],
    )
    with pytest.raises(InputError) as e:
        read_fhir(bundle(o))
    assert e.value.field == "Bundle.entry[1].resource(Observation/b).referenceRange[0].high.code"
    same = obs("b", "1952-1", 4.2, "mg/L", referenceRange=[{"high": {"value": 2.7, "unit": "mg/l"}}])
    assert read_fhir(bundle(same)).patient().labs["b2m"].upper_limit == 2.7


def test_a_lab_result_that_is_not_a_quantity_is_refused() -> None:
    o = obs("b", "1952-1", 1, "mg/L")
    del o["valueQuantity"]
    o["valueString"] = "high"
    with pytest.raises(InputError) as e:
        read_fhir(bundle(o))
    assert e.value.field == "Bundle.entry[1].resource(Observation/b).valueString"


def test_results_b2m_does_not_use_are_listed_with_the_reason() -> None:
    prelim = obs("pre", "1952-1", 4.0, "mg/L", status="preliminary")
    other = obs("glu", "2345-7", 5.5, "mmol/L")
    fake = obs("fake", "33944-8", 5.5, "mg/L")  # one character away from 33944-0 (b2m reference LAB-5)
    absent = obs("dar", "1751-7", 1, "g/dL")
    del absent["valueQuantity"]
    absent["dataAbsentReason"] = {"coding": [{"system": c.DATA_ABSENT_REASON, "code": "not-performed"}]}
    practitioner = {"resourceType": "Practitioner", "id": "dr"}
    fi = read_fhir(bundle(prelim, other, fake, practitioner, obs("b", "1952-1", 3.0, "mg/L")))
    reasons = {i.path: i.reason for i in fi.ignored}
    assert reasons["Bundle.entry[1].resource(Observation/pre)"].startswith("status preliminary")
    assert reasons["Bundle.entry[2].resource(Observation/glu)"] == "code not read by b2m: http://loinc.org|2345-7"
    assert "check digit" in reasons["Bundle.entry[3].resource(Observation/fake)"]
    assert reasons["Bundle.entry[4].resource(Practitioner/dr)"] == "resource type Practitioner is not read by b2m"
    with pytest.raises(InputError) as e:
        read_fhir(bundle(absent))
    assert "no value given" in e.value.problem


def test_fish_is_read_only_from_configured_codes_never_guessed() -> None:
    site = ("http://lab.example/codes", "DEL17P")
    result = {
        "resourceType": "Observation",
        "id": "f",
        "status": "final",
        "code": {"coding": [{"system": site[0], "code": site[1]}]},
        "subject": SUBJECT,
        "effectiveDateTime": "2026-01-20",
        "valueCodeableConcept": {"coding": [{"system": c.SNOMED, "code": "10828004", "display": "Positive"}]},
    }
    fi = read_fhir(bundle(result))
    assert "cytogenetics" not in fi.document
    assert fi.ignored[0].reason.startswith("code not read by b2m")
    fi = read_fhir(bundle(result), fish_codes={"del17p": [site]})
    assert fi.document["cytogenetics"] == {"del17p": True}
    result["valueCodeableConcept"] = {"text": "Not detected"}
    assert read_fhir(bundle(result), fish_codes={"del17p": [site]}).document["cytogenetics"] == {"del17p": False}
    result["valueCodeableConcept"] = {"text": "equivocal"}
    fi = read_fhir(bundle(result), fish_codes={"del17p": [site]})
    assert "cytogenetics" not in fi.document  # unknown, never normal
    assert "del17p stays unknown" in fi.ignored[-1].reason
    with pytest.raises(InputError):
        read_fhir(bundle(result), fish_codes={"del_17p": [site]})  # a misspelt finding is refused


def test_one_patient_per_input_and_no_patient_id_in_any_message() -> None:
    other = obs("b", "1952-1", 3.0, "mg/L", subject={"reference": "Patient/someone-else-123"})
    with pytest.raises(InputError) as e:
        read_fhir(bundle(other))
    assert "someone-else-123" not in str(e.value)
    assert e.value.field == "Bundle.entry[1].resource(Observation/b).subject"
    two = bundle(obs("b", "1952-1", 3.0, "mg/L"))
    two["entry"].append({"resource": {"resourceType": "Patient", "id": "secret-id-42"}})
    with pytest.raises(InputError) as e:
        read_fhir(two)
    assert "secret-id-42" not in str(e.value)
    assert e.value.field == "Bundle.entry[2].resource(Patient)"


def test_an_invalid_resource_is_refused_with_its_path() -> None:
    bad = obs("b", "1952-1", 3.0, "mg/L")
    del bad["code"]
    with pytest.raises(InputError) as e:
        read_fhir(bundle(bad))
    assert e.value.field == "Bundle.entry[1].resource(Observation/b).code"
    assert e.value.problem.startswith("not a valid FHIR R4 Observation")


def test_undated_results_are_used_only_when_alone() -> None:
    fi = read_fhir(bundle(obs("b", "1952-1", 3.0, "mg/L", date=None)))
    assert fi.document["labs"]["b2m"]["value"] == 3.0  # type: ignore[index]
    assert [i.path for i in fi.not_in_series] == ["Bundle.entry[1].resource(Observation/b)"]
    fi = read_fhir(bundle(obs("b1", "1952-1", 3.0, "mg/L", date=None), obs("b2", "1952-1", 4.0, "mg/L", date=None)))
    assert "labs" not in fi.document
    fi = read_fhir(bundle(obs("b1", "1952-1", 3.0, "mg/L", date=None), obs("b2", "1952-1", 4.0, "mg/L")))
    assert fi.document["labs"]["b2m"]["value"] == 4.0  # type: ignore[index]


def test_two_different_results_on_the_latest_date_need_times_to_be_told_apart() -> None:
    same_day = (obs("b1", "1952-1", 3.0, "mg/L"), obs("b2", "1952-1", 4.0, "mg/L"))
    with pytest.raises(InputError) as e:
        read_fhir(bundle(*same_day))
    assert e.value.field == "Bundle.entry[2].resource(Observation/b2)"
    timed = (
        obs("b1", "1952-1", 3.0, "mg/L", "2026-01-31T08:00:00+01:00"),
        obs("b2", "1952-1", 4.0, "mg/L", "2026-01-31T07:30:00+00:00"),  # 08:30 in Paris: the later one
    )
    assert read_fhir(bundle(*timed)).origins["labs.b2m"].reference == "Observation/b2"


def test_components_are_read_like_observations() -> None:
    panel = {
        "resourceType": "Observation",
        "id": "panel",
        "status": "final",
        "code": {"text": "renal panel"},
        "subject": SUBJECT,
        "effectiveDateTime": "2026-01-31",
        "component": [
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "2160-0"}]},
                "valueQuantity": {"value": 1.3, "unit": "mg/dL", "system": UCUM, "code": "mg/dL"},
            },
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7"}]},
                "valueQuantity": {"value": 5.0, "unit": "mmol/L"},
            },
        ],
    }
    fi = read_fhir(bundle(panel))
    assert fi.document["labs"]["creatinine"]["value"] == 1.3  # type: ignore[index]
    assert fi.origins["labs.creatinine"].path == "Bundle.entry[1].resource(Observation/panel).component[0]"


def test_conditions_medications_and_the_myeloma_focus() -> None:
    myeloma = {
        "resourceType": "Condition",
        "id": "mm",
        "subject": SUBJECT,
        "code": {"coding": [{"system": c.ICD10_CM, "code": "C90.00"}]},
    }
    hiv = {
        "resourceType": "Condition",
        "id": "hiv",
        "subject": SUBJECT,
        "code": {"coding": [{"system": c.ICD10, "code": "B20"}]},
    }
    resolved = {**hiv, "id": "old", "clinicalStatus": {"coding": [{"code": "resolved"}]}}
    ciclo = {
        "resourceType": "MedicationStatement",
        "id": "cs",
        "status": "active",
        "subject": SUBJECT,
        "medicationCodeableConcept": {"coding": [{"system": c.ATC, "code": "L04AD01"}]},
    }
    stopped = {**ciclo, "id": "li", "status": "stopped", "medicationCodeableConcept": {"text": "lithium"}}
    fi = read_fhir(bundle(myeloma, hiv, resolved, ciclo, stopped, obs("b", "1952-1", 3.0, "mg/L")))
    assert fi.conditions == ("Condition/mm",)
    assert fi.document["conditions"] == ["ICD10:B20"]
    assert fi.document["medications"] == ["ATC:L04AD01"]
    reasons = {i.path.split("(")[-1]: i.reason for i in fi.ignored}
    assert reasons["Condition/old)"] == "clinicalStatus resolved: not a current condition"
    assert reasons["MedicationStatement/li)"] == "status stopped: not a current medication"
    from b2m.assessment import assess

    flags = {f.code for f in assess([fi.patient()])[0].b2m.flags}
    assert {"infection", "drug_effect"} <= flags  # HIV (ICD-10 B20) and ciclosporin (ATC L04AD01), LAB-4


def test_therapy_lines_and_the_series_go_through_the_monitor_parser_with_fhir_paths() -> None:
    line = {
        "resourceType": "MedicationRequest",
        "id": "rx",
        "status": "completed",
        "intent": "order",
        "subject": SUBJECT,
        "medicationCodeableConcept": {"text": "VRd"},
        "authoredOn": "2026-01-15",
        "extension": [{"url": c.B2M_THERAPY_LINE_EXTENSION, "valueInteger": 1}],
    }
    fi = read_fhir(
        bundle(line, obs("m1", "33358-3", 3.2, "g/dL", "2026-01-10"), obs("m2", "33358-3", 1.4, "g/dL", "2026-03-10"))
    )
    assert fi.series["therapy_lines"] == [{"line": 1, "start": "2026-01-15", "end": None, "regimen": "VRd"}]
    ps = parse_series_document(dict(fi.series))[0]
    assert [lab.value for lab in ps.lab("m_protein")] == [3.2, 1.4]
    bad = obs("m3", "33358-3", 40, "g/dL", "2026-04-10")
    fi = read_fhir(bundle(line, obs("m1", "33358-3", 3.2, "g/dL", "2026-01-10"), bad))
    with pytest.raises(InputError) as e:
        try:
            parse_series_document(dict(fi.series))
        except InputError as err:
            raise fi.translate(err) from None
    assert e.value.field == "Bundle.entry[3].resource(Observation/m3).valueQuantity.value"


def test_b2m_output_is_not_read_back_as_input() -> None:
    stage = {
        "resourceType": "Observation",
        "id": "s",
        "status": "final",
        "meta": {"profile": [c.MCODE_CANCER_STAGE]},
        "code": {"coding": [{"system": c.NCIT, "code": "C139007"}]},
        "subject": SUBJECT,
    }
    fi = read_fhir(bundle(stage))
    assert fi.ignored[0].reason.startswith("an observation b2m writes")


def test_a_single_resource_and_a_list_of_resources_are_inputs_too() -> None:
    one = obs("b", "1952-1", 3.0, "mg/L")
    assert read_fhir(one).document["labs"]["b2m"]["value"] == 3.0  # type: ignore[index]
    listed = read_fhir([{"resourceType": "Patient", "id": "p", "gender": "male"}, one])
    assert listed.document["sex"] == "male"
    assert listed.origins["labs.b2m"].path == "[1](Observation/b)"
    with pytest.raises(InputError):
        read_fhir("not a resource")
