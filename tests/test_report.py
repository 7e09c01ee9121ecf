"""HTML and PDF reports (issue #4, item 5).

Oracle: the hand-written fixture tests/data/monitor_fixture.json (a patient input and the monitor
output for it, written by hand from docs/monitor-contract.md; the staging at diagnosis is the
engine's output for the same labs). The tests check that the reports show what the fixture says,
that they are self-contained, that the PDF renders to a non-blank image (pdftoppm) and that the
patient report gives no treatment advice.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from b2m.io.series import parse_patient_series
from b2m.monitor.series import PatientSeries
from b2m.report.charts import Chart, Line, Point, SeriesSet, render_svg
from b2m.report.content_patient import patient_content, treatment_words
from b2m.report.html import AUDIENCES, render_html
from b2m.report.pdf import html_to_pdf

FIXTURE = Path(__file__).parent / "data" / "monitor_fixture.json"


def load_fixture() -> tuple[dict[str, Any], PatientSeries]:
    """The fixture's monitor output, and its patient document as read at the edge."""
    with FIXTURE.open(encoding="utf-8") as fh:
        fx = json.load(fh)
    return fx["monitor"], parse_patient_series(fx["patient"])


@pytest.fixture(scope="module")
def fixture_doc() -> tuple[dict[str, Any], PatientSeries]:
    return load_fixture()


@pytest.fixture(scope="module")
def html_by_audience(fixture_doc: tuple[dict[str, Any], PatientSeries]) -> dict[str, str]:
    doc, patient = fixture_doc
    return {a: render_html(doc, patient, a) for a in AUDIENCES}


@pytest.fixture(scope="module")
def pdf_by_audience(html_by_audience: dict[str, str]) -> dict[str, bytes]:
    return {a: html_to_pdf(h) for a, h in html_by_audience.items()}


class _Text(HTMLParser):
    """All visible text of a page (charts, styles and the head left out)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("svg", "style", "head", "script"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("svg", "style", "head", "script"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    p = _Text()
    p.feed(html)
    return " ".join(" ".join(p.parts).split())


# ---------------------------------------------------------------------------------------------
# Self-contained HTML
# ---------------------------------------------------------------------------------------------

# XML namespace names are identifiers, never fetched; anything else with a scheme is an external reference.
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


@pytest.mark.parametrize("audience", AUDIENCES)
def test_html_has_no_external_resources(html_by_audience: dict[str, str], audience: str) -> None:
    """Offline page: no script, stylesheet link, @import, web font or external address of any kind."""
    html = html_by_audience[audience]
    lowered = html.lower()
    assert "<script" not in lowered
    assert "<link" not in lowered
    assert "@import" not in lowered
    assert "@font-face" not in lowered
    assert "<!doctype svg" not in lowered  # matplotlib's DTD address is stripped
    for m in re.finditer(r"""(?:src|href|xlink:href)\s*=\s*["']([^"']*)["']""", html, re.I):
        assert m.group(1).startswith("#"), f"reference to {m.group(1)!r}"
    for m in re.finditer(r"url\(\s*['\"]?([^)'\"]*)", html, re.I):
        assert m.group(1).startswith("#"), f"CSS url({m.group(1)!r})"
    addresses = set(re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"'<>)]*", html, re.I))
    assert addresses <= NAMESPACES, addresses - NAMESPACES


@pytest.mark.parametrize("audience", AUDIENCES)
def test_html_ids_are_unique(html_by_audience: dict[str, str], audience: str) -> None:
    """Several inline SVG charts share one page: every id must still be unique (and every
    in-page reference resolve), or a browser would draw one chart's glyphs and clips in another."""
    html = html_by_audience[audience]
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})[:5]
    refs = set(re.findall(r'href="#([^"]+)"', html)) | set(re.findall(r"url\(#([^)]+)\)", html))
    assert refs <= set(ids)


@pytest.mark.parametrize("audience", AUDIENCES)
def test_html_has_charts_with_text_alternatives(html_by_audience: dict[str, str], audience: str) -> None:
    """The fixture has B2M, M-protein, FLC and creatinine series: four charts (patient) or five
    (clinician, with urine M-protein), each an inline SVG with a <title>."""
    html = html_by_audience[audience]
    svgs = re.findall(r"<svg\b[^>]*>\s*<title\b", html)
    assert len(svgs) == (4 if audience == "patient" else 5)
    for key in ("b2m", "m_protein", "flc", "egfr"):
        assert f'aria-labelledby="chart-{key}-title"' in html


