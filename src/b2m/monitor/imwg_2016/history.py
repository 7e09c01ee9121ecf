"""A patient's series under IMWG 2016, line by line: assessments, nadirs, and the :func:`evaluate` entry point.

Kumar S, et al. International Myeloma Working Group consensus criteria for response and minimal
residual disease assessment in multiple myeloma. Lancet Oncol. 2016;17(8):e328-e346.
DOI 10.1016/S1470-2045(16)30206-6.

Within a line (:mod:`.baseline`), results of the followed marker(s) within
:data:`ASSESSMENT_WINDOW_DAYS` of each other form one assessment; every other result
(immunofixation, FLC, urine, marrow, imaging) is attached to the nearest assessment within that
window. Each assessment is classified (:mod:`.ladder`) from its own results, the line's baseline and
the nadir of each marker, and then confirmed (:mod:`.confirmation`); a confirmed CR puts the next
assessments under the relapse-from-CR rule (:mod:`.progression`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from b2m.monitor.imwg_2016.assessment import AssessmentData, Classification, Nadirs
from b2m.monitor.imwg_2016.baseline import Baseline, Line, MeasurableDisease, baseline_for, lines_of, measurable_disease
from b2m.monitor.imwg_2016.confirmation import Assessment, BestResponse, best_response, confirm, ge_level
from b2m.monitor.imwg_2016.constants import ASSESSMENT_WINDOW_DAYS, DISEASE_LABS, PD_FINDINGS
from b2m.monitor.imwg_2016.ladder import classify
from b2m.monitor.imwg_2016.notes import SETTING_NOTES
from b2m.monitor.imwg_2016.progression import ProgressionEvent, event_kind, progression_events
from b2m.monitor.imwg_2016.values import Iv, flc_difference, iv_min, marrow_iv, value_iv
from b2m.monitor.series import ImagingEvent, Immunofixation, Marrow, PatientSeries
from b2m.rules.base import Note
from b2m.units import LabValue


@dataclass(frozen=True, slots=True)
class LineResult:
    """Everything computed for one line of therapy."""

    line: Line
    measurable: MeasurableDisease
    assessments: tuple[Assessment, ...]
    best: BestResponse
    events: tuple[ProgressionEvent, ...]

    def to_dict(self) -> dict[str, object]:
        t = self.line.therapy
        return {
            "line": self.line.number,
            "regimen": t.regimen if t else None,
            "start": self.line.start.isoformat(),
            "end": t.end.isoformat() if t and t.end else None,
            "next_line_start": self.line.until.isoformat() if self.line.until else None,
            "from_therapy_lines": t is not None,
            "measurable_disease": self.measurable.to_dict(),
            "best_response": self.best.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class ResponseHistory:
    """IMWG 2016 response and progression of one patient, line by line (what :func:`evaluate` returns)."""

    lines: tuple[LineResult, ...]
    notes: tuple[Note, ...] = ()

    @property
    def assessments(self) -> tuple[Assessment, ...]:
        return tuple(a for ln in self.lines for a in ln.assessments)

    @property
    def events(self) -> tuple[ProgressionEvent, ...]:
        return tuple(e for ln in self.lines for e in ln.events)

    @property
    def current(self) -> LineResult | None:
        """The latest line that has a baseline or an assessment (the one a reader is following now)."""
        return self.lines[-1] if self.lines else None


def _assessment_dates(ps: PatientSeries, line: Line, md: MeasurableDisease) -> list[tuple[dt.date, dt.date]]:
    """Clusters (first, last date) of the followed markers' results within the line."""
    keys: list[str]
    if md.marker == "serum_m_protein":
        keys = ["m_protein"] + (["urine_m_protein"] if "urine_m_protein" in md.followed else [])
    elif md.marker == "urine_m_protein":
        keys = ["urine_m_protein"]
    elif md.marker == "flc":
        keys = ["flc_kappa", "flc_lambda"]
    else:
        keys = list(DISEASE_LABS)
    dates = {x.date for k in keys for x in ps.lab(k) if x.date and line.owns(x.date)}
    if md.marker in ("marrow", "none", None):
        dates |= {m.date for m in ps.marrow if line.owns(m.date)}
    if md.marker in ("none", None):
        dates |= {i.date for i in ps.immunofixation if line.owns(i.date)}
    dates |= {e.date for e in ps.imaging_events if e.finding in PD_FINDINGS and line.owns(e.date)}
    clusters: list[tuple[dt.date, dt.date]] = []
    for d in sorted(dates):
        if clusters and (d - clusters[-1][0]).days <= ASSESSMENT_WINDOW_DAYS:
            clusters[-1] = (clusters[-1][0], d)
        else:
            clusters.append((d, d))
    return clusters


def _attach(
    items: Sequence[tuple[dt.date, object]], clusters: Sequence[tuple[dt.date, dt.date]], line: Line
) -> dict[int, list[object]]:
    """Each dated item goes to the nearest assessment within the window (ties: the earlier one)."""
    out: dict[int, list[object]] = {}
    for d, item in items:
        if not line.owns(d):
            continue
        best: tuple[int, int] | None = None
        for i, (lo, hi) in enumerate(clusters):
            dist = 0 if lo <= d <= hi else min(abs((d - lo).days), abs((d - hi).days))
            if dist <= ASSESSMENT_WINDOW_DAYS and (best is None or dist < best[0]):
                best = (dist, i)
        if best is not None:
            out.setdefault(best[1], []).append(item)
    return out


