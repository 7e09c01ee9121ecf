"""Clinical service benchmark: ``POST /api/v1/assess`` against a bare FastAPI endpoint, a stored patient's timeline
with 10,000 patients stored, and a 60-second bounded run.

Run: ``.venv/bin/python benchmarks/api.py`` (needs ``wrk``, Debian's HTTP load generator; ``scripts/setup.sh``
installs it as root). Options: ``--workers 2 --duration 10 --patients 10000 --soak 60``.

One server (uvicorn, ``--workers`` processes, loopback), one app: the service as ``b2m serve`` builds it, plus one
bare route ``POST /bench/bare`` that parses the JSON body and returns it (no token, no engine). Measured side by
side in the same run, with the same body (the README's example patient), by ``wrk`` at 1 and 16 connections:

- requests/s and p50 / p99 latency of assess and of the bare route, and their ratio
  (target, issue 11: assess >= 50 % of the bare route's requests/s; assess p99 <= 20 ms at 16 connections);
- ``GET /api/v1/patients/{id}/results`` of a random patient among ``--patients`` stored, 50 results each (as
  received and canonical), each read audited as in production (target: p99 <= 30 ms);
- a ``--soak``-second run of assess at 16 connections: 0 errors (socket errors and non-2xx answers).

The load generator shares the machine's cores with the server: the ratios are what this machine gives, and
the bare route pays the same price.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fastapi import FastAPI, Request

sys.path.insert(0, str(Path(__file__).parent))
from _server import bench_app_command, free_port, running

SECRET = "benchmark-secret-" + "x" * 40
BODY = {
    "id": "P1",
    "age": 67,
    "sex": "female",
    "weight_kg": 70,
    "setting": "new_diagnosis",
    "labs": {
        "b2m": {"value": 4.2, "unit": "mg/L", "lower_limit": 1.21, "upper_limit": 2.7},
        "albumin": {"value": 35, "unit": "g/L"},
        "ldh": {"value": 310, "unit": "U/L", "upper_limit": 248},
        "creatinine": {"value": 1.1, "unit": "mg/dL"},
    },
    "cytogenetics": {"del17p": False, "t4_14": None, "t14_16": False, "gain1q": True},
}
RESULTS_PER_PATIENT = 50
TARGET_RATIO = 0.5
TARGET_ASSESS_P99_MS = 20.0
TARGET_TIMELINE_P99_MS = 30.0


def bench_app() -> FastAPI:
    """The uvicorn factory: the service, plus the bare route (declared public, so it passes the same
    middleware and the same access dependency as every route)."""
    from b2m.service.access import rule
    from b2m.service.app import app_from_environment

    app = app_from_environment()  # as `b2m serve` builds it

    @app.post("/bench/bare", **rule(public=True))
    async def bare(request: Request) -> object:
        return json.loads(await request.body())

    return app


def seed(url: str, patients: int) -> tuple[str, int]:
    """A clinician with a token, and ``patients`` patients with 50 results each; returns (token, first id)."""
    from sqlalchemy import insert

    from b2m.service.db.engine import make_engine, migrate, session_factory, write_session
    from b2m.service.db.models import CareTeam, Patient, Result, ResultBatch, TeamMember, User, UserRole
    from b2m.service.schemas import ResultIn
    from b2m.service.security import hash_password, issue
    from b2m.service.store import to_row

    migrate(url)
    engine = make_engine(url)
    factory = session_factory(engine)
    with write_session(factory) as db:
        team = CareTeam(name="bench")
        user = User(
            username="bench", password_hash=hash_password("benchmark-password"), roles=[UserRole(role="clinician")]
        )
        db.add_all([team, user])
        db.flush()
        db.add(TeamMember(team_id=team.id, user_id=user.id))
        token = issue(db, SECRET, user, kind="bearer", lifetime=dt.timedelta(hours=4)).token
        batch = ResultBatch(source="bench", row_count=patients * RESULTS_PER_PATIENT, created_by=user.id)
        db.add(batch)
        db.flush()
        team_id, batch_id = team.id, batch.id
    # One validated row per analyte (through the unit layer), repeated over dates: the stored shape of real rows.
    templates = []
    for analyte, value, unit in (
        ("b2m", 4.2, "mg/L"),
        ("creatinine", 97, "µmol/L"),
        ("m_protein", 2.1, "g/dL"),
        ("albumin", 35, "g/L"),
        ("ldh", 230, "U/L"),
    ):
        row = to_row(ResultIn(analyte=analyte, date="2020-01-01", value=value, unit=unit), "seed")
        templates.append({k: getattr(row, k) for k in row.__dataclass_fields__})
    start = time.perf_counter()
    first = None
    chunk = 500
    for lo in range(0, patients, chunk):
        with write_session(factory) as db:
            ps = [
                Patient(site_id=f"BENCH-{i:06d}", team_id=team_id, details=json.dumps({"age": 60, "sex": "male"}))
                for i in range(lo, min(patients, lo + chunk))
            ]
            db.add_all(ps)
            db.flush()
            first = first or ps[0].id
            rows = []
            for p in ps:
                for k in range(RESULTS_PER_PATIENT):
                    t = templates[k % len(templates)]
                    day = dt.date(2020, 1, 1) + dt.timedelta(days=7 * (k // len(templates)) + k % len(templates))
                    rows.append({**t, "date": day, "patient_id": p.id, "batch_id": batch_id, "status": "final"})
            db.execute(insert(Result), rows)
    engine.dispose()
    sys.stderr.write(
        f"seeded {patients:,} patients x {RESULTS_PER_PATIENT} results in {time.perf_counter() - start:.0f} s\n"
    )
    assert first is not None
    return token, first


def wrk(url: str, connections: int, seconds: int, lua: Path) -> dict[str, float]:
    threads = min(2, connections)
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(lua), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        assert m, out
        return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    sock = (
        sum(int(x) for x in m.groups())
        if (m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out))
        else 0
    )
    return {"rps": rps, "p50": ms("50"), "p99": ms("99"), "requests": total, "errors": non2xx + sock}


def lua_post(path: Path, body: str, token: str | None) -> Path:
    headers = 'wrk.headers["Content-Type"] = "application/json"\n'
    if token:
        headers += f'wrk.headers["Authorization"] = "Bearer {token}"\n'
    path.write_text(f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n{headers}')
    return path


def lua_timeline(path: Path, token: str, first: int, patients: int) -> Path:
    path.write_text(
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
        "math.randomseed(42)\n"
        "request = function()\n"
        f"  local id = math.random({first}, {first + patients - 1})\n"
        "  return wrk.format('GET', '/api/v1/patients/' .. id .. '/results')\n"
        "end\n"
    )
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--soak", type=int, default=60)
    ap.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("benchmarks/api.py needs wrk (Debian: apt-get install wrk; scripts/setup.sh installs it as root)")
    folder = Path(tempfile.mkdtemp(prefix="b2m-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.sqlite3'}"
    token, first = seed(url, args.patients)
    port = free_port()
    env = {**os.environ, "B2M_DATABASE_URL": url, "B2M_SECRET_KEY": SECRET, "B2M_ENV": "development"}
    base = f"http://127.0.0.1:{port}"
    import httpx2 as httpx  # the HTTP client the service tests use (a dev dependency)

    try:
        with running(bench_app_command(port, args.workers), env, base, folder / "server.log"):
            body = json.dumps(BODY)
            check = httpx.post(
                f"{base}/api/v1/assess",
                content=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            assert check.status_code == 200 and check.json()["iss"]["stage"] == "II", check.text[:300]
            bare_lua = lua_post(folder / "bare.lua", body, None)
            assess_lua = lua_post(folder / "assess.lua", body, token)
            timeline_lua = lua_timeline(folder / "timeline.lua", token, first, args.patients)
            print(
                f"b2m service benchmark: {args.workers} workers, {os.cpu_count()} cores shared with wrk, "
                f"{args.duration} s per measurement"
            )
            print(f"{'':28}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
            rows = {}
            for c in (1, 16):
                for name, path, lua in (
                    ("bare", "/bench/bare", bare_lua),
                    ("assess", "/api/v1/assess", assess_lua),
                    ("timeline (50 results)", None, timeline_lua),
                ):
                    target = f"{base}{path}" if path else base
                    r = wrk(target, c, args.duration, lua)
                    rows[(name, c)] = r
                    print(f"{name + f' c={c}':28}{r['rps']:9.0f}{r['p50']:9.2f}{r['p99']:9.2f}{r['errors']:8.0f}")
            for c in (1, 16):
                ratio = rows[("assess", c)]["rps"] / rows[("bare", c)]["rps"]
                print(f"assess / bare requests/s at c={c}: {ratio:.2f} (target >= {TARGET_RATIO:.2f})")
            p99 = rows[("assess", 16)]["p99"]
            print(f"assess p99 at c=16: {p99:.1f} ms (target <= {TARGET_ASSESS_P99_MS:.0f} ms)")
            t1, t16 = rows[("timeline (50 results)", 1)]["p99"], rows[("timeline (50 results)", 16)]["p99"]
            print(
                f"timeline p99 at c=1 / c=16 with {args.patients:,} patients: {t1:.1f} / {t16:.1f} ms "
                f"(target <= {TARGET_TIMELINE_P99_MS:.0f} ms)"
            )
            if args.soak:
                soak = wrk(f"{base}/api/v1/assess", 16, args.soak, assess_lua)
                print(
                    f"soak: {args.soak} s of assess at c=16: {soak['requests']:.0f} requests, {soak['rps']:.0f} req/s, "
                    f"p99 {soak['p99']:.1f} ms, {soak['errors']:.0f} errors (target 0)"
                )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
