r"""Serum B2M over time: log-linear slope, doubling or halving time, change from baseline and nadir,
and kidney function at every point. **All of this is a b2m heuristic**, not a published criterion:
no IMWG rule uses B2M kinetics, and no published source gives a B2M change threshold (b2m reference MON-1).

Slope. With :math:`t_i` in months (days / 30.4375) and :math:`y_i = \ln B2M_i`, the ordinary least
squares line :math:`y = a + k t` gives :math:`k` (per month); the doubling time is
:math:`\ln 2 / k` when :math:`k > 0` and the halving time :math:`\ln 2 / |k|` when :math:`k < 0`.
The fit uses the *trend window*: from the B2M nadir of the current line to the latest result when
B2M has risen since the nadir, otherwise from the line's baseline to the latest result. Censored
results are left out of the fit (a note says so).

Kidney function. B2M is cleared by the glomeruli, so it rises as GFR falls (b2m reference LAB-1, E48).
Each point carries the eGFR computed by :mod:`b2m.kidney` (the preferred CKD-EPI equation
for the creatinine and cystatin C available) from the results nearest in date within
:data:`KIDNEY_MATCH_WINDOW_DAYS`. The renal flag fires when B2M rose by at least
:data:`B2M_RISE_FROM_NADIR_MIN_PERCENT` from its nadir while eGFR fell by at least
:data:`EGFR_FALL_MIN_PERCENT` between the same two points.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np

from b2m.interpret.flags import KDIGO_2012
from b2m.kidney import KidneyEstimate, Sex, egfr_stage
from b2m.kidney.summary import kidney_summary
from b2m.rules.base import Note
from b2m.rules.kleene import Tri
from b2m.units import Censored, LabValue

DAYS_PER_MONTH = 365.25 / 12  # 30.4375: an average Gregorian month
# b2m heuristic (no published B2M-kinetics threshold; b2m reference MON-1): a rise of ≥ 25% from the nadir
# (inclusive) borrows the relative part of IMWG's M-protein PD rule (Kumar 2016) by analogy only.
B2M_RISE_FROM_NADIR_MIN_PERCENT = Decimal("25")
# KDIGO 2012 (CKD chapter 2.1): a "certain drop" in eGFR is a fall in GFR category with a ≥ 25% fall
# from baseline (inclusive). b2m borrows the 25% for the renal flag (b2m reference MON-2).
EGFR_FALL_MIN_PERCENT = Decimal("25")
# b2m heuristic: creatinine / cystatin C within 7 days (inclusive) of a B2M result count as "the same
# time"; the nearest one is used (ties: the earlier one).
KIDNEY_MATCH_WINDOW_DAYS = 7

HEURISTIC_NOTE = Note(
    "b2m_kinetics_heuristic",
    "caveat",
    "B2M kinetics (slope, doubling or halving time, change from nadir) are a b2m heuristic, not an IMWG "
    f"response criterion. The {B2M_RISE_FROM_NADIR_MIN_PERCENT}% rise threshold is borrowed by analogy from the "
    "IMWG M-protein rule; B2M also rises with falling kidney function, inflammation and infection "
    "(b2m reference LAB-4).",
)
RENAL_NOTE = Note(
    "b2m_renal_flag_heuristic",
    "caveat",
    f"Renal flag (b2m heuristic): B2M ≥ {B2M_RISE_FROM_NADIR_MIN_PERCENT}% above its nadir while eGFR fell by "
    f"≥ {EGFR_FALL_MIN_PERCENT}% between the same two dates (the KDIGO 2012 'certain drop' size). eGFR comes "
    f"from creatinine/cystatin C within {KIDNEY_MATCH_WINDOW_DAYS} days of each B2M result, with the age given in "
    "the input used for every date.",
)


@dataclass(frozen=True, slots=True)
class KineticsPoint:
    date: dt.date
    lab: LabValue
    egfr: KidneyEstimate | None = None
    egfr_name: str | None = None
    creatinine_date: dt.date | None = None
    cystatin_c_date: dt.date | None = None
    b2m_up_egfr_down: Tri = None  # against the previous point

    @property
    def value(self) -> float | Censored:
        return self.lab.value

    def to_dict(self) -> dict[str, object]:
        v = self.egfr.value if self.egfr else None
        return {
            "date": self.date.isoformat(),
            "value_mg_l": str(self.value) if isinstance(self.value, Censored) else self.value,
            "received": f"{self.lab.received_value} {self.lab.received_unit}",
            "method": self.lab.method,
            "egfr": round(v, 1) if v is not None else None,
            "egfr_unit": self.egfr.unit if self.egfr else None,
            "egfr_equation": self.egfr.equation.title if self.egfr else None,
            "kdigo_category": egfr_stage(v) if v is not None else None,
            "creatinine_date": self.creatinine_date.isoformat() if self.creatinine_date else None,
            "cystatin_c_date": self.cystatin_c_date.isoformat() if self.cystatin_c_date else None,
            "b2m_up_egfr_down": self.b2m_up_egfr_down,
        }


@dataclass(frozen=True, slots=True)
class RenalFlag:
    code: str  # b2m_rise_with_falling_egfr | b2m_rise_without_egfr_fall | b2m_rise_egfr_unknown
    possibly_renal: Tri
    from_point: KineticsPoint
    to_point: KineticsPoint
    b2m_change_percent: float | None
    egfr_change_percent: float | None
    clinician: str
    patient: str

    def to_dict(self) -> dict[str, object]:
        def egfr(p: KineticsPoint) -> float | None:
            return round(p.egfr.value, 1) if p.egfr and p.egfr.value is not None else None

        return {
            "code": self.code,
            "possibly_renal": self.possibly_renal,
            "from_date": self.from_point.date.isoformat(),
            "to_date": self.to_point.date.isoformat(),
            "b2m_from_mg_l": _json_value(self.from_point.value),
            "b2m_to_mg_l": _json_value(self.to_point.value),
            "b2m_change_percent": self.b2m_change_percent,
            "egfr_from": egfr(self.from_point),
            "egfr_to": egfr(self.to_point),
            "egfr_change_percent": self.egfr_change_percent,
            "egfr_equations": [p.egfr.equation.title if p.egfr else None for p in (self.from_point, self.to_point)],
            "thresholds": {
                "b2m_rise_min_percent": float(B2M_RISE_FROM_NADIR_MIN_PERCENT),
                "egfr_fall_min_percent": float(EGFR_FALL_MIN_PERCENT),
                "egfr_fall_source": KDIGO_2012.citation,
            },
            "clinician": self.clinician,
            "patient": self.patient,
            "heuristic": True,
        }


@dataclass(frozen=True, slots=True)
class B2MKinetics:
    points: tuple[KineticsPoint, ...]  # every B2M result of the series
    window: tuple[dt.date, dt.date] | None  # the current line's results (baseline included)
    line: int | None
    trend: tuple[KineticsPoint, ...]  # the points the slope was fitted to
    slope_log_per_month: float | None
    baseline: KineticsPoint | None
    nadir: KineticsPoint | None  # lowest B2M of the window before the latest result
    latest: KineticsPoint | None
    change_from_baseline_percent: float | None
    change_from_nadir_percent: float | None
    rising_from_nadir: Tri  # ≥ B2M_RISE_FROM_NADIR_MIN_PERCENT above the nadir
    renal_flag: RenalFlag | None
    notes: tuple[Note, ...]

    @property
    def doubling_time_months(self) -> float | None:
        k = self.slope_log_per_month
        return math.log(2) / k if k is not None and k > 0 else None

    @property
    def halving_time_months(self) -> float | None:
        k = self.slope_log_per_month
        return math.log(2) / -k if k is not None and k < 0 else None

    def to_dict(self) -> dict[str, object]:
        def pt(p: KineticsPoint | None) -> dict[str, object] | None:
            return None if p is None else {"date": p.date.isoformat(), "value_mg_l": _json_value(p.value)}

        d, h = self.doubling_time_months, self.halving_time_months
        return {
            "slope_log_per_month": round(self.slope_log_per_month, 4) if self.slope_log_per_month is not None else None,
            "doubling_time_months": round(d, 1) if d is not None else None,
            "halving_time_months": round(h, 1) if h is not None else None,
            "change_from_baseline_percent": self.change_from_baseline_percent,
            "change_from_nadir_percent": self.change_from_nadir_percent,
            "rising_from_nadir": self.rising_from_nadir,
            "line": self.line,
            "window": {"from": self.window[0].isoformat(), "to": self.window[1].isoformat()} if self.window else None,
            "trend": {
                "from": self.trend[0].date.isoformat(),
                "to": self.trend[-1].date.isoformat(),
                "points": len(self.trend),
            }
            if self.trend
            else None,
            "baseline": pt(self.baseline),
            "nadir": pt(self.nadir),
            "latest": pt(self.latest),
            "points": [p.to_dict() for p in self.points],
            "renal_flag": self.renal_flag.to_dict() if self.renal_flag else None,
            "heuristic": True,
            "notes": [n.to_dict() for n in self.notes],
        }


def _json_value(v: float | Censored) -> object:
    return str(v) if isinstance(v, Censored) else v


def _dec(x: float) -> Decimal:
    return Decimal(repr(float(x)))


def _pct(now: float | Censored, ref: float | Censored) -> float | None:
    if isinstance(now, Censored) or isinstance(ref, Censored) or ref == 0:
        return None
    return float(round((_dec(now) - _dec(ref)) / _dec(ref) * 100, 1))


def _nearest(labs: Sequence[LabValue], d: dt.date) -> LabValue | None:
    best: tuple[int, dt.date, LabValue] | None = None
    for x in labs:
        if x.date is None:
            continue
        dist = abs((x.date - d).days)
        if dist <= KIDNEY_MATCH_WINDOW_DAYS and (best is None or (dist, x.date) < (best[0], best[1])):
            best = (dist, x.date, x)
    return best[2] if best else None


def slope_per_month(points: Sequence[tuple[dt.date, float]]) -> float | None:
    """Least-squares slope of ln(value) against time in months; ``None`` with < 2 distinct dates."""
    if len({d for d, _ in points}) < 2 or any(v <= 0 for _, v in points):
        return None
    t0 = points[0][0]
    t = np.array([(d - t0).days / DAYS_PER_MONTH for d, _ in points], dtype=float)
    y = np.log(np.array([v for _, v in points], dtype=float))
    design = np.vstack([np.ones_like(t), t]).T
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return float(coef[1])


def b2m_kinetics(
    *,
    b2m: Sequence[LabValue],
    creatinine: Sequence[LabValue],
    cystatin_c: Sequence[LabValue],
    age_years: float | None,
    sex: Sex | None,
    weight_kg: float | None,
    line: int | None = None,
    line_start: dt.date | None = None,
    baseline_window_days: int = 30,
) -> B2MKinetics:
    """B2M kinetics of one patient; the current line starts at ``line_start`` (``None``: whole series)."""
    notes: list[Note] = [HEURISTIC_NOTE, RENAL_NOTE]
    pts: list[KineticsPoint] = []
    prev: KineticsPoint | None = None
    for lab in b2m:
        assert lab.date is not None
        cr, cys = _nearest(creatinine, lab.date), _nearest(cystatin_c, lab.date)
        summary = kidney_summary(creatinine=cr, cystatin_c=cys, age_years=age_years, sex=sex, weight_kg=weight_kg)
        pref = summary.preferred
        p = KineticsPoint(
            date=lab.date,
            lab=lab,
            egfr=pref[1] if pref else None,
            egfr_name=pref[0] if pref else None,
            creatinine_date=cr.date if cr else None,
            cystatin_c_date=cys.date if cys else None,
        )
        if prev is not None:
            p = _with_direction(p, prev)
        pts.append(p)
        prev = p
    if (creatinine or cystatin_c) and (age_years is None or sex is None):
        notes.append(Note("kinetics_egfr_needs_age_sex", "missing", "eGFR needs age and sex; none was estimated."))
    if not pts:
        notes.append(Note("no_b2m_series", "missing", "No B2M results in the series."))
        return B2MKinetics((), None, line, (), None, None, None, None, None, None, None, None, tuple(notes))
    # The current line's window: the baseline (latest result up to the start, within the baseline window)
    # and everything after the start.
    if line_start is None:
        window = pts
        baseline: KineticsPoint | None = pts[0]
    else:
        lo = line_start - dt.timedelta(days=baseline_window_days)
        before = [p for p in pts if lo <= p.date <= line_start]
        baseline = before[-1] if before else None
        window = ([baseline] if baseline else []) + [p for p in pts if p.date > line_start]
        if baseline is None:
            notes.append(
                Note(
                    "b2m_no_baseline",
                    "missing",
                    f"No B2M result in the {baseline_window_days} days up to the start of line {line}: no change "
                    "from baseline.",
                )
            )
    if not window:
        return B2MKinetics(tuple(pts), None, line, (), None, baseline, None, None, None, None, None, None, tuple(notes))
    latest = window[-1]
    exact = [(p, p.value) for p in window if isinstance(p.value, float)]
    if len(exact) < len(window):
        notes.append(
            Note(
                "b2m_censored_points",
                "caveat",
                "Censored B2M results (e.g. '<0.2') are shown but left out of the slope and the nadir.",
            )
        )
    latest_value = latest.value if isinstance(latest.value, float) else None
    earlier = [(p, v) for p, v in exact if p is not latest]
    low = min(earlier, key=lambda pv: (pv[1], pv[0].date)) if earlier else None  # ties: the earlier date
    nadir = low[0] if low else None
    # Trend: nadir -> latest when B2M has risen since its nadir, otherwise the whole window.
    rising_since_nadir = low is not None and latest_value is not None and latest_value > low[1]
    trend = [(p, v) for p, v in exact if low is not None and p.date >= low[0].date] if rising_since_nadir else exact
    k = slope_per_month([(p.date, v) for p, v in trend])
    change_base = _pct(latest.value, baseline.value) if baseline and baseline is not latest else None
    change_nadir = _pct(latest.value, low[1]) if low else None
    rising: Tri = None
    if low is not None and latest_value is not None:
        rising = _dec(latest_value) - _dec(low[1]) >= B2M_RISE_FROM_NADIR_MIN_PERCENT / 100 * _dec(low[1])
    elif len(window) < 2:
        notes.append(Note("b2m_single_point", "missing", "A single B2M result in the current line: no trend."))
    flag = _renal_flag(nadir, latest, change_nadir) if rising is True and nadir is not None else None
    return B2MKinetics(
        points=tuple(pts),
        window=(window[0].date, latest.date),
        line=line,
        trend=tuple(p for p, _ in trend) if k is not None else (),
        slope_log_per_month=k,
        baseline=baseline,
        nadir=nadir,
        latest=latest,
        change_from_baseline_percent=change_base,
        change_from_nadir_percent=change_nadir,
        rising_from_nadir=rising,
        renal_flag=flag,
        notes=tuple(notes),
    )


def _with_direction(p: KineticsPoint, prev: KineticsPoint) -> KineticsPoint:
    a, b = p.value, prev.value
    up: Tri = a > b if isinstance(a, float) and isinstance(b, float) else None
    e_now = p.egfr.value if p.egfr else None
    e_prev = prev.egfr.value if prev.egfr else None
    down: Tri = None if e_now is None or e_prev is None else e_now < e_prev
    both: Tri
    if up is False or down is False:
        both = False
    elif up is True and down is True:
        both = True
    else:
        both = None
    return replace(p, b2m_up_egfr_down=both)


def _renal_flag(nadir: KineticsPoint, latest: KineticsPoint, b2m_change: float | None) -> RenalFlag:
    e0 = nadir.egfr.value if nadir.egfr else None
    e1 = latest.egfr.value if latest.egfr else None
    if e0 is None or e1 is None or e0 <= 0:
        return RenalFlag(
            "b2m_rise_egfr_unknown",
            None,
            nadir,
            latest,
            b2m_change,
            None,
            f"B2M rose {b2m_change}% from its nadir ({nadir.date}); kidney function is not known at both dates, so a "
            "renal contribution can be neither shown nor excluded (b2m heuristic).",
            "Your B2M went up. We do not have kidney test results from the same days, so we cannot tell whether "
            "your kidneys play a part.",
        )
    fall = (_dec(e1) - _dec(e0)) / _dec(e0) * 100
    egfr_change = float(round(fall, 1))
    if -fall >= EGFR_FALL_MIN_PERCENT:
        return RenalFlag(
            "b2m_rise_with_falling_egfr",
            True,
            nadir,
            latest,
            b2m_change,
            egfr_change,
            f"B2M rose {b2m_change}% from its nadir ({nadir.date}) while eGFR fell from {e0:.1f} to {e1:.1f} "
            f"({egfr_change}%): part of the rise may be renal (b2m heuristic).",
            "Your B2M went up while your kidney test went down. Part of the rise may come from the kidneys, "
            "because the kidneys clear B2M from the blood.",
        )
    return RenalFlag(
        "b2m_rise_without_egfr_fall",
        False,
        nadir,
        latest,
        b2m_change,
        egfr_change,
        f"B2M rose {b2m_change}% from its nadir ({nadir.date}) while eGFR changed by {egfr_change}% "
        f"(less than a {EGFR_FALL_MIN_PERCENT}% fall): the rise is not explained by a fall in eGFR (b2m heuristic).",
        "Your B2M went up, and your kidney test did not go down much over the same time.",
    )
