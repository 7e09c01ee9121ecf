"""Hostile input for every command but the batch files: `assess`, `monitor`, `report`, `schema`, `demo`,
`cohort report` and the top level (issue 10). `b2m stage` and `b2m cohort values` have their own suite
(tests/test_stage_files.py).

Every case runs the real command in its own process, on a file built here (or a device, a folder, a
path under /proc or /sys), and must end with exit status 2 and exactly one line on stderr
(``b2m: error: ...``) naming the problem, within a time and a memory bound, with nothing on stdout, never
a traceback or "internal error". Every document plants patient ids; no error may print one (README: no
patient id in any error message): each case checks its own error, and the last test checks every error
the suite provoked. Hypothesis then mutates the bundled example documents with hostile values, in
process, for `assess` and `monitor`.

The expected problems are the contracts' own words (README "JSON contract", docs/monitor-contract.md,
RFC 8259 for what JSON text is); no expected value comes from running b2m.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from b2m.cli import main

PLANTED = ("PID-4417-Xq", "PID-8093-Zr")  # ids planted in every document: no error may print them
TIME_LIMIT_S = 90  # a hang is a failure; the machine is shared, so generous
MEMORY_LIMIT = 1 << 30
DATA = resources.files("b2m").joinpath("data")
TODAY = dt.date.today()
ERRORS: list[str] = []  # every error line this module provoked, checked for planted ids at the end


def _examples(name: str) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = json.loads(DATA.joinpath(name).read_text(encoding="utf-8"))
    return docs


def patients() -> list[dict[str, Any]]:
    """The bundled example patients, their ids replaced by the planted ones."""
    docs = _examples("example_patients.json")[:2]
    for doc, pid in zip(docs, PLANTED, strict=True):
        doc["id"] = pid
    return docs


def series() -> list[dict[str, Any]]:
    docs = _examples("example_series.json")[:2]
    for doc, pid in zip(docs, PLANTED, strict=True):
        doc["id"] = pid
    return docs


class Result:
    def __init__(self, code: int, out: bytes, err: str, seconds: float, peak: int) -> None:
        self.code, self.out, self.err, self.seconds, self.peak = code, out, err, seconds, peak


# Linux carries a process's peak RSS across fork and exec (the forked copy of a large pytest counts, and with
# vfork the parent's own peak): a child started straight from the test process reports pytest's memory, not its
# own. A small launcher (python -S) spawns the command and reports that grandchild's peak on a pipe.
LAUNCHER = """
import os, sys
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
os.write(int(sys.argv[1]), str(usage.ru_maxrss).encode())
sys.exit(os.waitstatus_to_exitcode(status) % 256)
"""


def run_b2m(args: list[str], cwd: Path, stdin: bytes | Path | None = None) -> Result:
    """The real command in a child process: exit status, output, wall time and the command's own peak RSS
    (``wait4`` in the launcher above)."""
    start = time.perf_counter()
    source = stdin.open("rb") if isinstance(stdin, Path) else (subprocess.PIPE if stdin is not None else None)
    peak_r, peak_w = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-S", "-c", LAUNCHER, str(peak_w), sys.executable, "-m", "b2m", *args],
        cwd=cwd,
        stdin=source,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        pass_fds=(peak_w,),
        start_new_session=True,
    )
    os.close(peak_w)
    if isinstance(stdin, Path) and not isinstance(source, int) and source is not None:
        source.close()  # the child has its own descriptor
    chunks: dict[str, bytes] = {}

    def feed() -> None:
        if isinstance(stdin, bytes) and proc.stdin is not None:
            try:
                proc.stdin.write(stdin)
                proc.stdin.close()
            except BrokenPipeError:  # the command refused the input before reading it all
                pass

    def drain(name: str) -> None:
        stream = getattr(proc, name)
        chunks[name] = stream.read()
        stream.close()

    threads = [threading.Thread(target=feed)] + [
        threading.Thread(target=drain, args=(n,)) for n in ("stdout", "stderr")
    ]
    for t in threads:
        t.start()
    deadline = start + TIME_LIMIT_S
    while True:
        pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)  # the launcher and the command
            os.wait4(proc.pid, 0)
            os.close(peak_r)
            proc.returncode = -9
            pytest.fail(f"b2m {' '.join(args)[:200]} ran past {TIME_LIMIT_S} s")
        time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)
    with os.fdopen(peak_r, "rb") as f:
        peak_kib = int(f.read() or b"0")
    for t in threads:
        t.join()
    err = chunks.get("stderr", b"").decode("utf-8", "replace")
    ERRORS.append(err)
    return Result(proc.returncode, chunks.get("stdout", b""), err, time.perf_counter() - start, peak_kib * 1024)


def assert_refused(r: Result, *needles: str, output: bool = False) -> None:
    """Exit 2, one line naming the problem (and the accepted forms), nothing else, no planted id."""
    lines = r.err.strip().splitlines()
    assert r.code == 2, (r.code, r.err[-2000:])
    assert len(lines) == 1 and lines[0].startswith("b2m: error: "), r.err[-2000:]
    assert "internal error" not in r.err and "Traceback" not in r.err, r.err
    assert not any(pid in r.err for pid in PLANTED), r.err
    assert output or r.out == b"", r.out[:300]
    assert r.peak < MEMORY_LIMIT, f"peak RSS {r.peak >> 20} MiB"
    for needle in needles:
        assert needle in r.err, (needle, r.err)


def _write_json(doc: object) -> Callable[[Path], None]:
    return lambda p: p.write_text(json.dumps(doc), encoding="utf-8")


def _sparse(size: int) -> Callable[[Path], None]:
    """A file of ``size`` bytes that takes no disk space (its size alone must refuse it)."""

    def make(p: Path) -> None:
        with p.open("wb") as fh:
            fh.truncate(size)

    return make


def _array_of(item: bytes, n: int) -> Callable[[Path], None]:
    def make(p: Path) -> None:
        with p.open("wb") as fh:
            fh.write(b"[")
            fh.write(b",".join([item] * n))
            fh.write(b"]")

    return make


def _with(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return out


def _future(days: int) -> str:
    return (TODAY + dt.timedelta(days=days)).isoformat()


P0, P1 = patients()
S0, S1 = series()

# Documents refused by both `assess` and `monitor` (and `report`, which reads the same series).
BOTH: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    "empty file": (lambda p: p.write_bytes(b""), ("invalid JSON",)),
    "only whitespace (CRLF)": (lambda p: p.write_bytes(b"\r\n \r\n"), ("invalid JSON",)),
    "NUL byte inside the document": (
        lambda p: p.write_bytes(json.dumps(P0).encode().replace(b'"age": 61', b'"age": 6\x001')),
        ("NUL",),
    ),
    "binary file": (lambda p: p.write_bytes(bytes(range(256)) * 256), ("NUL",)),
    "UTF-16 with its BOM": (lambda p: p.write_bytes(json.dumps(P0).encode("utf-16")), ("UTF-8",)),
    "Latin-1 text": (
        lambda p: p.write_bytes(b'[{"id": "' + PLANTED[0].encode() + b'", "sex": "f\xe9minin"}]'),
        ("UTF-8",),
    ),
    "truncated array": (lambda p: p.write_bytes(json.dumps([P0, P1]).encode()[:-40]), ("invalid JSON",)),
    "trailing garbage": (lambda p: p.write_bytes(json.dumps([P0]).encode() + b" x"), ("Extra data",)),
    "empty array": (lambda p: p.write_bytes(b"[ ]"), ("no patient",)),
    "a number": (lambda p: p.write_bytes(b"42"), ()),
    "null": (lambda p: p.write_bytes(b"null"), ()),
    "nested 100,000 deep": (lambda p: p.write_bytes(b"[" * 100_000 + b"]" * 100_000), ("nested too deeply",)),
    "objects nested 30 deep": (lambda p: p.write_bytes(b'{"a":' * 30 + b"1" + b"}" * 30), ("nested too deeply",)),
    "a million numbers": (_array_of(b"1", 1_000_000), ("[0]",)),
    "a million empty objects": (_array_of(b"{}", 1_000_000), ("more than",)),
    "duplicate keys": (
        lambda p: p.write_bytes(b'[{"id": "' + PLANTED[0].encode() + b'", "age": 60, "age": 70}]'),
        ("duplicate key 'age'",),
    ),
    "lone surrogate": (lambda p: p.write_bytes(b'[{"id": "' + PLANTED[0].encode() + b'\\ud800"}]'), ("Unicode",)),
    "5,000-digit integer": (lambda p: p.write_bytes(b'[{"age": ' + b"9" * 5000 + b"}]"), ("invalid JSON",)),
    "1e400": (lambda p: p.write_bytes(b'[{"age": 1e400}]'), ("age",)),
    "NaN": (lambda p: p.write_bytes(b'[{"age": NaN}]'), ("age",)),
    "a 300 MB file (sparse)": (_sparse(300 << 20), ("larger than 256 MiB",)),
    "a 50 MB key": (lambda p: p.write_bytes(b'{"' + b"k" * (50 << 20) + b'": 1}'), ()),
    "a 50 MB condition": (
        lambda p: p.write_bytes(b'{"conditions": ["' + b"c" * (50 << 20) + b'"]}'),
        ("conditions",),
    ),
    "duplicate patient ids": (_write_json([P0, {**P1, "id": PLANTED[0]}]), ("[1].id", "twice")),
    "a folder": (lambda p: p.mkdir(), ("folder",)),
    "no such file": (lambda p: None, ("no such file",)),
}

LAB_DATE = ("labs", "b2m", "date")
ASSESS_ONLY: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    "ISO week date": (_write_json([_with(P0, LAB_DATE, "2026-W10-1")]), ("labs.b2m.date", "YYYY-MM-DD")),
    "ordinal date": (_write_json([_with(P0, LAB_DATE, "2026-061")]), ("labs.b2m.date",)),
    "date and time": (_write_json([_with(P0, LAB_DATE, "2026-01-31T10:00:00Z")]), ("labs.b2m.date",)),
    "date in 1899": (_write_json([_with(P0, LAB_DATE, "1899-12-31")]), ("labs.b2m.date", "1950")),
    "date in 2999": (_write_json([_with(P0, LAB_DATE, "2999-01-01")]), ("labs.b2m.date", "future")),
    "date five years ahead": (_write_json([_with(P0, LAB_DATE, _future(5 * 365))]), ("labs.b2m.date", "future")),
    "30 February": (_write_json([_with(P0, LAB_DATE, "2024-02-30")]), ("labs.b2m.date",)),
    "B2M of 5e-324": (
        _write_json([_with(P0, ("labs", "b2m"), {"value": 5e-324, "unit": "mg/L"})]),
        ("labs.b2m.value",),
    ),
    "CRP of 1e-300": (_write_json([_with(P0, ("labs", "crp"), {"value": 1e-300, "unit": "mg/L"})]), ("labs.crp",)),
    "B2M of 1e308": (_write_json([_with(P0, ("labs", "b2m"), {"value": 1e308, "unit": "mg/L"})]), ("labs.b2m",)),
    "censored bound 1e-320": (
        _write_json([_with(P0, ("labs", "crp"), {"value": "<1e-320", "unit": "mg/L"})]),
        ("labs.crp.value",),
    ),
    "an id with a terminal escape": (_write_json([{**P0, "id": "\u001b[2J" + PLANTED[0]}]), ("[0].id",)),
    "101,000 patients": (_array_of(json.dumps({"age": 60}).encode(), 101_000), ("more than 100,000",)),
}

M_PROTEIN = ("series", "m_protein")
MONITOR_ONLY: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    "ISO week date": (_write_json([_with(S0, (*M_PROTEIN, 0, "date"), "2026-W10-1")]), ("m_protein[0].date",)),
    "date five years ahead": (
        _write_json([_with(S0, (*M_PROTEIN, 1, "date"), _future(5 * 365))]),
        ("m_protein[1].date", "future"),
    ),
    "date in 1899": (_write_json([_with(S0, (*M_PROTEIN, 0, "date"), "1899-06-01")]), ("m_protein[0].date",)),
    "therapy ending in the future": (
        _write_json([_with(S0, ("therapy_lines", 0, "end"), _future(400))]),
        ("therapy_lines[0].end", "future"),
    ),
    "M-protein of 5e-324": (_write_json([_with(S0, (*M_PROTEIN, 0, "value"), 5e-324)]), ("m_protein[0].value",)),
    "M-protein of 1e-300": (_write_json([_with(S0, (*M_PROTEIN, 1, "value"), 1e-300)]), ("m_protein[1].value",)),
    "20,000 results in one series": (
        _write_json([_with(S0, ("series", "b2m"), [S0["series"]["b2m"][0]] * 20_000)]),
        ("series.b2m",),
    ),
    "10,001 patients": (_array_of(b"{}", 10_001), ("more than 10,000",)),
}

LONG_HEADER = "patient_id,analyte,date,value,unit"


def _long(rows: list[str], header: str = LONG_HEADER, newline: str = "\n") -> Callable[[Path], None]:
    return lambda p: p.write_bytes((newline.join([header, *rows]) + newline).encode())


def _long_rows(pid: str = PLANTED[0]) -> list[str]:
    return [f"{pid},m_protein,2025-01-0{d},{3 - d * 0.3:.1f},g/dL" for d in range(1, 4)]


def _one_patient_million_rows(p: Path) -> None:
    with p.open("w") as fh:
        fh.write(LONG_HEADER + "\n")
        day = dt.date(1960, 1, 1)
        for i in range(1_000_000):
            fh.write(f"{PLANTED[0]},m_protein,{day + dt.timedelta(days=i % 20000)},1.0,g/dL\n")


def _million_patients(p: Path) -> None:
    with p.open("w") as fh:
        fh.write(LONG_HEADER + "\n")
        for i in range(1_000_000):
            fh.write(f"{PLANTED[0]}-{i},m_protein,2025-01-01,1.0,g/dL\n")


def _parquet(rows: list[str]) -> Callable[[Path], None]:
    def make(p: Path) -> None:
        buf = io.BytesIO()
        pl.read_csv(io.StringIO("\n".join([LONG_HEADER, *rows])), infer_schema=False).write_parquet(buf)
        p.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])

    return make


# The long format of `monitor` / `report` (CSV, Parquet).
LONG: dict[str, tuple[str, Callable[[Path], None], tuple[str, ...]]] = {
    "empty CSV": ("s.csv", lambda p: p.write_bytes(b""), ("empty",)),
    "header only": ("s.csv", _long([]), ("no patient",)),
    "NUL in the header": ("s.csv", lambda p: p.write_bytes(b"patient_id,ana\x00lyte\n1,b2m\n"), ("NUL",)),
    "binary .csv": ("s.csv", lambda p: p.write_bytes(bytes(range(256)) * 64), ("NUL",)),
    "a million columns": (
        "s.csv",
        lambda p: p.write_text(",".join(f"c{i}" for i in range(1_000_000)) + "\n"),
        ("header",),
    ),
    "a 2 MB header row": ("s.csv", lambda p: p.write_text("x" * (2 << 20)), ("header",)),
    "header not UTF-8": ("s.csv", lambda p: p.write_bytes(b"patient_id,analyte,date,value,unit,\xe9\n"), ("UTF-8",)),
    "a row with an extra field": (
        "s.csv",
        _long([*_long_rows(), f"{PLANTED[1]},b2m,2025-01-01,3,mg/L,extra"]),
        ("row 5",),
    ),
    "an unclosed quote": ("s.csv", _long([*_long_rows(), f'"{PLANTED[1]},b2m,2025-01-01,3,mg/L']), ("CSV",)),
    "an unknown column": ("s.csv", _long(_long_rows(), header=LONG_HEADER + ",mrn"), ("unknown column",)),
    "a blank patient id": ("s.csv", _long([",b2m,2025-01-01,3,mg/L"]), ("row 2", "patient_id")),
    "an id in the value column (a shifted row)": (
        "s.csv",
        _long([f"{PLANTED[0]},b2m,2025-01-01,3,mg/L", f"x,b2m,2025-01-01,{PLANTED[1]},mg/L"]),
        ("row 3: value", "not a number"),
    ),
    "sex differing between rows": (
        "s.csv",
        _long(
            [f"{PLANTED[0]},b2m,2025-01-01,3,mg/L,female", f"{PLANTED[0]},b2m,2025-02-01,3,mg/L,male"],
            header=LONG_HEADER + ",sex",
        ),
        ("row 3: sex", "differs"),
    ),
    "ISO week in the long format": ("s.csv", _long([f"{PLANTED[0]},b2m,2026-W10-1,3,mg/L"]), ("date",)),
    "a date five years ahead": ("s.csv", _long([f"{PLANTED[0]},b2m,{_future(1900)},3,mg/L"]), ("future",)),
    "M-protein of 5e-324": ("s.csv", _long([f"{PLANTED[0]},m_protein,2025-01-01,5e-324,g/dL"]), ("value",)),
    "a million rows for one patient": ("s.csv", _one_patient_million_rows, ("1,000,000 results", "at most 10,000")),
    "a million patients": ("s.csv", _million_patients, ("1,000,000 patients",)),
    "truncated Parquet": ("s.parquet", _parquet(_long_rows()), ("Parquet",)),
    "CSV text named .parquet": ("s.parquet", _long(_long_rows()), ("Parquet",)),
    "a folder named .csv": ("s.csv", lambda p: p.mkdir(), ("folder",)),
    "no such .csv": ("s.csv", lambda p: None, ("no such file",)),
    "an .xlsx": ("s.xlsx", lambda p: p.write_bytes(b"PK\x03\x04"), ()),
}


@pytest.mark.parametrize("case", list(BOTH) + list(ASSESS_ONLY))
def test_assess_refuses_in_one_line(case: str, tmp_path: Path) -> None:
    make, needles = {**BOTH, **ASSESS_ONLY}[case]
    make(tmp_path / "doc.json")
    assert_refused(run_b2m(["assess", "doc.json"], tmp_path), *needles)


@pytest.mark.parametrize(
    "case", ["NUL byte inside the document", "duplicate patient ids", "date in 2999", "empty array"]
)
def test_assess_refuses_standard_input_alike(case: str, tmp_path: Path) -> None:
    """The same checks on standard input (the document is copied as it is read)."""
    make, needles = {**BOTH, **ASSESS_ONLY}[case]
    make(tmp_path / "doc.json")
    r = run_b2m(["assess", "-f", "json", "-"], tmp_path, stdin=tmp_path / "doc.json")
    assert_refused(r, *needles)


@pytest.mark.parametrize(("device", "needle"), [("/dev/zero", "NUL"), ("/dev/urandom", "NUL")], ids=["zero", "urandom"])
@pytest.mark.parametrize("command", ["assess", "monitor"])
def test_endless_devices_end_quickly(command: str, device: str, needle: str, tmp_path: Path) -> None:
    """A device that never ends is read in chunks and refused at its first NUL byte, as FILE and as stdin."""
    if not Path(device).exists():
        pytest.skip(f"no {device}")
    assert_refused(run_b2m([command, device], tmp_path), needle)
    r = run_b2m([command, "-"], tmp_path, stdin=Path(device))
    assert_refused(r, needle)
    assert r.seconds < 30


def test_standard_input_over_the_limit_is_refused(tmp_path: Path) -> None:
    """257 MiB of JSON whitespace on standard input: refused by size, the copy bounded by the limit."""
    r = run_b2m(["assess", "-"], tmp_path, stdin=b" " * (257 << 20))
    assert_refused(r, "larger than 256 MiB")


@pytest.mark.parametrize("case", list(BOTH) + list(MONITOR_ONLY))
def test_monitor_refuses_in_one_line(case: str, tmp_path: Path) -> None:
    make, needles = {**BOTH, **MONITOR_ONLY}[case]
    make(tmp_path / "doc.json")
    assert_refused(run_b2m(["monitor", "-f", "json", "doc.json"], tmp_path), *needles)


@pytest.mark.parametrize("case", list(LONG))
def test_monitor_refuses_a_hostile_long_file(case: str, tmp_path: Path) -> None:
    name, make, needles = LONG[case]
    make(tmp_path / name)
    assert_refused(run_b2m(["monitor", name], tmp_path), *needles)


@pytest.mark.parametrize("case", ["binary file", "a million empty objects", "duplicate patient ids", "NaN"])
def test_report_refuses_what_monitor_refuses(case: str, tmp_path: Path) -> None:
    make, needles = BOTH[case]
    make(tmp_path / "doc.json")
    r = run_b2m(["report", "doc.json", "-a", "patient", "-o", "r.html"], tmp_path)
    assert_refused(r, *needles)
    assert not (tmp_path / "r.html").exists()


def test_bom_and_crlf_documents_are_read(tmp_path: Path) -> None:
    """A UTF-8 byte-order mark and CRLF line ends are text editors' habits, not hostility: read as JSON."""
    (tmp_path / "p.json").write_bytes(b"\xef\xbb\xbf" + json.dumps([P0, P1], indent=2).replace("\n", "\r\n").encode())
    (tmp_path / "s.json").write_bytes(b"\xef\xbb\xbf" + json.dumps([S0], indent=2).replace("\n", "\r\n").encode())
    (tmp_path / "s.csv").write_bytes(b"\xef\xbb\xbf" + ("\r\n".join([LONG_HEADER, *_long_rows()]) + "\r\n").encode())
    for args in (["assess", "p.json"], ["monitor", "s.json"], ["monitor", "s.csv"]):
        r = run_b2m(args, tmp_path)
        assert r.code == 0 and r.err == "", (args, r.err)


