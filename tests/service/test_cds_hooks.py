"""CDS Hooks 2.0: a fake EHR (tests/service/fake_ehr.py: its own RS384 key, JWK Set and FHIR server on a loopback
port) calls discovery and the patient-view service with full, partial and no prefetch; the cards are checked against
the specification's rules; bad, expired, unsigned, wrong-audience and replayed tokens are refused.

Oracles:
- CDS Hooks 2.0 (HL7 hl7.fhir.uv.cds-hooks 2.0.0): discovery at GET {base}/cds-services, prefetch templates with
  root-level context tokens only; a card's ``summary`` "<140-character", ``indicator`` info | warning | critical,
  ``source.label`` required, ``uuid``, links with ``label``, ``url`` (absolute for type ``absolute``) and ``type``
  absolute | smart; "JSON attributes SHALL NOT be null"; 412 when the service cannot get the FHIR data it needs;
  the JWT: iss, aud = the service's URL, exp, iat, jti, signed (RS384 / ES384), never a replayed jti.
- The chart's labs and the stages they give, from the publications (docs/reference/iss.md, r-iss.md, r2-iss.md):
  B2M 6.2 mg/L -> ISS III (Greipp 2005, DOI 10.1200/JCO.2005.04.242: B2M >= 5.5 mg/L); ISS III with del(17p) and
  LDH 320 U/L above the lab's upper limit 250 U/L -> R-ISS III (Palumbo 2015, DOI 10.1200/JCO.2015.61.2267);
  R2-ISS (D'Agostino 2022, DOI 10.1200/JCO.21.02614) ISS III 1.5 + del(17p) 1 + high LDH 1 + t(4;14) 0 +
  1q+ 0 = 3.5 -> group IV (3 to 5); without FISH: 2.5 to 5 -> III or IV.
- eGFR by CKD-EPI 2021 (Inker 2021, DOI 10.1056/NEJMoa2102953), by hand: a woman of 70 with creatinine
  2.5 mg/dL: 142 x (2.5/0.7)^-1.200 x 0.9938^70 x 1.012 = 20.2 mL/min/1.73 m² (below 60: reduced, KDIGO 2012),
  so the B2M is hard to read (serum B2M rises as GFR falls).
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx2 as httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from b2m.service.app import create_app
from b2m.service.cds.config import CdsClient
from b2m.service.db.engine import migrate
from b2m.service.db.models import AuditEvent, CdsFeedback, CdsTokenUse
from tests.service.conftest import World, build_world, settings_for
from tests.service.fake_ehr import ISSUER, KID, FakeEhr, new_rsa_key, running

PUBLIC_URL = "https://b2m.example.test"
WEB_URL = "https://web.example.test"
SERVICE = "b2m-patient-view"
HOOK_URL = f"{PUBLIC_URL}/cds-services/{SERVICE}"
PATIENT_ID = "ehr-p1"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
B2M_CODES = "urn:uuid:f3c1e839-e696-4048-ace8-07553b233592"  # b2m's code system (docs/fhir-conformance.md)
MR = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}
CARD_KEYS = {"uuid", "summary", "detail", "indicator", "source", "suggestions", "selectionBehavior", "overrideReasons"}
CARD_KEYS |= {"links"}


def _lab(oid: str, loinc: str, value: float, unit: str, high: float | None = None) -> dict[str, Any]:
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}
        ],
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "effectiveDateTime": "2024-06-01",
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }
    if high is not None:
        obs["referenceRange"] = [{"high": {"value": high, "unit": unit, "system": UCUM, "code": unit}}]
    return obs


def _fish(finding: str, present: bool) -> dict[str, Any]:
    answer = ("10828004", "Positive") if present else ("260385009", "Negative")  # SNOMED CT, as the HL7 R4 examples
    return {
        "resourceType": "Observation",
        "id": f"fish-{finding}",
        "status": "final",
        "code": {"coding": [{"system": B2M_CODES, "code": f"cytogenetics-{finding}"}]},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "effectiveDateTime": "2024-05-20",
        "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": answer[0], "display": answer[1]}]},
    }


CHART: list[dict[str, Any]] = [
    _lab("b2m-old", "1952-1", 2.1, "mg/L") | {"effectiveDateTime": "2023-01-10"},  # older: not the latest
    _lab("b2m", "1952-1", 6.2, "mg/L"),
    _lab("alb", "1751-7", 3.1, "g/dL"),
    _lab("ldh", "2532-0", 320, "U/L", high=250),
    _lab("creat", "2160-0", 2.5, "mg/dL"),
    _lab("crp", "1988-5", 3, "mg/L"),
    _fish("del17p", True),
    _fish("t4-14", False),
    _fish("t14-16", False),
    _fish("gain1q", False),
]
PATIENT = {
    "resourceType": "Patient",
    "id": PATIENT_ID,
    "identifier": [{"type": MR, "value": "SITE-A"}],  # the site id of the stored patient "own" of the World
    "gender": "female",
    "birthDate": "1954-06-01",
}


@pytest.fixture(scope="module")
def ehr() -> Iterator[FakeEhr]:
    fake = FakeEhr(patients={PATIENT_ID: PATIENT}, resources=CHART)
    with running(fake):
        yield fake


def client_of(ehr: FakeEhr) -> CdsClient:
    return CdsClient(
        issuer=ISSUER,
        jwks_url=f"{ehr.base}/jwks.json",
        fhir_servers=(f"{ehr.base}/fhir", f"{ehr.base}/huge", f"{ehr.base}/denied"),
    )


def cds_settings(ehr: FakeEhr) -> dict[str, object]:
    return {"public_url": PUBLIC_URL, "web_url": WEB_URL, "cds_clients": (client_of(ehr),)}


@pytest.fixture
def world(sqlite_url: str, ehr: FakeEhr) -> Iterator[World]:
    w = build_world(sqlite_url, **cds_settings(ehr))
    with w.client:
        yield w
    w.app.state.engine.dispose()


def prefetch(ehr: FakeEhr, world: World, keys: tuple[str, ...] | None = None) -> dict[str, Any]:
    """What the EHR prefetches: the discovery document's templates, run against its own FHIR server."""
    service = next(s for s in world.client.get("/cds-services").json()["services"] if s["id"] == SERVICE)
    out = {}
    for key, template in service["prefetch"].items():
        if keys is not None and key not in keys:
            continue
        query = template.replace("{{context.patientId}}", PATIENT_ID)
        r = httpx.get(f"{ehr.base}/fhir/{query}", headers={"Authorization": f"Bearer {ehr.access_token}"})
        assert r.status_code == 200, (key, r.text)
        out[key] = r.json()
    return out


