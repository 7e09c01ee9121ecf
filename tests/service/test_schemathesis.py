"""Schemathesis against the service's own OpenAPI document, in-process, with valid tokens: no server error, no
status the document does not declare, no response that violates its declared schema or content type.

Oracle: the OpenAPI 3.1 document itself (what the service promises), checked by an outside tool.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from b2m.service.db.engine import migrate, write_session
from b2m.service.db.models import User
from b2m.service.security import issue
from tests.service.conftest import SECRET, World, build_world

MAX_EXAMPLES = 30
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'b2m.sqlite3'}"
    migrate(url)
    w = build_world(url)
    yield w
    w.app.state.engine.dispose()


def _operations() -> list[tuple[str, str]]:
    """Every operation of the document (the app is built only to read its routes; no database is touched)."""
    from b2m.service.app import create_app
    from tests.service.conftest import settings_for

    doc = create_app(settings_for("sqlite://")).openapi()
    return [(m.upper(), p) for p, ops in doc["paths"].items() for m in ops]


def token(world: World, who: str) -> str:
    """A fresh token per call: logout and password changes revoke tokens."""
    with write_session(world.app.state.sessions) as db:
        user = db.get(User, world.users[who])
        assert user is not None
        return issue(db, SECRET, user, kind="bearer", lifetime=dt.timedelta(minutes=5)).token


@pytest.mark.parametrize(("method", "path"), _operations())
def test_api_conforms_to_its_openapi_document(method: str, path: str, fuzz_world: World) -> None:
    api = schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzz_world.app)
    operation = api[path][method]
    access = operation.definition.raw.get("x-b2m-access", {})
    roles = access.get("roles", {})
    who = "admin" if "admin" in roles and "clinician" not in roles else "clinician"

    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {token(fuzz_world, who)}"}, checks=CHECKS)

    run()
