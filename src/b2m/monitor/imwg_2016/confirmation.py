"""Confirmation over consecutive assessments of a line, and the line's best response.

Kumar S, et al. International Myeloma Working Group consensus criteria for response and minimal
residual disease assessment in multiple myeloma. Lancet Oncol. 2016;17(8):e328-e346.
DOI 10.1016/S1470-2045(16)30206-6.

Every category needs two consecutive assessments of the same line (before the next line starts): a
response is confirmed when an adjacent assessment is at least as good, PD when an adjacent assessment
is also PD. The best response is the best level reached by two consecutive assessments; a line whose
categories were never confirmed has best response ``not_evaluable`` (PD on a first, lab-only record
with no later assessment is not evaluable). The choice is stated in the ``imwg2016_confirmation`` note.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from b2m.monitor.imwg_2016.assessment import Classification
from b2m.monitor.imwg_2016.baseline import Line
from b2m.monitor.imwg_2016.constants import NOT_EVALUABLE, RANK, RESPONSES
from b2m.monitor.imwg_2016.notes import NOTES
from b2m.rules.base import Note


@dataclass(frozen=True, slots=True)
class Assessment:
    date: dt.date
    line: int | None
    result: Classification
    confirmed: bool = False
    confirmed_by: dt.date | None = None
    notes: tuple[Note, ...] = ()

    @property
    def category(self) -> str:
        return self.result.category

    def to_dict(self) -> dict[str, object]:
        r = self.result
        return {
            "date": self.date.isoformat(),
            "line": self.line,
            "category": r.category,
            "possible": list(r.possible),
            "at_least": r.at_least if r.category == NOT_EVALUABLE else None,
            "confirmed": self.confirmed,
            "confirmed_by": self.confirmed_by.isoformat() if self.confirmed_by else None,
            "measurements": [dict(m) for m in r.measurements],
            "criteria": [c.to_dict() for c in r.criteria],
            "criteria_met": [c.code for c in r.criteria if c.met is True],
            "missing": list(r.missing),
            "notes": [n.to_dict() for n in (*r.notes, *self.notes, *NOTES)],
        }


@dataclass(frozen=True, slots=True)
class BestResponse:
    line: int | None
    category: str
    confirmed: bool
    date: dt.date | None
    confirmed_by: dt.date | None
    best_unconfirmed: str | None
    notes: tuple[Note, ...] = ()
    possibly_better: tuple[str, ...] = ()  # categories left open on both confirming assessments

    def to_dict(self) -> dict[str, object]:
        return {
            "line": self.line,
            "category": self.category,
            "confirmed": self.confirmed,
            "date": self.date.isoformat() if self.date else None,
            "confirmed_by": self.confirmed_by.isoformat() if self.confirmed_by else None,
            "best_unconfirmed": self.best_unconfirmed,
            "possibly_better": list(self.possibly_better),
            "notes": [n.to_dict() for n in self.notes],
        }


def ge_level(level: str | None, target: str) -> bool:
    """Whether ``level`` is a response at least as good as ``target`` (PD never is)."""
    return level is not None and level != "PD" and RANK[level] >= RANK[target]


def _confirms(a: Classification, b: Classification) -> bool:
    """Whether ``b`` (adjacent) confirms ``a``'s level."""
    if a.level is None or b.level is None:
        return False
    if a.level == "PD":
        return b.level == "PD"
    return ge_level(b.level, a.level)


def confirm(results: list[Classification], dates: list[dt.date], line: Line) -> tuple[Assessment, ...]:
    """The line's classified assessments, each confirmed (or not) by an adjacent one."""
    out = []
    for i, r in enumerate(results):
        by: dt.date | None = None
        if i > 0 and _confirms(r, results[i - 1]):
            by = dates[i - 1]
        elif i + 1 < len(results) and _confirms(r, results[i + 1]):
            by = dates[i + 1]
        notes: list[Note] = []
        if by is None and r.level is not None and i + 1 == len(results):
            if line.until is not None:
                notes.append(
                    Note(
                        "not_confirmed_before_new_line",
                        "caveat",
                        f"No second assessment before line {line.number} ended (next line from {line.until}): "
                        "this category cannot be confirmed.",
                    )
                )
            else:
                notes.append(
                    Note(
                        "awaiting_confirmation",
                        "unconfirmed",
                        "A single assessment with no later one: IMWG asks for two consecutive assessments before a "
                        "category is confirmed.",
                    )
                )
        if r.category == "PD" and i == 0 and len(results) == 1:
            notes.append(
                Note(
                    "pd_first_record_unconfirmed",
                    "unconfirmed",
                    "PD on the first assessment with no later assessment: unconfirmed, and the line's best response "
                    "is not evaluable (pharmaverse/admiralonco PR #280; b2m reference RESP-11).",
                )
            )
        out.append(Assessment(dates[i], line.number, r, by is not None, by, tuple(notes)))
    return tuple(out)


def best_response(assessments: Sequence[Assessment], line: Line) -> BestResponse:
    """The best level reached on two consecutive assessments of the line (else not evaluable)."""
    pairs: list[tuple[str, int]] = []  # (level, index of the first assessment of the pair)
    for i in range(len(assessments) - 1):
        a, z = assessments[i].result.level, assessments[i + 1].result.level
        if a is None or z is None:
            continue
        if a == "PD" and z == "PD":
            pairs.append(("PD", i))
        elif a != "PD" and z != "PD":
            pairs.append((min(a, z, key=lambda c: RANK[c]), i))
    singles = [a.result.level for a in assessments if a.result.level is not None]
    best_single = max(singles, key=lambda c: RANK[c]) if singles else None
    if not pairs:
        note = Note(
            "best_response_not_evaluable",
            "unconfirmed",
            "No category was reached on two consecutive assessments of this line, so the best response is not "
            "evaluable" + (f" (best single assessment: {best_single}, unconfirmed)." if best_single else "."),
        )
        return BestResponse(line.number, NOT_EVALUABLE, False, None, None, best_single, (note,))
    level = max((p[0] for p in pairs), key=lambda c: RANK[c])
    i = next(i for lv, i in pairs if lv == level)
    # The best level is first reached at the earliest assessment of a confirming pair. Where that level is
    # only a floor (missing results leave better categories open on both assessments), say which.
    open_on_both = set(assessments[i].result.possible) & set(assessments[i + 1].result.possible)
    better = tuple(c for c in RESPONSES if c in open_on_both and RANK[c] > RANK[level])
    notes: tuple[Note, ...] = ()
    if better:
        notes = (
            Note(
                "best_response_floor",
                "missing",
                f"{level} is the level certainly reached; {' or '.join(better)} cannot be excluded because results "
                "are missing on both assessments (see their 'missing').",
            ),
        )
    return BestResponse(
        line.number,
        level,
        True,
        assessments[i].date,
        assessments[i + 1].date,
        best_single if best_single and RANK[best_single] > RANK[level] else None,
        notes,
        better,
    )
