"""FHIR R4 over HTTP: the CapabilityStatement, ``$assess`` on a Bundle built from the official examples, and a
stored patient's results and stages as FHIR (``Observation?patient=&code=``), under the REST API's access rules.

Oracles:
- mCODE STU4 (npm hl7.fhir.us.mcode 4.0.0): its patient Patient-cancer-patient-john-anyperson, the myeloma stage
  examples Observation-multiple-myeloma-iss-stage-II / -riss-stage-II (codes and displays of stage type and value),
  the CancerStage StructureDefinition; the validator @medplum/core (scripts/fhir-validate.mjs) for base R4 and the
  profile.
- ISS (Greipp 2005, DOI 10.1200/JCO.2005.04.242; docs/reference/iss.md): B2M 4.0 mg/L (3.5 <= B2M < 5.5) -> II,
  whatever the albumin; the stored patient of the service tests (B2M 4.2 mg/L, albumin 35 g/L) -> ISS II, NCIt
  C70659 in mCODE's myeloma ISS value set. R-ISS (Palumbo 2015, DOI 10.1200/JCO.2015.61.2267): ISS II -> R-ISS II
  whatever FISH and LDH.
- FHIR R4 http (https://hl7.org/fhir/R4/http.html): errors are OperationOutcome resources; the search result is a
  searchset Bundle.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from b2m.errors import InputError
from b2m.io.fhir import read_fhir
from b2m.service.db.engine import migrate
from b2m.service.settings import ConfigurationError, from_environment
from tests.fhir_support import CANCER_STAGE_SD, MCODE, errors, load, need, validate
from tests.service.conftest import World, build_world

NCIT = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"
SNOMED = "http://snomed.info/sct"
CANCER_STAGE = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-cancer-stage"
FHIR_JSON = "application/fhir+json"
SUBJECT = {"reference": "Patient/cancer-patient-john-anyperson"}


def _lab(oid: str, loinc: str, value: float, unit: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "subject": SUBJECT,
        "effectiveDateTime": "2021-04-01",
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
    }


def mcode_bundle(*labs: dict[str, Any]) -> dict[str, Any]:
    """The mCODE example patient, its myeloma Condition (the id the mCODE stage examples' focus names) and labs."""
    need(MCODE, "the mCODE package")
    patient = load(MCODE / "example" / "Patient-cancer-patient-john-anyperson.json")
    myeloma = {
        "resourceType": "Condition",
        "id": "primary-cancer-condition-nonspecific",
        "subject": SUBJECT,
        "code": {"coding": [{"system": SNOMED, "code": "109989006", "display": "Multiple myeloma (disorder)"}]},
    }
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in (patient, myeloma, *labs)],
    }


def post_assess(world: World, body: object, who: str = "clinician", ctype: str = FHIR_JSON) -> Any:
    headers = {**world.auth(who), "Content-Type": ctype}
    return world.client.post("/fhir/$assess", content=json.dumps(body), headers=headers)


def _codes(cc: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(cd["system"], cd["code"], cd.get("display")) for cd in cc["coding"]]


def test_metadata_is_public_and_a_valid_capability_statement(sqlite_world: World) -> None:
    world = sqlite_world
    r = world.client.get("/fhir/metadata")
    assert r.status_code == 200 and r.headers["content-type"].startswith(FHIR_JSON)
    cs = r.json()
    assert cs["resourceType"] == "CapabilityStatement" and cs["fhirVersion"] == "4.0.1"
    rest = cs["rest"][0]
    assert {o["name"] for o in rest["operation"]} == {"assess"}
    obs = next(x for x in rest["resource"] if x["type"] == "Observation")
    assert {p["name"] for p in obs["searchParam"]} == {"patient", "code"}
    assert CANCER_STAGE in obs["supportedProfile"]
    [result] = validate([cs])
    assert errors(result) == []


