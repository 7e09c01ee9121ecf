"""Liveness and readiness (no token)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text

import b2m
from b2m.service.access import rule
from b2m.service.db.engine import current_revision, head_revision
from b2m.service.problems import Unavailable, problems
from b2m.service.routers import API_PREFIX
from b2m.service.schemas import Health, Readiness

router = APIRouter(prefix=API_PREFIX, tags=["health"])


@router.get("/health", response_model=Health, **rule(public=True))
def health() -> Health:
    """The process is up."""
    return Health(status="ok", version=b2m.__version__)


@router.get("/ready", response_model=Readiness, responses=problems(503), **rule(public=True))
def ready(request: Request) -> Readiness:
    """The database answers and its schema is at this version's migration head."""
    engine = request.app.state.engine
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        revision = current_revision(engine)
    except Exception:  # any driver error means not ready
        raise Unavailable("the database is not reachable") from None
    head = head_revision()
    if revision != head:
        raise Unavailable(f"the database schema is at {revision}, this version needs {head}")
    return Readiness(status="ready", database=engine.dialect.name, revision=revision or "")
