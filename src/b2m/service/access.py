"""Who may call what: every route declares one access rule, and one dependency enforces it for the whole app.

A rule names the roles that may call the route and, for a route under ``/patients/{patient_id}``, how far each
role's reach goes: ``team`` (patients of the caller's care teams), ``own`` (the patient record linked to the
caller) or ``any`` (every patient: a laboratory posting results). A patient outside the caller's reach is
answered exactly like a patient that does not exist (404), so addresses reveal nothing. The rule is written into
the OpenAPI document (``x-b2m-access``); a route without one refuses every call, and the authorization-matrix
test fails on it.

Authentication: ``Authorization: Bearer <token>``, or the web app's session cookie; with the cookie, a request
that changes anything must also carry the session's CSRF token in ``X-CSRF-Token``. A route declared for a client
system instead of users (``rule(client="cds")``: the CDS Hooks services) takes that client's own credential, a
signed JWT verified by :func:`b2m.service.cds.auth.authenticate_client`, and no user token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from sqlalchemy import Engine, bindparam, exists, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import State

from b2m.service.db.engine import is_sqlite
from b2m.service.db.models import Patient, TeamMember
from b2m.service.problems import Forbidden, NotFound, Unauthorized
from b2m.service.security import Account, LiveSession, csrf_matches, lookup
from b2m.service.settings import Settings

Reach = Literal["team", "own", "any"]
AuditKind = Literal["read", "write"]
ClientKind = Literal["cds"]
ACCESS_KEY = "x-b2m-access"
SESSION_COOKIE = "b2m_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def rule(
    roles: Mapping[str, Reach] | tuple[str, ...] = (),
    *,
    public: bool = False,
    audit: AuditKind | None = None,
    openapi: Mapping[str, Any] | None = None,
    client: ClientKind | None = None,
    patient_query: str | None = None,
) -> dict[str, Any]:
    """Keyword arguments for a route decorator declaring its access rule (``@router.get(path, **rule(...))``);
    ``openapi``: more of the operation's OpenAPI entry; ``client``: the route is called by a client system, which
    authenticates with its own credential (the dependency that verifies it comes with the rule);
    ``patient_query``: the query parameter that names the patient (``id`` or ``Patient/id``, FHIR search) on a
    route without ``{patient_id}`` in its path; the same reach check applies to it."""
    reach = dict(roles) if isinstance(roles, Mapping) else {r: "any" for r in roles}
    doc: dict[str, Any] = {"public": public, "roles": reach}
    if audit is not None:
        doc["audit"] = audit
    if patient_query is not None:
        doc["patient_query"] = patient_query
    kwargs: dict[str, Any] = {"openapi_extra": {**(openapi or {}), ACCESS_KEY: doc}}
    if client is not None:
        from b2m.service.cds.auth import authenticate_client

        doc["client"] = client
        kwargs["dependencies"] = [Depends(authenticate_client)]
    return kwargs


@dataclass(frozen=True, slots=True)
class Rule:
    public: bool
    roles: Mapping[str, Reach]
    audit: AuditKind | None
    client: ClientKind | None = None
    patient_query: str | None = None


def route_rule(route: object) -> Rule | None:
    """The access rule a route declared, or ``None``."""
    if not isinstance(route, APIRoute) or not route.openapi_extra or ACCESS_KEY not in route.openapi_extra:
        return None
    doc = route.openapi_extra[ACCESS_KEY]
    return Rule(
        public=bool(doc["public"]),
        roles=dict(doc["roles"]),
        audit=doc.get("audit"),
        client=doc.get("client"),
        patient_query=doc.get("patient_query"),
    )


@dataclass(frozen=True, slots=True)
class Caller:
    user: Account
    roles: tuple[str, ...]
    session: LiveSession

    @property
    def id(self) -> int:
        return self.user.id


def api_routes(app: Any) -> Iterator[APIRoute]:
    """Every API route of the app, also inside included routers (newer FastAPI keeps them nested)."""

    def walk(routes: object) -> Iterator[APIRoute]:
        for r in routes:  # type: ignore[attr-defined]
            if isinstance(r, APIRoute):
                yield r
            elif (inner := getattr(r, "original_router", None)) is not None:
                yield from walk(inner.routes)

    return walk(app.router.routes)


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_db(request: Request) -> AsyncIterator[Session]:
    """One database session per request (reads; writers open their own write transaction). Made here, on the
    event loop (it connects only when first used); closed by the thread that used it when the route is a plain
    function, else here."""
    factory: sessionmaker[Session] = request.app.state.sessions
    db = factory()
    try:
        yield db
    finally:
        if db.in_transaction() and not is_sqlite(request.app.state.engine):
            await run_in_threadpool(db.close)  # a round trip to the server: not on the event loop
        else:
            db.close()


# Closed when the route function returns, before the response is sent: the audit event that the middleware then
# writes takes its own connection, and a request never holds two.
DB = Annotated[Session, Depends(get_db, scope="function")]


def _credentials(request: Request) -> tuple[str, str, str | None]:
    """(token, kind, CSRF header of an unsafe cookie request) from the request, or 401."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must be 'Bearer <token>'")
        return token.strip(), "bearer", None
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise Unauthorized()
    unsafe = request.method not in SAFE_METHODS
    return cookie, "cookie", (request.headers.get(CSRF_HEADER) or "") if unsafe else None


