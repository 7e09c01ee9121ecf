#!/usr/bin/env python3
"""Print the reading grade of the patient report for the bundled example series.

    .venv/bin/python scripts/reading_grade.py [FILE]

FILE defaults to src/b2m/data/example_series.json (the monitor's example patients). For each
patient the monitor is run, the patient report is rendered as HTML, and its prose (every paragraph
and list item) is measured with textstat: Flesch-Kincaid grade and SMOG grade. The last line is the
grade of all the patients' reports together. Exit status 1 if any report is above the target.
"""

from __future__ import annotations

import sys
from pathlib import Path

from b2m.io.documents import series_from_json
from b2m.monitor.monitor import monitor_patient
from b2m.report.html import render_html
from b2m.report.readability import (
    TARGET_GRADE,
    ReadingGrade,
    html_reading_grade,
    prose_from_html,
    reading_grade,
)

DEFAULT = Path(__file__).resolve().parent.parent / "src" / "b2m" / "data" / "example_series.json"


def _row(name: str, g: ReadingGrade) -> str:
    return f"{name:<24} {g.flesch_kincaid_grade:>14.1f} {g.smog_grade:>6.1f} {g.words:>6} {g.sentences:>9}\n"


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else DEFAULT
    patients = series_from_json(path.read_bytes(), str(path)).items
    out = sys.stdout
    out.write(f"Patient report reading grade (textstat; target <= {TARGET_GRADE:g}) for {path.name}\n")
    out.write(f"{'patient':<24} {'Flesch-Kincaid':>14} {'SMOG':>6} {'words':>6} {'sentences':>9}\n")
    all_prose: list[str] = []
    worst = 0.0
    for p in patients:
        html = render_html(monitor_patient(p).to_dict(), p, "patient")
        g = html_reading_grade(html)
        all_prose += prose_from_html(html)
        worst = max(worst, g.flesch_kincaid_grade, g.smog_grade)
        out.write(_row(p.id, g))
    out.write(_row("all reports", reading_grade(all_prose)))
    return 0 if worst <= TARGET_GRADE else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
