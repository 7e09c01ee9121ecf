"""Users, roles and care teams (admins). An admin manages accounts and reads no clinical data unless the same
account also has the clinician role."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from b2m.service.access import DB, rule
from b2m.service.accounts import create_user, user_out
from b2m.service.db.engine import write_session
from b2m.service.db.models import AuthSession, CareTeam, TeamMember, User, utcnow
from b2m.service.problems import Conflict, NotFound, problems
from b2m.service.routers import API_PREFIX
from b2m.service.schemas import TeamCreate, TeamMemberIn, TeamOut, UserCreate, UserCreated, UserOut, UserPage

router = APIRouter(prefix=API_PREFIX, tags=["users"])
ADMIN = ("admin",)
UserId = Annotated[int, Path(ge=1, le=2**62)]
TeamId = Annotated[int, Path(ge=1, le=2**62)]


@router.get("/users", response_model=UserPage, responses=problems(401, 403, 422), **rule(ADMIN))
def list_users(
    db: DB,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> UserPage:
    users = db.scalars(select(User).order_by(User.id).offset(offset).limit(limit))
    total = db.scalar(select(func.count()).select_from(User)) or 0
    return UserPage(items=[user_out(db, u) for u in users], total=total)


@router.post(
    "/users", status_code=201, response_model=UserCreated, responses=problems(401, 403, 404, 409, 422), **rule(ADMIN)
)
def add_user(request: Request, body: UserCreate) -> UserCreated:
    """Add a user; without a password, a one-time password is generated and returned once."""
    with write_session(request.app.state.sessions) as db:
        user, generated = create_user(db, body)
        out = user_out(db, user)
    return UserCreated(**out.model_dump(), one_time_password=generated)


def _set_disabled(request: Request, user_id: int, disabled: bool) -> UserOut:
    with write_session(request.app.state.sessions) as db:
        user = db.get(User, user_id)
        if user is None:
            raise NotFound("no such user")
        user.disabled = disabled
        if disabled:
            db.execute(
                update(AuthSession)
                .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
        db.flush()
        return user_out(db, user)


@router.post("/users/{user_id}/disable", response_model=UserOut, responses=problems(401, 403, 404, 422), **rule(ADMIN))
def disable_user(request: Request, user_id: UserId) -> UserOut:
    """Disable an account and revoke its tokens and sessions."""
    return _set_disabled(request, user_id, True)


@router.post("/users/{user_id}/enable", response_model=UserOut, responses=problems(401, 403, 404, 422), **rule(ADMIN))
def enable_user(request: Request, user_id: UserId) -> UserOut:
    return _set_disabled(request, user_id, False)


def team_out(db: Session, team: CareTeam) -> TeamOut:
    members = db.scalars(select(TeamMember.user_id).where(TeamMember.team_id == team.id).order_by(TeamMember.user_id))
    return TeamOut(id=team.id, name=team.name, member_ids=list(members))


@router.get("/teams", response_model=list[TeamOut], responses=problems(401, 403), **rule(ADMIN))
def list_teams(db: DB) -> list[TeamOut]:
    return [team_out(db, t) for t in db.scalars(select(CareTeam).order_by(CareTeam.id))]


@router.post("/teams", status_code=201, response_model=TeamOut, responses=problems(401, 403, 409, 422), **rule(ADMIN))
def add_team(request: Request, body: TeamCreate) -> TeamOut:
    with write_session(request.app.state.sessions) as db:
        if db.scalar(select(CareTeam.id).where(CareTeam.name == body.name)) is not None:
            raise Conflict("a care team of that name exists", field="name", accepted="a new name")
        team = CareTeam(name=body.name)
        db.add(team)
        db.flush()
        return team_out(db, team)


@router.post("/teams/{team_id}/members", response_model=TeamOut, responses=problems(401, 403, 404, 422), **rule(ADMIN))
def add_member(request: Request, team_id: TeamId, body: TeamMemberIn) -> TeamOut:
    with write_session(request.app.state.sessions) as db:
        team = db.get(CareTeam, team_id)
        if team is None:
            raise NotFound("no such care team")
        if db.get(User, body.user_id) is None:
            raise NotFound("no such user")
        if db.get(TeamMember, (team_id, body.user_id)) is None:
            db.add(TeamMember(team_id=team_id, user_id=body.user_id))
            db.flush()
        return team_out(db, team)
