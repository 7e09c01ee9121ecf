"""The web app: server-rendered pages of the clinical service, for clinicians, laboratories, patients and admins.

Pages are Jinja2 templates (``templates/``) over the service's own storage, access rules and audit; every route
declares its access rule like an API route (:mod:`b2m.service.access`), so the authorization-matrix test covers
the pages too. Scripts and styles are static files of this package (``static/``: vendored htmx and uPlot, see
``static/VENDORED.md``, and the app's own ``app.js`` / ``app.css``); no CDN, no build step. Core forms work without
JavaScript: a form post carries the session's CSRF token in a hidden field (:mod:`~b2m.service.web.csrf`).

Modules: :mod:`~b2m.service.web.calculators` (every rule of the registry from raw values, with
:mod:`~b2m.service.web.fields` and :mod:`~b2m.service.web.whatif`), :mod:`~b2m.service.web.clinician` (my patients,
a patient's timeline), :mod:`~b2m.service.web.patient` (the patient's own page), :mod:`~b2m.service.web.lab`,
:mod:`~b2m.service.web.admin`, :mod:`~b2m.service.web.auth` (log in and out) and :mod:`~b2m.service.web.errors`.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from b2m.service.web.common import static_folder
from b2m.service.web.csrf import FormCSRF


class Static(StaticFiles):
    """The package's static files; revalidated by ETag on each use (the service adds ``no-store`` otherwise)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_cache(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"cache-control", b"no-cache")]}
            await send(message)

        await super().__call__(scope, receive, send_with_cache)


def routers() -> list[object]:
    from b2m.service.web import admin, auth, calculators, clinician, lab, patient

    return [auth.router, calculators.router, clinician.router, patient.router, lab.router, admin.router]


def install(app: FastAPI) -> None:
    """Add the pages, the static files and the page error handlers to the service's app (after its API routers
    and problem handlers)."""
    from b2m.service.web import errors

    for r in routers():
        app.include_router(r)  # type: ignore[arg-type]
    app.mount("/static", Static(directory=static_folder()), name="static")
    errors.install(app)
    app.add_middleware(FormCSRF)


__all__ = ["install"]