def test_patient_id_is_escaped(fixture_doc: tuple[dict[str, Any], PatientSeries]) -> None:
    """Input text is data, never markup (an id with a script tag is shown escaped)."""
    doc, patient = copy.deepcopy(fixture_doc)
    doc["id"] = "<script>alert(1)</script>"
    for audience in AUDIENCES:
        html = render_html(doc, patient, audience)
        assert "<script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize("audience", AUDIENCES)
def test_minimal_monitor_output_renders(audience: str) -> None:
    """A monitor output with only an id (no series, no assessment) still renders, saying so."""
    html = render_html({"id": "P0"}, parse_patient_series({"id": "P0"}), audience)
    text = visible_text(html)
    assert "P0" in text
    if audience == "patient":
        assert "There are no B2M results in this report yet." in text
        assert "There are no later test results to compare with yet." in text
    else:
        assert "No response assessments." in text
        assert "No alerts." in text


# ---------------------------------------------------------------------------------------------
# Patient report content
# ---------------------------------------------------------------------------------------------

# The list of treatment words, written here independently of the code's own guard.
TREATMENT_WORDS = re.compile(
    r"\btreat|\bdos(?:e|es|ing|age)\b|stop taking|\bincreas|\bstart|\bchemo|\brecommend|\bprescri|\btherap"
    r"|\bregimen|\bVRd\b|\bmedication change",
    re.I,
)


def test_patient_report_has_no_treatment_words(html_by_audience: dict[str, str]) -> None:
    """No treatment advice: none of the treatment words anywhere in the patient page's text."""
    text = visible_text(html_by_audience["patient"])
    assert TREATMENT_WORDS.findall(text) == []
    assert treatment_words(text) == []


def test_foreign_patient_sentences_with_treatment_words_are_replaced(
    fixture_doc: tuple[dict[str, Any], PatientSeries],
) -> None:
    """A monitor alert or flag whose patient sentence gives advice is not shown; a neutral sentence is."""
    doc, patient = copy.deepcopy(fixture_doc)
    doc["alerts"][0]["patient"] = "You should increase your dose and start chemotherapy."
    doc["kinetics"]["b2m"]["renal_flag"]["patient"] = "Stop taking your tablets."
    doc["flags"] = [{"code": "x", "severity": "caution", "patient": "Treatment may need to change."}]
    text = visible_text(render_html(doc, patient, "patient"))
    assert TREATMENT_WORDS.findall(text) == []
    assert "Your B2M has gone up since its lowest point. This can have several causes." in text
    assert "Something in your health details may change B2M." in text


def test_patient_report_says_what_the_fixture_says(html_by_audience: dict[str, str]) -> None:
    """Values, dates and categories of the fixture, in plain words (oracle: the fixture)."""
    text = visible_text(html_by_audience["patient"])
    # Latest B2M 3.4 mg/L on 2025-12-05, lab interval 0.97-2.64 mg/L (the latest entry's limits).
    assert "Your latest B2M result was 3.4 mg/L on 5 December 2025." in text
    assert "The usual range at your lab is 0.97 to 2.64 mg/L, so this result is above the usual range." in text
    # First 4.8 mg/L; change from baseline -29.2% and from nadir (2.2 mg/L on 2025-07-04) +54.5%.
    assert "On 10 January 2025 your B2M was 4.8 mg/L. Your latest result is 29% lower than that." in text
    assert "Your lowest B2M after that was 2.2 mg/L on 4 July 2025. Your latest result is 55% higher than that." in text
    # Latest assessment PD, unconfirmed; best response VGPR confirmed on 2025-05-09.
    assert "(progressive disease). This was seen on one test so far, so it is not yet confirmed." in text
    assert "Your best result so far was on 9 May 2025" in text
    assert "(very good partial response). It was confirmed." in text
    # eGFR 55.1 -> 39.5.
    assert "Your eGFR was 55 on 10 January 2025 and 40 on 5 December 2025." in text
    assert "An eGFR below 60 means the kidneys work less than usual." in text


