"""Alerts over a patient's series: what a reader of the results should not miss.

=================================  ========  =========  ===============================================
code                               severity  heuristic  raised when
=================================  ========  =========  ===============================================
``confirmed_progression``          warning   no         PD (light-chain escape included, a b2m extension:
                                                        then heuristic) on two consecutive assessments
                                                        (Kumar 2016)
``progression_awaiting_confirmation``  caution   no     the same, seen once, on the latest assessment
``relapse_from_cr``                warning   no         relapse from complete response on two consecutive
                                                        assessments (Kumar 2016); no assessment need be PD
``relapse_from_cr_awaiting_confirmation``  caution  no  the same, seen once, on the latest assessment
``b2m_rising_from_nadir``          caution   yes        latest B2M ≥ 25% above its nadir in the current line
``unit_or_method_change``          info      no         consecutive results of one analyte in different units
                                                        or by different methods (b2m reference LAB-2)
``monitoring_gap``                 caution   yes        more than :data:`MONITORING_GAP_MAX_DAYS` between
                                                        consecutive response assessments
=================================  ========  =========  ===============================================

Every alert carries the evidence it was raised from, one sentence for the clinician and one in plain
words for the patient. None gives treatment advice.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from b2m.monitor.imwg_2016 import KUMAR_2016, ProgressionEvent, ResponseHistory
from b2m.monitor.kinetics import B2M_RISE_FROM_NADIR_MIN_PERCENT, B2MKinetics
from b2m.monitor.series import PatientSeries
from b2m.provenance import Source
from b2m.rules.base import Note
from b2m.units import ANALYTES

Severity = Literal["info", "caution", "warning"]

# b2m heuristic (b2m reference MON-3): no published source gives a monitoring interval. 120 days (exclusive: a gap of
# exactly 120 days is not flagged) is the upper end of the "every 3-4 months" follow-up in the plateau
# phase quoted by a cancer-medicine textbook chapter (Holland-Frei Cancer Medicine, myeloma follow-up;
# secondary source); during active therapy visits are usually closer (every 4-6 weeks there).
MONITORING_GAP_MAX_DAYS = 120
HOLLAND_FREI = Source(
    "Holland-Frei Cancer Medicine, multiple myeloma follow-up (every 4-6 weeks during active therapy, every 3-4 "
    "months in the plateau phase); secondary source (b2m reference MON-3).",
    "",
)
OHIO_STATE_METHODS = Source(
    "Ohio State laboratory B2M test information [C] (b2m reference LAB-2): B2M results from different manufacturers or "
    "methods are not interchangeable; store the method with each result.",
    "",
)
GAP_NOTE = Note(
    "monitoring_gap_heuristic",
    "caveat",
    f"Monitoring-gap threshold {MONITORING_GAP_MAX_DAYS} days is a b2m heuristic (b2m reference MON-3): no published "
    "source gives an interval; it is the upper end of the 3-4-monthly plateau-phase follow-up quoted by a "
    "textbook chapter (secondary source).",
)

_EVENT_TEXT = {
    "progression": "Progressive disease (IMWG 2016)",
    "light_chain_escape": "Light-chain escape counted as progressive disease (b2m extension of IMWG 2016)",
    "relapse_from_cr": "Relapse from complete response (IMWG 2016)",
}
# The alert codes of each event, (confirmed, seen once): named after what happened, so that a relapse
# from CR (whose assessments are not PD) is never called progression.
_EVENT_CODES = {
    "progression": ("confirmed_progression", "progression_awaiting_confirmation"),
    "light_chain_escape": ("confirmed_progression", "progression_awaiting_confirmation"),
    "relapse_from_cr": ("relapse_from_cr", "relapse_from_cr_awaiting_confirmation"),
}
_EVENT_PATIENT = {
    "progression": "the myeloma is growing again",
    "light_chain_escape": "the myeloma is growing again, seen in the free light chain test",
    "relapse_from_cr": "myeloma has come back after a complete response",
}


@dataclass(frozen=True, slots=True)
class Alert:
    code: str
    severity: Severity
    date: dt.date
    evidence: Mapping[str, object]
    clinician: str
    patient: str
    heuristic: bool
    source: Source | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity,
            "date": self.date.isoformat(),
            "evidence": dict(self.evidence),
            "clinician": self.clinician,
            "patient": self.patient,
            "heuristic": self.heuristic,
            "citation": self.source.citation if self.source else None,
            "doi": (self.source.doi or None) if self.source else None,
        }


def _progression(history: ResponseHistory) -> list[Alert]:
    out: list[Alert] = []
    last = history.assessments[-1].date if history.assessments else None
    for e in history.events:
        evidence: dict[str, object] = {
            "type": e.type,
            "line": e.line,
            "first_date": e.date.isoformat(),
            "confirmed_by": e.confirmed_by.isoformat() if e.confirmed_by else None,
            "criteria": [c.code for c in e.criteria],
        }
        why = "; ".join(c.description for c in e.criteria)
        if e.confirmed and e.confirmed_by is not None:
            out.append(
                Alert(
                    _EVENT_CODES[e.type][0],
                    "warning",
                    e.confirmed_by,
                    evidence,
                    f"{_EVENT_TEXT[e.type]} on {e.date}, confirmed on {e.confirmed_by} by a second consecutive "
                    f"assessment: {why}.",
                    f"Two check-ups in a row show that {_EVENT_PATIENT[e.type]}, by the international definition. "
                    "Your care team can explain what this means for you.",
                    heuristic=e.type == "light_chain_escape",
                    source=KUMAR_2016,
                )
            )
        elif e.date == last:
            out.append(_awaiting(e, evidence, why))
    return out


def _awaiting(e: ProgressionEvent, evidence: dict[str, object], why: str) -> Alert:
    return Alert(
        _EVENT_CODES[e.type][1],
        "caution",
        e.date,
        evidence,
        f"{_EVENT_TEXT[e.type]} criteria met on {e.date} on one assessment only ({why}); IMWG 2016 declares it only "
        "after a second consecutive assessment.",
        f"Your latest check-up shows signs that {_EVENT_PATIENT[e.type]}. By the international rules this needs a "
        "second check-up to be sure.",
        heuristic=e.type == "light_chain_escape",
        source=KUMAR_2016,
    )


def _b2m_rise(k: B2MKinetics) -> list[Alert]:
    if k.rising_from_nadir is not True or k.nadir is None or k.latest is None:
        return []
    evidence: dict[str, object] = {
        "nadir_mg_l": k.nadir.value,
        "nadir_date": k.nadir.date.isoformat(),
        "value_mg_l": k.latest.value,
        "change_from_nadir_percent": k.change_from_nadir_percent,
        "threshold_percent": float(B2M_RISE_FROM_NADIR_MIN_PERCENT),
        "renal_flag": k.renal_flag.code if k.renal_flag else None,
    }
    renal = ""
    if k.renal_flag is not None and k.renal_flag.possibly_renal is True:
        renal = " eGFR fell over the same time, so part of the rise may be renal."
    elif k.renal_flag is not None and k.renal_flag.possibly_renal is None:
        renal = " Kidney function is not known at both dates."
    return [
        Alert(
            "b2m_rising_from_nadir",
            "caution",
            k.latest.date,
            evidence,
            f"B2M {k.latest.value} mg/L is {k.change_from_nadir_percent}% above its nadir of {k.nadir.value} mg/L "
            f"({k.nadir.date}); threshold {B2M_RISE_FROM_NADIR_MIN_PERCENT}% (b2m heuristic, not an IMWG "
            f"criterion).{renal}",
            "Your B2M has gone up since its lowest point. B2M can rise for several reasons, including the kidneys, "
            "infection or inflammation, not only myeloma.",
            heuristic=True,
        )
    ]


def _norm(method: str | None) -> str | None:
    return " ".join(method.casefold().split()) if method else None


def _unit_method(ps: PatientSeries) -> list[Alert]:
    out: list[Alert] = []
    for key, labs in ps.labs.items():
        label = ANALYTES[key].label
        for a, b in itertools.pairwise(labs):
            unit_changed = not b.reported_in(a.received_unit)
            ma, mb = _norm(a.method), _norm(b.method)
            method_changed = ma is not None and mb is not None and ma != mb
            if not unit_changed and not method_changed:
                continue
            assert a.date is not None and b.date is not None
            what = []
            if unit_changed:
                what.append(f"unit {a.received_unit} to {b.received_unit}")
            if method_changed:
                what.append(f"method {a.method} to {b.method}")
            out.append(
                Alert(
                    "unit_or_method_change",
                    "info",
                    b.date,
                    {
                        "analyte": key,
                        "from_date": a.date.isoformat(),
                        "to_date": b.date.isoformat(),
                        "from_unit": a.received_unit,
                        "to_unit": b.received_unit,
                        "from_method": a.method,
                        "to_method": b.method,
                        "unit_changed": unit_changed,
                        "method_changed": method_changed,
                    },
                    f"{label}: {' and '.join(what)} between {a.date} and {b.date}."
                    + (f" Both are compared in {ANALYTES[key].display}." if unit_changed else "")
                    + (" Results by different methods are not directly comparable." if method_changed else ""),
                    "The lab reported this test in a different way this time, so the numbers may not line up "
                    "exactly with earlier ones.",
                    heuristic=False,
                    source=OHIO_STATE_METHODS,
                )
            )
    return out


def _gaps(history: ResponseHistory) -> list[Alert]:
    dates: list[dt.date] = []
    for ln in history.lines:
        bl = ln.measurable.baseline
        base = [x.date for x in (bl.serum, bl.urine, bl.kappa, bl.lam) if x is not None and x.date is not None]
        dates += base + [a.date for a in ln.assessments]
    dates = sorted(set(dates))
    out: list[Alert] = []
    for a, b in itertools.pairwise(dates):
        days = (b - a).days
        if days > MONITORING_GAP_MAX_DAYS:
            out.append(
                Alert(
                    "monitoring_gap",
                    "caution",
                    b,
                    {
                        "from": a.isoformat(),
                        "to": b.isoformat(),
                        "days": days,
                        "threshold_days": MONITORING_GAP_MAX_DAYS,
                    },
                    f"No response assessment for {days} days ({a} to {b}), longer than {MONITORING_GAP_MAX_DAYS} days "
                    "(b2m heuristic; see note). A progression in that time would be dated late.",
                    "There was a long time between two of your check-up tests.",
                    heuristic=True,
                    source=HOLLAND_FREI,
                )
            )
    return out


def alerts(*, series: PatientSeries, history: ResponseHistory, kinetics: B2MKinetics) -> tuple[Alert, ...]:
    """Every alert for one patient, ordered by date (then severity, most severe first)."""
    found = [*_progression(history), *_b2m_rise(kinetics), *_unit_method(series), *_gaps(history)]
    rank = {"warning": 0, "caution": 1, "info": 2}
    return tuple(sorted(found, key=lambda a: (a.date, rank[a.severity], a.code)))


__all__ = ["GAP_NOTE", "MONITORING_GAP_MAX_DAYS", "Alert", "alerts"]