def hook_body(
    prefetched: dict[str, Any] | None, *, server: str | None = None, token: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/dr-1", "patientId": PATIENT_ID},
    }
    if prefetched is not None:
        body["prefetch"] = prefetched
    if server is not None:
        body["fhirServer"] = server
        body["fhirAuthorization"] = {
            "access_token": token or "",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/Patient.read patient/Observation.read",
            "subject": "b2m-cds",
        }
    return body


def call(world: World, ehr: FakeEhr, body: dict[str, Any], token: str | None = None) -> httpx.Response:
    jwt_ = token if token is not None else ehr.token(HOOK_URL)
    return world.client.post(f"/cds-services/{SERVICE}", json=body, headers={"Authorization": f"Bearer {jwt_}"})


def _no_nulls(x: object, where: str = "$") -> None:
    if isinstance(x, dict):
        for k, v in x.items():
            assert v is not None, f"{where}.{k} is null (CDS Hooks: JSON attributes SHALL NOT be null)"
            _no_nulls(v, f"{where}.{k}")
    elif isinstance(x, list):
        for i, v in enumerate(x):
            _no_nulls(v, f"{where}[{i}]")


def check_cards(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The CDS Hooks 2.0 card rules (module docstring); b2m gives no suggestions (no treatment advice)."""
    assert set(answer) <= {"cards", "systemActions"}
    _no_nulls(answer)
    cards: list[dict[str, Any]] = answer["cards"]
    uuids = [c["uuid"] for c in cards]
    assert len(set(uuids)) == len(uuids)
    for card in cards:
        assert set(card) <= CARD_KEYS, set(card) - CARD_KEYS
        assert str(uuid.UUID(card["uuid"])) == card["uuid"]
        assert isinstance(card["summary"], str) and 0 < len(card["summary"]) < 140, card["summary"]
        assert card["indicator"] in ("info", "warning", "critical")
        assert isinstance(card["source"]["label"], str) and card["source"]["label"]
        if "url" in card["source"]:
            assert urlparse(card["source"]["url"]).scheme == "https"
        assert "suggestions" not in card and "selectionBehavior" not in card
        for link in card.get("links", []):
            assert set(link) <= {"label", "url", "type", "appContext"} and link["label"]
            assert link["type"] in ("absolute", "smart")
            parsed = urlparse(link["url"])
            assert parsed.scheme in ("http", "https") and parsed.netloc, link["url"]
        assert "Decision support, not diagnosis" in card.get("detail", "")
    return cards


def by_system(cards: list[dict[str, Any]]) -> dict[str, str]:
    return {c["summary"].split(":")[0].split(" stage")[0]: c["summary"] for c in cards if c["indicator"] == "info"}


# ---------------------------------------------------------------------------------------------------- discovery


def test_discovery_needs_no_token_and_lists_the_services_with_their_prefetch(world: World) -> None:
    r = world.client.get("/cds-services")
    assert r.status_code == 200
    services = {s["id"]: s for s in r.json()["services"]}
    _no_nulls(r.json())
    view = services[SERVICE]
    assert view["hook"] == "patient-view" and view["title"] and view["description"]
    assert {"patient", "b2m", "albumin", "ldh", "creatinine", "cystatin-c", "crp", "fish"} <= set(view["prefetch"])
    assert view["prefetch"]["patient"] == "Patient/{{context.patientId}}"
    for template in view["prefetch"].values():  # root-level context tokens only (CDS Hooks 2.0 prefetch tokens)
        tokens = [t.split("}}")[0] for t in template.split("{{")[1:]]
        assert tokens and all(t == "context.patientId" for t in tokens), template
    assert f"code={LOINC}|1952-1&_sort=-date&_count=1" in view["prefetch"]["b2m"]


# ---------------------------------------------------------------------------------------------------- the hook


def test_full_prefetch_gives_the_published_stages_a_kidney_warning_and_a_link(world: World, ehr: FakeEhr) -> None:
    """Full prefetch: ISS III, R-ISS III, R2-ISS IV; a warning card naming eGFR 20; the stored patient's page."""
    before = len(ehr.seen)
    r = call(world, ehr, hook_body(prefetch(ehr, world)))
    assert r.status_code == 200, r.text
    fetched_by_test = len(ehr.seen) - before
    cards = check_cards(r.json())
    assert by_system(cards) == {"ISS": "ISS stage III", "R-ISS": "R-ISS stage III", "R2-ISS": "R2-ISS stage IV"}
    warnings = [c for c in cards if c["indicator"] == "warning"]
    assert len(warnings) == 1 and "eGFR 20 mL/min/1.73 m²" in warnings[0]["summary"], warnings
    assert "hard to read" in warnings[0]["summary"]
    assert warnings[0]["source"]["label"].endswith("KDIGO 2012"), warnings[0]["source"]  # a group author's acronym
    for card in cards:
        assert card["links"] == [
            {"label": "Open the patient in b2m", "url": f"{WEB_URL}/patients/{world.own}", "type": "absolute"}
        ]
    iss = next(c for c in cards if c["summary"] == "ISS stage III")
    assert iss["source"]["url"] == "https://doi.org/10.1200/JCO.2005.04.242"
    # Everything was prefetched: the service asked the EHR's FHIR server for nothing (the test's own prefetch
    # queries are the only FHIR requests).
    assert len(ehr.seen) - before == fetched_by_test == len(prefetch(ehr, world)) - 0
    # The call is audited as a read by the CDS client, with the stored patient it linked to.
    with world.app.state.sessions() as db:
        event = db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
    assert (event.username, event.roles, event.outcome, event.patient_id) == (ISSUER, "cds-client", 200, world.own)


def test_partial_prefetch_without_a_fhir_server_says_what_was_not_sent(world: World, ehr: FakeEhr) -> None:
    """Without FISH: R-ISS is still III (ISS III with high LDH); R2-ISS is 2.5 to 5 points: III or IV."""
    got = prefetch(ehr, world, ("patient", "b2m", "albumin", "ldh", "creatinine"))
    r = call(world, ehr, hook_body(got))
    assert r.status_code == 200, r.text
    cards = check_cards(r.json())
    summaries = by_system(cards)
    assert summaries["ISS"] == "ISS stage III" and summaries["R-ISS"] == "R-ISS stage III"
    assert summaries["R2-ISS"].startswith("R2-ISS: stage III or IV; unknown: del(17p), t(4;14)")
    r2 = next(c for c in cards if c["summary"].startswith("R2-ISS"))
    assert "Not sent by the EHR: cystatin C, CRP, FISH results" in r2["detail"]
    assert "could change the stage" in r2["detail"]


@pytest.mark.parametrize("sent", [("patient", "b2m", "albumin", "ldh", "creatinine"), ()], ids=["partial", "none"])
def test_what_is_not_prefetched_is_fetched_from_the_fhir_server(
    world: World, ehr: FakeEhr, sent: tuple[str, ...]
) -> None:
    """Partial or no prefetch with fhirServer + fhirAuthorization: the rest is read from the EHR with its token, and
    the cards are those of the full prefetch."""
    full = check_cards(call(world, ehr, hook_body(prefetch(ehr, world))).json())
    got = prefetch(ehr, world, sent) if sent else None
    before = len(ehr.seen)
    r = call(world, ehr, hook_body(got, server=f"{ehr.base}/fhir", token=ehr.access_token))
    assert r.status_code == 200, r.text
    cards = check_cards(r.json())
    assert [c["summary"] for c in cards] == [c["summary"] for c in full]
    asked = ehr.seen[before:]
    assert asked and all(auth == f"Bearer {ehr.access_token}" for _, _, auth in asked)
    paths = {p for p, _, _ in asked}
    if sent:
        assert f"/fhir/Patient/{PATIENT_ID}" not in paths
    else:
        assert f"/fhir/Patient/{PATIENT_ID}" in paths


def test_no_prefetch_and_no_fhir_server_is_412(world: World, ehr: FakeEhr) -> None:
    r = call(world, ehr, hook_body(None))
    assert r.status_code == 412
    assert "patient" in r.json()["detail"] and PATIENT_ID not in r.text
    r = call(world, ehr, hook_body(prefetch(ehr, world, ("patient", "albumin", "ldh", "creatinine"))))
    assert r.status_code == 412 and "b2m" in r.json()["detail"]


@pytest.mark.parametrize("where", ["denied", "huge"])
def test_a_failing_fhir_server_is_412(world: World, ehr: FakeEhr, where: str) -> None:
    """The EHR refuses the token (401), or answers more than the service reads (5 MiB > 4 MiB)."""
    r = call(world, ehr, hook_body(None, server=f"{ehr.base}/{where}", token=ehr.access_token))
    assert r.status_code == 412, r.text
    assert ("401" in r.json()["detail"]) if where == "denied" else ("MiB" in r.json()["detail"])


def test_a_fhir_server_the_client_may_not_send_is_412_and_gets_no_token(world: World, ehr: FakeEhr) -> None:
    before = len(ehr.seen)
    r = call(world, ehr, hook_body(None, server=f"{ehr.base}/elsewhere", token=ehr.access_token))
    assert r.status_code == 412
    assert ehr.seen[before:] == []


def test_a_client_configured_without_fhir_servers_may_send_none(sqlite_url: str, ehr: FakeEhr) -> None:
    """No allow-list is not "any server": the call is refused and the token goes nowhere (no outbound request)."""
    client = CdsClient(issuer=ISSUER, jwks_url=f"{ehr.base}/jwks.json")
    w = build_world(sqlite_url, public_url=PUBLIC_URL, web_url=WEB_URL, cds_clients=(client,))
    try:
        with w.client:
            before = len(ehr.seen)
            r = call(w, ehr, hook_body(None, server=f"{ehr.base}/fhir", token=ehr.access_token))
            assert r.status_code == 412, r.text
            assert "fhir_servers" in r.json()["detail"] and "prefetch" in r.json()["detail"]
            assert [path for path, _, _ in ehr.seen[before:] if "/fhir" in path] == []
            assert all(auth is None for _, _, auth in ehr.seen[before:])  # the EHR's access token was never sent
            r = call(w, ehr, hook_body(prefetch(ehr, w)))  # the prefetch alone still works
            assert r.status_code == 200, r.text
            # An EHR that always sends fhirServer, with the required keys prefetched: answered without calling it,
            # what it did not send named in the cards (oracle as in the partial-prefetch test above).
            required = prefetch(ehr, w, ("patient", "b2m", "albumin", "ldh", "creatinine"))
            before = len(ehr.seen)
            r = call(w, ehr, hook_body(required, server=f"{ehr.base}/fhir", token=ehr.access_token))
            assert r.status_code == 200, r.text
            assert all(auth is None for _, _, auth in ehr.seen[before:])
            r2 = next(c for c in check_cards(r.json()) if c["summary"].startswith("R2-ISS"))
            assert "Not sent by the EHR: cystatin C, CRP, FISH results" in r2["detail"]
    finally:
        w.app.state.engine.dispose()


def test_a_site_s_fish_codes_enter_the_prefetch_and_are_read(world: World, ehr: FakeEhr, tmp_path: Path) -> None:
    """FISH has no LOINC code: the template asks the EHR for b2m's codes and the site's own (B2M_FHIR_FISH_CODES),
    and a result under the site's code is read. The chart's del(17p) result moved to the site's code: R2-ISS IV as
    in the full-prefetch test (ISS III 1.5 + LDH 1 + del(17p) 1 = 3.5 points, D'Agostino 2022) once configured;
    without the site's code, del(17p) stays unknown (III or IV), never read as absent."""
    site = ("http://lab.example/codes", "DEL17P")
    sent = prefetch(ehr, world)
    for entry in sent["fish"]["entry"]:
        if entry["resource"]["id"] == "fish-del17p":
            entry["resource"]["code"] = {"coding": [{"system": site[0], "code": site[1]}]}
    r = call(world, ehr, hook_body(sent))
    assert r.status_code == 200, r.text
    assert by_system(check_cards(r.json()))["R2-ISS"].startswith("R2-ISS: stage III or IV; unknown: del(17p)")
    url = f"sqlite:///{tmp_path / 'site.sqlite3'}"
    migrate(url)
    w = build_world(url, **cds_settings(ehr), fhir_fish_codes={"del17p": (site,)})
    try:
        with w.client:
            service = next(s for s in w.client.get("/cds-services").json()["services"] if s["id"] == SERVICE)
            assert f"{site[0]}|{site[1]}" in service["prefetch"]["fish"]
            r = call(w, ehr, hook_body(sent))
            assert r.status_code == 200, r.text
            assert by_system(check_cards(r.json()))["R2-ISS"] == "R2-ISS stage IV"
    finally:
        w.app.state.engine.dispose()


def test_a_result_the_edge_refuses_gives_a_warning_card_naming_the_fhir_element(world: World, ehr: FakeEhr) -> None:
    got = prefetch(ehr, world)
    bad = json.loads(json.dumps(got["b2m"]))
    bad["entry"][0]["resource"]["valueQuantity"] = {"value": 6.2, "unit": "furlong", "system": UCUM, "code": "furlong"}
    got["b2m"] = bad
    r = call(world, ehr, hook_body(got))
    assert r.status_code == 200, r.text
    cards = check_cards(r.json())
    assert [c["indicator"] for c in cards] == ["warning"]
    assert cards[0]["detail"].startswith("prefetch.b2m.entry[0].resource(Observation/b2m).valueQuantity")


def test_a_hook_other_than_the_service_s_is_refused(world: World, ehr: FakeEhr) -> None:
    body = hook_body(prefetch(ehr, world)) | {"hook": "order-sign"}
    r = call(world, ehr, body)
    assert r.status_code == 422 and "hook" in r.json()["detail"]


# ---------------------------------------------------------------------------------------------------- tokens


def _unsigned(claims_aud: str) -> str:
    """alg "none": a JWT with no signature (RFC 7519 section 6), which CDS Hooks forbids."""
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": claims_aud, "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())}
    return jwt.encode(claims, None, algorithm="none", headers={"kid": KID})