def test_patient_report_has_the_required_parts(html_by_audience: dict[str, str]) -> None:
    """Issue #4 item 5: causes of a raised B2M besides myeloma (b2m reference LAB-4), questions, support
    organisations, a clear not-a-diagnosis statement."""
    text = visible_text(html_by_audience["patient"])
    assert "This report is not a diagnosis." in text
    for cause in (
        "Kidneys",
        "Infections",
        "inflammation",
        "Liver disease",
        "lymphoma",
        "kidney transplant",
        "cyclosporine and lithium",
    ):
        assert cause in text, cause
    assert "What B2M cannot tell you" in text
    assert text.count("?") >= 8  # the questions to ask
    for org in ("International Myeloma Foundation", "Myeloma UK", "Blood Cancer UK", "Leukemia & Lymphoma Society"):
        assert org in text
    assert not re.search(r"\+?\d[\d ()-]{7,}\d", text.split("Where to find support")[1]), "no phone numbers"


# ---------------------------------------------------------------------------------------------
# Clinician report content
# ---------------------------------------------------------------------------------------------


def test_clinician_report_says_what_the_fixture_says(html_by_audience: dict[str, str]) -> None:
    """Stage at diagnosis with possible sets, response history with dates and confirmation,
    kinetics with eGFR and the heuristic label, alerts, notes [D]/[U] and sources with DOIs."""
    text = visible_text(html_by_audience["clinician"])
    # Staging: ISS II, R-ISS II, R2-ISS III or IV (t(4;14) unknown).
    assert re.search(r"R2-ISS not determined III \| IV 2\.5–3\.5", text)
    assert re.search(r"\bISS II II\b", text)
    # Response history rows.
    for row in (
        "2025-02-14 1 MR (minimal response) unconfirmed",
        "2025-04-11 1 PR (partial response) yes",
        "2025-06-06 1 VGPR (very good partial response) yes",
        "2025-12-05 1 PD (progressive disease) unconfirmed",
    ):
        assert row in text, row
    assert "Best response: VGPR (very good partial response), line 1, 2025-05-09, confirmed" in text
    assert "2025-12-05 progression unconfirmed" in text
    assert "Lines of therapy: line 1 VRd from 2025-01-20 (ongoing)" in text
    # Kinetics with eGFR alongside, labelled heuristic.
    assert "B2M kinetics with kidney function heuristic" in text
    assert re.search(r"2025-12-05 3\.4 \S+ 39\.5 \S+ CKD-EPI 2021 creatinine equation \(race-free\)", text)
    assert "+54.5%" in text and "-29.2%" in text
    # Alerts with severity; heuristic ones labelled.
    assert "caution b2m rising from nadir heuristic" in text
    assert "info unit or method change" in text
    assert "caution monitoring gap" in text
    # Notes and sources.
    assert "[D] PD uses an absolute serum M-protein rise" in text
    assert "[U]" in text
    for doi in (
        "10.1016/S1470-2045(16)30206-6",
        "10.1200/JCO.2005.04.242",
        "10.1200/JCO.2015.61.2267",
        "10.1038/kisup.2012.73",
    ):
        assert f"DOI {doi}" in text, doi


# ---------------------------------------------------------------------------------------------
# PDF: renders, and its pages are real images
# ---------------------------------------------------------------------------------------------


