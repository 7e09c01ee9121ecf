"""Reading grade of the patient report (issue #4: target grade 8 or below).

Oracles: the Flesch-Kincaid grade formula applied by hand to counted words, sentences and
syllables (Kincaid JP, Fishburne RP, Rogers RL, Chissom BS. Derivation of new readability formulas
for Navy enlisted personnel. Research Branch Report 8-75, 1975); the SMOG formula (McLaughlin GH.
SMOG grading: a new readability formula. J Reading. 1969;12(8):639-646); the issue's target of 8.
"""

from __future__ import annotations

import math

import pytest

from b2m.report.html import render_html
from b2m.report.readability import TARGET_GRADE, html_reading_grade, prose_from_html, reading_grade
from tests.test_report import load_fixture


def test_flesch_kincaid_by_hand() -> None:
    """'The cat sat on the mat. A dog ran to the park and back again.': 15 words, 2 sentences,
    16 syllables (again = 2). FK = 0.39 × 15/2 + 11.8 × 16/15 − 15.59 = −0.0783."""
    g = reading_grade("The cat sat on the mat. A dog ran to the park and back again.")
    assert (g.words, g.sentences) == (15, 2)
    assert g.flesch_kincaid_grade == pytest.approx(0.39 * 15 / 2 + 11.8 * 16 / 15 - 15.59, abs=0.01)


def test_smog_by_hand() -> None:
    """SMOG with no word of 3+ syllables is the formula's constant: 1.0430 × √0 + 3.1291."""
    g = reading_grade("The cat sat on the mat. A dog ran to the park and back again.")
    assert g.smog_grade == pytest.approx(1.0430 * math.sqrt(0) + 3.1291, abs=0.01)


def test_decimals_and_web_addresses_do_not_end_sentences() -> None:
    """'3.4 mg/L' and 'myeloma.org' are one sentence each, not two (which would flatter the grade)."""
    assert reading_grade("Your result was 3.4 mg/L on that day.").sentences == 1
    assert reading_grade("Their website is myeloma.org for you.").sentences == 1


def test_prose_is_paragraphs_and_list_items_only() -> None:
    """Headings, tables, charts and the head are not prose; list items without a stop end a sentence."""
    html = (
        "<html><head><title>Long title words</title><style>p{}</style></head><body><h1>Heading</h1>"
        "<p>One <strong>two</strong> three.</p><ul><li>Four five six</li></ul>"
        "<table><tr><td><p>in table</p></td></tr></table><svg><title>chart</title></svg></body></html>"
    )
    assert prose_from_html(html) == ["One two three.", "Four five six"]
    assert reading_grade(prose_from_html(html)).sentences == 2


def test_patient_report_reading_grade_is_at_most_8() -> None:
    """The issue's target: the generated patient text reads at grade 8 or below (Flesch-Kincaid and
    SMOG), measured over every paragraph and list item of the rendered page."""
    doc, patient = load_fixture()
    g = html_reading_grade(render_html(doc, patient, "patient"))
    assert g.words > 600  # the whole report was measured, not a fragment
    assert g.flesch_kincaid_grade <= TARGET_GRADE, g
    assert g.smog_grade <= TARGET_GRADE, g
