"""The audit trail for admins: paged reading and a streamed export (JSON lines)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, sessionmaker

from b2m.service.access import DB, rule
from b2m.service.db.models import AuditEvent
from b2m.service.problems import problems
from b2m.service.routers import API_PREFIX
from b2m.service.schemas import AuditOut, AuditPage

router = APIRouter(prefix=f"{API_PREFIX}/audit", tags=["audit"])
EXPORT_CHUNK = 1000


def _query(patient_id: int | None, user_id: int | None, since: dt.datetime | None, after: int) -> Select[AuditEvent]:
    q = select(AuditEvent).where(AuditEvent.id > after)
    if patient_id is not None:
        q = q.where(AuditEvent.patient_id == patient_id)
    if user_id is not None:
        q = q.where(AuditEvent.user_id == user_id)
    if since is not None:
        q = q.where(AuditEvent.at >= since.replace(tzinfo=None))
    return q.order_by(AuditEvent.id)


def _out(e: AuditEvent) -> AuditOut:
    return AuditOut.model_validate(e, from_attributes=True)


Big = Annotated[int | None, Query(ge=1, le=2**62)]


@router.get("", response_model=AuditPage, responses=problems(401, 403, 422), **rule(("admin",)))
def read_audit(
    db: DB,
    patient_id: Big = None,
    user_id: Big = None,
    since: Annotated[dt.datetime | None, Query()] = None,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    """Events in the order they were recorded, filtered by patient, user or time; page with ``after``."""
    items = [_out(e) for e in db.scalars(_query(patient_id, user_id, since, after).limit(limit))]
    return AuditPage(items=items, next_after=items[-1].id if len(items) == limit else None)


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/x-ndjson": {}}, "description": "One event per line"},
        **problems(401, 403, 422),
    },
    **rule(("admin",)),
)
def export_audit(
    request: Request,
    patient_id: Big = None,
    user_id: Big = None,
    since: Annotated[dt.datetime | None, Query()] = None,
) -> StreamingResponse:
    """Every matching event as JSON lines, streamed in pages (bounded memory)."""
    factory: sessionmaker[Session] = request.app.state.sessions

    def lines() -> Iterator[bytes]:
        after = 0
        while True:
            with factory() as db:
                page = list(db.scalars(_query(patient_id, user_id, since, after).limit(EXPORT_CHUNK)))
                chunk = [_out(e).model_dump_json() for e in page]
            if not page:
                return
            after = page[-1].id
            yield ("\n".join(chunk) + "\n").encode()

    return StreamingResponse(lines(), media_type="application/x-ndjson")


__all__ = ["json", "router"]
