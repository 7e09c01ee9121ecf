"""The README's CDS Hooks walk-through in development mode: ``b2m cds token`` signs as the demo EHR, ``b2m cds
request`` builds a patient-view call from a bundled example patient, and the service (trusting the demo EHR as
``b2m serve --demo`` makes it) answers cards; outside development the demo EHR is refused everywhere.

Oracle for the cards: the bundled example EX1-standard-risk (B2M 2.8 mg/L, albumin 41 g/L, LDH 182 U/L with the
lab's upper limit 214, no del(17p), t(4;14), t(14;16) or 1q gain) is ISS I (Greipp 2005: B2M < 3.5 mg/L and albumin
>= 3.5 g/dL), R-ISS I (Palumbo 2015: ISS I, standard-risk FISH, LDH not above the upper limit) and R2-ISS I
(D'Agostino 2022: 0 points).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from b2m.service.app import create_app
from b2m.service.demo import load_demo
from b2m.service.settings import ConfigurationError, from_environment
from tests.service.conftest import SECRET
from tests.test_cli import Run, run

Cli = Callable[[list[str]], Run]


@pytest.fixture
def b2m(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    return lambda args: run(args, b"", capsys, monkeypatch)


def test_the_demo_ehr_call_gets_cards(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, b2m: Cli
) -> None:
    key = str(tmp_path / "demo-ehr.pem")
    env = {"B2M_ENV": "development", "B2M_CDS_DEMO": "1", "B2M_CDS_DEMO_KEY": key, "B2M_DATABASE_URL": sqlite_url}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("B2M_SECRET_KEY", SECRET)
    app = create_app(from_environment())
    load_demo(app.state.sessions)
    call = b2m(["cds", "request", "EX1-standard-risk"])
    assert call.code == 0, call.err
    body: dict[str, Any] = json.loads(call.out)
    assert body["hook"] == "patient-view" and set(body["prefetch"]) >= {"patient", "b2m", "albumin", "ldh", "fish"}
    token = b2m(["cds", "token", "--base", "http://testserver"])
    assert token.code == 0, token.err
    with TestClient(app) as client:
        headers = {"Authorization": f"Bearer {token.out.strip()}"}
        r = client.post("/cds-services/b2m-patient-view", json=body, headers=headers)
        assert r.status_code == 200, r.text
        summaries = [c["summary"] for c in r.json()["cards"]]
        assert summaries == ["ISS stage I", "R-ISS stage I", "R2-ISS stage I"]
        assert all(c["links"][0]["url"].startswith("http://testserver/patients/") for c in r.json()["cards"])
        again = client.post("/cds-services/b2m-patient-view", json=body, headers=headers)
        assert again.status_code == 401  # one token, one call
    app.state.engine.dispose()


def test_the_demo_ehr_is_refused_outside_development(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, b2m: Cli) -> None:
    monkeypatch.setenv("B2M_ENV", "production")
    monkeypatch.setenv("B2M_CDS_DEMO_KEY", str(tmp_path / "demo-ehr.pem"))
    out = b2m(["cds", "token"])
    assert out.code == 2 and "development mode only" in out.err and out.out == ""
    assert not (tmp_path / "demo-ehr.pem").exists()
    env = {
        "B2M_ENV": "production",
        "B2M_SECRET_KEY": SECRET,
        "B2M_CDS_DEMO": "1",
        "B2M_PUBLIC_URL": "https://b2m.example.org",
        "B2M_DATABASE_URL": "sqlite://",
    }
    with pytest.raises(ConfigurationError, match="development only"):
        from_environment(env)


def test_clients_file_outside_development_needs_https(tmp_path: Path) -> None:
    """CDS Hooks 2.0: an https service; the clients file is checked entry by entry."""
    path = tmp_path / "clients.json"
    path.write_text(json.dumps({"clients": [{"issuer": "https://ehr.example.org", "jwks_url": "http://ehr/jwks"}]}))
    env = {
        "B2M_ENV": "production",
        "B2M_SECRET_KEY": SECRET,
        "B2M_CDS_CLIENTS": str(path),
        "B2M_PUBLIC_URL": "https://b2m.example.org",
        "B2M_DATABASE_URL": "sqlite://",
    }
    with pytest.raises(ConfigurationError, match=r"clients\[0\]\.jwks_url"):
        from_environment(env)
    path.write_text(
        json.dumps({"clients": [{"issuer": "https://ehr.example.org", "jwks": {"keys": [{"kty": "oct"}]}}]})
    )
    with pytest.raises(ConfigurationError, match="shared secrets"):
        from_environment(env)
    good = {"issuer": "https://ehr.example.org", "jwks_url": "https://ehr.example.org/jwks.json"}
    path.write_text(json.dumps({"clients": [good]}))
    assert from_environment(env).cds_clients[0].issuer == "https://ehr.example.org"
    with pytest.raises(ConfigurationError, match="B2M_PUBLIC_URL"):
        from_environment({**env, "B2M_PUBLIC_URL": "http://b2m.example.org"})
