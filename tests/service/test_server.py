"""A real ``b2m serve`` with two worker processes: shared state in the database, and a server killed with
SIGKILL in the middle of a stream of result writes loses no acknowledged write and leaves no half-written batch,
on SQLite and on PostgreSQL.

Oracle: issue 11 ("a killed server (SIGKILL) in the middle of a batch of result writes loses no acknowledged
write and leaves no half-written batch"); the definition of an acknowledged write is a 201 received by the client.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx  # the HTTP client the service tests use (Starlette's TestClient takes httpx2 too)
import pytest
from sqlalchemy import func, select

from b2m.service.db.engine import make_engine
from b2m.service.db.models import Result, ResultBatch
from tests.service.conftest import PASSWORD, SECRET, World, build_world

B2M = Path(sys.executable).parent / "b2m"
BATCH_ROWS = 10


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(url: str, workers: int = 2, *extra: str) -> Iterator[tuple[str, subprocess.Popen[bytes], Any]]:
    port = _free_port()
    env = {**os.environ, "B2M_DATABASE_URL": url, "B2M_SECRET_KEY": SECRET, "B2M_ENV": "development"}
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below, after the server stops
    proc = subprocess.Popen(
        [str(B2M), "serve", "--port", str(port), "--workers", str(workers), *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,  # its own process group: SIGKILL reaches the workers too
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/v1/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"b2m serve did not start: {log.read().decode()[-2000:]}")
            time.sleep(0.2)
        yield base, proc, log
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def _login(base: str, who: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": who, "password": PASSWORD}, timeout=30)
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_two_workers_share_sessions_and_revocation(sqlite_url: str) -> None:
    build_world(sqlite_url).app.state.engine.dispose()
    with serve(sqlite_url) as (base, _, _log):
        h = _login(base, "clinician")
        with httpx.Client(base_url=base, headers=h, timeout=30) as c:
            for _ in range(20):  # new connections land on either worker
                assert c.get("/api/v1/auth/me", headers={"Connection": "close"}).status_code == 200
            assert c.post("/api/v1/auth/logout").status_code == 204
            for _ in range(10):
                assert c.get("/api/v1/auth/me", headers={"Connection": "close"}).status_code == 401


def _writer(
    base: str, headers: dict[str, str], patient: int, start_day: int, acked: list[int], stop: threading.Event
) -> None:
    import datetime as dt

    day = dt.date(2000, 1, 1) + dt.timedelta(days=start_day)
    with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
        while not stop.is_set():
            rows = []
            for _ in range(BATCH_ROWS):
                day += dt.timedelta(days=1)
                rows.append({"analyte": "crp", "date": day.isoformat(), "value": 5, "unit": "mg/L"})
            try:
                r = c.post(f"/api/v1/patients/{patient}/results", json={"results": rows})
            except httpx.HTTPError:
                return  # the server died under us: this write was never acknowledged
            if r.status_code == 201:
                acked.append(int(r.json()["batch_id"]))


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_sigkill_during_writes_loses_no_acknowledged_write(db: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("sqlite_url") if db == "sqlite" else request.getfixturevalue("postgres_url")
    world: World = build_world(url)
    world.app.state.engine.dispose()
    acked: list[int] = []
    stop = threading.Event()
    with serve(url) as (base, proc, _log):
        headers = _login(base, "lab")
        threads = [
            threading.Thread(target=_writer, args=(base, headers, pid, k * 20_000, acked, stop))
            for k, pid in enumerate([world.own, world.other, world.own, world.other])
        ]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(acked) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)  # in the middle of the writes
        proc.wait()
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert len(acked) >= 20
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            per_batch = dict(conn.execute(select(Result.batch_id, func.count()).group_by(Result.batch_id)).all())
            declared = dict(conn.execute(select(ResultBatch.id, ResultBatch.row_count)).all())
    finally:
        engine.dispose()
    for batch in acked:
        assert per_batch.get(batch) == BATCH_ROWS, f"acknowledged batch {batch} lost rows"
    assert per_batch == {b: n for b, n in declared.items() if n}, "a batch was stored in part"
    # The service starts again on the same database and reads what was stored.
    with serve(url, workers=1) as (base, _, _log):
        h = _login(base, "clinician")
        got = httpx.get(f"{base}/api/v1/patients/{world.own}/results", headers=h, timeout=30).json()
        assert len(got["results"]) == sum(n for b, n in per_batch.items()) - _rows_of_other(url, world.other)


def _rows_of_other(url: str, patient: int) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).where(Result.patient_id == patient)).scalar_one())
    finally:
        engine.dispose()


def test_demo_start_prints_address_and_accounts_and_serves_the_timelines(tmp_path: Path) -> None:
    """The README's first command, as a user runs it: the address and one-time passwords are printed; the demo
    clinician's token assesses a patient and reads the demo timelines."""
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    with serve(url, 2, "--demo") as (base, _, log):
        log.seek(0)
        printed = log.read().decode()
        assert f"serving {base}" in printed
        password = next(ln.split()[2] for ln in printed.splitlines() if ln.startswith("b2m:   demo-clinician"))
        h = _login_with(base, "demo-clinician", password)
        renal = httpx.get(f"{base}/api/v1/patients", params={"site_id": "EX3-renal"}, headers=h).json()["items"][0]
        timeline = httpx.get(f"{base}/api/v1/patients/{renal['id']}/results", headers=h).json()
        assert len(timeline["results"]) > 10
        alerts = httpx.get(f"{base}/api/v1/patients/{renal['id']}/alerts", headers=h).json()["alerts"]
        assert "b2m_rising_from_nadir" in {a["code"] for a in alerts}
        assessed = httpx.post(f"{base}/api/v1/assess", headers=h, json={"labs": {"b2m": {"value": 6, "unit": "mg/L"}}})
        assert assessed.json()["iss"]["stage"] == "III"  # B2M >= 5.5 mg/L (Greipp 2005, JCO 23:3412)


def test_refuses_to_start_outside_development_without_a_secret(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("B2M_")}
    env["B2M_DATABASE_URL"] = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    r = subprocess.run(
        [str(B2M), "serve", "--port", str(_free_port())], env=env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 2 and "B2M_SECRET_KEY" in r.stderr


def _login_with(base: str, who: str, password: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": who, "password": password}, timeout=30)
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}
