"""Errors on web pages are pages: the API's problem+json handlers stay as they are for ``/api/``; for every other
address the same handler runs first (it records the problem for the audit trail) and its status is answered with
an HTML page. Without a session, a page answers 401 with the login form (and comes back after logging in)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from b2m.errors import InputError
from b2m.service.problems import ServiceError
from b2m.service.web.common import LOGIN_COOKIE, new_login_token, render, safe_next

Handler = Callable[[Request, Exception], Awaitable[Response]]
TITLES = {
    400: "The request could not be read",
    401: "Please log in",
    403: "Not allowed",
    404: "Not found",
    409: "Conflicts with what is stored",
    413: "Too large",
    415: "Unsupported file",
    422: "Something in the form needs fixing",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Not available",
}


# Routes called by programs (REST, FHIR, CDS Hooks): their errors stay problem+json (or the FHIR
# OperationOutcome their router writes), never the web app's HTML error page.
MACHINE_PREFIXES = ("/api/", "/fhir/", "/cds-services")


def is_api(request: Request) -> bool:
    return request.url.path.startswith(MACHINE_PREFIXES)


def login_page(
    request: Request, *, status: int = 401, message: str | None = None, next_url: str | None = None
) -> Response:
    token = new_login_token()
    target = next_url if next_url is not None else safe_next(request.url.path if request.method == "GET" else None)
    response = render(
        request,
        "login.html.j2",
        {"login_token": token, "next": target or "", "message": message},
        status=status,
        headers={"WWW-Authenticate": 'Bearer realm="b2m"'} if status == 401 else None,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        path="/login",
        secure=request.app.state.settings.secure_cookies,
    )
    return response


def error_page(request: Request, status: int, detail: str, problem: dict[str, Any] | None = None) -> Response:
    return render(
        request,
        "error.html.j2",
        {"status": status, "title": TITLES.get(status, "Error"), "detail": detail, "problem": problem or {}},
        status=status,
    )


def _wrap(original: Handler) -> Handler:
    async def handler(request: Request, e: Exception) -> Response:
        answer = await original(request, e)  # records the problem for the audit trail
        if is_api(request):
            return answer
        status = answer.status_code
        try:
            problem = json.loads(bytes(answer.body)) if hasattr(answer, "body") else {}
        except ValueError:
            problem = {}
        if status == 401:
            return login_page(request)
        return error_page(request, status, str(problem.get("detail", "")), problem)

    return handler


def install(app: FastAPI) -> None:
    """Wrap the API's exception handlers (installed before) so that pages get pages."""
    for kind in (ServiceError, InputError, RequestValidationError, StarletteHTTPException, Exception):
        original: Any = app.exception_handlers[kind]
        app.add_exception_handler(kind, _wrap(original))