# ---- outputs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args", [["assess", "-f", "json"], ["assess"], ["monitor"]], ids=["json", "summary", "monitor"]
)
def test_a_full_standard_output_is_one_line(args: list[str], tmp_path: Path) -> None:
    """Standard output on a full disk (/dev/full): the write fails, said in one line, exit 2."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    source = tmp_path / "doc.json"
    source.write_text(json.dumps([S0, S1] if args[0] == "monitor" else [P0, P1]), encoding="utf-8")
    with open("/dev/full", "wb") as full:
        p = subprocess.run(
            [sys.executable, "-m", "b2m", *args, str(source)],
            stdout=full,
            stderr=subprocess.PIPE,
            check=False,
            timeout=TIME_LIMIT_S,
        )
    err = p.stderr.decode()
    ERRORS.append(err)
    assert p.returncode == 2 and err.count("\n") == 1 and "standard output" in err, err
    assert "internal error" not in err and not any(pid in err for pid in PLANTED)


def _series_file(tmp_path: Path, name: str = "s.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps([S0, S1]), encoding="utf-8")
    return path


REPORT_OUTPUTS: dict[str, tuple[Callable[[Path], str], tuple[str, ...]]] = {
    "under /proc": (lambda t: "/proc/b2m-report.html", ("--output", "/proc")),
    "under /sys": (lambda t: "/sys/b2m-report.html", ("--output", "/sys")),
    "a folder": (lambda t: str(t) + "/", ("--output",)),
    "a folder named .html": (lambda t: (t / "d.html").mkdir() or "d.html", ("folder",)),
    "inside a regular file": (lambda t: (t / "f").write_text("x") and "f/r.html", ("no such directory",)),
    "the input itself": (lambda t: _series_file(t, "s.html").name, ("input",)),
    "a missing folder": (lambda t: "missing/r.html", ("no such directory",)),
}


@pytest.mark.parametrize("case", list(REPORT_OUTPUTS))
def test_report_refuses_an_impossible_output(case: str, tmp_path: Path) -> None:
    target, needles = REPORT_OUTPUTS[case]
    out = target(tmp_path)
    source = "s.html" if case == "the input itself" else _series_file(tmp_path).name
    before = (tmp_path / source).read_bytes()
    r = run_b2m(["report", source, "-a", "clinician", "-o", out, "-p", PLANTED[0]], tmp_path)
    assert_refused(r, *needles)
    assert (tmp_path / source).read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_report_refuses_a_read_only_folder(tmp_path: Path) -> None:
    _series_file(tmp_path)
    (tmp_path / "ro").mkdir(mode=0o555)
    r = run_b2m(["report", "s.json", "-a", "patient", "-o", "ro/r.html", "-p", PLANTED[0]], tmp_path)
    assert_refused(r, "--output")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ([], "holds 2 patients"),
        (["-p", "nobody"], "no patient with the id given"),
        (["-p", PLANTED[0][:-1]], "no patient with the id given"),
    ],
    ids=["no --patient", "an unknown id", "a prefix of an id"],
)
def test_report_names_no_id_and_says_how_to_list_them(args: list[str], needle: str, tmp_path: Path) -> None:
    """Issue 10: `report` listed up to 20 ids when --patient was missing or wrong; now a count, and the
    safe way to list them (on standard output, not in an error)."""
    _series_file(tmp_path)
    r = run_b2m(["report", "s.json", "-a", "patient", "-o", "r.pdf", *args], tmp_path)
    assert_refused(r, needle, "--list-patients")
    listed = run_b2m(["report", "s.json", "--list-patients"], tmp_path)
    assert listed.code == 0 and listed.out.decode().split() == list(PLANTED)


COHORT_INPUTS: dict[str, tuple[str, Callable[[Path], None], tuple[str, ...]]] = {
    "missing file": ("c.csv", lambda p: None, ("no such file",)),
    "empty file": ("c.csv", lambda p: p.write_bytes(b""), ("empty",)),
    "binary file": ("c.csv", lambda p: p.write_bytes(bytes(range(256)) * 64), ("NUL",)),
    "NUL in the header": ("c.csv", lambda p: p.write_bytes(b"patient_id,b2m\x00_mg_l\n1,2\n"), ("NUL",)),
    "a million columns": (
        "c.csv",
        lambda p: p.write_text(",".join(f"c{i}" for i in range(1_000_000)) + "\n"),
        ("header",),
    ),
    "header not UTF-8": ("c.csv", lambda p: p.write_bytes(b"patient_id,b2m_mg_l,\xe9\n1,2,3\n"), ("UTF-8",)),
    "truncated Parquet": ("c.parquet", lambda p: p.write_bytes(b"PAR1" + b"\x00" * 100), ("Parquet",)),
    "an OMOP folder with a binary table": (
        "omop",
        lambda p: p.mkdir() or (p / "person.csv").write_bytes(bytes(range(256)) * 64),
        ("person.csv", "NUL"),
    ),
}


@pytest.mark.parametrize("case", list(COHORT_INPUTS))
def test_cohort_report_refuses_a_hostile_input(case: str, tmp_path: Path) -> None:
    name, make, needles = COHORT_INPUTS[case]
    make(tmp_path / name)
    kind = ["--kind", "omop"] if name == "omop" else []
    r = run_b2m(["cohort", "report", name, "-o", "out", "--bootstrap", "0", *kind], tmp_path)
    assert_refused(r, *needles)
    assert not (tmp_path / "out").exists()


COHORT_OUTPUTS: dict[str, tuple[Callable[[Path], str], tuple[str, ...]]] = {
    "under /proc": (lambda t: "/proc/b2m-cohort", ("--out", "/proc")),
    "under /sys": (lambda t: "/sys/b2m-cohort", ("--out", "/sys")),
    "a regular file": (lambda t: (t / "f.txt").write_text("x") and "f.txt", ("not a folder",)),
    "below a regular file": (lambda t: (t / "f.txt").write_text("x") and "f.txt/out", ("not a folder",)),
    "the input file": (lambda t: "c.csv", ("input",)),
}


@pytest.mark.parametrize("case", list(COHORT_OUTPUTS))
def test_cohort_report_refuses_an_impossible_output(case: str, tmp_path: Path) -> None:
    target, needles = COHORT_OUTPUTS[case]
    (tmp_path / "c.csv").write_text(f"patient_id,b2m_mg_l,albumin_g_dl\n{PLANTED[0]},3,4\n")
    r = run_b2m(["cohort", "report", "c.csv", "-o", target(tmp_path), "--bootstrap", "0"], tmp_path)
    assert_refused(r, *needles)
    assert (tmp_path / "c.csv").read_text().startswith("patient_id")


def test_cohort_report_refuses_its_input_folder_as_output(tmp_path: Path) -> None:
    (tmp_path / "omop").mkdir()
    (tmp_path / "omop" / "person.csv").write_text("person_id\n1\n")
    assert_refused(run_b2m(["cohort", "report", "omop", "--kind", "omop", "-o", "omop"], tmp_path), "input folder")


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--out", "/proc/b2m-demo"], ("--out", "/proc")),
        (["--out", "/sys/b2m-demo"], ("--out", "/sys")),
        (["--ldh-uln", "nan"], ("--ldh-uln",)),
        (["--ldh-uln", "1e400"], ("--ldh-uln",)),
        (["--ldh-uln", "-250"], ("--ldh-uln",)),
        (["--ldh-uln", "250", "--no-ldh-uln"], ("--no-ldh-uln",)),
    ],
    ids=["out under /proc", "out under /sys", "nan", "1e400", "negative", "both LDH flags"],
)
def test_demo_refuses_impossible_options(args: list[str], needles: tuple[str, ...], tmp_path: Path) -> None:
    assert_refused(run_b2m(["demo", *args], tmp_path), *needles)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--bogus"], "--bogus"),
        (["nosuchcommand"], "nosuchcommand"),
        (["assess"], "Missing argument"),
        (["assess", "-f", "yaml", "x.json"], "yaml"),
        (["schema", "nope"], "nope"),
        (["schema", "patient", "extra"], "extra"),
        (["cohort", "nosuch"], "nosuch"),
        (["report", "x.json", "-a", "doctor", "-o", "r.pdf"], "doctor"),
        (["assess", "x" * 5000], "FILE"),
    ],
    ids=[
        "unknown option",
        "unknown command",
        "missing file",
        "unknown format",
        "unknown schema",
        "extra argument",
        "unknown cohort command",
        "unknown audience",
        "a 5,000-character path",
    ],
)
def test_usage_errors_are_one_line(args: list[str], needle: str, tmp_path: Path) -> None:
    r = run_b2m(args, tmp_path)
    assert r.code == 2 and r.out == b"", r.err
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("b2m: error: ") and len(lines[0]) < 600, r.err
    assert needle in lines[0] and "Traceback" not in r.err


def test_bare_command_and_group_print_their_help(tmp_path: Path) -> None:
    """`b2m` and `b2m cohort` print their help on standard output (exit 0), one option per line, not
    the whole help squashed into one error line; -h is --help; --version prints the version."""
    for args in ([], ["cohort"], ["-h"], ["assess", "-h"]):
        r = run_b2m(args, tmp_path)
        text = r.out.decode()
        assert r.code == 0 and r.err == "" and text.startswith("Usage: ") and "b2m" in text.splitlines()[0], (
            args,
            r.err,
        )
        assert len(text.splitlines()) > 5
    r = run_b2m(["--version"], tmp_path)
    assert r.code == 0 and r.out.decode().startswith("b2m ")


def test_shell_completion_is_offered(tmp_path: Path) -> None:
    r = run_b2m(["--show-completion", "bash"], tmp_path)
    assert r.code == 0 and "complete" in r.out.decode()
    env_run = subprocess.run(
        [sys.executable, "-m", "b2m"],
        env={**os.environ, "_B2M_COMPLETE": "complete_bash", "COMP_WORDS": "b2m as", "COMP_CWORD": "1"},
        capture_output=True,
        check=False,
        cwd=tmp_path,
        timeout=TIME_LIMIT_S,
    )
    assert env_run.returncode == 0 and "assess" in env_run.stdout.decode()


# ---- generated: any hostile value anywhere in an example document (in process) ----------------------

HOSTILE_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([5e-324, 1e-300, 1e308, -0.0, 10**30, -(10**30), 2**63, True]),
    st.text(max_size=40),
    st.sampled_from(["2026-W10-1", "2026-061", "20260131", "2024-02-30", "1899-12-31", "2999-01-01", _future(3)]),
    st.sampled_from(["<5e-324", ">1e308", "<0", "≤1", "\u0000", "\u202e", "\ud800", "mg/L" * 30, "µg/L"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.none(),
)


def _paths(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*path, i))
    return out


def _run_in_process(args: list[str], data: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with monkeypatch.context() as m:
        m.setattr(sys, "argv", ["b2m", *args])
        m.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
        m.setattr(sys, "stdout", out)
        m.setattr(sys, "stderr", err)
        with pytest.raises(SystemExit) as exc:
            main()
    code = exc.value.code
    return (code if isinstance(code, int) else 0), out.getvalue(), err.getvalue()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), command=st.sampled_from(["assess", "monitor"]))
def test_any_hostile_value_anywhere_is_one_line_or_a_result(
    data: st.DataObject, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Replace any part of an example document by a hostile value: the command answers, or refuses in one
    line with exit 2 and no planted id; never an internal error."""
    doc: Any = copy.deepcopy([P0, P1] if command == "assess" else [S0, S1])
    path = data.draw(st.sampled_from(_paths(doc)), label="path")
    value = data.draw(HOSTILE_VALUES, label="value")
    if not path:
        doc = value
    else:
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    try:
        raw = json.dumps(doc, ensure_ascii=data.draw(st.booleans(), label="ascii")).encode("utf-8", "surrogatepass")
    except (ValueError, TypeError):
        return
    code, out, err = _run_in_process([command, "-f", "json", "-"], raw, monkeypatch)
    ERRORS.append(err)
    assert code in (0, 2), err
    assert "internal error" not in err and "Traceback" not in err, err
    if code == 2:
        assert out == "" and err.count("\n") == 1 and err.startswith("b2m: error: "), err
        assert not any(pid in err for pid in PLANTED if pid not in json.dumps(value)), err
    else:
        json.loads(out)


def test_zz_no_planted_id_in_any_error_the_suite_provoked() -> None:
    """Every error line this module provoked (they are collected as the tests run), grepped for the ids
    planted in the documents."""
    provoked = [e for e in ERRORS if "b2m: error:" in e]
    if not provoked:
        pytest.skip("runs after the module's other tests (it reads the errors they provoked)")
    leaks = [e for e in provoked if any(pid in e for pid in PLANTED)]
    assert leaks == [], leaks
