"""The FastAPI application: routers under ``/api/v1``, one access rule per route, problem+json errors.

:func:`create_app` takes :class:`~b2m.service.settings.Settings`; :func:`app_from_environment` is the factory
uvicorn's workers call (``b2m serve``), reading the same ``B2M_*`` variables in every worker.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from sqlalchemy import Engine

import b2m
from b2m.io.models import PatientDocument
from b2m.service import problems, web
from b2m.service.access import ACCESS_KEY, api_routes, enforce, route_rule
from b2m.service.audit import AuditMiddleware
from b2m.service.db.engine import make_engine, session_factory
from b2m.service.middleware import RequestContext
from b2m.service.routers import API_PREFIX, assess, audit, auth, cds, fhir, health, patients, results, users
from b2m.service.settings import Settings, from_environment

OPENAPI_URL = f"{API_PREFIX}/openapi.json"
log = logging.getLogger("b2m.service")


def create_app(settings: Settings, *, engine: Engine | None = None) -> FastAPI:
    settings.check()
    engine = engine or make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()  # graceful shutdown: uvicorn has finished the requests in flight

    app = FastAPI(
        title="b2m clinical service",
        version=b2m.__version__,
        summary="Serum beta-2 microglobulin in myeloma: staging, monitoring and reports over stored lab histories. "
        "Decision support, not diagnosis.",
        openapi_url=OPENAPI_URL,
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
        dependencies=[Depends(enforce)],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    for module in (health, auth, users, patients, results, assess, audit, fhir, cds):
        app.include_router(module.router)
    problems.install(app)
    web.install(app)  # the pages, their static files and their error pages (after the API's handlers)
    app.add_middleware(AuditMiddleware)
    app.add_middleware(RequestContext, max_body=settings.max_body_bytes, max_upload=settings.max_upload_bytes)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version="3.1.0",
        summary=app.summary,
        description="Every route needs a bearer token (OAuth2 password flow at /api/v1/auth/token) or the web "
        "app's session cookie, except health, readiness, this document and login. Errors are RFC 9457 "
        "problem details. `x-b2m-access` on each operation lists the roles that may call it and their reach.",
        routes=app.routes,
    )
    components = schema.setdefault("components", {})
    _add_model_schema(components.setdefault("schemas", {}), PatientDocument)
    components["securitySchemes"] = {
        "OAuth2": {"type": "oauth2", "flows": {"password": {"tokenUrl": f"{API_PREFIX}/auth/token", "scopes": {}}}},
        "SessionCookie": {"type": "apiKey", "in": "cookie", "name": "b2m_session"},
        "CdsClientJWT": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "CDS Hooks 2.0: a JWT signed by a trusted CDS client (RS384 / ES384), aud = the URL called",
        },
    }
    for route in api_routes(app):
        found = route_rule(route)
        if found is None or found.public:
            continue
        for method in route.methods or ():
            op = schema["paths"].get(route.path_format, {}).get(method.lower())
            if op is not None:
                op["security"] = [{"CdsClientJWT": []}] if found.client else [{"OAuth2": []}, {"SessionCookie": []}]
    schema["paths"][OPENAPI_URL] = {
        "get": {
            "summary": "This document",
            "operationId": "openapi",
            "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}},
            ACCESS_KEY: {"public": True, "roles": {}},
        }
    }
    app.openapi_schema = schema
    return schema


def _add_model_schema(schemas: dict[str, Any], model: type[BaseModel]) -> None:
    """A model of the edge (and the models it uses) as components of the OpenAPI document."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        schemas.setdefault(name, sub)
    schemas[model.__name__] = schema




def app_from_environment() -> FastAPI:
    """The uvicorn factory (``b2m serve``): settings from ``B2M_*``; the migrations were applied by the parent.

    Logs go to standard error, one line per request (method, route template, status, time, request id).
    """
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
    app = create_app(from_environment())
    _warm_up()
    return app


def _warm_up() -> None:
    """Import what requests will use, then move everything alive so far out of the garbage collector's view:
    a full collection otherwise walks every module object of the engine and its libraries (tens of ms, seen
    as the p99 of reads)."""
    import gc

    import b2m.assessment
    import b2m.io.series
    import b2m.monitor.monitor  # noqa: F401

    gc.collect()
    gc.freeze()
