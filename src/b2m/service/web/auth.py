"""Logging in and out of the web app: the service's cookie session (:func:`b2m.service.routers.auth.authenticate`,
the same rate limits) plus the session's CSRF token in a second HttpOnly cookie, so that the pages can put it into
their forms."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import update
from starlette.routing import Match

from b2m.service.access import SESSION_COOKIE, CurrentCaller, SettingsDep, api_routes, route_rule, rule
from b2m.service.db.engine import write_session
from b2m.service.db.models import AuthSession, utcnow
from b2m.service.problems import ServiceError
from b2m.service.routers.auth import ALL_ROLES, authenticate
from b2m.service.security import lookup
from b2m.service.web.common import CSRF_COOKIE, LOGIN_COOKIE, PAGE_HEADERS, home_of, safe_next
from b2m.service.web.errors import login_page

router = APIRouter(include_in_schema=False)


def _redirect(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=303, headers=PAGE_HEADERS)


@router.get("/", **rule(public=True))
def home(request: Request, settings: SettingsDep) -> Response:
    """The logged-in user's own start page; the login form otherwise."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with request.app.state.sessions() as db:
            found = lookup(db, settings.secret_key, token, "cookie")
        if found is not None:
            return _redirect(home_of(found[1].roles))
    return login_page(request, status=200, next_url="")


@router.get("/login", **rule(public=True))
def login_form(request: Request, next: str = "") -> Response:
    return login_page(request, status=200, next_url=safe_next(next) or "")


@router.post("/login", **rule(public=True))
def login(
    request: Request,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    login_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    expected = request.cookies.get(LOGIN_COOKIE, "")
    target = safe_next(next)
    if not expected or not hmac.compare_digest(expected, login_token):
        return login_page(
            request, status=403, message="The login form had expired. Please try again.", next_url=target or ""
        )
    address = (request.client.host if request.client else "unknown")[:64]
    try:
        user, token, csrf, _ = authenticate(
            request.app.state.sessions, settings, username.strip(), password, address, "cookie"
        )
    except ServiceError as e:
        return login_page(request, status=e.status, message=_login_message(e.status), next_url=target or "")
    if target is not None and not _opens_for(request, target, user.role_names):
        target = None  # a page the user's roles cannot open (a patient sent to a clinician's address): their home
    response = _redirect(target or home_of(user.role_names))
    age = settings.session_hours * 3600
    secure = settings.secure_cookies
    response.set_cookie(SESSION_COOKIE, token, max_age=age, httponly=True, secure=secure, samesite="strict", path="/")
    response.set_cookie(CSRF_COOKIE, csrf or "", max_age=age, httponly=True, secure=secure, samesite="strict", path="/")
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


def _opens_for(request: Request, target: str, roles: tuple[str, ...]) -> bool:
    """Whether a GET of the local address ``target`` reaches a page whose access rule admits one of ``roles``
    (the reach to a particular patient is still checked when the page is opened)."""
    scope = {"type": "http", "method": "GET", "path": target.split("?", 1)[0].split("#", 1)[0]}
    for route in api_routes(request.app):
        match, _ = route.matches(scope)
        if match == Match.FULL:
            found = route_rule(route)
            return found is not None and (found.public or any(r in found.roles for r in roles))
    return False


def _login_message(status: int) -> str:
    if status == 429:
        return "Too many failed attempts. Please wait 15 minutes and try again."
    return "The user name or password is not correct, or the account is disabled."


@router.post("/logout", **rule(ALL_ROLES))
def logout(request: Request, caller: CurrentCaller) -> Response:
    """End the session (every worker sees it at once) and clear the cookies."""
    with write_session(request.app.state.sessions) as db:
        db.execute(update(AuthSession).where(AuthSession.id == caller.session.id).values(revoked_at=utcnow()))
    response = _redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response
