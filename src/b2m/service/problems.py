"""RFC 9457 problem details: every error the API returns, with the CLI's field / problem / accepted-forms text.

An :class:`~b2m.errors.InputError` from the engine becomes a 422 whose ``field``, ``problem``, ``accepted`` and
``hint`` are exactly what ``b2m assess`` prints on one line; the request's own validation errors (pydantic) take
the same shape. Server errors carry the request id only, never a value from the request.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from b2m.errors import B2MError, InputError

log = logging.getLogger("b2m.service")

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:b2m:problem:"


class FieldProblem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str = Field(description="Where in the request: a JSON path such as labs.b2m.unit, or a parameter name.")
    problem: str
    accepted: str = ""


class Problem(BaseModel):
    """An RFC 9457 problem detail, extended with the CLI's structured fields."""

    model_config = ConfigDict(extra="forbid")
    type: str = Field(description="A URN naming the kind of problem (about:blank for plain HTTP statuses).")
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    request_id: str = Field(description="Quote it when reporting a problem; logs carry it, never patient data.")
    field: str | None = None
    problem: str | None = None
    accepted: str | None = None
    hint: str | None = None
    errors: list[FieldProblem] | None = None


class ServiceError(B2MError):
    """An error with an HTTP status (raised by routes and dependencies)."""

    status = 400
    kind = "bad-request"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None, kind: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers
        if kind is not None:
            self.kind = kind


class Unauthorized(ServiceError):
    status = 401
    kind = "unauthorized"

    def __init__(self, detail: str = "a valid bearer token or session is required") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ServiceError):
    status = 403
    kind = "forbidden"


class NotFound(ServiceError):
    status = 404
    kind = "not-found"


class Conflict(ServiceError):
    """A write that contradicts what is stored (a duplicate, a conflicting same-day value, a lost race)."""

    status = 409
    kind = "conflict"

    def __init__(self, detail: str, *, field: str | None = None, accepted: str = "", kind: str | None = None) -> None:
        super().__init__(detail, kind=kind)
        self.field = field
        self.accepted = accepted


class TooLarge(ServiceError):
    status = 413
    kind = "too-large"


class UnsupportedMedia(ServiceError):
    status = 415
    kind = "unsupported-media-type"


class TooManyRequests(ServiceError):
    status = 429
    kind = "rate-limited"


class Unavailable(ServiceError):
    status = 503
    kind = "unavailable"


def request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", "-"))


def problem_response(
    request: Request,
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    title = HTTPStatus(status).phrase
    # For the audit trail: what kind of problem, and where (never the refused value).
    field = extra.get("field")
    request.state.b2m_problem = f"{kind or status}" + (f" at {field}" if field else "")
    body = Problem(
        type=TYPE_PREFIX + kind if kind else "about:blank",
        title=title,
        status=status,
        detail=detail,
        request_id=request_id(request),
        **extra,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, headers=headers, media_type=PROBLEM_JSON
    )


def input_problem(request: Request, e: InputError, status: int = 422) -> JSONResponse:
    return problem_response(
        request,
        status,
        e.one_line(),
        kind="invalid-input",
        field=e.field,
        problem=e.problem,
        accepted=e.accepted,
        hint=e.hint or None,
    )


def _loc(loc: Sequence[int | str]) -> str:
    """pydantic's location as the CLI writes a field: body.labs.b2m -> labs.b2m, items as [i]."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "body"


def validation_problem(request: Request, errors: Iterable[Any]) -> JSONResponse:
    items = [
        FieldProblem(field=_loc(e.get("loc", ())), problem=str(e.get("msg", "invalid")), accepted=_accepted(e))
        for e in errors
    ]
    first = items[0] if items else FieldProblem(field="body", problem="invalid request")
    detail = "; ".join(f"{i.field}: {i.problem}" for i in items[:5]) or "invalid request"
    return problem_response(
        request,
        422,
        detail,
        kind="invalid-input",
        field=first.field,
        problem=first.problem,
        accepted=first.accepted or None,
        errors=items,
    )


def _accepted(e: Any) -> str:
    ctx = e.get("ctx") or {}
    if "expected" in ctx:
        return str(ctx["expected"])
    kind = str(e.get("type", ""))
    return {
        "missing": "a value is required",
        "extra_forbidden": "only the documented keys",
        "int_type": "a whole number",
        "int_parsing": "a whole number",
        "float_type": "a number",
        "string_type": "a string",
        "bool_type": "true or false",
        "date_from_datetime_parsing": "an ISO 8601 date such as 2026-01-31",
        "date_parsing": "an ISO 8601 date such as 2026-01-31",
        "date_type": "an ISO 8601 date such as 2026-01-31",
    }.get(kind, "")


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""

    async def on_service_error(request: Request, e: Exception) -> JSONResponse:
        assert isinstance(e, ServiceError)
        extra: dict[str, Any] = {}
        if isinstance(e, Conflict):
            extra = {"field": e.field, "accepted": e.accepted or None}
        return problem_response(request, e.status, e.detail, kind=e.kind, headers=e.headers, **extra)

    async def on_input_error(request: Request, e: Exception) -> JSONResponse:
        assert isinstance(e, InputError)
        return input_problem(request, e)

    async def on_validation(request: Request, e: Exception) -> JSONResponse:
        assert isinstance(e, RequestValidationError)
        return validation_problem(request, e.errors())

    async def on_http(request: Request, e: Exception) -> JSONResponse:
        assert isinstance(e, StarletteHTTPException)
        headers = dict(e.headers) if e.headers else None
        return problem_response(request, e.status_code, str(e.detail), headers=headers)

    async def on_unexpected(request: Request, e: Exception) -> JSONResponse:
        # The message may quote request data: log the type and the request id only.
        log.error("request %s failed: %s", request_id(request), type(e).__name__)
        return problem_response(request, 500, f"internal error; quote request id {request_id(request)}")

    app.add_exception_handler(ServiceError, on_service_error)
    app.add_exception_handler(InputError, on_input_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


DESCRIPTIONS = {
    400: "Bad request",
    401: "No valid bearer token or session",
    403: "The caller's roles do not allow this, or a CSRF token is missing",
    404: "No such resource, or none the caller may see",
    409: "Conflicts with what is stored (duplicate, conflicting same-day value, concurrent write)",
    413: "Request body too large",
    415: "Unsupported content type",
    422: "Invalid input: field, problem and accepted forms as the command line prints them",
    429: "Too many failed logins; retry after the Retry-After header's seconds",
    503: "The database is not reachable or not migrated",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the problem statuses a route can return."""
    return {
        s: {
            "model": Problem,
            "description": DESCRIPTIONS[s],
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for s in statuses
    }