def test_assess_on_the_mcode_example_gives_cancer_stage_observations_that_validate(sqlite_world: World) -> None:
    """The stage Observations of $assess carry the mCODE examples' codes, point at every input, are covered by a
    Provenance, and validate against base R4 and the CancerStage profile."""
    world = sqlite_world
    r = post_assess(world, mcode_bundle(_lab("b2m", "1952-1", 4.0, "mg/L"), _lab("alb", "1751-7", 3.0, "g/dL")))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(FHIR_JSON)
    bundle = r.json()
    assert bundle["resourceType"] == "Bundle"
    out = [e["resource"] for e in bundle["entry"]]
    stages = {
        o["code"]["coding"][0]["code"]: o
        for o in out
        if o["resourceType"] == "Observation" and o.get("meta", {}).get("profile") == [CANCER_STAGE]
    }
    for example, type_code in (("iss", "C139007"), ("riss", "C141392")):
        expected = load(MCODE / "example" / f"Observation-multiple-myeloma-{example}-stage-II.json")
        got = stages[type_code]
        assert _codes(got["code"]) == _codes(expected["code"])
        assert _codes(got["valueCodeableConcept"]) == _codes(expected["valueCodeableConcept"])
        assert got["subject"]["reference"] == expected["subject"]["reference"]
        assert [f["reference"] for f in got["focus"]] == [f["reference"] for f in expected["focus"]]
        assert {d["reference"] for d in got["derivedFrom"]} >= {"Observation/b2m", "Observation/alb"}
    prov = next(o for o in out if o["resourceType"] == "Provenance")
    assert {e["what"]["reference"] for e in prov["entity"]} >= {"Observation/b2m", "Observation/alb"}
    assert "https://doi.org/10.1200/JCO.2005.04.242" in prov["policy"]
    results = validate(out, [CANCER_STAGE_SD])
    assert {f"{x['index']} {x['resourceType']}": errors(x) for x in results if errors(x)} == {}
    assert sum(1 for x in results if CANCER_STAGE in x["checked"]) == len(stages) >= 2


def test_assess_refuses_as_the_edge_does_naming_the_fhir_path(sqlite_world: World) -> None:
    """The OperationOutcome carries the edge's own refusal: the same message, the FHIR path as its expression."""
    world = sqlite_world
    bad = mcode_bundle(_lab("b2m", "1952-1", 4.0, "furlong"), _lab("alb", "1751-7", 3.0, "g/dL"))
    try:
        read_fhir(bad).patient()
    except InputError as e:
        edge = e
    else:
        raise AssertionError("the edge took a furlong")
    r = post_assess(world, bad)
    assert r.status_code == 422 and r.headers["content-type"].startswith(FHIR_JSON)
    outcome = r.json()
    assert outcome["resourceType"] == "OperationOutcome"
    [issue] = outcome["issue"]
    assert issue["severity"] == "error" and issue["code"] == "invalid"
    assert issue["expression"] == [edge.field] and "valueQuantity" in edge.field
    assert issue["diagnostics"] == edge.one_line()
    [result] = validate([outcome])
    assert errors(result) == []


def test_assess_errors_are_operation_outcomes(sqlite_world: World) -> None:
    world = sqlite_world
    body = mcode_bundle(_lab("b2m", "1952-1", 4.0, "mg/L"))
    r = post_assess(world, body, ctype="text/plain")
    assert r.status_code == 415 and r.json()["resourceType"] == "OperationOutcome"
    r = world.client.post("/fhir/$assess", content=json.dumps(body), headers={"Content-Type": FHIR_JSON})
    assert r.status_code == 401 and r.json()["issue"][0]["code"] == "login"
    r = world.client.post(
        "/fhir/$assess", content=b"{not json", headers={**world.auth("lab"), "Content-Type": FHIR_JSON}
    )
    assert r.status_code == 422 and r.json()["resourceType"] == "OperationOutcome"


def _search(world: World, who: str, patient: int, code: str | None = None) -> Any:
    params = {"patient": f"Patient/{patient}"} | ({"code": code} if code else {})
    return world.client.get("/fhir/Observation", params=params, headers=world.auth(who))


def test_a_stored_patient_s_stage_is_searchable_and_validates(sqlite_world: World) -> None:
    """Stored B2M 4.2 mg/L and albumin 35 g/L: ISS II (NCIt C70659), read by code, as a CancerStage that validates;
    the read is audited with the patient."""
    world = sqlite_world
    r = _search(world, "clinician", world.own, f"{NCIT}|C139007")
    assert r.status_code == 200, r.text
    bundle = r.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset" and bundle["total"] == 1
    [stage] = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "match"]
    assert stage["valueCodeableConcept"]["coding"][0]["code"] == "C70659"
    assert stage["subject"]["reference"] == f"Patient/{world.own}"
    assert stage["meta"]["profile"] == [CANCER_STAGE]
    results = validate([stage], [CANCER_STAGE_SD])
    assert errors(results[0]) == []
    everything = _search(world, "patient", world.own).json()
    kinds = {e["resource"]["code"]["coding"][0]["code"] for e in everything["entry"] if e["search"]["mode"] == "match"}
    assert {"C139007", "C141392", "1952-1", "1751-7"} <= kinds
    events = world.client.get("/api/v1/audit", headers=world.auth("admin")).json()
    mine = [e for e in events["items"] if e["action"] == "GET /fhir/Observation"]
    assert mine and all(e["patient_id"] == world.own and e["outcome"] == 200 for e in mine)


