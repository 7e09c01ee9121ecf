"""The admin's pages: users and their roles, care teams, the audit trail. An admin reads no clinical data here:
patients appear only as the service's ids in the audit trail, and by site id when linking a patient account."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select, update

from b2m.service.access import CurrentCaller, rule
from b2m.service.accounts import create_user
from b2m.service.db.engine import write_session
from b2m.service.db.models import AuditEvent, AuthSession, CareTeam, Patient, TeamMember, User, utcnow
from b2m.service.problems import ServiceError
from b2m.service.schemas import UserCreate
from b2m.service.web.common import PAGE_HEADERS, render

router = APIRouter(include_in_schema=False)
ADMIN = ("admin",)
ROLES = ("clinician", "lab", "patient", "admin")
AUDIT_PAGE = 100


def _page(request: Request, caller: Any, *, status: int = 200, **extra: Any) -> Response:
    with request.app.state.sessions() as db:
        users = list(db.scalars(select(User).order_by(User.username)))
        teams = list(db.scalars(select(CareTeam).order_by(CareTeam.name)))
        members: dict[int, list[int]] = {}
        for m in db.scalars(select(TeamMember)):
            members.setdefault(m.team_id, []).append(m.user_id)
        names = {u.id: u.username for u in users}
        rows = [
            {
                "user": u,
                "roles": u.role_names,
                "teams": [t.name for t in teams if u.id in members.get(t.id, [])],
            }
            for u in users
        ]
    ctx = {
        "rows": rows,
        "teams": [{"team": t, "members": [names.get(i, str(i)) for i in members.get(t.id, [])]} for t in teams],
        "users": users,
        "roles": ROLES,
        "form": {},
        "message": None,
        "error": None,
        **extra,
    }
    return render(request, "admin.html.j2", ctx, status=status, caller=caller)


def _back(message: str) -> RedirectResponse:
    return RedirectResponse(f"/admin?done={message}", status_code=303, headers=PAGE_HEADERS)


DONE = {
    "user": "User added.",
    "disabled": "User disabled.",
    "enabled": "User enabled.",
    "team": "Care team added.",
    "member": "Member added.",
}


@router.get("/admin", **rule(ADMIN))
def admin_page(request: Request, caller: CurrentCaller, done: Annotated[str, Query(max_length=20)] = "") -> Response:
    return _page(request, caller, message=DONE.get(done))


@router.post("/admin/users", **rule(ADMIN))
def add_user(
    request: Request,
    caller: CurrentCaller,
    username: Annotated[str, Form(max_length=64)] = "",
    roles: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI reads the default, never mutates it
    team_id: Annotated[str, Form(max_length=20)] = "",
    patient_site_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Add a user; the generated one-time password is shown once, on the answer page."""
    form = {"username": username, "roles": roles, "team_id": team_id, "patient_site_id": patient_site_id}
    try:
        with write_session(request.app.state.sessions) as db:
            pid = None
            if patient_site_id.strip():
                pid = db.scalar(select(Patient.id).where(Patient.site_id == patient_site_id.strip()))
                if pid is None:
                    return _page(request, caller, status=422, form=form, error="No patient with that site id.")
            teams = [int(team_id)] if team_id.isdigit() else []
            body = UserCreate(username=username.strip(), roles=roles, patient_id=pid, team_ids=teams)  # type: ignore[arg-type]
            user, password = create_user(db, body)
            created = user.username
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "form"
        return _page(request, caller, status=422, form=form, error=f"{where}: {first['msg']}")
    except ServiceError as e:
        return _page(request, caller, status=e.status, form=form, error=e.detail)
    return _page(request, caller, status=201, message=f"User {created} added.", password=(created, password))


def _set_disabled(request: Request, user_id: int, disabled: bool) -> None:
    with write_session(request.app.state.sessions) as db:
        user = db.get(User, user_id)
        if user is None:
            return
        user.disabled = disabled
        if disabled:
            db.execute(
                update(AuthSession)
                .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )


UserId = Annotated[int, Path(ge=1, le=2**62)]


@router.post("/admin/users/{user_id}/disable", **rule(ADMIN))
def disable(request: Request, user_id: UserId, caller: CurrentCaller) -> Response:
    _set_disabled(request, user_id, True)
    return _back("disabled")


@router.post("/admin/users/{user_id}/enable", **rule(ADMIN))
def enable(request: Request, user_id: UserId, caller: CurrentCaller) -> Response:
    _set_disabled(request, user_id, False)
    return _back("enabled")


@router.post("/admin/teams", **rule(ADMIN))
def add_team(request: Request, caller: CurrentCaller, name: Annotated[str, Form(max_length=100)] = "") -> Response:
    name = name.strip()
    if not name:
        return _page(request, caller, status=422, error="A care team needs a name.")
    with write_session(request.app.state.sessions) as db:
        if db.scalar(select(CareTeam.id).where(CareTeam.name == name)) is not None:
            return _page(request, caller, status=409, error="A care team of that name exists.")
        db.add(CareTeam(name=name))
    return _back("team")


@router.post("/admin/teams/{team_id}/members", **rule(ADMIN))
def add_member(
    request: Request,
    caller: CurrentCaller,
    team_id: Annotated[int, Path(ge=1, le=2**62)],
    user_id: Annotated[int, Form(ge=1, le=2**62)],
) -> Response:
    with write_session(request.app.state.sessions) as db:
        if db.get(CareTeam, team_id) is None or db.get(User, user_id) is None:
            return _page(request, caller, status=404, error="No such care team or user.")
        if db.get(TeamMember, (team_id, user_id)) is None:
            db.add(TeamMember(team_id=team_id, user_id=user_id))
    return _back("member")


@router.get("/admin/audit", **rule(ADMIN))
def audit_trail(
    request: Request,
    caller: CurrentCaller,
    user_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    patient_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    """The audit trail, newest first, filtered by user or patient (the service's id); page back with ``before``."""
    q = select(AuditEvent)
    if user_id is not None:
        q = q.where(AuditEvent.user_id == user_id)
    if patient_id is not None:
        q = q.where(AuditEvent.patient_id == patient_id)
    if before is not None:
        q = q.where(AuditEvent.id < before)
    with request.app.state.sessions() as db:
        events = list(db.scalars(q.order_by(AuditEvent.id.desc()).limit(AUDIT_PAGE)))
    older = events[-1].id if len(events) == AUDIT_PAGE else None
    return render(
        request,
        "audit.html.j2",
        {
            "events": events,
            "user_id": user_id,
            "patient_id": patient_id,
            "older": older,
            "now": dt.datetime.now(dt.UTC),
        },
        caller=caller,
    )
