"""FHIR out: the mCODE myeloma stage examples reproduced from labs, and every resource b2m writes validated.

Oracles:
- mCODE STU4 (npm hl7.fhir.us.mcode 4.0.0): the examples Observation-multiple-myeloma-iss-stage-II and
  ...-riss-stage-II, the CancerStage StructureDefinition and the myeloma value sets;
- the stage definitions: ISS (Greipp 2005, DOI 10.1200/JCO.2005.04.242: I = B2M < 3.5 mg/L and albumin
  >= 3.5 g/dL; III = B2M >= 5.5 mg/L; II otherwise) and R-ISS (Palumbo 2015, DOI 10.1200/JCO.2015.61.2267:
  I = ISS I, standard-risk FISH and normal LDH; III = ISS III and high-risk FISH or high LDH; II otherwise);
- the validator @medplum/core (base R4 and the CancerStage profile), and the HL7 R4 CodeSystems.

The mCODE examples carry no lab Observations (no derivedFrom, no hasMember: read from the files). Their
"labs" are therefore documented equivalents: the example's patient (Patient-cancer-patient-john-anyperson
from the package), its date (2021-04-01), and lab values that put the patient in the example's stage by
the definitions above: B2M 4.0 mg/L (3.5 <= B2M < 5.5) with albumin 3.0 g/dL -> ISS II, hence R-ISS II.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from b2m.assessment import assess
from b2m.io.fhir import assessment_bundle, read_fhir
from b2m.io.fhir import codes as c
from b2m.io.series import parse_series_document
from b2m.monitor.monitor import monitor_patient
from tests.fhir_support import CANCER_STAGE_SD, MCODE, R4_EXAMPLES, errors, load, need, validate

RECORDED = dt.datetime(2021, 4, 2, 9, 0, tzinfo=dt.UTC)
SUBJECT = {"reference": "Patient/cancer-patient-john-anyperson"}
FISH = {
    "del17p": [("http://example.org/site-lab", "FISH-17P")],
    "t4_14": [("http://example.org/site-lab", "FISH-T414")],
    "t14_16": [("http://example.org/site-lab", "FISH-T1416")],
}


def _lab(oid: str, loinc: str, value: float, unit: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "subject": SUBJECT,
        "effectiveDateTime": "2021-04-01",
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
        **extra,
    }


def _fish(oid: str, code: str, positive: bool) -> dict[str, Any]:
    answer = ("10828004", "Positive") if positive else ("260385009", "Negative")  # SNOMED CT, HL7 R4 examples
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": "http://example.org/site-lab", "code": code}]},
        "subject": SUBJECT,
        "effectiveDateTime": "2021-04-01",
        "valueCodeableConcept": {"coding": [{"system": c.SNOMED, "code": answer[0], "display": answer[1]}]},
    }


def _bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    need(MCODE, "the mCODE package")
    patient = load(MCODE / "example" / "Patient-cancer-patient-john-anyperson.json")
    myeloma = {
        "resourceType": "Condition",
        "id": "primary-cancer-condition-nonspecific",  # the id the mCODE examples' focus points at
        "subject": SUBJECT,
        "code": {"coding": [{"system": c.SNOMED, "code": "109989006", "display": "Multiple myeloma (disorder)"}]},
    }
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in (patient, myeloma, *resources)],
    }


def _output(bundle: dict[str, Any], **read: Any) -> list[dict[str, Any]]:
    fi = read_fhir(bundle, **read)
    out = assessment_bundle(fi, assess([fi.patient()])[0], recorded=RECORDED)
    return [e["resource"] for e in json.loads(out.model_dump_json())["entry"]]


def _stage(resources: list[dict[str, Any]], type_code: str) -> dict[str, Any]:
    return next(
        r for r in resources if r["resourceType"] == "Observation" and r["code"]["coding"][0]["code"] == type_code
    )


def _codes(cc: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(cd["system"], cd["code"], cd.get("display")) for cd in cc["coding"]]


@pytest.mark.parametrize(
    "example", ["Observation-multiple-myeloma-iss-stage-II.json", "Observation-multiple-myeloma-riss-stage-II.json"]
)
def test_mcode_myeloma_stage_examples_are_reproduced_code_for_code_from_labs(example: str) -> None:
    """Profile, status, category, stage type, stage value (codes and displays), subject, focus and date
    are those of the mCODE example; b2m adds its method, evidence and components."""
    need(MCODE, "the mCODE package")
    expected = load(MCODE / "example" / example)
    out = _output(_bundle(_lab("b2m", "1952-1", 4.0, "mg/L"), _lab("alb", "1751-7", 3.0, "g/dL")))
    got = _stage(out, expected["code"]["coding"][0]["code"])
    assert got["meta"]["profile"] == expected["meta"]["profile"]
    assert got["status"] == expected["status"]
    assert [_codes(x) for x in got["category"]] == [
        [(s, k, "Laboratory") for s, k, _ in _codes(x)] for x in expected["category"]
    ]
    assert _codes(got["code"]) == _codes(expected["code"])
    assert _codes(got["valueCodeableConcept"]) == _codes(expected["valueCodeableConcept"])
    assert got["subject"]["reference"] == expected["subject"]["reference"]
    assert [f["reference"] for f in got["focus"]] == [f["reference"] for f in expected["focus"]]
    assert got["effectiveDateTime"] == expected["effectiveDateTime"]
    assert {d["reference"] for d in got["derivedFrom"]} >= {"Observation/b2m", "Observation/alb"}


@pytest.mark.parametrize(
    ("labs", "fish", "iss", "riss"),
    [
        # ISS I (B2M 2.0 < 3.5, albumin 4.0 >= 3.5), no high-risk FISH, LDH 150 <= ULN 250 -> R-ISS I.
        (
            (("1952-1", 2.0, "mg/L"), ("1751-7", 4.0, "g/dL"), ("2532-0", 150, "U/L")),
            (False, False, False),
            "C70658",
            "C141394",
        ),
        # ISS III (B2M 6.0 >= 5.5) with del(17p) -> R-ISS III.
        (
            (("1952-1", 6.0, "mg/L"), ("1751-7", 3.0, "g/dL"), ("2532-0", 150, "U/L")),
            (True, False, False),
            "C70660",
            "C141396",
        ),
    ],
)
def test_stage_i_and_iii_codes_come_from_the_mcode_value_sets(
    labs: tuple[tuple[str, float, str], ...], fish: tuple[bool, bool, bool], iss: str, riss: str
) -> None:
    """The values written are the ones mCODE's myeloma ISS / R-ISS value sets give for the stage."""
    ldh_range = {
        "referenceRange": [
            {"high": {"value": 250, "unit": "U/L", "system": "http://unitsofmeasure.org", "code": "U/L"}}
        ]
    }
    resources = [
        _lab(f"l{i}", code, v, u, **(ldh_range if code == "2532-0" else {})) for i, (code, v, u) in enumerate(labs)
    ]
    resources += [
        _fish(f"f{i}", code, pos)
        for i, (code, pos) in enumerate(zip(("FISH-17P", "FISH-T414", "FISH-T1416"), fish, strict=True))
    ]
    out = _output(_bundle(*resources), fish_codes=FISH)
    assert _stage(out, "C139007")["valueCodeableConcept"]["coding"][0]["code"] == iss
    assert _stage(out, "C141392")["valueCodeableConcept"]["coding"][0]["code"] == riss
    iss_vs = _value_set("ValueSet-mcode-myeloma-iss-stage-value-vs.json")
    riss_vs = _value_set("ValueSet-mcode-myeloma-riss-stage-value-vs.json")
    assert (c.NCIT, iss) in iss_vs and (c.NCIT, riss) in riss_vs