def pdf_pages(pdf: bytes, tmp_path: Path) -> list[Path]:
    """The PDF's pages as PNG files (pdftoppm, 50 dpi); skips the test when pdftoppm is absent."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm not installed (Debian package poppler-utils; scripts/setup.sh installs it as root)")
    src = tmp_path / "report.pdf"
    src.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(src), str(tmp_path / "page")], check=True, timeout=120)
    return sorted(tmp_path.glob("page-*.png"))


def ink_and_colours(page: Path) -> tuple[float, int]:
    """Share of the page darker than light grey, and the number of distinct colours."""
    from PIL import Image

    with Image.open(page) as im:
        # A4 (210 × 297 mm = 8.27 × 11.69 in) at 50 dpi: 413.4 × 584.6 px, rounded by pdftoppm.
        assert abs(im.width - 413.4) <= 1 and abs(im.height - 584.6) <= 1, im.size
        hist = im.convert("L").histogram()
        colours = im.convert("RGB").getcolors(maxcolors=1 << 20) or []
        return sum(hist[:200]) / (im.width * im.height), len(colours)


@pytest.mark.parametrize("audience", AUDIENCES)
def test_pdf_renders_to_non_blank_pages(pdf_by_audience: dict[str, bytes], audience: str, tmp_path: Path) -> None:
    """The PDF converts to PNG pages with pdftoppm; the first pages are real, non-blank pages."""
    pdf = pdf_by_audience[audience]
    assert pdf.startswith(b"%PDF-")
    pages = pdf_pages(pdf, tmp_path)
    assert len(pages) >= 3  # text, charts and tables do not fit on fewer A4 pages
    for page in pages[:2]:
        assert page.stat().st_size > 10_000
        ink, colours = ink_and_colours(page)
        assert 0.01 < ink < 0.5, f"{page.name}: {ink:.3f} of the page is ink"
        assert colours > 50  # anti-aliased text, charts and colour, not a flat page


def test_blank_page_check_detects_a_blank_page(tmp_path: Path) -> None:
    """The check above is not vacuous: an empty page fails it."""
    (page,) = pdf_pages(html_to_pdf("<p></p>"), tmp_path)
    ink, colours = ink_and_colours(page)
    assert ink < 0.01 and colours <= 50


def test_pdf_fetches_nothing() -> None:
    """The renderer refuses every address, so a report never reaches out (the image is not drawn)."""
    pdf = html_to_pdf('<p>x</p><img src="http://example.invalid/a.png"><img src="file:///etc/hostname">')
    assert pdf.startswith(b"%PDF-")


# ---------------------------------------------------------------------------------------------
# Charts
# ---------------------------------------------------------------------------------------------


def test_chart_svg_is_inline_and_scoped() -> None:
    """An inline <svg> element: no prolog, DOCTYPE, metadata or global style; ids prefixed."""
    import datetime as dt

    pts = (Point(dt.date(2025, 1, 1), 4.0), Point(dt.date(2025, 2, 1), 3.0), Point(dt.date(2025, 3, 1), 0.5, "<0.5"))
    svg = render_svg(Chart("k1", "B2M", "mg/L", (Line("B2M", pts),), "three results", band=(1.0, 2.7)))
    assert svg.startswith("<svg ")
    assert "<?xml" not in svg and "DOCTYPE" not in svg and "<metadata" not in svg and "<style" not in svg
    assert '<title id="chart-k1-title">three results</title>' in svg
    ids = re.findall(r'\bid="([^"]+)"', svg)
    assert ids and all(i.startswith("chart-k1") for i in ids)
    assert svg == render_svg(Chart("k1", "B2M", "mg/L", (Line("B2M", pts),), "three results", band=(1.0, 2.7)))


# ---------------------------------------------------------------------------------------------
# Property: no sentence from elsewhere can bring treatment words into the patient text
# ---------------------------------------------------------------------------------------------

_WORDS = st.sampled_from(
    ["your", "B2M", "dose", "treatment", "Start", "increase", "stop taking", "chemo", "kidney", "therapy", "rose", "."]
)


@settings(max_examples=200, deadline=None)
@given(
    alert_text=st.lists(_WORDS, max_size=12).map(" ".join) | st.text(max_size=80),
    flag_text=st.lists(_WORDS, max_size=12).map(" ".join),
    renal_text=st.lists(_WORDS, max_size=12).map(" ".join),
    code=st.sampled_from(["b2m_rising_from_nadir", "monitoring_gap", "unit_or_method_change", "something_new"]),
)
def test_patient_text_never_carries_treatment_words(
    alert_text: str, flag_text: str, renal_text: str, code: str
) -> None:
    """Whatever the monitor's patient sentences say, the patient text shows no treatment word
    (oracle: the issue's list of treatment words, TREATMENT_WORDS above)."""
    import datetime as dt

    doc = {
        "alerts": [{"code": code, "date": "2025-01-01", "patient": alert_text}],
        "flags": [{"code": "f", "patient": flag_text}],
        "kinetics": {"b2m": {"renal_flag": {"patient": renal_text}}},
    }
    b2m = (Point(dt.date(2025, 1, 1), 3.0),)
    prose = patient_content(doc, SeriesSet(), b2m=b2m, egfr=()).prose()
    assert TREATMENT_WORDS.findall(prose) == []
