"""Derived views of a stored patient for the pages: the monitor's output (recomputed from the stored results by the
engine, :func:`b2m.service.routers.patients.monitor_doc`), the alerts in the order a clinician reads them, and
the timeline's JSON that the charts draw.

The monitor's output and the assessment at diagnosis depend only on the stored record, and every write bumps the
patient's version, so they are kept per (database, patient, version) in a small in-process cache: a page read
twice, or a list showing the same patients again, neither reads the results nor runs the engine again. Nothing
else is cached.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy.orm import Session

from b2m.assessment import Assessment
from b2m.interpret.flags import EGFR_REDUCED_BELOW_ML_MIN_1_73M2, EGFR_SEVERELY_REDUCED_BELOW_ML_MIN_1_73M2
from b2m.monitor.series import PatientSeries
from b2m.report.charts import Point, SeriesSet, points_from_monitor, series_from_patient
from b2m.service.db.models import Patient
from b2m.service.routers.patients import assessment_at_diagnosis, monitor_doc

CACHE_SIZE = 512
_cache: OrderedDict[tuple[str, str, int, int, str], Any] = OrderedDict()
_lock = threading.Lock()
T = TypeVar("T")

# What a clinician looks at first (issue 13): confirmed progression, progression awaiting confirmation, B2M rising
# with falling eGFR, monitoring gaps; then the rest.
ALERT_ORDER: dict[str, int] = {
    "confirmed_progression": 0,
    "relapse_from_cr": 0,
    "progression_awaiting_confirmation": 1,
    "relapse_from_cr_awaiting_confirmation": 1,
    "b2m_rise_with_falling_egfr": 2,
    "b2m_rising_from_nadir": 3,
    "monitoring_gap": 4,
    "unit_or_method_change": 5,
}
ALERT_TITLES: dict[str, str] = {
    "confirmed_progression": "Confirmed progression",
    "relapse_from_cr": "Relapse from complete response",
    "progression_awaiting_confirmation": "Progression awaiting confirmation",
    "relapse_from_cr_awaiting_confirmation": "Relapse from CR awaiting confirmation",
    "b2m_rise_with_falling_egfr": "B2M rising with falling eGFR",
    "b2m_rising_from_nadir": "B2M rising from its nadir",
    "monitoring_gap": "Monitoring gap",
    "unit_or_method_change": "Unit or method change",
}


def _cached(kind: str, db: Session, patient: Patient, compute: Callable[[Session, Patient], T]) -> T:
    """``compute(db, patient)``, kept per (kind, database, patient, version)."""
    # The database and the record's creation time are in the key: a process serving (or testing) several
    # databases never mixes their patients of the same id and version.
    key = (kind, str(db.get_bind().engine.url), patient.id, patient.version, str(patient.created_at))
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return cast(T, _cache[key])
    value = compute(db, patient)
    with _lock:
        _cache[key] = value
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return value


def monitored(db: Session, patient: Patient) -> tuple[dict[str, Any], PatientSeries]:
    """The monitor's output and the series of the stored patient (cached per patient version)."""
    return _cached("monitor", db, patient, monitor_doc)


def diagnosed(db: Session, patient: Patient) -> tuple[Assessment, str]:
    """The assessment at diagnosis and where its labs came from (cached per patient version)."""
    return _cached("diagnosis", db, patient, assessment_at_diagnosis)