def test_an_open_stage_has_no_value_but_every_possible_stage_and_what_is_missing() -> None:
    """B2M 4.0 mg/L without albumin: ISS II (3.5 <= B2M < 5.5 settles it without albumin, Greipp 2005);
    without FISH and LDH, R-ISS stays II (ISS II gives R-ISS II) but R2-ISS is open (D'Agostino 2022: ISS
    II gives 1 point; the unknown del(17p), LDH, t(4;14) and 1q+ can add 0 to 3.5): groups II to IV."""
    out = _output(_bundle(_lab("b2m", "1952-1", 4.0, "mg/L")))
    r2 = _stage(out, "r2-iss-stage")
    assert "valueCodeableConcept" not in r2
    assert r2["dataAbsentReason"]["coding"][0]["code"] == "unknown"
    possible = [
        x["valueCodeableConcept"]["coding"][0]["code"]
        for x in r2["component"]
        if x["code"]["coding"][0]["code"] == "possible-stage"
    ]
    assert possible == ["r2-iss-stage-II", "r2-iss-stage-III", "r2-iss-stage-IV"]
    missing = {
        x["valueCodeableConcept"]["coding"][0]["code"]
        for x in r2["component"]
        if x["code"]["coding"][0]["code"] == "missing-input"
    }
    assert missing == {"input-ldh-u-l", "input-del17p", "input-t4-14", "input-gain1q"}
    score = next(r for r in out if r["code"]["coding"][0]["code"] == "r2-iss-score")
    assert (score["valueRange"]["low"]["value"], score["valueRange"]["high"]["value"]) == (1.0, 4.5)
    assert r2["hasMember"][0]["reference"] in {e for e in _full_urls(_bundle(_lab("b2m", "1952-1", 4.0, "mg/L")))}


