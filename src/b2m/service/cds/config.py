"""The CDS clients (EHRs) this service trusts, and the demo EHR of development mode.

``B2M_CDS_CLIENTS`` names a JSON file::

    {"clients": [
        {"issuer": "https://ehr.example.org",                 # the JWT's iss, exactly
         "jwks_url": "https://ehr.example.org/.well-known/jwks.json",   # or "jwks": {"keys": [...]} inline
         "fhir_servers": ["https://ehr.example.org/fhir"]}     # the fhirServer bases it may send
    ]}

A client without ``fhir_servers`` gives its data in the prefetch only: a ``fhirServer`` it sends is never called
(a required key the prefetch lacks is then a 412, an optional one is named in the cards as not sent), so a signed
call can never make the service send a request, with the EHR's access token, to an address nobody configured.

A JWT whose ``iss`` is not listed is refused; a ``jku`` header is accepted only when it equals the client's
``jwks_url`` (the service never fetches a key set from an address a token names). Only asymmetric keys (RSA, EC)
are accepted: CDS Hooks forbids shared-secret (HMAC) signatures.

The demo EHR (``b2m serve --demo`` in development, ``b2m cds token``): an ES384 key pair in a file of the
user's data directory, created on first use; its public half is trusted only in development.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ALGORITHMS: tuple[str, ...] = ("RS384", "ES384")  # CDS Hooks 2.0 recommends exactly these; no none, no HMAC
ASYMMETRIC_KEY_TYPES = ("RSA", "EC")
DEMO_ISSUER = "urn:b2m:demo-ehr"
DEMO_KID = "b2m-demo-ehr-es384"
DEMO_KEY_FILE = "cds-demo-ehr-key.pem"


@dataclass(frozen=True, slots=True)
class CdsClient:
    """One trusted CDS client: its issuer, where its public keys are, and the FHIR servers it may send."""

    issuer: str
    jwks: Mapping[str, Any] | None = None
    jwks_url: str | None = None
    fhir_servers: tuple[str, ...] = field(default=())

    def allows_fhir_server(self, url: str) -> bool:
        return any(url == s or url.startswith(s.rstrip("/") + "/") for s in self.fhir_servers)


def _check_jwks(jwks: object, where: str) -> Mapping[str, Any]:
    if not isinstance(jwks, Mapping) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise ValueError(f"{where}: a JWK Set is an object with a non-empty 'keys' array")
    for i, key in enumerate(jwks["keys"]):
        if not isinstance(key, Mapping) or key.get("kty") not in ASYMMETRIC_KEY_TYPES:
            raise ValueError(f"{where}.keys[{i}]: only RSA or EC public keys (CDS Hooks forbids shared secrets)")
        if "d" in key:
            raise ValueError(f"{where}.keys[{i}]: a private key; configure the client's public key only")
        if not isinstance(key.get("kid"), str) or not key["kid"]:
            raise ValueError(f"{where}.keys[{i}]: every key needs its kid (the JWT header names it)")
    return jwks


def load_clients(path: Path, *, development: bool) -> list[CdsClient]:
    """Read and check the clients file (see the module docstring); raises ``ValueError`` naming the entry."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    items = raw.get("clients") if isinstance(raw, Mapping) else None
    if not isinstance(items, list):
        raise ValueError("expected an object with a 'clients' array")
    out: list[CdsClient] = []
    for i, item in enumerate(items):
        where = f"clients[{i}]"
        if not isinstance(item, Mapping):
            raise ValueError(f"{where}: expected an object")
        unknown = set(item) - {"issuer", "jwks", "jwks_url", "fhir_servers"}
        if unknown:
            raise ValueError(f"{where}: unknown key {sorted(unknown)[0]!r}")
        issuer = item.get("issuer")
        if not isinstance(issuer, str) or not issuer.strip():
            raise ValueError(f"{where}.issuer: the JWT iss of the client is required")
        jwks = item.get("jwks")
        url = item.get("jwks_url")
        if (jwks is None) == (url is None):
            raise ValueError(f"{where}: give exactly one of jwks (inline) and jwks_url")
        if url is not None and not _allowed_url(url, development):
            raise ValueError(f"{where}.jwks_url: an https URL (http only in development)")
        servers = item.get("fhir_servers", [])
        if not isinstance(servers, list) or not all(
            isinstance(s, str) and _allowed_url(s, development) for s in servers
        ):
            raise ValueError(f"{where}.fhir_servers: a list of https base URLs (http only in development)")
        out.append(
            CdsClient(
                issuer=issuer,
                jwks=_check_jwks(jwks, f"{where}.jwks") if jwks is not None else None,
                jwks_url=url,
                fhir_servers=tuple(s.rstrip("/") for s in servers),
            )
        )
    issuers = [c.issuer for c in out]
    if len(set(issuers)) != len(issuers):
        raise ValueError("an issuer is listed twice")
    return out


def _allowed_url(url: object, development: bool) -> bool:
    return isinstance(url, str) and (url.startswith("https://") or (development and url.startswith("http://")))


# ----------------------------------------------------------------------------------------------- demo EHR


def demo_key_path(given: str | None = None) -> Path:
    """The demo EHR's private key file (``B2M_CDS_DEMO_KEY``, else in the user's data directory)."""
    if given:
        return Path(given)
    from platformdirs import user_data_dir

    return Path(user_data_dir("b2m", appauthor=False)) / DEMO_KEY_FILE


def ensure_demo_key(path: Path) -> Path:
    """Create the demo EHR's ES384 key (P-384) when missing; readable by its owner only."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP384R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return path


def _demo_private_key(path: Path) -> Any:
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def demo_client(given: str | None = None) -> CdsClient:
    """The demo EHR as a trusted client (development only: :func:`b2m.service.settings.from_environment` checks)."""
    from jwt.algorithms import ECAlgorithm

    path = ensure_demo_key(demo_key_path(given))
    jwk = ECAlgorithm.to_jwk(_demo_private_key(path).public_key(), as_dict=True)
    jwk.update({"kid": DEMO_KID, "alg": "ES384", "use": "sig"})
    return CdsClient(issuer=DEMO_ISSUER, jwks={"keys": [jwk]})


def sign_demo_token(audience: str, *, key_file: str | None = None, lifetime_s: int = 300) -> str:
    """A JWT of the demo EHR for ``audience`` (the CDS service URL being called), valid ``lifetime_s`` seconds."""
    import jwt

    path = ensure_demo_key(demo_key_path(key_file))
    now = int(time.time())
    claims = {"iss": DEMO_ISSUER, "aud": audience, "iat": now, "exp": now + lifetime_s, "jti": str(uuid.uuid4())}
    return jwt.encode(claims, _demo_private_key(path), algorithm="ES384", headers={"kid": DEMO_KID, "typ": "JWT"})