# The patient named by the path, and whether the caller is a member of its care team, in one statement.
_PATIENT_COLUMNS = tuple(Patient.__table__.columns)
_PATIENT = select(
    *_PATIENT_COLUMNS,
    exists().where(TeamMember.team_id == Patient.team_id, TeamMember.user_id == bindparam("user_id")).label("in_team"),
).where(Patient.id == bindparam("patient_id"))


def _check(
    engine: Engine, secret: str, credentials: tuple[str, str, str | None], rule: Rule, patient_id: object, state: State
) -> Patient | None:
    """Authenticate (``state.b2m_caller``), then apply ``rule`` and the reach to the path's patient, returned: at
    most two indexed reads on one pooled connection, no ORM session. Raises 401 / 403 / 404."""
    token, kind, csrf = credentials
    with engine.connect() as conn:
        found = lookup(conn, secret, token, kind)
        if found is None:
            raise Unauthorized("the token or session is unknown, expired or revoked")
        session, account = found
        if csrf is not None and not csrf_matches(secret, session, csrf):
            raise Forbidden(f"a request made with the session cookie must carry its {CSRF_HEADER} header")
        caller = state.b2m_caller = Caller(user=account, roles=account.roles, session=session)
        if not any(r in rule.roles for r in caller.roles):
            raise Forbidden(
                f"this is open to the {' or '.join(sorted(rule.roles))} role; "
                f"this account has {' and '.join(caller.roles) or 'no role'}"
            )
        if patient_id is None:
            return None
        pid = _as_id(patient_id)
        row = conn.execute(_PATIENT, {"patient_id": pid, "user_id": account.id}).first() if pid is not None else None
    if row is None or not _in_reach(caller, rule.roles, row.id, bool(row.in_team)):
        raise NotFound("no such patient")
    # A detached Patient with the stored columns (the routes read it; writers lock and reload the row).
    return Patient(**{c.key: row._mapping[c] for c in _PATIENT_COLUMNS})


def _in_reach(caller: Caller, reach: Mapping[str, Reach], patient_id: int, in_team: bool) -> bool:
    for role in caller.roles:
        how = reach.get(role)
        if how == "any" or (how == "own" and caller.user.patient_id == patient_id) or (how == "team" and in_team):
            return True
    return False


async def enforce(request: Request) -> None:
    """The app-wide dependency: apply the matched route's rule (see the module docstring).

    On SQLite the two indexed reads run here, on the event loop: a local read in WAL mode never waits on a writer
    and costs less than the hop to a thread. Elsewhere (a database server) they run in a thread."""
    route = request.scope.get("route")
    found = route_rule(route)
    if found is None:
        raise Forbidden("this route declares no access rule")
    if found.public:
        return
    state = request.state
    if found.audit is not None:
        state.b2m_audit = {"access": found.audit, "action": f"{request.method} {getattr(route, 'path', '?')}"}
    if found.client is not None:
        return  # the client's own credential is verified by the dependency its rule added (see rule())
    raw = request.path_params.get("patient_id")
    if raw is None and found.patient_query is not None:
        named = request.query_params.get(found.patient_query)
        raw = named.removeprefix("Patient/") if named is not None else None  # missing: the route's own 422
    engine: Engine = request.app.state.engine
    secret = settings_of(request).secret_key
    args = (engine, secret, _credentials(request), found, raw, state)
    patient = _check(*args) if is_sqlite(engine) else await run_in_threadpool(_check, *args)
    if patient is not None:
        state.b2m_patient = patient
        if found.audit is not None:
            state.b2m_audit["patient_id"] = patient.id


def _as_id(raw: object) -> int | None:
    text = str(raw)
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    return int(text)


def get_caller(request: Request) -> Caller:
    caller: Caller | None = getattr(request.state, "b2m_caller", None)
    if caller is None:  # only on a public route that asks for a caller: a programming error
        raise Unauthorized()
    return caller


def get_patient(request: Request) -> Patient:
    patient: Patient | None = getattr(request.state, "b2m_patient", None)
    if patient is None:
        raise NotFound("no such patient")
    return patient


# The dependencies are coroutines: FastAPI runs a plain-function dependency in a thread, and the hop to the thread
# and back costs more than these lookups.
async def _caller(request: Request) -> Caller:
    return get_caller(request)


async def _patient(request: Request) -> Patient:
    return get_patient(request)


async def _settings(request: Request) -> Settings:
    return settings_of(request)


CurrentCaller = Annotated[Caller, Depends(_caller)]
CurrentPatient = Annotated[Patient, Depends(_patient)]
SettingsDep = Annotated[Settings, Depends(_settings)]


def reach_filter(db: Session, caller: Caller, reach: Mapping[str, Reach]) -> tuple[bool, set[int], int | None]:
    """For listing patients: (every patient?, the care teams in reach, the own patient id in reach)."""
    everything = any(reach.get(r) == "any" for r in caller.roles)
    teams: set[int] = set()
    if any(reach.get(r) == "team" for r in caller.roles):
        teams = set(db.scalars(select(TeamMember.team_id).where(TeamMember.user_id == caller.id)))
    own = caller.user.patient_id if any(reach.get(r) == "own" for r in caller.roles) else None
    return everything, teams, own