def _full_urls(bundle: dict[str, Any]) -> list[str]:
    fi = read_fhir(bundle)
    out = assessment_bundle(fi, assess([fi.patient()])[0], recorded=RECORDED)
    return [str(e.fullUrl) for e in out.entry or []]


def _value_set(name: str) -> set[tuple[str, str]]:
    vs = load(MCODE / name)
    return {(inc["system"], cc["code"]) for inc in vs["compose"]["include"] for cc in inc.get("concept", [])}


def _series_bundle() -> dict[str, Any]:
    """A responder's serum M-protein over a line of therapy (values chosen for the test; no oracle needed:
    the checks are on the resources written, not on the category)."""
    line = {
        "resourceType": "MedicationStatement",
        "id": "vrd",
        "status": "active",
        "subject": SUBJECT,
        "medicationCodeableConcept": {"text": "VRd"},
        "effectivePeriod": {"start": "2021-04-05"},
        "extension": [{"url": c.B2M_THERAPY_LINE_EXTENSION, "valueInteger": 1}],
    }
    mprot = [
        _lab(f"m{i}", "33358-3", v, "g/dL") | {"effectiveDateTime": d}
        for i, (d, v) in enumerate((("2021-04-01", 3.2), ("2021-06-01", 1.4), ("2021-07-01", 1.2)))
    ]
    return _bundle(
        _lab("b2m", "1952-1", 6.1, "mg/L"),
        _lab("alb", "1751-7", 3.1, "g/dL"),
        _lab("cr", "2160-0", 1.4, "mg/dL"),
        line,
        *mprot,
    )


def _all_outputs() -> list[dict[str, Any]]:
    """Settled and open stages, FISH, an eGFR, a B2M interpretation with flags, IMWG responses."""
    ldh = _lab("ldh", "2532-0", 300, "U/L", referenceRange=[{"high": {"value": 250, "unit": "U/L"}}])
    cases = [
        _output(_bundle(_lab("b2m", "1952-1", 4.0, "mg/L"), _lab("alb", "1751-7", 3.0, "g/dL"))),
        _output(_bundle(_lab("b2m", "1952-1", 4.0, "mg/L"))),
        _output(
            _bundle(
                _lab("b2m", "1952-1", 2.0, "mg/L", referenceRange=[{"low": {"value": 1.21}, "high": {"value": 2.7}}]),
                _lab("alb", "1751-7", 40, "g/L"),
                ldh,
                _lab("cr", "2160-0", 2.3, "mg/dL"),
                _lab("crp", "1988-5", 40, "mg/L"),
                _fish("f1", "FISH-17P", True),
                _fish("f2", "FISH-T414", False),
                _fish("f3", "FISH-T1416", False),
            ),
            fish_codes=FISH,
        ),
    ]
    fi = read_fhir(_series_bundle())
    series = parse_series_document(dict(fi.series))[0]
    m = monitor_patient(series)
    monitored = assessment_bundle(fi, assess([fi.patient()])[0], monitor=m, recorded=RECORDED)
    cases.append([e["resource"] for e in json.loads(monitored.model_dump_json())["entry"]])
    return [r for case in cases for r in case]


