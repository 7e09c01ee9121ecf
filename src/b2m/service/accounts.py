"""Accounts: adding users with their roles and care teams (the admin API and ``b2m user`` share this)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from b2m.service.db.models import CareTeam, Patient, TeamMember, User, UserRole
from b2m.service.problems import Conflict, NotFound
from b2m.service.schemas import UserCreate, UserOut
from b2m.service.security import hash_password, new_password


def user_out(db: Session, user: User) -> UserOut:
    teams = list(
        db.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user.id).order_by(TeamMember.team_id))
    )
    return UserOut(
        id=user.id,
        username=user.username,
        roles=list(user.role_names),  # type: ignore[arg-type]
        disabled=user.disabled,
        patient_id=user.patient_id,
        team_ids=teams,
        created_at=user.created_at,
    )


def create_user(db: Session, body: UserCreate) -> tuple[User, str | None]:
    """Add a user (the caller's write transaction); returns the generated one-time password, if any."""
    if "patient" in body.roles and body.patient_id is None:
        raise Conflict("a user with the patient role needs patient_id", field="patient_id", accepted="a patient id")
    if body.patient_id is not None and db.get(Patient, body.patient_id) is None:
        raise NotFound("no such patient", kind="not-found")
    if db.scalar(select(User.id).where(User.username == body.username)) is not None:
        raise Conflict("the user name is taken", field="username", accepted="a new user name")
    for t in body.team_ids:
        if db.get(CareTeam, t) is None:
            raise NotFound(f"no care team {t}")
    generated = None if body.password is not None else new_password()
    user = User(
        username=body.username,
        password_hash=hash_password(body.password or generated or ""),
        patient_id=body.patient_id,
        roles=[UserRole(role=r) for r in sorted(set(body.roles))],
    )
    db.add(user)
    try:
        db.flush()
    except IntegrityError:
        raise Conflict("the user name is taken", field="username", accepted="a new user name") from None
    for t in sorted(set(body.team_ids)):
        db.add(TeamMember(team_id=t, user_id=user.id))
    db.flush()
    return user, generated


def team_named(db: Session, name: str) -> CareTeam:
    """The care team called ``name``, created when missing."""
    team = db.scalar(select(CareTeam).where(CareTeam.name == name))
    if team is None:
        team = CareTeam(name=name)
        db.add(team)
        db.flush()
    return team
