"""The authorization matrix: every route x every role (and anonymous) x own / other patient, generated from the
app's route table, so a new route fails here until its policy is written below.

Oracle: the policy of issue 11 ("a clinician sees the patients of their care team, a lab posts results, a patient
sees only their own record, an admin manages users but reads no clinical data unless also a clinician"), written
out per route in POLICY independently of the routes' own declarations; the test checks both that each route
declares exactly this policy and that the running app enforces it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

import pytest
from fastapi.routing import APIRoute

from b2m.service.access import route_rule
from b2m.service.app import api_routes
from b2m.service.db.engine import write_session
from b2m.service.db.models import User
from b2m.service.security import issue
from tests.service.conftest import PASSWORD, SECRET, World

ROLES = ("clinician", "lab", "patient", "admin")
READ = {"clinician": "team", "patient": "own"}
WRITE = {"clinician": "team", "lab": "any"}
EVERYONE = {r: "any" for r in ROLES}
ADMIN = {"admin": "any"}
PUBLIC = "public"
CDS_CLIENT = "cds-client"  # called by a trusted CDS client with its signed JWT: no user token opens it (issue 12)
PATIENT_IN_QUERY = {"/fhir/Observation"}  # FHIR search: the patient is the ?patient= parameter

POLICY: dict[tuple[str, str], Any] = {
    ("GET", "/api/v1/health"): PUBLIC,
    ("GET", "/api/v1/ready"): PUBLIC,
    ("POST", "/api/v1/auth/token"): PUBLIC,
    ("POST", "/api/v1/auth/session"): PUBLIC,
    ("POST", "/api/v1/auth/logout"): EVERYONE,
    ("GET", "/api/v1/auth/me"): EVERYONE,
    ("POST", "/api/v1/auth/password"): EVERYONE,
    ("GET", "/api/v1/users"): ADMIN,
    ("POST", "/api/v1/users"): ADMIN,
    ("POST", "/api/v1/users/{user_id}/disable"): ADMIN,
    ("POST", "/api/v1/users/{user_id}/enable"): ADMIN,
    ("GET", "/api/v1/teams"): ADMIN,
    ("POST", "/api/v1/teams"): ADMIN,
    ("POST", "/api/v1/teams/{team_id}/members"): ADMIN,
    ("GET", "/api/v1/patients"): READ,
    ("POST", "/api/v1/patients"): {"clinician": "any"},
    ("GET", "/api/v1/patients/{patient_id}"): READ,
    ("GET", "/api/v1/patients/{patient_id}/results"): READ,
    ("POST", "/api/v1/patients/{patient_id}/results"): WRITE,
    ("POST", "/api/v1/patients/{patient_id}/results/{result_id}/corrections"): WRITE,
    ("POST", "/api/v1/patients/{patient_id}/results/{result_id}/retraction"): WRITE,
    ("GET", "/api/v1/patients/{patient_id}/monitor"): READ,
    ("GET", "/api/v1/patients/{patient_id}/response"): READ,
    ("GET", "/api/v1/patients/{patient_id}/kinetics"): READ,
    ("GET", "/api/v1/patients/{patient_id}/alerts"): READ,
    ("GET", "/api/v1/patients/{patient_id}/assessment"): READ,
    ("GET", "/api/v1/patients/{patient_id}/report"): READ,
    ("POST", "/api/v1/results/upload"): WRITE,
    ("POST", "/api/v1/assess"): EVERYONE,
    ("POST", "/api/v1/stage"): {"clinician": "any", "lab": "any"},
    ("GET", "/api/v1/audit"): ADMIN,
    ("GET", "/api/v1/audit/export"): ADMIN,
    # The web app (issue 13): the same principles for its pages and forms.
    ("GET", "/"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): EVERYONE,
    ("GET", "/calculators"): EVERYONE,
    ("GET", "/calculators/{name}"): EVERYONE,
    ("GET", "/calculators/b2m-reading"): EVERYONE,
    ("GET", "/patients"): {"clinician": "team"},
    ("GET", "/patients/{patient_id}"): {"clinician": "team"},
    ("GET", "/patients/{patient_id}/timeline.json"): {"clinician": "team"},
    ("POST", "/patients/{patient_id}/results"): {"clinician": "team"},
    ("POST", "/patients/{patient_id}/upload"): {"clinician": "team"},
    ("GET", "/my"): {"patient": "any"},
    ("GET", "/my/timeline.json"): {"patient": "any"},
    ("GET", "/lab"): {"lab": "any"},
    ("POST", "/lab/results"): {"lab": "any"},
    ("POST", "/lab/upload"): {"lab": "any"},
    ("GET", "/admin"): ADMIN,
    ("POST", "/admin/users"): ADMIN,
    ("POST", "/admin/users/{user_id}/disable"): ADMIN,
    ("POST", "/admin/users/{user_id}/enable"): ADMIN,
    ("POST", "/admin/teams"): ADMIN,
    ("POST", "/admin/teams/{team_id}/members"): ADMIN,
    ("GET", "/admin/audit"): ADMIN,
    # FHIR R4 (issue 12): the same rules as the REST API's routes for the same data.
    ("GET", "/fhir/metadata"): PUBLIC,
    ("POST", "/fhir/$assess"): EVERYONE,
    ("GET", "/fhir/Observation"): READ,
    ("GET", "/fhir/Patient/{patient_id}"): READ,
    # CDS Hooks 2.0: discovery is public (issue 11); the services take the CDS client's JWT only.
    ("GET", "/cds-services"): PUBLIC,
    ("POST", "/cds-services/b2m-patient-view"): CDS_CLIENT,
    ("POST", "/cds-services/b2m-order-select"): CDS_CLIENT,
    ("POST", "/cds-services/b2m-patient-view/feedback"): CDS_CLIENT,
    ("POST", "/cds-services/b2m-order-select/feedback"): CDS_CLIENT,
}
# Pages that read or write patient data (the web app's counterparts of /api/v1/patients...).
WEB_CLINICAL = ("/patients", "/my", "/lab/")

_n = itertools.count(1)
STAGE_CSV = (
    b"b2m_mg_l,albumin_g_dl,ldh_u_l,ldh_uln_u_l,del17p,t4_14,t14_16,gain1q\n4.2,3.6,200,250,false,false,false,\n"
)


ASSESS_BUNDLE = {
    "resourceType": "Bundle",
    "type": "collection",
    "entry": [
        {"resource": {"resourceType": "Patient", "id": "p", "gender": "female", "birthDate": "1955-01-01"}},
        {
            "resource": {
                "resourceType": "Observation",
                "id": "b2m",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "1952-1"}]},
                "subject": {"reference": "Patient/p"},
                "effectiveDateTime": "2024-01-01",
                "valueQuantity": {"value": 4.2, "unit": "mg/L", "system": "http://unitsofmeasure.org", "code": "mg/L"},
            }
        },
    ],
}


def routes(world: World) -> list[tuple[str, str, APIRoute]]:
    """The route table of the running app (every API route, wherever it is included)."""
    return [(m, r.path, r) for r in api_routes(world.app) for m in sorted(r.methods)]


def test_every_route_has_a_written_policy_and_declares_it(sqlite_world: World) -> None:
    seen = set()
    for method, path, route in routes(sqlite_world):
        seen.add((method, path))
        assert (method, path) in POLICY, f"{method} {path}: no policy written in this test"
        declared = route_rule(route)
        assert declared is not None, f"{method} {path}: declares no access rule"
        want = POLICY[(method, path)]
        if want == PUBLIC:
            assert declared.public
        elif want == CDS_CLIENT:
            assert not declared.public and declared.client == "cds" and not declared.roles, f"{method} {path}"
        else:
            assert not declared.public and dict(declared.roles) == want, f"{method} {path}"
    assert seen == set(POLICY)


def test_policy_keeps_the_issue_s_principles() -> None:
    for (method, path), want in POLICY.items():
        if want in (PUBLIC, CDS_CLIENT):
            continue
        clinical = path.startswith(("/api/v1/patients", "/fhir/Observation", "/fhir/Patient", *WEB_CLINICAL)) or (
            path == "/api/v1/results/upload"
        )
        if clinical:
            assert "admin" not in want, f"{method} {path}: an admin reads no clinical data"
        if method != "GET":
            assert clinical is False or "patient" not in want, f"{method} {path}: a patient never writes"
        if clinical and method == "GET":
            assert "lab" not in want, f"{method} {path}: a lab posts results; it reads no record"
        if "{patient_id}" in path or path in PATIENT_IN_QUERY:
            assert want.get("patient") in (None, "own") and want.get("clinician") in (None, "team")


def _result_for(world: World, patient_id: int) -> int:
    day = dt.date(2020, 1, 1) + dt.timedelta(days=next(_n))
    r = world.client.post(
        f"/api/v1/patients/{patient_id}/results",
        headers={"Authorization": f"Bearer {_fresh_token(world, 'lab')}"},
        json={"results": [{"analyte": "crp", "date": day.isoformat(), "value": 5, "unit": "mg/L"}]},
    )
    assert r.status_code == 201, r.text
    return int(r.json()["results"][0]["id"])


def _fresh_token(world: World, who: str) -> str:
    with write_session(world.app.state.sessions) as db:
        user = db.get(User, world.users[who])
        assert user is not None
        return issue(db, SECRET, user, kind="bearer", lifetime=dt.timedelta(minutes=5)).token


def _call(world: World, method: str, path: str, who: str | None, target: int) -> int:
    n = next(_n)
    day = (dt.date(2021, 1, 1) + dt.timedelta(days=n)).isoformat()
    params: dict[str, Any] = {
        "patient_id": target,
        "user_id": world.users["clinician-b"],
        "team_id": world.teams["a"],
        "name": "iss",
    }
    if "{result_id}" in path:
        params["result_id"] = _result_for(world, target)
    url = path.format(**params)
    headers = {"Authorization": f"Bearer {_fresh_token(world, who)}"} if who else {}
    kw: dict[str, Any] = {}
    body = {
        "/api/v1/auth/password": {"current_password": PASSWORD, "new_password": PASSWORD},
        "/api/v1/users": {"username": f"user{n}", "roles": ["lab"], "password": PASSWORD},
        "/api/v1/teams": {"name": f"team{n}"},
        "/api/v1/teams/{team_id}/members": {"user_id": world.users["clinician"]},
        "/api/v1/patients": {"site_id": f"NEW-{n}", "document": {"age": 60}},
        "/api/v1/patients/{patient_id}/results": {
            "results": [{"analyte": "albumin", "date": day, "value": 3.5, "unit": "g/dL"}]
        },
        "/api/v1/patients/{patient_id}/results/{result_id}/corrections": {
            "analyte": "crp",
            "date": day,
            "value": 6,
            "unit": "mg/L",
        },
        "/api/v1/assess": {"labs": {"b2m": {"value": 4.2, "unit": "mg/L"}}},
    }.get(path)
    if method != "GET" and body is not None:
        kw["json"] = body
    if path in PATIENT_IN_QUERY:
        kw["params"] = {"patient": f"Patient/{target}"}
    if path == "/fhir/$assess":
        kw["content"] = json.dumps(ASSESS_BUNDLE)
        headers["Content-Type"] = "application/fhir+json"
    if path == "/api/v1/results/upload":
        site = "SITE-A" if target == world.own else "SITE-B"
        csv = f"patient_id,analyte,date,value,unit\n{site},crp,{day},4,mg/L\n"
        kw["files"] = {"file": ("labs.csv", csv.encode(), "text/csv")}
    if path == "/api/v1/stage":
        kw["files"] = {"file": ("batch.csv", STAGE_CSV, "text/csv")}
    site = "SITE-A" if target == world.own else "SITE-B"
    form = {
        "/patients/{patient_id}/results": {"analyte": "crp", "date": day, "value": "4", "unit": "mg/L"},
        "/lab/results": {"patient_id": site, "analyte": "crp", "date": day, "value": "4", "unit": "mg/L"},
        "/admin/users": {"username": f"web{n}", "roles": ["lab"]},
        "/admin/teams": {"name": f"webteam{n}"},
        "/admin/teams/{team_id}/members": {"user_id": str(world.users["clinician"])},
    }.get(path)
    if method != "GET" and form is not None:
        kw["data"] = form
    if path in ("/patients/{patient_id}/upload", "/lab/upload"):
        csv = f"patient_id,analyte,date,value,unit\n{site},crp,{day},4,mg/L\n"
        kw["files"] = {"file": ("labs.csv", csv.encode(), "text/csv")}
    return world.client.request(method, url, headers=headers, **kw).status_code


def expected(want: dict[str, str], who: str | None, world: World, target: int) -> set[int] | str:
    """'ok' for an allowed call; otherwise the status the service must answer."""
    if who is None:
        return {401}
    roles = {"clinician-b": "clinician"}.get(who, who)
    reach = want.get(roles)
    if reach is None:
        return {403}
    if reach == "any":
        return "ok"
    mine = {"clinician": world.own, "clinician-b": world.other, "patient": world.own}.get(who)
    return "ok" if mine == target else {404}


@pytest.mark.parametrize("who", [None, "clinician", "clinician-b", "lab", "patient", "admin"])
def test_matrix(sqlite_world: World, who: str | None) -> None:
    world = sqlite_world
    failures = []
    for method, path, _ in routes(world):
        want = POLICY[(method, path)]
        if want == PUBLIC:
            continue
        if want == CDS_CLIENT:  # a user's token (or none) is not a CDS client's JWT
            status = _call(world, method, path, who, world.own)
            if status != 401:
                failures.append(f"{who} {method} {path}: {status}, want 401")
            continue
        files = ("/api/v1/results/upload", "/lab/results", "/lab/upload")
        per_patient = "{patient_id}" in path or path in PATIENT_IN_QUERY
        targets = [world.own, world.other] if (per_patient or path in files) else [0]
        for target in targets:
            status = _call(world, method, path, who, target or world.own)
            exp = (
                expected(want, who, world, target)
                if per_patient
                else expected({k: ("any" if v else v) for k, v in want.items()}, who, world, target)
            )
            if path == "/api/v1/results/upload" and exp == "ok" and who == "clinician-b" and target == world.own:
                exp = {422}  # the file names a patient outside the caller's reach: refused by row, not by route
            if path == "/api/v1/results/upload" and exp == "ok" and who == "clinician" and target == world.other:
                exp = {422}
            ok = 200 <= status < 300 if exp == "ok" else status in exp
            if not ok:
                failures.append(
                    f"{who} {method} {path} target={'own' if target == world.own else 'other'}: {status}, want {exp}"
                )
    assert failures == []