@pytest.fixture(scope="module")
def outputs() -> list[dict[str, Any]]:
    return _all_outputs()


def test_every_resource_b2m_writes_validates_against_r4_and_the_cancer_stage_profile(
    outputs: list[dict[str, Any]],
) -> None:
    """@medplum/core validateResource: base R4 for every resource, and mCODE CancerStage for every stage."""
    results = validate(outputs, [CANCER_STAGE_SD])
    problems = {f"{r['index']} {r['resourceType']}": errors(r) for r in results if errors(r)}
    assert problems == {}
    stages = [r for r in results if c.MCODE_CANCER_STAGE in r["checked"]]
    assert len(stages) == 4 * 3  # ISS, R-ISS, R2-ISS in each of the four outputs
    assert {r["resourceType"] for r in results} == {"Observation", "Device", "Provenance", "OperationOutcome"}


def test_the_validator_catches_what_the_profile_forbids(outputs: list[dict[str, Any]]) -> None:
    """The validator is not a rubber stamp: a stage without category, or with an unknown element, fails
    (mCODE CancerStage: category 1..*), and the mCODE examples themselves pass."""
    stage = next(r for r in outputs if r.get("meta", {}).get("profile") == [c.MCODE_CANCER_STAGE])
    broken = [{k: v for k, v in stage.items() if k != "category"}, {**stage, "stage": "II"}]
    examples = [load(MCODE / "example" / f"Observation-multiple-myeloma-{s}-stage-II.json") for s in ("iss", "riss")]
    results = validate([*broken, *examples], [CANCER_STAGE_SD])
    assert [bool(errors(r)) for r in results] == [True, True, False, False]


def _codings(x: Any) -> list[dict[str, Any]]:
    out = []
    if isinstance(x, dict):
        if "system" in x and "code" in x and isinstance(x["code"], str) and "value" not in x:
            out.append(x)
        for v in x.values():
            out += _codings(v)
    elif isinstance(x, list):
        for v in x:
            out += _codings(v)
    return out


def test_every_code_written_is_defined_where_its_system_is(outputs: list[dict[str, Any]]) -> None:
    """Our own checks of codes (the validator checks none): an HL7 code is in its R4 CodeSystem (from the
    R4 package), an mCODE stage code in its mCODE value set, a b2m code in b2m's documented tables."""
    need(R4_EXAMPLES, "the HL7 R4 examples package")
    hl7: dict[str, set[str]] = {}
    for name in (
        "observation-category",
        "data-absent-reason",
        "v3-ObservationInterpretation",
        "v2-0136",
        "provenance-agent-type",
        "observation-status",
    ):
        cs = load(R4_EXAMPLES / f"CodeSystem-{name}.json")

        def walk(concepts: list[dict[str, Any]], into: set[str]) -> None:
            for cc in concepts:
                into.add(cc["code"])
                walk(cc.get("concept", []), into)

        hl7[cs["url"]] = set()
        walk(cs["concept"], hl7[cs["url"]])
    stage_types = _value_set("ValueSet-mcode-cancer-stage-type-vs.json")
    methods = _value_set("ValueSet-mcode-cancer-staging-method-vs.json")
    values = _value_set("ValueSet-mcode-myeloma-iss-stage-value-vs.json") | _value_set(
        "ValueSet-mcode-myeloma-riss-stage-value-vs.json"
    )
    # mCODE 4.0.0's stage-type value set (a preferred binding) lacks the R-ISS stage type C141392 that its own
    # R-ISS example uses; b2m follows the example (docs/fhir-conformance.md). Checked both ways here.
    riss_type = (c.NCIT, "C141392")
    assert riss_type not in stage_types
    example = load(MCODE / "example" / "Observation-multiple-myeloma-riss-stage-II.json")
    assert (example["code"]["coding"][0]["system"], example["code"]["coding"][0]["code"]) == riss_type
    stage_types.add(riss_type)
    b2m_codes = set(c.B2M_CODES) | set(c.CRITERION_CODES)
    seen = set()
    for r in outputs:
        for cd in _codings(r):
            system, code = cd["system"], cd["code"]
            seen.add(system)
            if system in hl7:
                assert code in hl7[system], (system, code)
            elif system == c.NCIT or (system == c.SNOMED and r.get("meta")):
                assert (system, code) in stage_types | methods | values, (system, code)
            elif system == c.B2M_SYSTEM:
                assert code in b2m_codes, code
            elif system == c.B2M_FLAG_SYSTEM:
                assert code in c.FLAG_CODES, code
            elif system == c.LOINC:
                assert code in {x.code for x in c.EGFR_CODES.values()}, code
            else:
                raise AssertionError(f"unexpected system {system} ({code})")
        if r["resourceType"] == "Observation":
            assert r["status"] in hl7["http://hl7.org/fhir/observation-status"]
    assert {c.NCIT, c.B2M_SYSTEM, c.B2M_FLAG_SYSTEM, c.LOINC} <= seen


