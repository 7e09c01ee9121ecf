"""`b2m report` on the bundled example series (issue #4, "Done when": the reports render from the
README on the example series, checked by converting the PDF to an image).

Oracles: the issue's requirements (self-contained page, PDF that renders to non-blank A4 pages, no
treatment words in the patient report, reading grade at most 8) and the example series' own ids;
the command's bad-input behaviour follows the CLI contract (exit 2, one line on stderr).
"""

from __future__ import annotations

import io
import json
import re
import sys
from importlib import resources
from pathlib import Path
from typing import Any, cast

import pytest

from b2m.cli import main
from b2m.io.series import parse_patient_series
from b2m.monitor.monitor import monitor_patient
from b2m.monitor.series import PatientSeries
from b2m.report.html import AUDIENCES, Audience, render_html
from b2m.report.pdf import html_to_pdf
from b2m.report.readability import TARGET_GRADE, html_reading_grade
from tests.test_report import (
    NAMESPACES,
    TREATMENT_WORDS,
    ink_and_colours,
    pdf_pages,
    visible_text,
)

EXAMPLES: list[dict[str, Any]] = json.loads(
    resources.files("b2m").joinpath("data/example_series.json").read_text(encoding="utf-8")
)
EXAMPLE_FILE = Path(str(resources.files("b2m").joinpath("data/example_series.json")))
IDS = [p["id"] for p in EXAMPLES]


@pytest.fixture(scope="module")
def monitored() -> dict[str, dict[str, Any]]:
    return {p["id"]: monitor_patient(parse_patient_series(p)).to_dict() for p in EXAMPLES}


def _patient(pid: str) -> PatientSeries:
    return parse_patient_series(next(p for p in EXAMPLES if p["id"] == pid))


@pytest.mark.parametrize("pid", IDS)
def test_patient_report_of_each_example(monitored: dict[str, dict[str, Any]], pid: str) -> None:
    """Grade at most 8 (Flesch-Kincaid and SMOG), no treatment words, no external address."""
    html = render_html(monitored[pid], _patient(pid), "patient")
    g = html_reading_grade(html)
    assert g.flesch_kincaid_grade <= TARGET_GRADE, g
    assert g.smog_grade <= TARGET_GRADE, g
    assert TREATMENT_WORDS.findall(visible_text(html)) == []
    assert "This report is not a diagnosis." in visible_text(html)
    assert set(re.findall(r"https?://[^\s\"'<>)]+", html)) <= NAMESPACES


@pytest.mark.parametrize("pid", IDS)
@pytest.mark.parametrize("audience", AUDIENCES)
def test_pdf_of_each_example_renders(
    monitored: dict[str, dict[str, Any]], pid: str, audience: str, tmp_path: Path
) -> None:
    """Every example renders to a PDF whose first page is a real, non-blank A4 page."""
    pdf = html_to_pdf(render_html(monitored[pid], _patient(pid), cast(Audience, audience)))
    pages = pdf_pages(pdf, tmp_path)
    assert len(pages) >= 3
    ink, colours = ink_and_colours(pages[0])
    assert 0.01 < ink < 0.5 and colours > 50


# ---------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------


def run(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["b2m", *args])
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    with pytest.raises(SystemExit) as exc:
        main()
    code = exc.value.code
    return (code if isinstance(code, int) else 0), capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".html", ".pdf"])
@pytest.mark.parametrize("audience", AUDIENCES)
def test_cli_writes_the_report(
    suffix: str, audience: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`b2m report FILE --audience A -o OUT --patient ID` (the README's command) writes the file."""
    out = tmp_path / f"report{suffix}"
    code, err = run(
        ["report", str(EXAMPLE_FILE), "--audience", audience, "-o", str(out), "--patient", IDS[0]], capsys, monkeypatch
    )
    assert code == 0, err
    assert err == f"b2m: {audience} report -> {out}\n"
    data = out.read_bytes()
    if suffix == ".pdf":
        assert data.startswith(b"%PDF-")
    else:
        assert data.startswith(b"<!DOCTYPE html>") and IDS[0].encode() in data
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left behind


def test_cli_single_patient_needs_no_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file with one patient object needs no --patient."""
    src = tmp_path / "one.json"
    src.write_text(json.dumps(EXAMPLES[1]), encoding="utf-8")
    code, err = run(["report", str(src), "-a", "clinician", "-o", str(tmp_path / "r.html")], capsys, monkeypatch)
    assert code == 0, err
    assert IDS[1] in (tmp_path / "r.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-a", "patient", "-o", "{tmp}/r.pdf"], "--patient ID, one of EX1-responder"),
        (["-a", "patient", "-o", "{tmp}/r.pdf", "--patient", "nobody"], "no patient with id 'nobody'"),
        (["-a", "patient", "-o", "{tmp}/r.txt", "--patient", "EX1-responder"], "unknown report format '.txt'"),
        (["-a", "doctor", "-o", "{tmp}/r.pdf"], "'doctor' is not one of 'patient', 'clinician'"),
        (["-a", "patient", "-o", "{tmp}/missing/r.pdf", "-p", "EX1-responder"], "no such directory"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(
    args: list[str],
    expected: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Bad input: exit status 2, one line on stderr naming the problem, and no file written."""
    code, err = run(["report", str(EXAMPLE_FILE), *[a.format(tmp=tmp_path) for a in args]], capsys, monkeypatch)
    assert code == 2
    assert err.startswith("b2m: error: ") and err.count("\n") == 1
    assert expected in err
    assert list(tmp_path.iterdir()) == []


def test_cli_refuses_invalid_series(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The monitor's input checks apply: an implausible B2M unit is one line, exit 2, no file."""
    bad = json.loads(json.dumps(EXAMPLES[0]))
    bad["series"]["b2m"][0]["unit"] = "mg/dL"
    src = tmp_path / "bad.json"
    src.write_text(json.dumps(bad), encoding="utf-8")
    code, err = run(["report", str(src), "-a", "patient", "-o", str(tmp_path / "r.pdf")], capsys, monkeypatch)
    assert code == 2
    assert err.startswith("b2m: error: series.b2m") and err.count("\n") == 1
    assert not (tmp_path / "r.pdf").exists()
