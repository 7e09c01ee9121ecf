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

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from b2m.service.db.models import AuthSession, Patient, TeamMember, User
from b2m.service.problems import Forbidden, NotFound, Unauthorized
from b2m.service.security import csrf_matches, lookup
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
    user: User
    roles: tuple[str, ...]
    session: AuthSession

    @property
    def id(self) -> int:
        return self.user.id


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Iterator[Session]:
    """One database session per request (reads; writers open their own write transaction)."""
    factory: sessionmaker[Session] = request.app.state.sessions
    with factory() as db:
        yield db


# Closed when the route function returns, before the response is sent: the audit event that the middleware then
# writes takes its own connection, and a request never holds two.
DB = Annotated[Session, Depends(get_db, scope="function")]


def _authenticate(request: Request, db: Session, settings: Settings) -> Caller:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if header:
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must be 'Bearer <token>'")
        found = lookup(db, settings.secret_key, token.strip(), "bearer")
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            raise Unauthorized()
        found = lookup(db, settings.secret_key, cookie, "cookie")
        unsafe = request.method not in SAFE_METHODS
        if (
            found is not None
            and unsafe
            and not csrf_matches(settings.secret_key, found[0], request.headers.get(CSRF_HEADER))
        ):
            raise Forbidden(f"a request made with the session cookie must carry its {CSRF_HEADER} header")
    if found is None:
        raise Unauthorized("the token or session is unknown, expired or revoked")
    session, user = found
    return Caller(user=user, roles=user.role_names, session=session)


def _in_reach(db: Session, caller: Caller, reach: Mapping[str, Reach], patient: Patient) -> bool:
    for role in caller.roles:
        how = reach.get(role)
        if how == "any":
            return True
        if how == "own" and caller.user.patient_id == patient.id:
            return True
        if how == "team" and patient.team_id is not None:
            member = db.execute(
                select(TeamMember.user_id).where(TeamMember.team_id == patient.team_id, TeamMember.user_id == caller.id)
            ).first()
            if member is not None:
                return True
    return False


def enforce(request: Request, db: DB) -> None:
    """The app-wide dependency: apply the matched route's rule (see the module docstring)."""
    route = request.scope.get("route")
    found = route_rule(route)
    if found is None:
        raise Forbidden("this route declares no access rule")
    if found.public:
        return
    settings = settings_of(request)
    state = request.state
    if found.audit is not None:
        state.b2m_audit = {"access": found.audit, "action": f"{request.method} {getattr(route, 'path', '?')}"}
    if found.client is not None:
        return  # the client's own credential is verified by the dependency its rule added (see rule())
    caller = _authenticate(request, db, settings)
    state.b2m_caller = caller
    if not any(r in found.roles for r in caller.roles):
        raise Forbidden("the caller's roles do not allow this")
    raw = request.path_params.get("patient_id")
    if raw is None and found.patient_query is not None:
        named = request.query_params.get(found.patient_query)
        raw = named.removeprefix("Patient/") if named is not None else None  # missing: the route's own 422
    if raw is not None:
        pid = _as_id(raw)
        patient = db.get(Patient, pid) if pid is not None else None
        if patient is None or not _in_reach(db, caller, found.roles, patient):
            raise NotFound("no such patient")
        state.b2m_patient = patient
        if found.audit is not None:
            state.b2m_audit["patient_id"] = patient.id
    # Give the connection back (the loaded caller and patient stay readable): a write route opens its own write
    # transaction, and the connection pool must never wait on a request that waits on it.
    db.close()


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


CurrentCaller = Annotated[Caller, Depends(get_caller)]
CurrentPatient = Annotated[Patient, Depends(get_patient)]
SettingsDep = Annotated[Settings, Depends(settings_of)]


def reach_filter(db: Session, caller: Caller, reach: Mapping[str, Reach]) -> tuple[bool, set[int], int | None]:
    """For listing patients: (every patient?, the care teams in reach, the own patient id in reach)."""
    everything = any(reach.get(r) == "any" for r in caller.roles)
    teams: set[int] = set()
    if any(reach.get(r) == "team" for r in caller.roles):
        teams = set(db.scalars(select(TeamMember.team_id).where(TeamMember.user_id == caller.id)))
    own = caller.user.patient_id if any(reach.get(r) == "own" for r in caller.roles) else None
    return everything, teams, own
