"""The audit trail of reads under concurrency: concurrent reads share one commit (group commit), every read still
has exactly its own event before its response starts, and a read whose event cannot be stored gets no data.

Oracles: issue 11 (every read of patient data is recorded: who, what, which patient, outcome; append-only) and the
fail-closed rule of b2m.service.audit's docstring (no data without its audit event).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2 as httpx
import pytest

from b2m.service.audit import AuditWriter
from b2m.service.db.models import AuditEvent
from tests.service.conftest import World


def _event(n: int) -> dict[str, Any]:
    return {"action": "GET /x", "access": "read", "outcome": 200, "request_id": f"req-{n}", "patient_id": n}


def test_events_queued_during_a_commit_share_the_next_one(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    writer = AuditWriter(world.app.state.sessions)
    batches: list[int] = []
    insert = AuditWriter._insert

    def counted(self: AuditWriter, events: list[dict[str, Any]]) -> None:
        batches.append(len(events))
        insert(self, events)

    monkeypatch.setattr(AuditWriter, "_insert", counted)

    async def main() -> None:
        await writer.write(_event(0))  # alone: a transaction of its own
        await asyncio.gather(*(writer.write(_event(n)) for n in range(1, 11)))

    asyncio.run(main())
    assert batches == [1, 10]
    with world.app.state.sessions() as db:
        stored = sorted(e.request_id for e in db.query(AuditEvent).filter(AuditEvent.request_id.like("req-%")))
    assert stored == sorted(f"req-{n}" for n in range(11))


def test_concurrent_reads_each_leave_their_own_event(world: World) -> None:
    headers = world.auth("clinician")

    async def main() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=world.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return list(
                await asyncio.gather(
                    *(c.get(f"/api/v1/patients/{world.own}/results", headers=headers) for _ in range(12)),
                    *(c.get(f"/api/v1/patients/{world.other}/results", headers=headers) for _ in range(3)),
                )
            )

    answers = asyncio.run(main())
    assert [r.status_code for r in answers] == [200] * 12 + [404] * 3
    events = world.client.get("/api/v1/audit", params={"limit": 500}, headers=world.auth("admin")).json()["items"]
    reads = {e["request_id"]: e for e in events if e["action"] == "GET /api/v1/patients/{patient_id}/results"}
    for r in answers:
        e = reads[r.headers["x-request-id"]]
        assert (e["username"], e["outcome"], e["access"]) == ("clinician", r.status_code, "read")
        assert e["patient_id"] == (world.own if r.status_code == 200 else None)
    assert len(reads) == 15


def test_a_read_whose_event_cannot_be_stored_gets_no_data(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: AuditWriter, events: list[dict[str, Any]]) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(AuditWriter, "_insert", broken)
    r = world.client.get(f"/api/v1/patients/{world.own}/results", headers=world.auth("clinician"))
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "urn:b2m:problem:unavailable" and "results" not in r.json()
