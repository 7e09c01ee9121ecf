"""Log in and out: OAuth2 password flow (bearer tokens) and the web app's cookie session with its CSRF token.

Failed logins are counted in the database per user name and per client address; over the limit the service
answers 429 with ``Retry-After`` until the window has passed, whichever worker is asked.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from b2m.service.access import CSRF_HEADER, SESSION_COOKIE, CurrentCaller, SettingsDep, rule
from b2m.service.db.engine import write_session
from b2m.service.db.models import AuthSession, LoginAttempt, User, utcnow
from b2m.service.problems import TooManyRequests, Unauthorized, problems
from b2m.service.routers import API_PREFIX
from b2m.service.schemas import LoginIn, Me, PasswordChange, SessionOut, TokenOut
from b2m.service.security import hash_password, issue, keyed_hash, verify_password
from b2m.service.settings import Settings

router = APIRouter(prefix=f"{API_PREFIX}/auth", tags=["auth"])
ALL_ROLES = ("clinician", "lab", "patient", "admin")
BAD_LOGIN = "incorrect user name or password, or the account is disabled"


def authenticate(
    factory: sessionmaker[Session], settings: Settings, username: str, password: str, address: str, kind: str
) -> tuple[User, str, str | None, dt.datetime]:
    lifetime = (
        dt.timedelta(minutes=settings.token_minutes) if kind == "bearer" else dt.timedelta(hours=settings.session_hours)
    )
    user_key = keyed_hash(settings.secret_key, username.casefold())
    since = utcnow() - dt.timedelta(minutes=settings.login_window_minutes)
    with write_session(factory) as db:
        by_user = db.scalar(
            select(func.count()).where(
                LoginAttempt.user_key == user_key, LoginAttempt.at > since, LoginAttempt.success.is_(False)
            )
        )
        by_address = db.scalar(
            select(func.count()).where(
                LoginAttempt.address == address, LoginAttempt.at > since, LoginAttempt.success.is_(False)
            )
        )
        if (by_user or 0) >= settings.login_max_failures_per_user or (
            by_address or 0
        ) >= settings.login_max_failures_per_address:
            raise TooManyRequests(
                "too many failed logins; try again later",
                headers={"Retry-After": str(settings.login_window_minutes * 60)},
            )
        user = db.scalar(select(User).where(User.username == username))
        ok = verify_password(user.password_hash if user else None, password) and user is not None
        ok = ok and user is not None and not user.disabled
        db.add(LoginAttempt(user_key=user_key, address=address, success=ok))
        if not ok or user is None:
            db.commit()
            raise Unauthorized(BAD_LOGIN)
        issued = issue(db, settings.secret_key, user, kind=kind, lifetime=lifetime)
    return user, issued.token, issued.csrf, issued.expires_at


def _address(request: Request) -> str:
    return (request.client.host if request.client else "unknown")[:64]


@router.post("/token", response_model=TokenOut, responses=problems(401, 422, 429), **rule(public=True))
def token(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()], settings: SettingsDep) -> TokenOut:
    """OAuth2 password flow: a short-lived bearer token (``B2M_TOKEN_MINUTES``, default 30)."""
    _, tok, _, _ = authenticate(
        request.app.state.sessions, settings, form.username, form.password, _address(request), "bearer"
    )
    return TokenOut(access_token=tok, token_type="bearer", expires_in=settings.token_minutes * 60)


@router.post("/session", response_model=SessionOut, responses=problems(401, 422, 429), **rule(public=True))
def session(request: Request, body: LoginIn, response: Response, settings: SettingsDep) -> SessionOut:
    """The web app's login: an HttpOnly, SameSite=Strict session cookie and the CSRF token for its changes."""
    _, tok, csrf, expires = authenticate(
        request.app.state.sessions, settings, body.username, body.password, _address(request), "cookie"
    )
    response.set_cookie(
        SESSION_COOKIE,
        tok,
        max_age=settings.session_hours * 3600,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="strict",
        path="/",
    )
    assert csrf is not None
    return SessionOut(csrf_token=csrf, expires_at=expires)


@router.post("/logout", status_code=204, responses=problems(401, 403), **rule(ALL_ROLES))
def logout(request: Request, caller: CurrentCaller, response: Response) -> Response:
    """Revoke the token or session used for this call (every worker sees it at once)."""
    with write_session(request.app.state.sessions) as db:
        db.execute(update(AuthSession).where(AuthSession.id == caller.session.id).values(revoked_at=utcnow()))
    out = Response(status_code=204)
    out.delete_cookie(SESSION_COOKIE, path="/")
    return out


@router.get("/me", response_model=Me, responses=problems(401, 403), **rule(ALL_ROLES))
def me(caller: CurrentCaller) -> Me:
    """Who the token belongs to."""
    return Me(
        id=caller.id,
        username=caller.user.username,
        roles=list(caller.roles),  # type: ignore[arg-type]
        patient_id=caller.user.patient_id,
    )


@router.post("/password", status_code=204, responses=problems(401, 403, 422), **rule(ALL_ROLES))
def change_password(request: Request, body: PasswordChange, caller: CurrentCaller) -> Response:
    """Change one's own password (a one-time password should be changed at first login); other sessions of the
    user are revoked."""
    if not verify_password(caller.user.password_hash, body.current_password):
        raise Unauthorized("the current password is not correct")
    with write_session(request.app.state.sessions) as db:
        db.execute(update(User).where(User.id == caller.id).values(password_hash=hash_password(body.new_password)))
        db.execute(
            update(AuthSession)
            .where(
                AuthSession.user_id == caller.id, AuthSession.id != caller.session.id, AuthSession.revoked_at.is_(None)
            )
            .values(revoked_at=utcnow())
        )
    return Response(status_code=204)


__all__ = ["CSRF_HEADER", "router"]
