"""Fixtures of the web app's in-process tests: the service's test world (users of every role, an own and an other
patient) and a browser-like client logged in through the login form."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from b2m.service.db.engine import migrate
from tests.service.conftest import PASSWORD, World, build_world


def login(world: World, who: str) -> TestClient:
    """A client with the cookie session of ``who``, logged in as a browser does (the form and its token)."""
    client = TestClient(world.app, base_url="http://testserver")
    page = client.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    r = client.post(
        "/login",
        data={"username": who, "password": PASSWORD, "login_token": token.group(1), "next": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    return client


def csrf_of(client: TestClient) -> str:
    return str(client.cookies.get("b2m_csrf"))


@pytest.fixture
def web(tmp_path: Path) -> Iterator[World]:
    url = f"sqlite:///{tmp_path / 'b2m.sqlite3'}"
    migrate(url)
    w = build_world(url)
    with w.client:
        yield w
    w.app.state.engine.dispose()
