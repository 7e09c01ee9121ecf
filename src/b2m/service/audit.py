"""The audit trail: every read and write of patient data, append-only.

Who (user id, name, roles), what (method and route template), which patient, when, from where (client address)
and the outcome (HTTP status) are recorded for every call of a route whose access rule names an audit kind.
Writes record their event in the same transaction as the data (a stored write is never unaudited); every other
call is recorded by :class:`AuditMiddleware` before the response leaves: if the event cannot be stored, the
caller gets a 503 instead of the data (fail closed). No code path updates or deletes an event, and the database
refuses it too (triggers created by the migrations).

The events of reads are written by :class:`AuditWriter` with a group commit: the events of the requests that
arrive while a transaction is being committed go together into the next one, so that concurrent reads share one
commit (one disk flush) instead of queueing for one each. Every request still waits until its own event is
committed before its response starts.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass, field
from typing import Any

import anyio
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from b2m.service.db.engine import write_session
from b2m.service.db.models import AuditEvent, utcnow

log = logging.getLogger("b2m.service")


def event_values(state: dict[str, Any], outcome: int, detail: str | None = None) -> dict[str, Any]:
    """The columns of the request's audit event."""
    pending = state.get("b2m_audit") or {}
    caller = state.get("b2m_caller")
    user = caller.user if caller is not None else None
    return {
        "at": utcnow(),
        "user_id": user.id if user is not None else None,
        "username": user.username if user is not None else None,
        "roles": ",".join(caller.roles) if caller is not None else "",
        "action": str(pending.get("action", "?"))[:120],
        "access": str(pending.get("access", "read")),
        "patient_id": pending.get("patient_id"),
        "address": (state.get("b2m_client") or None),
        "outcome": outcome,
        "request_id": str(state.get("request_id", "-")),
        # What was done, or why it was refused (problem kind and field, never a value).
        "detail": str(detail or state.get("b2m_problem") or "")[:200] or None,
    }


def event_row(state: dict[str, Any], outcome: int, detail: str | None = None) -> AuditEvent:
    return AuditEvent(**event_values(state, outcome, detail))


def record_in(db: Session, state: dict[str, Any], outcome: int, detail: str | None = None) -> None:
    """Add the event to the caller's (write) transaction; the middleware then records nothing more."""
    db.add(event_row(state, outcome, detail))
    state["b2m_audited"] = True


@dataclass
class _Queue:
    events: list[tuple[dict[str, Any], asyncio.Future[None]]] = field(default_factory=list)
    writing: asyncio.Task[None] | None = None


class AuditWriter:
    """Group commit of audit events (see the module docstring): :meth:`write` returns once the event is committed,
    or raises if it could not be. Nothing is kept after that: the events are in the database, as before."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        # One queue per event loop (a worker has one; the test client may start several, one after another).
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue] = weakref.WeakKeyDictionary()

    async def write(self, event: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _Queue()
        done: asyncio.Future[None] = loop.create_future()
        queue.events.append((event, done))
        if queue.writing is None:
            queue.writing = loop.create_task(self._drain(queue))
        await done

    async def _drain(self, queue: _Queue) -> None:
        try:
            while queue.events:
                batch, queue.events = queue.events, []
                try:
                    await anyio.to_thread.run_sync(self._insert, [e for e, _ in batch])
                except Exception as e:  # every request of the batch fails closed
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(e)
                    continue
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
        finally:
            queue.writing = None

    def _insert(self, events: list[dict[str, Any]]) -> None:
        with write_session(self.factory) as db:
            db.execute(insert(AuditEvent), events)


class AuditMiddleware:
    """Records the audit event of an audited route when its response starts (or when it fails)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.writer: AuditWriter | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        client = scope.get("client")
        state["b2m_client"] = client[0][:64] if client else None
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start" and not started:
                started = True
                if _pending(state):
                    try:
                        await self._store(scope, state, int(message["status"]))
                    except Exception as e:  # fail closed: no data without its audit event
                        log.error("request %s: audit event not stored (%s)", state.get("request_id"), type(e).__name__)
                        await _unavailable(send, state)
                        state["b2m_blocked"] = True
                        return
            if state.get("b2m_blocked"):
                return
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            if not started and _pending(state):
                try:
                    await self._store(scope, state, 500)
                except Exception:
                    log.error("request %s: audit event not stored", state.get("request_id"))
            raise

    async def _store(self, scope: Scope, state: dict[str, Any], outcome: int) -> None:
        if self.writer is None:
            self.writer = AuditWriter(scope["app"].state.sessions)
        await self.writer.write(event_values(state, outcome))
        state["b2m_audited"] = True


def _pending(state: dict[str, Any]) -> bool:
    return bool(state.get("b2m_audit")) and not state.get("b2m_audited")


async def _unavailable(send: Send, state: dict[str, Any]) -> None:
    body = (
        b'{"type":"urn:b2m:problem:unavailable","title":"Service Unavailable","status":503,'
        b'"detail":"the audit trail could not be written","request_id":"'
        + str(state.get("request_id", "-")).encode()
        + b'"}'
    )
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