def test_stages_point_at_their_inputs_and_the_provenance_names_b2m_and_the_rules(outputs: list[dict[str, Any]]) -> None:
    """derivedFrom = every input the rule read (ISS: B2M and albumin; R-ISS and R2-ISS add LDH and the
    FISH results); the Provenance targets every Observation written, has b2m (a Device with its version)
    as author, every input as source, and the rules' DOIs as policy."""
    import b2m

    case = _output(
        _bundle(
            _lab("b2m", "1952-1", 2.0, "mg/L"),
            _lab("alb", "1751-7", 4.0, "g/dL"),
            _lab("ldh", "2532-0", 150, "U/L", referenceRange=[{"high": {"value": 250, "unit": "U/L"}}]),
            _fish("f1", "FISH-17P", False),
            _fish("f2", "FISH-T414", False),
            _fish("f3", "FISH-T1416", False),
        ),
        fish_codes=FISH,
    )
    derived = {
        s: {d["reference"] for d in _stage(case, s)["derivedFrom"]} for s in ("C139007", "C141392", "r2-iss-stage")
    }
    assert derived["C139007"] == {"Observation/b2m", "Observation/alb"}
    assert derived["C141392"] == {
        "Observation/b2m",
        "Observation/alb",
        "Observation/ldh",
        "Observation/f1",
        "Observation/f2",
        "Observation/f3",
    }
    assert derived["r2-iss-stage"] == {
        "Observation/b2m",
        "Observation/alb",
        "Observation/ldh",
        "Observation/f1",
        "Observation/f2",
    }
    prov = next(r for r in case if r["resourceType"] == "Provenance")
    device = next(r for r in case if r["resourceType"] == "Device")
    assert device["deviceName"][0]["name"] == "b2m" and device["version"][0]["value"] == b2m.__version__
    assert len(prov["target"]) == sum(1 for r in case if r["resourceType"] == "Observation")
    assert prov["agent"][0]["type"]["coding"][0]["code"] == "author"
    assert {e["what"]["reference"] for e in prov["entity"]} >= derived["C141392"]
    assert {
        "https://doi.org/10.1200/JCO.2005.04.242",
        "https://doi.org/10.1200/JCO.2015.61.2267",
        "https://doi.org/10.1200/JCO.21.02614",
    } <= set(prov["policy"])


def test_imwg_responses_are_written_per_assessment_with_their_measurements(outputs: list[dict[str, Any]]) -> None:
    """One Observation per response assessment of the monitor (dated as the assessment), pointing at the
    M-protein results it was made from."""
    fi = read_fhir(_series_bundle())
    m = monitor_patient(parse_series_document(dict(fi.series))[0])
    out = json.loads(assessment_bundle(fi, assess([fi.patient()])[0], monitor=m, recorded=RECORDED).model_dump_json())
    responses = [
        e["resource"]
        for e in out["entry"]
        if e["resource"].get("code", {}).get("coding", [{}])[0].get("code") == "imwg-2016-response"
    ]
    assert [r["effectiveDateTime"] for r in responses] == [a.date.isoformat() for a in m.history.assessments]
    assert len(responses) >= 1
    for r, a in zip(responses, m.history.assessments, strict=True):
        dates = {x["date"] for x in a.to_dict()["measurements"] if x.get("marker") == "serum_m_protein"}  # type: ignore[union-attr]
        expected = {f"Observation/m{i}" for i, d in enumerate(("2021-04-01", "2021-06-01", "2021-07-01")) if d in dates}
        assert {d["reference"] for d in r.get("derivedFrom", [])} == expected
