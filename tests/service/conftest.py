"""Fixtures of the service tests: both databases, an app with one user per role, and two patients.

``database_url`` runs a test on SQLite (a file, WAL) and on PostgreSQL (a server the session starts and stops;
each test gets a fresh database copied from a migrated template).
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from b2m.service.accounts import team_named
from b2m.service.app import create_app
from b2m.service.db.engine import migrate, write_session
from b2m.service.db.models import Patient, TeamMember, User, UserRole
from b2m.service.security import hash_password, issue
from b2m.service.settings import Settings
from tests.service import pg

SECRET = "test-secret-" + "x" * 40
PASSWORD = "correct horse battery staple"
_counter = itertools.count()


@functools.cache
def password_hash() -> str:
    """argon2 is slow on purpose: hash the test password once per run."""
    return hash_password(PASSWORD)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A PostgreSQL server for the session, with a migrated template database; yields the server's admin URL."""
    if not pg.available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL 15 server binaries are missing (scripts/setup.sh installs postgresql-15)")
        pytest.skip("PostgreSQL 15 server binaries are missing (scripts/setup.sh installs postgresql-15)")
    with pg.postgres_server() as admin:
        migrate(pg.create_database(admin, "b2m_template"))
        yield admin


def fresh_postgres(admin: str) -> str:
    import psycopg

    name = f"b2m_test_{os.getpid()}_{next(_counter)}"
    plain = admin.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE b2m_template')
    return admin.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'b2m.sqlite3'}"
        migrate(url)
        return url
    return fresh_postgres(request.getfixturevalue("pg_template"))


@pytest.fixture
def postgres_url(pg_template: str) -> str:
    return fresh_postgres(pg_template)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'b2m.sqlite3'}"
    migrate(url)
    return url


def settings_for(url: str, **kw: object) -> Settings:
    return Settings(database_url=url, secret_key=SECRET, environment="development", **kw)  # type: ignore[arg-type]


@dataclass
class World:
    """An app with users of every role, a patient in reach of the clinician and the patient user ("own"), and a
    patient of another care team ("other")."""

    app: FastAPI
    client: TestClient
    tokens: dict[str, str]
    users: dict[str, int]
    own: int
    other: int
    teams: dict[str, int] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


PATIENT_DOC = {
    "age": 67,
    "sex": "female",
    "setting": "new_diagnosis",
    "labs": {"b2m": {"value": 4.2, "unit": "mg/L"}, "albumin": {"value": 35, "unit": "g/L"}},
}


def build_world(url: str, **settings: object) -> World:
    """``settings``: more of the service's Settings (the CDS tests add their trusted clients)."""
    import datetime as dt
    import json

    app = create_app(settings_for(url, **settings))
    factory = app.state.sessions
    with write_session(factory) as db:
        team_a = team_named(db, "team-a").id
        team_b = team_named(db, "team-b").id
        own = Patient(site_id="SITE-A", team_id=team_a, details=json.dumps(PATIENT_DOC))
        other = Patient(site_id="SITE-B", team_id=team_b, details=json.dumps(PATIENT_DOC))
        db.add_all([own, other])
        db.flush()
        specs = {
            "clinician": (["clinician"], None, [team_a]),
            "clinician-b": (["clinician"], None, [team_b]),
            "lab": (["lab"], None, []),
            "patient": (["patient"], own.id, []),
            "admin": (["admin"], None, []),
        }
        users: dict[str, int] = {}
        tokens: dict[str, str] = {}
        for name, (roles, pid, teams) in specs.items():
            user = User(
                username=name, password_hash=password_hash(), patient_id=pid, roles=[UserRole(role=r) for r in roles]
            )
            db.add(user)
            db.flush()
            db.add_all(TeamMember(team_id=t, user_id=user.id) for t in teams)
            users[name] = user.id
        for name in specs:
            user = db.get(User, users[name])
            assert user is not None
            tokens[name] = issue(db, SECRET, user, kind="bearer", lifetime=dt.timedelta(minutes=30)).token
        own_id, other_id = own.id, other.id
    return World(
        app=app,
        client=TestClient(app),
        tokens=tokens,
        users=users,
        own=own_id,
        other=other_id,
        teams={"a": team_a, "b": team_b},
    )


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    w = build_world(database_url)
    with w.client:
        yield w
    w.app.state.engine.dispose()


@pytest.fixture
def sqlite_world(sqlite_url: str) -> Iterator[World]:
    w = build_world(sqlite_url)
    with w.client:
        yield w
    w.app.state.engine.dispose()