def _last_lab(items: list[object] | None) -> LabValue | None:
    labs = [x for x in items or [] if isinstance(x, LabValue)]
    return labs[-1] if labs else None


def evaluate_line(ps: PatientSeries, line: Line) -> LineResult:
    """One line: its baseline and measurable disease, each assessment classified and confirmed, its best
    response and its progression events."""
    md = measurable_disease(baseline_for(ps, line.start))
    b = md.baseline
    clusters = _assessment_dates(ps, line, md)
    attached = {key: _attach([(x.date, x) for x in ps.lab(key) if x.date], clusters, line) for key in DISEASE_LABS}
    ife_at = _attach([(i.date, i) for i in ps.immunofixation], clusters, line)
    marrow_at = _attach([(m.date, m) for m in ps.marrow], clusters, line)
    imaging_at = _attach([(e.date, e) for e in ps.imaging_events], clusters, line)
    results: list[Classification] = []
    dates: list[dt.date] = []
    in_cr = False
    for i, (first, last) in enumerate(clusters):
        marrow_since = [
            m for m in ps.marrow if line.owns(m.date) and m.date <= last + dt.timedelta(days=ASSESSMENT_WINDOW_DAYS)
        ]
        ifes = [x for x in ife_at.get(i, []) if isinstance(x, Immunofixation)]
        marrows = [x for x in marrow_at.get(i, []) if isinstance(x, Marrow)]
        at = AssessmentData(
            date=last,
            first_date=first,
            serum=_last_lab(attached["m_protein"].get(i)),
            urine=_last_lab(attached["urine_m_protein"].get(i)),
            kappa=_last_lab(attached["flc_kappa"].get(i)),
            lam=_last_lab(attached["flc_lambda"].get(i)),
            ife=ifes[-1] if ifes else None,
            marrow=marrows[-1] if marrows else None,
            marrow_for_cr=marrow_since[-1] if marrow_since else None,
            imaging=tuple(x for x in imaging_at.get(i, []) if isinstance(x, ImagingEvent)),
        )
        r = classify(md=md, at=at, nadir=_nadirs(ps, line, b, first), in_cr=in_cr)
        results.append(r)
        dates.append(last)
        # CR status for the next assessment: confirmed CR (two consecutive ≥ CR); left after a confirmed event.
        if len(results) >= 2:
            a, z = results[-2], results[-1]
            if ge_level(a.level, "CR") and ge_level(z.level, "CR"):
                in_cr = True
            if in_cr and event_kind(a) is not None and event_kind(z) is not None:
                in_cr = False
    assessments = confirm(results, dates, line)
    return LineResult(line, md, assessments, best_response(assessments, line), progression_events(assessments, line))


def _nadirs(ps: PatientSeries, line: Line, b: Baseline, before: dt.date) -> Nadirs:
    """The lowest value of each marker from the line's baseline up to, not including, ``before``."""

    def low(key: str, base: LabValue | None) -> Iv | None:
        vals = [value_iv(base)] if base else []
        vals += [value_iv(x) for x in ps.lab(key) if x.date and line.owns(x.date) and x.date < before]
        out: Iv | None = None
        for v in vals:
            out = iv_min(out, v)
        return out

    dflc: Iv | None = b.dflc
    kappas = {x.date: x for x in ps.lab("flc_kappa") if x.date and line.owns(x.date) and x.date < before}
    for x in ps.lab("flc_lambda"):
        if x.date in kappas:
            dflc = iv_min(dflc, flc_difference(kappas[x.date], x, b.involved))
    marrow: Iv | None = marrow_iv(b.marrow)
    for m in ps.marrow:
        if line.owns(m.date) and m.date < before:
            marrow = iv_min(marrow, marrow_iv(m))
    return Nadirs(
        serum=low("m_protein", b.serum),
        urine=low("urine_m_protein", b.urine),
        dflc=dflc,
        marrow=marrow,
    )


def evaluate(ps: PatientSeries) -> ResponseHistory:
    """IMWG 2016 response and progression for every line of one patient's series."""
    lines, notes = lines_of(ps)
    extra: list[Note] = list(notes)
    if not lines:
        extra.append(
            Note(
                "no_response_data",
                "missing",
                "No serum/urine M-protein, FLC, marrow or immunofixation results and no therapy lines: IMWG response "
                "cannot be assessed.",
            )
        )
    setting = ps.patient.setting
    if setting in ("smm", "mgus"):
        extra.append(
            Note(
                "setting_not_myeloma",
                "setting",
                f"Setting is {setting}: IMWG 2016 response criteria are defined for treated multiple myeloma.",
            )
        )
    return ResponseHistory(tuple(evaluate_line(ps, ln) for ln in lines), (*extra, *SETTING_NOTES))