BAD_TOKENS = {
    "garbage": lambda e: "not-a-jwt",
    "unsigned (alg none)": lambda e: _unsigned(HOOK_URL),
    "expired": lambda e: e.token(HOOK_URL, iat_offset_s=-600, lifetime_s=120),
    "issued in the future": lambda e: e.token(HOOK_URL, iat_offset_s=600),
    "lives too long": lambda e: e.token(HOOK_URL, lifetime_s=24 * 3600),
    "wrong audience": lambda e: e.token(f"{PUBLIC_URL}/cds-services/another-service"),
    "audience of another host": lambda e: e.token(f"https://evil.example.test/cds-services/{SERVICE}"),
    "unknown issuer": lambda e: e.token(HOOK_URL, iss="https://other-ehr.example.test"),
    "unknown kid": lambda e: e.token(HOOK_URL, kid="another-key"),
    "another key (bad signature)": lambda e: e.token(HOOK_URL, key=new_rsa_key()),
    "HMAC (shared secret)": lambda e: e.token(HOOK_URL, alg="HS384", key="s" * 48),
    "ES384 by a key not in the JWK Set": lambda e: e.token(
        HOOK_URL, alg="ES384", key=ec.generate_private_key(ec.SECP384R1())
    ),
    "no jti": lambda e: e.token(HOOK_URL, drop=("jti",)),
    "no exp": lambda e: e.token(HOOK_URL, drop=("exp",)),
    "jku elsewhere": lambda e: e.token(HOOK_URL, headers={"jku": "https://evil.example.test/jwks.json"}),
}


