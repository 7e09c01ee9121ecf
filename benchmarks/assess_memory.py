"""Peak memory of ``b2m assess`` on large arrays of patients, JSON and text, against one patient.

Run: ``.venv/bin/python benchmarks/assess_memory.py`` (``--sizes 20000,100000``, ``--formats json,text``,
``--seed``).

Patients are generated as in ``benchmarks/single_patient.py`` (realistic documents of the JSON contract,
every accepted unit, censored and missing values) and written to one array file. Each run is the real
command in its own process (``python -m b2m assess [-f json] FILE``), its output read and counted, not
kept; the peak RSS is the child's own (``wait4``). The first line is one patient: the floor every run
starts from (interpreter, imports). ``b2m assess`` reads the document twice (every patient checked, then
each assessed and written in turn), so its peak should stay near the floor whatever the size.

Targets (issue 10): peak RSS < 1 GB for 20,000 patients (before streaming: about 375 KB per patient, 7.5 GB),
and 100,000 patients (the documented limit) completes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from single_patient import Generator

TARGET_PEAK_BYTES = 1 << 30


def write_patients(path: Path, n: int, seed: int) -> None:
    """``n`` generated patients as one JSON array, written one at a time (unique ids)."""
    gen = Generator(seed)
    with path.open("w", encoding="utf-8") as fh:
        fh.write("[\n")
        for i in range(n):
            doc = gen.document(i)
            doc["id"] = f"BENCH-{i:07d}"
            fh.write((",\n" if i else "") + json.dumps(doc, ensure_ascii=False))
        fh.write("\n]\n")


def run(args: list[str]) -> tuple[int, int, float, int]:
    """Exit status, bytes written on stdout, wall seconds and peak RSS (bytes) of one real ``b2m`` run."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "b2m", *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    counted = [0]

    def count() -> None:
        assert proc.stdout is not None
        while chunk := proc.stdout.read(1 << 20):
            counted[0] += len(chunk)
        proc.stdout.close()

    reader = threading.Thread(target=count)
    reader.start()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    return proc.returncode, counted[0], time.perf_counter() - start, usage.ru_maxrss * 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="20000,100000", help="comma-separated numbers of patients")
    ap.add_argument("--formats", default="json,text", help="json, text (the one-screen summary) or both")
    ap.add_argument("--seed", type=int, default=20240601)
    opts = ap.parse_args()
    sizes = [int(s) for s in opts.sizes.split(",")]
    formats = opts.formats.split(",")
    print(
        f"{'patients':>9} {'format':>6} {'input MB':>9} {'output MB':>10} {'seconds':>8} {'ms/pt':>6} "
        f"{'peak RSS MB':>12} {'x floor':>8}  target < 1024 MB"
    )
    with tempfile.TemporaryDirectory(prefix="b2m-assess-memory-") as tmp:
        one = Path(tmp) / "one.json"
        write_patients(one, 1, opts.seed)
        floor = {fmt: run(["assess", *(["-f", "json"] if fmt == "json" else []), str(one)])[3] for fmt in formats}
        for fmt in formats:
            print(f"{1:>9} {fmt:>6} {'':>9} {'':>10} {'':>8} {'':>6} {floor[fmt] / 1e6:>12.0f} {1:>8.2f}")
        failed = False
        for n in sizes:
            doc = Path(tmp) / f"patients-{n}.json"
            write_patients(doc, n, opts.seed)
            size = doc.stat().st_size
            for fmt in formats:
                code, out, seconds, peak = run(["assess", *(["-f", "json"] if fmt == "json" else []), str(doc)])
                ok = code == 0 and peak < TARGET_PEAK_BYTES
                failed |= not ok
                print(
                    f"{n:>9} {fmt:>6} {size / 1e6:>9.1f} {out / 1e6:>10.1f} {seconds:>8.1f} {seconds / n * 1e3:>6.2f} "
                    f"{peak / 1e6:>12.0f} {peak / floor[fmt]:>8.2f}  {'ok' if ok else f'FAILED (exit {code})'}"
                )
            doc.unlink()
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
