"""What every page shares: the template environment, the user's locale, the CSRF token of the session, the page
response with its security headers, and the HTML answer to an error.

Pages are server-rendered Jinja2 templates (``templates/``), autoescaped; scripts and styles come only from
``/static`` (vendored htmx and uPlot, and the app's own ``app.js`` / ``app.css``), so the Content-Security-Policy
allows no inline script or style and no ``eval``.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from collections.abc import Mapping
from importlib import resources
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

import b2m
from b2m.report.summary import input_name, input_unit
from b2m.service.access import SESSION_COOKIE, Caller

# The session's CSRF token, kept beside the session cookie (HttpOnly, SameSite=Strict) so that the server can put
# it into the forms it renders; the database holds only its keyed hash, checked by the access rules.
CSRF_COOKIE = "b2m_csrf"
# A token of the login form itself (login CSRF): set with the form, compared when it comes back.
LOGIN_COOKIE = "b2m_login"
CSRF_FIELD = "csrf_token"
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
DEFAULT_LOCALE = "en_GB"
ROLE_HOME = {"clinician": "/patients", "patient": "/my", "lab": "/lab", "admin": "/admin"}


def template_folder() -> str:
    return str(resources.files("b2m.service.web").joinpath("templates"))


def static_folder() -> str:
    return str(resources.files("b2m.service.web").joinpath("static"))


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(template_folder()),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["version"] = b2m.__version__
    env.filters["stage"] = lambda x: str(x).replace("_", " ")
    env.filters["todate"] = lambda t: dt.datetime.fromtimestamp(int(t), dt.UTC).date()
    # An input by the name the summary gives it ("B2M", "LDH upper limit"), never its key ("ldh_uln_u_l")
    env.filters["input_name"] = input_name
    env.filters["input_unit"] = input_unit
    return env


# --------------------------------------------------------------------------------------------- locale


@functools.lru_cache(maxsize=64)
def _locale_of(header: str) -> Locale:
    """The first locale of an Accept-Language header that Babel knows (``en-US,en;q=0.9`` -> en_US)."""
    tags: list[tuple[float, str]] = []
    for i, part in enumerate(header.split(",")[:12]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and tag != "*":
            tags.append((-q + i * 1e-6, tag.strip()))
    for _, tag in sorted(tags):
        try:
            return Locale.parse(tag.replace("-", "_"))
        except (ValueError, UnknownLocaleError):
            continue
    return Locale.parse(DEFAULT_LOCALE)


def locale_of(request: Request) -> Locale:
    return _locale_of(request.headers.get("accept-language", "")[:200])


class Formats:
    """Dates and numbers in the user's locale (from the browser's Accept-Language)."""

    def __init__(self, locale: Locale) -> None:
        self.locale = locale

    @property
    def tag(self) -> str:
        """The BCP 47 tag of the page (``<html lang>``, and the charts' Intl formats)."""
        return str(self.locale).replace("_", "-")

    @property
    def decimal_symbol(self) -> str:
        return str(self.locale.number_symbols.get("latn", self.locale.number_symbols).get("decimal", "."))

    def date(self, d: dt.date | str | None) -> str:
        if d is None or d == "":
            return "–"
        if isinstance(d, str):
            try:
                day = dt.date.fromisoformat(d[:10])
            except ValueError:
                return d
        else:
            day = d
        return str(format_date(day, format="medium", locale=self.locale))

    def datetime(self, t: dt.datetime | None) -> str:
        if t is None:
            return "–"
        return str(format_datetime(t, format="medium", locale=self.locale)) + " UTC"

    def num(self, x: object, digits: int = 3) -> str:
        """A number with ``digits`` significant digits (whole numbers above that), locale separators."""
        if x is None:
            return "–"
        if isinstance(x, bool):
            return "yes" if x else "no"
        if isinstance(x, int):
            return str(format_decimal(x, locale=self.locale))
        if isinstance(x, float):
            rounded = float(f"{x:.{digits}g}") if abs(x) < 10**digits else round(x)
            return str(format_decimal(rounded, format="#,##0.######", locale=self.locale))
        return str(x)


# --------------------------------------------------------------------------------------------- pages


def csrf_token(request: Request) -> str:
    return request.cookies.get(CSRF_COOKIE, "")


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    caller: Caller | None = None,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """A page (or an htmx fragment) with the security headers of pages."""
    fmt = Formats(locale_of(request))
    ctx: dict[str, Any] = {
        "request": request,
        "fmt": fmt,
        "caller": caller if caller is not None else getattr(request.state, "b2m_caller", None),
        "csrf": csrf_token(request),
        "csrf_field": CSRF_FIELD,
        "role_home": ROLE_HOME,
        "path": request.url.path,
        **(context or {}),
    }
    html = environment().get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def home_of(roles: tuple[str, ...]) -> str:
    for role in ("clinician", "patient", "lab", "admin"):
        if role in roles:
            return ROLE_HOME[role]
    return "/calculators"


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


def safe_next(target: str | None) -> str | None:
    """A local address to go back to after logging in (never another site: ``//evil`` and ``/\\evil`` refused)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or len(target) > 300:
        return None
    if any(c in target for c in "\r\n\t") or target.startswith("/api/"):
        return None
    return target


__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "LOGIN_COOKIE",
    "PAGE_CSP",
    "PAGE_HEADERS",
    "SESSION_COOKIE",
    "Formats",
    "environment",
    "render",
]
