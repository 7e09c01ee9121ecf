"""Trusting CDS clients (CDS Hooks 2.0): every call of a hook service carries ``Authorization: Bearer <JWT>``,
signed by the client (an EHR) with its private key and verified here with PyJWT against the client's JWK Set.

Refused (401) unless: the header names ``alg`` RS384 or ES384 (never ``none``, never HMAC), ``typ`` JWT and a
``kid``; ``iss`` is a configured client (:mod:`b2m.service.cds.config`); a ``jku`` header, if any, is that client's
configured ``jwks_url``; the signature verifies with the client's key of that ``kid``; ``aud`` is the URL being
called (``B2M_PUBLIC_URL`` + the path); ``exp`` is in the future, at most :data:`MAX_LIFETIME_S` away, and ``iat`` is
not in the future (:data:`LEEWAY_S` of clock skew either way); ``jti`` was never seen from this issuer. The ``jti``
is recorded in the database (a keyed hash of issuer and ``jti`` until the token expires), so every worker and
machine refuses a replay; the unique index settles two copies racing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
import jwt
from fastapi import Depends, Request
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from b2m.service.cds.config import ALGORITHMS, CdsClient
from b2m.service.cds.fetch import FetchError, get_json
from b2m.service.db.engine import write_session
from b2m.service.db.models import CdsTokenUse, utcnow
from b2m.service.problems import Unauthorized
from b2m.service.security import keyed_hash

LEEWAY_S = 60
MAX_LIFETIME_S = 600  # a client's token lives minutes (one call); this bounds what the replay table keeps
MAX_TOKEN_CHARS = 8192
JWKS_CACHE_S = 300
CLIENT_ROLE = "cds-client"


@dataclass(frozen=True, slots=True)
class ClientIdentity:
    """The audit trail's view of a CDS client (no user account: the issuer names it)."""

    username: str
    id: None = None


@dataclass(frozen=True, slots=True)
class CdsCaller:
    """A verified CDS client call."""

    client: CdsClient
    tenant: str | None
    user: ClientIdentity
    roles: tuple[str, ...] = (CLIENT_ROLE,)


class _Refused(Exception):
    pass


# Public keys fetched from a client's jwks_url, per process (public data; nothing to share between workers).
_jwks_cache: dict[str, tuple[float, dict[str, Any]]] = {}


async def _key_set(request: Request, client: CdsClient, kid: str) -> dict[str, Any]:
    if client.jwks is not None:
        return dict(client.jwks)
    assert client.jwks_url is not None
    cached = _jwks_cache.get(client.jwks_url)
    now = time.monotonic()
    if cached is not None and now - cached[0] < JWKS_CACHE_S and _find(cached[1], kid) is not None:
        return cached[1]
    try:
        fetched = await get_json(request, client.jwks_url, what="the client's jwks_url")
    except FetchError as e:
        raise _Refused(f"the client's key set could not be read: {e}") from None
    if not isinstance(fetched, dict) or not isinstance(fetched.get("keys"), list):
        raise _Refused("the client's jwks_url did not answer a JWK Set")
    _jwks_cache[client.jwks_url] = (now, fetched)
    return fetched


def _find(jwks: dict[str, Any], kid: str) -> dict[str, Any] | None:
    for key in jwks.get("keys", []):
        if isinstance(key, dict) and key.get("kid") == kid:
            return key
    return None


def audience(request: Request) -> str:
    """The URL being called, as the client must have written it in ``aud``."""
    base = request.app.state.settings.public_url or str(request.base_url).rstrip("/")
    return f"{base}{request.url.path}"


async def verify(request: Request, token: str) -> CdsCaller:
    """Verify a client's JWT (module docstring); raises :class:`Unauthorized` with the reason."""
    try:
        return await _verify(request, token)
    except _Refused as e:
        raise Unauthorized(f"the CDS client's JWT is refused: {e}") from None


async def _verify(request: Request, token: str) -> CdsCaller:
    settings = request.app.state.settings
    if len(token) > MAX_TOKEN_CHARS:
        raise _Refused("too long")
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise _Refused("not a signed JWT (JWS compact serialisation)") from None
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise _Refused(f"alg must be one of {', '.join(ALGORITHMS)}")
    if str(header.get("typ", "")).upper() != "JWT":
        raise _Refused("typ must be JWT")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise _Refused("the header names no kid")
    issuer = unverified.get("iss")
    client = next((c for c in settings.cds_clients if c.issuer == issuer), None)
    if client is None:
        raise _Refused("the issuer is not a trusted CDS client")
    jku = header.get("jku")
    if jku is not None and jku != client.jwks_url:
        raise _Refused("jku is not the client's configured JWK Set URL")
    jwk = _find(await _key_set(request, client, kid), kid)
    if jwk is None:
        raise _Refused("no key of the client has this kid")
    try:
        key = jwt.PyJWK(jwk, algorithm=alg)
        claims = jwt.decode(
            token,
            key.key,
            algorithms=[alg],
            audience=audience(request),
            issuer=client.issuer,
            leeway=LEEWAY_S,
            options={"require": ["iss", "aud", "exp", "iat", "jti"]},
        )
    except jwt.ExpiredSignatureError:
        raise _Refused("expired") from None
    except jwt.InvalidAudienceError:
        raise _Refused("aud is not this service's URL") from None
    except jwt.ImmatureSignatureError:
        raise _Refused("issued in the future") from None
    except jwt.MissingRequiredClaimError as e:
        raise _Refused(f"the claim {e.claim} is required") from None
    except jwt.PyJWTError as e:
        raise _Refused(f"invalid ({type(e).__name__})") from None
    now = time.time()
    exp, iat, jti = claims["exp"], claims["iat"], claims["jti"]
    if iat > now + LEEWAY_S:
        raise _Refused("issued in the future")
    if exp > now + MAX_LIFETIME_S + LEEWAY_S:
        raise _Refused(f"expires more than {MAX_LIFETIME_S // 60} minutes from now")
    if not isinstance(jti, str) or not 1 <= len(jti) <= 255:
        raise _Refused("jti must be a string of 1 to 255 characters")
    await anyio.to_thread.run_sync(_use_once, request, client.issuer, jti, float(exp))
    tenant = claims.get("tenant")
    return CdsCaller(
        client=client,
        tenant=tenant if isinstance(tenant, str) else None,
        user=ClientIdentity(username=client.issuer[:64]),
    )


def _use_once(request: Request, issuer: str, jti: str, exp: float) -> None:
    import datetime as dt

    key = keyed_hash(request.app.state.settings.secret_key, f"{issuer}\n{jti}")
    expires = dt.datetime.fromtimestamp(exp + LEEWAY_S, dt.UTC).replace(tzinfo=None)
    try:
        with write_session(request.app.state.sessions) as db:
            db.execute(delete(CdsTokenUse).where(CdsTokenUse.expires_at < utcnow()))
            db.add(CdsTokenUse(token_key=key, expires_at=expires))
    except IntegrityError:
        raise _Refused("replayed: this jti was already used") from None


async def authenticate_client(request: Request) -> CdsCaller:
    """The dependency of every route declared ``rule(client="cds")``: the verified client, or 401."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a CDS client's signed JWT is required: Authorization: Bearer <JWT>")
    caller = await verify(request, token.strip())
    request.state.b2m_caller = caller
    return caller


CdsClientDep = Annotated[CdsCaller, Depends(authenticate_client)]
