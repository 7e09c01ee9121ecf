"""Schemathesis over the CDS Hooks routes called as a CDS client calls them: a valid signed JWT per call (a fresh
jti each time), generated bodies. No server error, no undeclared status, no response outside its declared schema.
(tests/service/test_schemathesis.py runs every route, these included, with user tokens, which they refuse.)

Oracle: the OpenAPI 3.1 document itself (what the service promises), checked by an outside tool.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from b2m.service.cds.config import CdsClient
from b2m.service.db.engine import migrate
from tests.service.conftest import World, build_world
from tests.service.fake_ehr import ISSUER, FakeEhr
from tests.service.test_schemathesis import CHECKS, MAX_EXAMPLES

PUBLIC_URL = "https://b2m.example.test"
EHR = FakeEhr()


@pytest.fixture(scope="module")
def cds_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    url = f"sqlite:///{tmp_path_factory.mktemp('cds-fuzz') / 'b2m.sqlite3'}"
    migrate(url)
    # The key set inline; the only FHIR server the client may send is a closed loopback port, so a generated
    # fhirServer is never fetched (412).
    client = CdsClient(issuer=ISSUER, jwks=EHR.jwks(), fhir_servers=("http://127.0.0.1:9/fhir",))
    w = build_world(url, public_url=PUBLIC_URL, cds_clients=(client,))
    yield w
    w.app.state.engine.dispose()


def _cds_operations() -> list[tuple[str, str]]:
    from b2m.service.app import create_app
    from tests.service.conftest import settings_for

    doc = create_app(settings_for("sqlite://")).openapi()
    return [
        (m.upper(), p)
        for p, ops in doc["paths"].items()
        for m, op in ops.items()
        if op.get("x-b2m-access", {}).get("client") == "cds"
    ]


@pytest.mark.parametrize(("method", "path"), _cds_operations())
def test_cds_routes_conform_to_the_openapi_document(method: str, path: str, cds_world: World) -> None:
    api = schemathesis.openapi.from_asgi("/api/v1/openapi.json", cds_world.app)
    operation = api[path][method]

    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def run(case: schemathesis.Case) -> None:
        token = EHR.token(f"{PUBLIC_URL}{path}")
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

    run()


def test_there_are_cds_routes_to_fuzz() -> None:
    assert len(_cds_operations()) == 4
