"""The API as a client sees it: login, tokens and sessions, CSRF, rate limits, settings that refuse default
secrets, problem+json, body limits, and assess / stage / upload giving what the command line gives.

Oracles: RFC 9457 (problem details: type, title, status, detail), RFC 6749 section 4.3 and 5.1 (password grant;
``token_type: bearer``), OWASP's CSRF guidance (a cookie-authenticated change needs a token the page sends back),
and the command line's own outputs for the same inputs (``b2m assess``, ``b2m stage``: the API must equal them).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from b2m.service.app import create_app
from b2m.service.settings import ConfigurationError, Settings, from_environment
from tests.service.conftest import PASSWORD, World, settings_for

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "src" / "b2m" / "data" / "example_patients.json"


def test_password_flow_issues_a_bearer_token_and_logout_revokes_it(sqlite_world: World) -> None:
    c = sqlite_world.client
    r = c.post("/api/v1/auth/token", data={"username": "clinician", "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 30 * 60
    h = {"Authorization": f"Bearer {body['access_token']}"}
    assert c.get("/api/v1/auth/me", headers=h).json()["username"] == "clinician"
    assert c.post("/api/v1/auth/logout", headers=h).status_code == 204
    gone = c.get("/api/v1/auth/me", headers=h)
    assert gone.status_code == 401 and gone.headers["www-authenticate"] == "Bearer"
    assert gone.headers["content-type"] == "application/problem+json"


def test_wrong_passwords_are_rate_limited(sqlite_world: World) -> None:
    c = sqlite_world.client
    for _ in range(5):
        assert c.post("/api/v1/auth/token", data={"username": "lab", "password": "wrong"}).status_code == 401
    limited = c.post("/api/v1/auth/token", data={"username": "lab", "password": PASSWORD})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    # Another user from the same address is not locked out by them.
    assert c.post("/api/v1/auth/token", data={"username": "clinician", "password": PASSWORD}).status_code == 200
    # The count lives in the database: a second app (another worker) on the same database refuses too.
    other = TestClient(create_app(settings_for(str(sqlite_world.app.state.settings.database_url))))
    assert other.post("/api/v1/auth/token", data={"username": "lab", "password": PASSWORD}).status_code == 429


def test_disabled_user_is_refused_everywhere(sqlite_world: World) -> None:
    w = sqlite_world
    assert w.client.post(f"/api/v1/users/{w.users['lab']}/disable", headers=w.auth("admin")).status_code == 200
    assert w.client.get("/api/v1/auth/me", headers=w.auth("lab")).status_code == 401
    assert w.client.post("/api/v1/auth/token", data={"username": "lab", "password": PASSWORD}).status_code == 401


def test_cookie_session_needs_its_csrf_token_for_changes(sqlite_world: World) -> None:
    w = sqlite_world
    c = TestClient(w.app)
    r = c.post("/api/v1/auth/session", json={"username": "clinician", "password": PASSWORD})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    csrf = r.json()["csrf_token"]
    assert c.get(f"/api/v1/patients/{w.own}").status_code == 200  # reading needs no CSRF token
    body = {"results": [{"analyte": "crp", "date": "2026-01-01", "value": 3, "unit": "mg/L"}]}
    refused = c.post(f"/api/v1/patients/{w.own}/results", json=body)
    assert refused.status_code == 403
    wrong = c.post(f"/api/v1/patients/{w.own}/results", json=body, headers={"X-CSRF-Token": "x" + csrf})
    assert wrong.status_code == 403
    ok = c.post(f"/api/v1/patients/{w.own}/results", json=body, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201


def test_settings_refuse_default_or_missing_secrets() -> None:
    with pytest.raises(ConfigurationError, match="B2M_SECRET_KEY"):
        from_environment({"B2M_DATABASE_URL": "sqlite://"})
    for weak in ("changeme", "secret", "short"):
        with pytest.raises(ConfigurationError):
            from_environment({"B2M_DATABASE_URL": "sqlite://", "B2M_SECRET_KEY": weak})
    with pytest.raises(ConfigurationError):
        create_app(Settings(database_url="sqlite://", secret_key=""))
    dev = from_environment({"B2M_DATABASE_URL": "sqlite://", "B2M_ENV": "development"})
    again = from_environment({"B2M_DATABASE_URL": "sqlite://", "B2M_ENV": "development"})
    assert len(dev.secret_key) >= 32 and dev.secret_key != again.secret_key  # random, never a default
    prod = from_environment({"B2M_DATABASE_URL": "sqlite://", "B2M_SECRET_KEY": "k" * 40})
    assert prod.secure_cookies


def test_problem_details_carry_the_command_line_text(sqlite_world: World) -> None:
    """The same bad patient gives the same field / problem / accepted text over the API as ``b2m assess``."""
    w = sqlite_world
    bad = {"id": "P1", "labs": {"b2m": {"value": 4200, "unit": "mg/L"}}}
    r = w.client.post("/api/v1/assess", headers=w.auth("clinician"), json=bad)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    p = r.json()
    assert {"type", "title", "status", "detail", "request_id"} <= set(p) and p["status"] == 422
    cli = subprocess.run(
        [str(Path(sys.executable).parent / "b2m"), "assess", "-"],
        input=json.dumps(bad),
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 2
    assert cli.stderr.strip() == f"b2m: error: {p['detail']}"
    assert p["field"] == "labs.b2m.value" and p["hint"].startswith("looks like µg/L")
    assert "P1" not in r.headers.get("x-request-id", "")


def test_assess_equals_the_command_line(sqlite_world: World) -> None:
    w = sqlite_world
    raw = json.loads(EXAMPLES.read_text(encoding="utf-8"))
    r = w.client.post("/api/v1/assess", headers=w.auth("patient"), json=raw)
    assert r.status_code == 200
    cli = subprocess.run(
        [str(Path(sys.executable).parent / "b2m"), "assess", str(EXAMPLES), "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert r.json() == json.loads(cli.stdout)


def test_request_body_limits(sqlite_url: str) -> None:
    small = create_app(settings_for(sqlite_url, max_body_bytes=1000))
    c = TestClient(small)
    r = c.post("/api/v1/assess", content=b"[" + b"{}," * 2000 + b"{}]", headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["type"] == "urn:b2m:problem:too-large"


def test_stage_upload_equals_b2m_stage(sqlite_world: World, tmp_path: Path) -> None:
    w = sqlite_world
    src = tmp_path / "batch.csv"
    src.write_text(
        "id,b2m_mg_l,albumin_g_dl,ldh_u_l,ldh_uln_u_l,del17p,t4_14,t14_16,gain1q\n"
        "a,4.2,3.6,200,250,false,false,false,\n"
        "b,6.1,2.9,300,250,true,,,true\n"
        "c,2.0,4.1,,,,,,\n"
    )
    r = w.client.post(
        "/api/v1/stage", headers=w.auth("lab"), files={"file": ("batch.csv", src.read_bytes(), "text/csv")}
    )
    assert r.status_code == 200, r.text
    out = tmp_path / "cli.csv"
    subprocess.run(
        [str(Path(sys.executable).parent / "b2m"), "stage", str(src), "-o", str(out)], check=True, capture_output=True
    )
    assert r.text == out.read_text()
    bad = w.client.post("/api/v1/stage", headers=w.auth("lab"), files={"file": ("batch.txt", b"x", "text/plain")})
    assert bad.status_code == 415


def test_upload_long_format_all_or_nothing(sqlite_world: World) -> None:
    w = sqlite_world
    good = "patient_id,analyte,date,value,unit\nSITE-A,b2m,2026-01-10,4.2,mg/L\nSITE-B,b2m,2026-01-10,3.1,mg/L\n"
    r = w.client.post(
        "/api/v1/results/upload", headers=w.auth("lab"), files={"file": ("labs.csv", good.encode(), "text/csv")}
    )
    assert r.status_code == 201 and r.json()["stored"] == 2
    bad = "patient_id,analyte,date,value,unit\nSITE-A,albumin,2026-01-11,35,g/L\nSITE-B,b2m,2026-01-11,4.2,mg/dL\n"
    r = w.client.post(
        "/api/v1/results/upload", headers=w.auth("lab"), files={"file": ("labs.csv", bad.encode(), "text/csv")}
    )
    assert r.status_code == 422
    assert r.json()["field"] == "row 3.unit" and "SITE" not in r.json()["detail"]
    timeline = w.client.get(f"/api/v1/patients/{w.own}/results", headers=w.auth("clinician")).json()
    assert [x["analyte"] for x in timeline["results"]] == ["b2m"]  # the albumin row of the refused file is not stored


def test_reports_of_a_stored_patient(sqlite_world: World) -> None:
    w = sqlite_world
    html = w.client.get(f"/api/v1/patients/{w.own}/report", headers=w.auth("patient"))
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "script-src" not in html.headers["content-security-policy"] and "<script" not in html.text
    assert (
        w.client.get(f"/api/v1/patients/{w.own}/report?audience=clinician", headers=w.auth("patient")).status_code
        == 403
    )
    pdf = w.client.get(f"/api/v1/patients/{w.own}/report?audience=clinician&format=pdf", headers=w.auth("clinician"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_demo_data_loads_and_every_account_logs_in(sqlite_url: str) -> None:
    from b2m.service.demo import load_demo

    app = create_app(settings_for(sqlite_url))
    accounts = load_demo(app.state.sessions)
    again = load_demo(app.state.sessions)  # a second start: new one-time passwords, no duplicate patients
    assert {a.username for a in accounts} == {"demo-clinician", "demo-lab", "demo-patient", "demo-admin"}
    c = TestClient(app)
    for a in again:
        assert c.post("/api/v1/auth/token", data={"username": a.username, "password": a.password}).status_code == 200
    for a in accounts:
        assert c.post("/api/v1/auth/token", data={"username": a.username, "password": a.password}).status_code == 401
    tok = c.post("/api/v1/auth/token", data={"username": "demo-clinician", "password": again[0].password}).json()
    page = c.get("/api/v1/patients", headers={"Authorization": f"Bearer {tok['access_token']}"}).json()
    assert page["total"] == 7  # the 3 bundled series and the 4 myeloma patients at diagnosis


def test_openapi_declares_every_status_and_access(sqlite_world: World) -> None:
    doc = sqlite_world.client.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert "x-b2m-access" in op, f"{method} {path}"
            if not op["x-b2m-access"]["public"]:
                assert "401" in op["responses"] and op["security"], f"{method} {path}"
            if "{patient_id}" in path:
                assert {"403", "404"} <= set(op["responses"]), f"{method} {path}"


def test_health_and_readiness(sqlite_world: World) -> None:
    c = sqlite_world.client
    assert c.get("/api/v1/health").json()["status"] == "ok"
    ready = c.get("/api/v1/ready").json()
    assert ready["status"] == "ready" and ready["database"] == "sqlite"
    r = c.get("/api/v1/health")
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_logs_carry_request_ids_never_patient_data(sqlite_world: World, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 11: application logs carry request ids, never patient identifiers or values."""
    import logging

    w = sqlite_world
    with caplog.at_level(logging.INFO, logger="b2m.service"):
        w.client.get("/api/v1/patients?site_id=SITE-A", headers=w.auth("clinician"))
        w.client.post(
            f"/api/v1/patients/{w.own}/results",
            headers=w.auth("clinician"),
            json={"results": [{"analyte": "b2m", "date": "2026-01-10", "value": 4200, "unit": "mg/L"}]},
        )
        w.client.post("/api/v1/assess", headers=w.auth("clinician"), json={"id": "SECRET-ID-77", "age": 999})
    import re

    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "request_id=" in text
    text = re.sub(r"request_id=[0-9a-f-]+", "", text)  # random ids may contain any digits
    for leaked in ("SITE-A", "4200", "SECRET-ID-77", "999", f"/patients/{w.own}"):
        assert leaked not in text


def test_user_commands(tmp_path: Path) -> None:
    env = {"B2M_DATABASE_URL": f"sqlite:///{tmp_path / 'users.sqlite3'}", "PATH": "/usr/bin:/bin"}
    b2m = str(Path(sys.executable).parent / "b2m")
    added = subprocess.run(
        [b2m, "user", "add", "ana", "--role", "clinician", "--team", "haem"], env=env, capture_output=True, text=True
    )
    assert added.returncode == 0, added.stderr
    name, password = added.stdout.strip().split("\t")
    assert name == "ana" and len(password) >= 16
    listed = subprocess.run([b2m, "user", "list"], env=env, capture_output=True, text=True, check=True)
    assert listed.stdout == "ana\tclinician\tactive\n"
    bad = subprocess.run([b2m, "user", "add", "bob", "--role", "root"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "--role: unknown role 'root'" in bad.stderr
    subprocess.run([b2m, "user", "disable", "ana"], env=env, capture_output=True, check=True)
    listed = subprocess.run([b2m, "user", "list"], env=env, capture_output=True, text=True, check=True)
    assert listed.stdout == "ana\tclinician\tdisabled\n"
