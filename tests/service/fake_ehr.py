"""A fake EHR for the CDS Hooks tests: a real HTTP server on a loopback port (uvicorn in a thread) that

- holds its own RS384 key pair (generated per test session) and signs CDS client JWTs with it, as an EHR does;
- serves its public key as a JWK Set at ``/jwks.json`` (the ``jwks_url`` the service is configured with);
- serves FHIR R4 at ``/fhir``: ``Patient/{id}`` and ``Observation`` / ``Condition`` / ``MedicationStatement``
  searches (``patient``, ``code`` tokens, ``_sort=-date``, ``_count``), only with its access token, recording
  every request it answered;
- and, for the failure paths, ``/huge/...`` (answers more than the service reads) and ``/denied/...`` (401).

Nothing of b2m is imported here: the service sees this EHR only over HTTP, as it would see a real one.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ISSUER = "https://ehr.example.test"
KID = "fake-ehr-rs384-1"
FHIR_JSON = "application/fhir+json"


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class FakeEhr:
    base: str = ""
    key: rsa.RSAPrivateKey = field(default_factory=new_rsa_key)
    access_token: str = field(default_factory=lambda: f"ehr-access-{uuid.uuid4()}")
    patients: dict[str, dict[str, Any]] = field(default_factory=dict)
    resources: list[dict[str, Any]] = field(default_factory=list)  # Observations, Conditions, ...
    seen: list[tuple[str, str, str | None]] = field(default_factory=list)  # (path, query, Authorization)

    # ------------------------------------------------------------------ keys and tokens

    def jwks(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk.update({"kid": KID, "alg": "RS384", "use": "sig"})
        return {"keys": [jwk]}

    def token(
        self,
        aud: str,
        *,
        lifetime_s: int = 120,
        iat_offset_s: int = 0,
        jti: str | None = None,
        iss: str = ISSUER,
        alg: str = "RS384",
        key: Any = None,
        kid: str = KID,
        drop: tuple[str, ...] = (),
        headers: Mapping[str, Any] | None = None,
    ) -> str:
        """A CDS client JWT as CDS Hooks 2.0 describes it (iss, aud, exp, iat, jti; RS384, kid in the header)."""
        now = int(time.time()) + iat_offset_s
        claims = {"iss": iss, "aud": aud, "iat": now, "exp": now + lifetime_s, "jti": jti or str(uuid.uuid4())}
        for name in drop:
            claims.pop(name)
        return jwt.encode(
            claims, key if key is not None else self.key, algorithm=alg, headers={"kid": kid, **(headers or {})}
        )

    # ------------------------------------------------------------------ FHIR

    def _search(self, request: Request, kind: str) -> list[dict[str, Any]]:
        q = request.query_params
        patient = q.get("patient")
        tokens = [t.split("|", 1) if "|" in t else [None, t] for t in (q.get("code") or "").split(",") if t]
        out = []
        for r in self.resources:
            if r["resourceType"] != kind or r.get("subject", {}).get("reference") != f"Patient/{patient}":
                continue
            if tokens:
                codings = r.get("code", {}).get("coding", [])
                if not any(cd.get("code") == c and s in (None, cd.get("system")) for s, c in tokens for cd in codings):
                    continue
            if kind == "MedicationStatement" and q.get("status") and r.get("status") != q["status"]:
                continue
            out.append(r)
        if q.get("_sort") == "-date":
            out.sort(key=lambda r: str(r.get("effectiveDateTime", "")), reverse=True)
        if q.get("_count"):
            out = out[: int(q["_count"])]
        return out

    async def fhir(self, request: Request) -> Response:
        auth = request.headers.get("authorization")
        self.seen.append((request.url.path, request.url.query, auth))
        if auth != f"Bearer {self.access_token}":
            return JSONResponse({"resourceType": "OperationOutcome"}, 401, media_type=FHIR_JSON)
        kind = request.path_params["kind"]
        rid = request.path_params.get("rid")
        if kind == "Patient" and rid is not None:
            found = self.patients.get(rid)
            if found is None:
                return JSONResponse({"resourceType": "OperationOutcome"}, 404, media_type=FHIR_JSON)
            return JSONResponse(found, media_type=FHIR_JSON)
        entries = [
            {"fullUrl": f"{self.base}/fhir/{kind}/{r['id']}", "resource": r} for r in self._search(request, kind)
        ]
        bundle = {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}
        return JSONResponse(bundle, media_type=FHIR_JSON)

    async def huge(self, request: Request) -> Response:
        self.seen.append((request.url.path, request.url.query, request.headers.get("authorization")))
        filler = "x" * (5 << 20)
        return Response(f'{{"resourceType":"Bundle","type":"searchset","id":"{filler}"}}', media_type=FHIR_JSON)

    async def denied(self, request: Request) -> Response:
        self.seen.append((request.url.path, request.url.query, request.headers.get("authorization")))
        return JSONResponse({"resourceType": "OperationOutcome"}, 401, media_type=FHIR_JSON)

    async def jwks_route(self, request: Request) -> Response:
        return JSONResponse(self.jwks(), media_type="application/jwk-set+json")

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/jwks.json", self.jwks_route),
                Route("/fhir/{kind}/{rid}", self.fhir),
                Route("/fhir/{kind}", self.fhir),
                Route("/huge/{rest:path}", self.huge),
                Route("/denied/{rest:path}", self.denied),
            ]
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(ehr: FakeEhr) -> Iterator[FakeEhr]:
    """Serve the EHR on a loopback port for the duration of the block."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(ehr.app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the fake EHR did not start")
        time.sleep(0.02)
    ehr.base = f"http://127.0.0.1:{port}"
    try:
        yield ehr
    finally:
        server.should_exit = True
        thread.join(timeout=10)