@pytest.mark.parametrize("kind", list(BAD_TOKENS))
def test_bad_tokens_are_refused(world: World, ehr: FakeEhr, kind: str) -> None:
    r = call(world, ehr, hook_body(prefetch(ehr, world)), token=BAD_TOKENS[kind](ehr))
    assert r.status_code == 401, (kind, r.text)
    assert r.json()["detail"].startswith("the CDS client's JWT is refused") or kind == "garbage"
    assert PATIENT_ID not in r.text


def test_no_token_or_a_user_token_is_refused(world: World, ehr: FakeEhr) -> None:
    body = hook_body(prefetch(ehr, world))
    assert world.client.post(f"/cds-services/{SERVICE}", json=body).status_code == 401
    r = world.client.post(f"/cds-services/{SERVICE}", json=body, headers=world.auth("clinician"))
    assert r.status_code == 401


def test_a_replayed_token_is_refused_by_every_worker(database_url: str, ehr: FakeEhr) -> None:
    """Two app instances (two workers) on one database: the second use of a jti is refused by the other one too,
    on SQLite and on PostgreSQL; the used jti is kept as a keyed hash, never as sent."""
    apps = [create_app(settings_for(database_url, **cds_settings(ehr))) for _ in range(2)]
    try:
        with TestClient(apps[0]) as one, TestClient(apps[1]) as two:
            body = hook_body(None)  # 412 after authentication: the token is spent all the same
            token = ehr.token(HOOK_URL, jti="jti-used-once")
            headers = {"Authorization": f"Bearer {token}"}
            assert one.post(f"/cds-services/{SERVICE}", json=body, headers=headers).status_code == 412
            again = two.post(f"/cds-services/{SERVICE}", json=body, headers=headers)
            assert again.status_code == 401 and "replayed" in again.json()["detail"]
            assert one.post(f"/cds-services/{SERVICE}", json=body, headers=headers).status_code == 401
            with apps[0].state.sessions() as db:
                keys = list(db.scalars(select(CdsTokenUse.token_key)))
            assert len(keys) == 1 and "jti-used-once" not in keys[0]
    finally:
        for app in apps:
            app.state.engine.dispose()


