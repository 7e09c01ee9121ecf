"""A service under benchmark: started on a free loopback port, ready before the first request, stopped with all
its workers (its own process group) whatever happens to the measurement."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_app_command(port: int, workers: int) -> list[str]:
    """uvicorn serving ``api:bench_app``: the service as ``b2m serve`` builds it, plus a bare route to compare."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "api:bench_app",
        "--app-dir",
        str(Path(__file__).parent),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]


@contextmanager
def running(command: list[str], env: Mapping[str, str], base: str, log_path: Path) -> Iterator[None]:
    """Run ``command`` (a server listening at ``base``) until the block ends; its output goes to ``log_path``."""
    import httpx2 as httpx  # the HTTP client the service tests use (a dev dependency)

    with log_path.open("wb") as log:
        server = subprocess.Popen(command, env=dict(env), stdout=log, stderr=log, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/api/v1/ready", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"the server did not start; see {log_path}")
                time.sleep(0.2)
            yield
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)
