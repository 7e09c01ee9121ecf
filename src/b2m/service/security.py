"""Passwords, tokens and CSRF: argon2id hashes; opaque random tokens stored only as keyed hashes.

A bearer token (OAuth2 password flow) and a browser session (an HttpOnly cookie plus a CSRF token the page sends
back in ``X-CSRF-Token``) are both rows of ``auth_sessions``: revoking one is a database write every worker sees.
The table holds HMAC-SHA256(secret, token), so a copy of the database gives no usable token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from b2m.service.db.models import AuthSession, User, UserRole, utcnow

TOKEN_BYTES = 32
_hasher = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) parameters
# A valid hash of a password nobody has: unknown user names cost the same time as wrong passwords.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
MIN_PASSWORD_CHARS = 12


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_password() -> str:
    """A generated one-time password (printed once; only its hash is stored)."""
    return secrets.token_urlsafe(15)


def keyed_hash(secret: str, value: str) -> str:
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Issued:
    token: str
    csrf: str | None
    expires_at: dt.datetime
    session_id: int


def issue(db: Session, secret: str, user: User, *, kind: str, lifetime: dt.timedelta) -> Issued:
    """Store a new bearer token or cookie session for ``user`` (the caller commits)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    csrf = secrets.token_urlsafe(TOKEN_BYTES) if kind == "cookie" else None
    expires = utcnow() + lifetime
    row = AuthSession(
        token_hash=keyed_hash(secret, token),
        csrf_hash=keyed_hash(secret, csrf) if csrf else None,
        user_id=user.id,
        kind=kind,
        expires_at=expires,
    )
    db.add(row)
    db.flush()
    return Issued(token=token, csrf=csrf, expires_at=expires, session_id=row.id)


@dataclass(frozen=True, slots=True)
class Account:
    """The caller's user as read with its token: plain values, no ORM object (one statement per request)."""

    id: int
    username: str
    patient_id: int | None
    password_hash: str
    roles: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LiveSession:
    """The caller's live bearer token or cookie session (``auth_sessions`` row)."""

    id: int
    kind: str
    csrf_hash: str | None
    expires_at: dt.datetime


# One indexed lookup (token_hash is unique) joined with the user and its roles: one row per role.
_LOOKUP = (
    select(
        AuthSession.id,
        AuthSession.csrf_hash,
        AuthSession.expires_at,
        AuthSession.revoked_at,
        User.id,
        User.username,
        User.password_hash,
        User.patient_id,
        User.disabled,
        UserRole.role,
    )
    .join(User, User.id == AuthSession.user_id)
    .outerjoin(UserRole, UserRole.user_id == User.id)
    .where(AuthSession.token_hash == bindparam("token_hash"), AuthSession.kind == bindparam("kind"))
    .order_by(UserRole.role)
)


def lookup(db: Session | Connection, secret: str, token: str, kind: str) -> tuple[LiveSession, Account] | None:
    """The live session of ``token`` and its enabled user, or ``None``: read from the database on every call,
    so a revocation (or a disabled user) takes effect at once in every worker."""
    if not token or len(token) > 200:
        return None
    rows = db.execute(_LOOKUP, {"token_hash": keyed_hash(secret, token), "kind": kind}).all()
    if not rows:
        return None
    sid, csrf_hash, expires_at, revoked_at, uid, username, password_hash, patient_id, disabled, _ = rows[0]
    if revoked_at is not None or expires_at <= utcnow() or disabled:
        return None
    account = Account(
        id=uid,
        username=username,
        patient_id=patient_id,
        password_hash=password_hash,
        roles=tuple(r[-1] for r in rows if r[-1] is not None),
    )
    return LiveSession(id=sid, kind=kind, csrf_hash=csrf_hash, expires_at=expires_at), account


def csrf_matches(secret: str, session: LiveSession, given: str | None) -> bool:
    if session.csrf_hash is None or not given:
        return False
    return hmac.compare_digest(session.csrf_hash, keyed_hash(secret, given))
