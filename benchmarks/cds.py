"""CDS Hooks benchmark: ``POST /cds-services/b2m-patient-view`` with full prefetch, side by side with the bare FastAPI
endpoint of benchmarks/api.py, p50 / p99 at 1 and 16 concurrent connections.

Run: ``.venv/bin/python benchmarks/cds.py`` (needs ``wrk``, like benchmarks/api.py). Options: ``--workers 2
--duration 10 --patient EX2-high-risk-renal``.

One server (uvicorn, ``--workers`` processes, loopback), the app of benchmarks/api.py (the service as ``b2m serve``
builds it, plus ``POST /bench/bare`` that parses the JSON body and returns it), configured with one trusted CDS
client (an RS384 key made for the run; its JWK Set inline in ``B2M_CDS_CLIENTS``) and the demo patients stored.
The body is the patient-view call an EHR would send for the bundled example patient (``b2m cds request``): the
Patient and the latest B2M, albumin, LDH, creatinine, cystatin C, CRP, FISH, conditions and medications. Every
CDS call carries its own JWT (a fresh ``jti``: the service refuses a replay), signed before the run and handed to
``wrk`` per thread, so each call pays the whole path: JWT verification, the ``jti`` written to the database, the
FHIR edge, the assessment, the cards, the stored-patient lookup for the link and the audit event.
Target (issue 12): p99 <= 50 ms at 16 connections (an EHR waits for it while the chart opens).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

sys.path.insert(0, str(Path(__file__).parent))
from _server import bench_app_command, free_port, running
from api import SECRET, wrk

ISSUER = "https://ehr.bench.example"
KID = "bench-ehr-rs384"
SERVICE = "b2m-patient-view"
TARGET_P99_MS = 50.0
TOKENS_PER_SECOND_PER_THREAD = 1500  # more than a thread can send here; a token reused would show as an error


def _tokens(key: rsa.RSAPrivateKey, audience: str, n: int) -> list[str]:
    now = int(time.time())
    return [
        jwt.encode(
            {"iss": ISSUER, "aud": audience, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())},
            key,
            algorithm="RS384",
            headers={"kid": KID},
        )
        for _ in range(n)
    ]


def lua_cds(folder: Path, name: str, body: str, path: str, threads: int, tokens: list[list[str]]) -> Path:
    """A wrk script whose every request carries the next unused token of its thread."""
    for t, batch in enumerate(tokens):
        (folder / f"{name}-tokens-{t}.txt").write_text("\n".join(batch) + "\n")
    script = folder / f"{name}.lua"
    script.write_text(
        f"local body = {json.dumps(body)}\n"
        "local n = 0\n"
        "function setup(thread)\n"
        "  thread:set('tid', n)\n"
        "  n = n + 1\n"
        "end\n"
        "function init(args)\n"
        "  tokens = {}\n"
        f"  for line in io.lines('{folder}/{name}-tokens-' .. tid .. '.txt') do tokens[#tokens + 1] = line end\n"
        "  i = 0\n"
        "end\n"
        "function request()\n"
        "  i = i % #tokens + 1\n"
        "  local headers = {['Content-Type'] = 'application/json', ['Authorization'] = 'Bearer ' .. tokens[i]}\n"
        f"  return wrk.format('POST', '{path}', headers, body)\n"
        "end\n"
    )
    return script


def lua_bare(folder: Path, body: str) -> Path:
    script = folder / "bare.lua"
    script.write_text(
        f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\nwrk.headers["Content-Type"] = "application/json"\n'
    )
    return script


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    ap.add_argument("--patient", default="EX2-high-risk-renal", help="a bundled example patient (b2m cds request)")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("benchmarks/cds.py needs wrk (Debian: apt-get install wrk; scripts/setup.sh installs it as root)")

    from b2m.service.cds.example import hook_request
    from b2m.service.db.engine import make_engine, migrate, session_factory
    from b2m.service.demo import example_documents, load_demo

    folder = Path(tempfile.mkdtemp(prefix="b2m-bench-cds-"))
    url = f"sqlite:///{folder / 'bench.sqlite3'}"
    migrate(url)
    engine = make_engine(url)
    load_demo(session_factory(engine))  # the example patients stored: the cards link to the stored one
    engine.dispose()
    doc = next(d for d in example_documents() if d["id"] == args.patient)
    body = json.dumps(hook_request(doc))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True) | {"kid": KID, "alg": "RS384", "use": "sig"}
    clients = folder / "cds-clients.json"
    clients.write_text(json.dumps({"clients": [{"issuer": ISSUER, "jwks": {"keys": [jwk]}}]}))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "B2M_DATABASE_URL": url,
        "B2M_SECRET_KEY": SECRET,
        "B2M_ENV": "development",
        "B2M_PUBLIC_URL": base,
        "B2M_CDS_CLIENTS": str(clients),
    }
    path = f"/cds-services/{SERVICE}"
    import httpx2 as httpx

    with running(bench_app_command(port, args.workers), env, base, folder / "server.log"):
        [token] = _tokens(key, f"{base}{path}", 1)
        check = httpx.post(
            f"{base}{path}",
            content=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        assert check.status_code == 200, check.text[:300]
        cards = check.json()["cards"]
        replay = httpx.post(
            f"{base}{path}",
            content=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        assert replay.status_code == 401, "a replayed token must be refused"
        print(
            f"b2m CDS Hooks benchmark: {args.workers} workers, {os.cpu_count()} cores shared with wrk, "
            f"{args.duration} s per measurement; patient-view of {args.patient} ({len(body):,} bytes, full prefetch) "
            f"-> {len(cards)} cards: " + " | ".join(c["summary"] for c in cards)
        )
        print(f"{'':30}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
        bare = lua_bare(folder, body)
        rows = {}
        for c in (1, 16):
            threads = min(2, c)
            r = wrk(f"{base}/bench/bare", c, args.duration, bare)
            rows[("bare", c)] = r
            print(f"{f'bare (echo JSON) c={c}':30}{r['rps']:9.0f}{r['p50']:9.2f}{r['p99']:9.2f}{r['errors']:8.0f}")
            n = TOKENS_PER_SECOND_PER_THREAD * args.duration
            tokens = [_tokens(key, f"{base}{path}", n) for _ in range(threads)]
            script = lua_cds(folder, f"cds-c{c}", body, path, threads, tokens)
            r = wrk(f"{base}{path}", c, args.duration, script)
            rows[("cds", c)] = r
            print(f"{f'patient-view c={c}':30}{r['rps']:9.0f}{r['p50']:9.2f}{r['p99']:9.2f}{r['errors']:8.0f}")
            if r["requests"] > n * threads:
                print(f"  (more calls than tokens: {r['requests']:.0f} > {n * threads}; the reused ones were refused)")
        for c in (1, 16):
            ratio = rows[("cds", c)]["rps"] / rows[("bare", c)]["rps"]
            print(f"patient-view / bare requests/s at c={c}: {ratio:.2f}")
        p99 = rows[("cds", 16)]["p99"]
        verdict = "met" if p99 <= TARGET_P99_MS else "NOT met"
        print(f"patient-view p99 at c=16: {p99:.1f} ms (target <= {TARGET_P99_MS:.0f} ms: {verdict})")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
