"""The text of the PDF reports, read back from the rendered PDF (poppler's ``pdftotext``).

Oracles: issue 10. A patient id is data: ``O'Neil & Co`` is printed as ``O'Neil & Co`` (not through
HTML escaping, ``O&#39;Neil &amp; Co``), and no id, whatever it holds, may take away the footer that
carries "decision support, not diagnosis" and the page numbers (an id ending in a backslash did, on
every page). The expected footer text below is written out by hand from what the id holds. And no
report ends on a page holding a lone sentence.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import unicodedata
from importlib import resources
from pathlib import Path
from typing import Any, cast

import pytest

import b2m
from b2m.io.series import parse_patient_series
from b2m.monitor.monitor import monitor_patient
from b2m.monitor.series import PatientSeries
from b2m.report.html import AUDIENCES, FOOTER_ID_MAX_CHARS, Audience, footer_id, render_html
from b2m.report.pdf import html_to_pdf

FIXTURE = Path(__file__).parent / "data" / "monitor_fixture.json"
EXAMPLES: list[dict[str, Any]] = json.loads(
    resources.files("b2m").joinpath("data/example_series.json").read_text(encoding="utf-8")
)

CLINICIAN_FOOTER = f"b2m {b2m.__version__} · decision support, not diagnosis · "
PATIENT_FOOTER = "Not a diagnosis. Talk with your care team about your results."

# (id as given, the id as the footer must show it)
HOSTILE_IDS: list[tuple[str, str]] = [
    ("O'Neil & Co", "O'Neil & Co"),
    ("ends in a backslash\\", "ends in a backslash\\"),
    ('say "hi"', 'say "hi"'),
    ("*/ } @page { display: none } /*", "*/ } @page { display: none } /*"),
    ("</style><style>@page{display:none}", "</style><style>@page{display:none}"),
    ("line\nbreak\r\nid", "line break id"),
    ("\\\"; content: 'x'; \\", "\\\"; content: 'x'; \\"),
    ("\u202eevil-rtl\u202c", "evil-rtl"),  # right-to-left override: shown as plain text, nothing reordered
    ("id\u200f-rlm", "id -rlm"),  # right-to-left mark
    ("L" * 500, "L" * (FOOTER_ID_MAX_CHARS - 1) + "…"),
]


def pdf_page_texts(pdf: bytes, tmp_path: Path) -> list[str]:
    """The text of each page, in reading order; skips the test when pdftotext is absent."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not installed (Debian package poppler-utils; scripts/setup.sh installs it as root)")
    src = tmp_path / "report.pdf"
    src.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(src), "-"], check=True, timeout=120, capture_output=True
    ).stdout.decode("utf-8")
    pages = out.split("\f")
    assert pages[-1].strip() == ""  # pdftotext ends every page, the last included, with a form feed
    return pages[:-1]


def _lines(page: str) -> list[str]:
    # pdftotext marks right-to-left runs with bidi controls of its own; they are not part of the page's text
    return [
        " ".join("".join(c for c in line if unicodedata.category(c) != "Cf").split())
        for line in page.splitlines()
        if line.strip()
    ]


@pytest.fixture(scope="module")
def fixture_doc() -> tuple[dict[str, Any], PatientSeries]:
    with FIXTURE.open(encoding="utf-8") as fh:
        fx = json.load(fh)
    return fx["monitor"], parse_patient_series(fx["patient"])


@pytest.mark.parametrize(("pid", "shown"), HOSTILE_IDS, ids=[f"id{i}" for i in range(len(HOSTILE_IDS))])
def test_clinician_footer_survives_a_hostile_id(
    fixture_doc: tuple[dict[str, Any], PatientSeries], pid: str, shown: str, tmp_path: Path
) -> None:
    """Every page of the clinician PDF ends with its footer, the id shown as text, and "page i of n"."""
    doc, patient = copy.deepcopy(fixture_doc)
    doc["id"] = pid
    pages = pdf_page_texts(html_to_pdf(render_html(doc, patient, "clinician")), tmp_path)
    assert len(pages) >= 3  # the fixture fills several pages; each must carry the footer
    for i, page in enumerate(pages, start=1):
        lines = _lines(page)
        assert CLINICIAN_FOOTER + shown in lines, (i, lines[-3:])
        assert f"page {i} of {len(pages)}" in lines, (i, lines[-3:])
        text = "\n".join(lines)
        assert "&#39;" not in text and "&amp;" not in text and "&quot;" not in text and "&lt;" not in text


def test_patient_footer_and_header_with_a_hostile_id(
    fixture_doc: tuple[dict[str, Any], PatientSeries], tmp_path: Path
) -> None:
    """The patient PDF's footer (no id in it) is on every page, and its header shows the id as text."""
    doc, patient = copy.deepcopy(fixture_doc)
    doc["id"] = "O'Neil & Co\\"
    pages = pdf_page_texts(html_to_pdf(render_html(doc, patient, "patient")), tmp_path)
    assert "Report for: O'Neil & Co\\ ·" in " ".join(_lines(pages[0]))
    for i, page in enumerate(pages, start=1):
        lines = _lines(page)
        assert PATIENT_FOOTER in lines and f"page {i} of {len(pages)}" in lines, (i, lines[-3:])


def test_footer_id_is_one_bounded_line() -> None:
    """No line break, control or bidirectional control survives; at most FOOTER_ID_MAX_CHARS characters."""
    assert footer_id("a\nb\tc\x00d\u2028e\u202ef\u2066g") == "a b c d e f g"
    assert footer_id("x" * FOOTER_ID_MAX_CHARS) == "x" * FOOTER_ID_MAX_CHARS
    assert footer_id("x" * (FOOTER_ID_MAX_CHARS + 1)) == "x" * (FOOTER_ID_MAX_CHARS - 1) + "…"
    assert footer_id("O'Neil & Co") == "O'Neil & Co"  # text; the template escapes it once, as HTML


def test_html_report_footer_is_markup_not_css(fixture_doc: tuple[dict[str, Any], PatientSeries]) -> None:
    """The id is never written into the style sheet: the page's <style> is the same whatever the id."""
    doc, patient = copy.deepcopy(fixture_doc)

    def style(pid: str) -> str:
        html = render_html({**doc, "id": pid}, patient, "clinician")
        return html[html.index("<style>") : html.index("</style>")]

    assert style("P1") == style("ends in a backslash\\") == style("</style><style>@page{display:none}")


# ---------------------------------------------------------------------------------------------
# No orphan last page
# ---------------------------------------------------------------------------------------------

MIN_LAST_PAGE_WORDS = 40
"""More than a few words: a closing paragraph with the section it belongs to (the patient report's
lone last sentence had 18 words)."""


@pytest.mark.parametrize("audience", AUDIENCES)
@pytest.mark.parametrize("pid", [p["id"] for p in EXAMPLES])
def test_last_page_is_not_an_orphan(pid: str, audience: str, tmp_path: Path) -> None:
    """The last page of each example patient's PDF holds more than a few words besides its footer."""
    patient = parse_patient_series(next(p for p in EXAMPLES if p["id"] == pid))
    html = render_html(monitor_patient(patient).to_dict(), patient, cast(Audience, audience))
    pages = pdf_page_texts(html_to_pdf(html), tmp_path)
    footer = PATIENT_FOOTER if audience == "patient" else CLINICIAN_FOOTER + pid
    body = [line for line in _lines(pages[-1]) if line not in (footer, f"page {len(pages)} of {len(pages)}")]
    words = " ".join(body).split()
    assert len(words) > MIN_LAST_PAGE_WORDS, (len(pages), body)