def alerts_of(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The monitor's alerts and the kinetics' renal flag, most urgent first."""
    out = [
        {
            "code": str(a.get("code")),
            "title": ALERT_TITLES.get(str(a.get("code")), str(a.get("code")).replace("_", " ")),
            "severity": a.get("severity") or "info",
            "date": a.get("date"),
            "text": a.get("clinician") or "",
            "patient_text": a.get("patient") or "",
        }
        for a in doc.get("alerts") or []
    ]
    renal = ((doc.get("kinetics") or {}).get("b2m") or {}).get("renal_flag")
    if isinstance(renal, Mapping) and renal.get("code") == "b2m_rise_with_falling_egfr":
        out.append(
            {
                "code": "b2m_rise_with_falling_egfr",
                "title": ALERT_TITLES["b2m_rise_with_falling_egfr"],
                "severity": "caution",
                "date": renal.get("to_date"),
                "text": renal.get("clinician") or "",
                "patient_text": renal.get("patient") or "",
            }
        )
    out.sort(key=lambda a: (ALERT_ORDER.get(a["code"], 9), str(a["date"] or "")))
    return out


def priority(alerts: Sequence[Mapping[str, Any]]) -> int:
    return min((ALERT_ORDER.get(str(a["code"]), 9) for a in alerts), default=99)


def _t(d: dt.date) -> int:
    """Seconds since 1970 at noon UTC (the charts' time axis; noon keeps a date on its day in every time zone
    a browser may be in, give or take twelve hours)."""
    return int(dt.datetime(d.year, d.month, d.day, 12, tzinfo=dt.UTC).timestamp())


def _points(points: Sequence[Point]) -> list[list[Any]]:
    return [[_t(p.date), p.value, p.censored] for p in points]


def timeline_json(doc: Mapping[str, Any], series: PatientSeries, *, audience: str = "clinician") -> dict[str, Any]:
    """What the timeline charts draw, on one time axis: lab series in canonical units (censored values keep their
    text), the B2M reference interval, eGFR at each B2M date, therapy lines, IMWG categories and progression."""
    s: SeriesSet = series_from_patient(series)
    b2m = points_from_monitor(doc, "value_mg_l") or s.get("b2m")
    egfr = points_from_monitor(doc, "egfr")
    lo, hi, band_date = s.band("b2m") or (None, None, None)
    out: dict[str, Any] = {
        "series": {
            "b2m": {"label": "B2M", "unit": "mg/L", "points": _points(b2m)},
            "egfr": {"label": "eGFR", "unit": "mL/min/1.73 m²", "points": _points(egfr)},
            "m_protein": {"label": "Serum M-protein", "unit": "g/dL", "points": _points(s.get("m_protein"))},
            "urine_m_protein": {
                "label": "Urine M-protein",
                "unit": "mg/24 h",
                "points": _points(s.get("urine_m_protein")),
            },
            "flc_kappa": {"label": "FLC kappa", "unit": "mg/L", "points": _points(s.get("flc_kappa"))},
            "flc_lambda": {"label": "FLC lambda", "unit": "mg/L", "points": _points(s.get("flc_lambda"))},
        },
        "b2m_interval": (
            {"lower": lo, "upper": hi, "date": band_date.isoformat() if band_date else None} if hi is not None else None
        ),
        "b2m_intervals_differ": "b2m" in s.mixed_limits,
        "involved_light_chain": series.patient.involved_light_chain,
        "egfr_thresholds": [EGFR_REDUCED_BELOW_ML_MIN_1_73M2, EGFR_SEVERELY_REDUCED_BELOW_ML_MIN_1_73M2],
    }
    if audience == "clinician":
        out["therapy_lines"] = [
            {
                "line": t.line,
                "regimen": t.regimen,
                "start": _t(t.start),
                "end": _t(t.end) if t.end else None,
            }
            for t in series.therapy_lines
        ]
        out["assessments"] = [
            {
                "t": _t(dt.date.fromisoformat(a["date"])),
                "date": a["date"],
                "category": a.get("category"),
                "confirmed": bool(a.get("confirmed")),
            }
            for a in doc.get("assessments") or []
            if a.get("date")
        ]
        out["progression"] = [
            {
                "t": _t(dt.date.fromisoformat(p["date"])),
                "date": p["date"],
                "type": p.get("type"),
                "confirmed": bool(p.get("confirmed")),
            }
            for p in doc.get("progression") or []
            if p.get("date")
        ]
    return out


def latest(points: Sequence[Point]) -> Point | None:
    return points[-1] if points else None