# ---------------------------------------------------------------------------------------------------- feedback


def test_feedback_is_stored(world: World, ehr: FakeEhr) -> None:
    card = check_cards(call(world, ehr, hook_body(prefetch(ehr, world))).json())[0]["uuid"]
    url = f"/cds-services/{SERVICE}/feedback"
    body = {
        "feedback": [
            {
                "card": card,
                "outcome": "overridden",
                "overrideReason": {
                    "reason": {"code": "not-relevant", "system": "https://ehr.example.test/reasons"},
                    "userComment": "known CKD",
                },
                "outcomeTimestamp": "2026-12-04T10:00:00Z",
            }
        ]
    }
    r = world.client.post(url, json=body, headers={"Authorization": f"Bearer {ehr.token(PUBLIC_URL + url)}"})
    assert r.status_code == 200, r.text
    assert r.json() == {"stored": 1}
    with world.app.state.sessions() as db:
        row = db.scalars(select(CdsFeedback)).one()
        assert (row.issuer, row.service_id, row.card_uuid, row.outcome) == (ISSUER, SERVICE, card, "overridden")
        assert row.outcome_at == dt.datetime(2026, 12, 4, 10, 0)
        assert json.loads(row.override_reason or "") == body["feedback"][0]["overrideReason"]["reason"]  # type: ignore[index]
        assert row.user_comment == "known CKD"
    no_zone = {"feedback": [{"card": card, "outcome": "overridden", "outcomeTimestamp": "2026-12-04T10:00:00"}]}
    r = world.client.post(url, json=no_zone, headers={"Authorization": f"Bearer {ehr.token(PUBLIC_URL + url)}"})
    assert r.status_code == 422 and "outcomeTimestamp" in r.json()["detail"]
    with world.app.state.sessions() as db:
        assert db.scalar(select(func.count()).select_from(CdsFeedback)) == 1