def test_search_and_read_follow_the_rest_api_s_reach(sqlite_world: World) -> None:
    world = sqlite_world
    for who, target in (("clinician-b", world.own), ("patient", world.other), ("clinician", world.other)):
        r = _search(world, who, target)
        assert r.status_code == 404 and r.json()["resourceType"] == "OperationOutcome", (who, r.text)
        assert r.json()["issue"][0]["diagnostics"] == "no such patient"
        r = world.client.get(f"/fhir/Patient/{target}", headers=world.auth(who))
        assert r.status_code == 404
    for who in ("lab", "admin"):
        assert _search(world, who, world.own).status_code == 403
    r = world.client.get("/fhir/Observation", headers=world.auth("clinician"))
    assert r.status_code == 422 and r.json()["issue"][0]["expression"] == ["patient"]
    r = world.client.get(f"/fhir/Patient/{world.own}", headers=world.auth("patient"))
    assert r.status_code == 200 and r.json()["identifier"][0]["value"] == "SITE-A"
    [result] = validate([r.json()])
    assert errors(result) == []


def test_a_site_s_fish_codes_are_read_by_assess_once_configured(sqlite_url: str, tmp_path: Path) -> None:
    """FISH has no confirmed LOINC code: a del(17p) result under the site's own code stays unread (R-ISS unsettled
    between II and III: ISS III with a normal LDH) until B2M_FHIR_FISH_CODES names the code; then R-ISS III.
    Oracle: R-ISS (Palumbo 2015, DOI 10.1200/JCO.2015.61.2267): ISS III and a high-risk abnormality -> III; ISS
    (Greipp 2005): B2M >= 5.5 mg/L -> III; the R-ISS stage III code from mCODE's myeloma R-ISS value set."""
    site = ("http://lab.example/codes", "DEL17P")
    fish = {
        "resourceType": "Observation",
        "id": "fish",
        "status": "final",
        "code": {"coding": [{"system": site[0], "code": site[1]}]},
        "subject": SUBJECT,
        "effectiveDateTime": "2021-04-01",
        "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "10828004", "display": "Positive"}]},
    }
    ldh = _lab("ldh", "2532-0", 180, "U/L")
    ldh["referenceRange"] = [{"high": {"value": 250, "unit": "U/L"}}]
    body = mcode_bundle(_lab("b2m", "1952-1", 6.0, "mg/L"), _lab("alb", "1751-7", 3.0, "g/dL"), ldh, fish)
    value_set = load(MCODE / "ValueSet-mcode-myeloma-riss-stage-value-vs.json")
    concepts = value_set["compose"]["include"][0]["concept"]
    [stage_iii] = [x["code"] for x in concepts if x["display"].startswith("RISS Stage III")]

    def r_iss_values(world: World) -> list[str | None]:
        r = post_assess(world, body)
        assert r.status_code == 200, r.text
        return [
            o["valueCodeableConcept"]["coding"][0]["code"] if "valueCodeableConcept" in o else None
            for o in (e["resource"] for e in r.json()["entry"])
            if o["resourceType"] == "Observation" and o["code"]["coding"][0]["code"] == "C141392"
        ]

    plain = build_world(sqlite_url)
    with plain.client:
        assert r_iss_values(plain) == [None]  # unsettled: unknown FISH is never read as normal, nor as positive
    plain.app.state.engine.dispose()

    path = tmp_path / "fish-codes.json"
    path.write_text(json.dumps({"del17p": [list(site)]}), encoding="utf-8")
    env = {"B2M_DATABASE_URL": sqlite_url, "B2M_ENV": "development", "B2M_FHIR_FISH_CODES": str(path)}
    codes = from_environment(env).fhir_fish_codes
    second = f"sqlite:///{tmp_path / 'configured.sqlite3'}"
    migrate(second)
    configured = build_world(second, fhir_fish_codes=codes)
    with configured.client:
        assert r_iss_values(configured) == [stage_iii]
    configured.app.state.engine.dispose()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not JSON"),
        ('{"del17p": "DEL17P"}', "expected a JSON object"),
        ('{"del_17p": [["http://lab.example/codes", "X"]]}', "unknown cytogenetic finding"),
        ('{"del17p": [["http://loinc.org", "1952-1"]]}', "a lab code b2m reads"),
        ('{"del17p": [["s", "X"]], "t4_14": [["s", "X"]]}', "configured for two findings"),
        ('{"del17p": [["http://lab.example/codes", "DEL17P,1952-1"]]}', "would change the FHIR search"),
        ('{"del17p": [["http://lab.example/codes", "DEL 17P"]]}', "would change the FHIR search"),
    ],
)
def test_a_bad_fish_codes_file_stops_the_service_naming_the_problem(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "fish-codes.json"
    path.write_text(content, encoding="utf-8")
    env = {"B2M_DATABASE_URL": "sqlite://", "B2M_ENV": "development", "B2M_FHIR_FISH_CODES": str(path)}
    with pytest.raises(ConfigurationError, match="B2M_FHIR_FISH_CODES") as e:
        from_environment(env)
    assert problem in str(e.value)