def test_order_select_of_a_b2m_says_what_staging_still_lacks_and_warns_ahead(world: World, ehr: FakeEhr) -> None:
    """A serum B2M (LOINC 1952-1) selected while the chart has no B2M and no FISH: staging also needs the FISH
    findings (R-ISS: del(17p), t(4;14), t(14;16); R2-ISS adds 1q gain), and with eGFR 20 (module docstring) the
    coming B2M will be hard to read. Another order gets no card."""
    got = prefetch(ehr, world)
    got["b2m"] = None  # the EHR has no B2M yet
    got["fish"] = {"resourceType": "Bundle", "type": "searchset", "total": 0}
    order = {
        "resourceType": "ServiceRequest",
        "id": "order-1",
        "status": "draft",
        "intent": "order",
        "code": {"coding": [{"system": LOINC, "code": "1952-1"}]},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
    }
    body = hook_body(got) | {"hook": "order-select"}
    body["context"] |= {
        "selections": ["ServiceRequest/order-1"],
        "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": order}]},
    }
    url = "/cds-services/b2m-order-select"
    r = world.client.post(url, json=body, headers={"Authorization": f"Bearer {ehr.token(PUBLIC_URL + url)}"})
    assert r.status_code == 200, r.text
    cards = check_cards(r.json())
    assert [c["indicator"] for c in cards] == ["info", "warning"]
    assert cards[0]["summary"] == "B2M ordered: staging also needs del(17p), t(4;14), t(14;16) and 1q gain"
    assert "eGFR 20 mL/min/1.73 m²" in cards[1]["summary"]
    order["code"]["coding"][0]["code"] = "1751-7"  # albumin: not a B2M order
    r = world.client.post(url, json=body, headers={"Authorization": f"Bearer {ehr.token(PUBLIC_URL + url)}"})
    assert r.status_code == 200 and r.json() == {"cards": []}
