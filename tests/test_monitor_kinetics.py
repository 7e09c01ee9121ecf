"""B2M kinetics (a b2m heuristic): slope, doubling/halving time, changes, eGFR alongside, renal flag.

Oracles: the log-linear arithmetic written out in each docstring (ln 2 / slope; months = days /
30.4375), and the CKD-EPI 2021 creatinine equation (Inker 2021, DOI 10.1056/NEJMoa2102953; reference
Inker 2021, DOI 10.1056/NEJMoa2102953; b2m reference KID-1) evaluated by hand in the docstrings. The thresholds (25% B2M
rise, 25% eGFR fall from KDIGO 2012, 7-day kidney window) are the documented heuristics, tested at their boundaries.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest

from b2m.io.series import parse_patient_series
from b2m.monitor.kinetics import b2m_kinetics, slope_per_month
from b2m.monitor.monitor import MonitorResult, monitor_patient
from b2m.units import LabValue, parse_lab

D0 = dt.date(2026, 1, 1)



def _monitor(doc: dict[str, Any]) -> MonitorResult:
    """The monitor on a document of the series contract, read at the edge."""
    return monitor_patient(parse_patient_series(doc))

def lab(key: str, date: dt.date, value: float, unit: str, **kw: object) -> LabValue:
    out = parse_lab(key, {"value": value, "unit": unit, "date": date.isoformat(), **kw})
    assert out is not None
    return out


def b2m_at(days_values: list[tuple[int, float]]) -> list[LabValue]:
    return [lab("b2m", D0 + dt.timedelta(days=d), v, "mg/L") for d, v in days_values]


def test_doubling_time_two_points() -> None:
    """2.0 mg/L on 2026-01-01 and 4.0 mg/L on 2026-07-02 (182 days = 182 / 30.4375 = 5.9795 months): slope
    ln 2 / 5.9795 = 0.11592 per month; doubling time 5.9795 months."""
    k = b2m_kinetics(
        b2m=b2m_at([(0, 2.0), (182, 4.0)]), creatinine=[], cystatin_c=[], age_years=60, sex="male", weight_kg=None
    )
    assert k.slope_log_per_month == pytest.approx(0.11592, abs=1e-5)
    assert k.doubling_time_months == pytest.approx(5.9795, abs=1e-4)
    assert k.halving_time_months is None


def test_halving_time() -> None:
    """4.0 -> 2.0 mg/L over 91 days (2.9897 months): halving time 2.9897 months, no doubling time."""
    k = b2m_kinetics(
        b2m=b2m_at([(0, 4.0), (91, 2.0)]), creatinine=[], cystatin_c=[], age_years=60, sex="male", weight_kg=None
    )
    assert k.halving_time_months == pytest.approx(2.9897, abs=1e-4)
    assert k.doubling_time_months is None
    assert k.change_from_baseline_percent == -50.0


def test_least_squares_on_an_exact_exponential() -> None:
    """1, 2, 4 mg/L at days 0, 61, 122: ln B2M is exactly linear with slope ln 2 / (61 / 30.4375) = 0.34586 per
    month."""
    points = [(D0 + dt.timedelta(days=d), v) for d, v in [(0, 1.0), (61, 2.0), (122, 4.0)]]
    assert slope_per_month(points) == pytest.approx(math.log(2) / (61 / 30.4375), rel=1e-9)
    assert slope_per_month(points[:1]) is None


def _doc(b2m: list[tuple[str, float]], creatinine: list[tuple[str, float]] | None = None) -> dict[str, Any]:
    return {
        "id": "K",
        "age": 60,
        "sex": "male",
        "series": {
            "b2m": [{"date": d, "value": v, "unit": "mg/L"} for d, v in b2m],
            "creatinine": [{"date": d, "value": v, "unit": "mg/dL"} for d, v in creatinine or []],
            "m_protein": [{"date": "2026-01-05", "value": 3.0, "unit": "g/dL"}],
            "urine_m_protein": [{"date": "2026-01-05", "value": 100, "unit": "mg/24 h"}],
        },
        "therapy_lines": [{"line": 1, "start": "2026-01-10"}],
    }


def test_change_from_baseline_and_nadir() -> None:
    """Baseline 4.0 (5 days before the line starts), nadir 2.0, latest 3.0: change from baseline (3 - 4) / 4 =
    -25%; from the nadir (3 - 2) / 2 = +50% (≥ 25%: rising, heuristic); the slope is fitted from the nadir on."""
    k = _monitor(_doc([("2026-01-05", 4.0), ("2026-03-01", 2.0), ("2026-05-01", 3.0)])).to_dict()["kinetics"][
        "b2m"
    ]
    assert k["change_from_baseline_percent"] == -25.0
    assert k["change_from_nadir_percent"] == 50.0
    assert k["rising_from_nadir"] is True
    assert k["trend"] == {"from": "2026-03-01", "to": "2026-05-01", "points": 2}
    assert k["heuristic"] is True


@pytest.mark.parametrize(("latest", "rising"), [(2.5, True), (2.49, False)])
def test_rise_threshold_is_inclusive(latest: float, rising: bool) -> None:
    """Nadir 2.0: 2.5 is +25% exactly (≥ 25%, inclusive) -> rising and alerted; 2.49 (+24.5%) is not."""
    r = _monitor(_doc([("2026-01-05", 4.0), ("2026-03-01", 2.0), ("2026-05-01", latest)])).to_dict()
    assert r["kinetics"]["b2m"]["rising_from_nadir"] is rising
    assert ("b2m_rising_from_nadir" in [a["code"] for a in r["alerts"]]) is rising


def test_egfr_at_each_point() -> None:
    """Male, 60 years, creatinine 1.0 mg/dL: CKD-EPI 2021 = 142 x min(1.0/0.9, 1)^-0.302 x max(1.0/0.9, 1)^-1.200
    x 0.9938^60 = 142 x 1 x 0.881233 x 0.688556 = 86.16 mL/min/1.73 m²."""
    k = _monitor(_doc([("2026-01-05", 4.0)], [("2026-01-05", 1.0)])).kinetics
    (p,) = k.points
    assert p.egfr is not None and p.egfr.value is not None
    assert p.egfr.value == pytest.approx(86.16, abs=0.01)
    assert p.egfr.equation.id == "ckd_epi_2021_creatinine"


@pytest.mark.parametrize(("offset_days", "found"), [(7, True), (8, False)])
def test_kidney_results_within_seven_days(offset_days: int, found: bool) -> None:
    """Creatinine 7 days from the B2M result counts (window inclusive); 8 days does not -> eGFR unknown."""
    cr_date = (dt.date(2026, 1, 5) + dt.timedelta(days=offset_days)).isoformat()
    (p,) = _monitor(_doc([("2026-01-05", 4.0)], [(cr_date, 1.0)])).kinetics.points
    assert (p.egfr is not None) is found


def test_renal_flag_when_egfr_falls() -> None:
    """B2M nadir 2.0 with creatinine 1.0 (eGFR 86.16, above), latest 3.0 (+50%) with creatinine 2.0: eGFR = 142 x
    (2.0/0.9)^-1.2 x 0.688556 = 142 x 0.383579 x 0.688556 = 37.50; change (37.50 - 86.16) / 86.16 = -56.5%
    (a fall ≥ 25%) -> possibly renal."""
    doc = _doc(
        [("2026-01-05", 4.0), ("2026-03-01", 2.0), ("2026-05-01", 3.0)],
        [("2026-03-01", 1.0), ("2026-05-01", 2.0)],
    )
    flag = _monitor(doc).to_dict()["kinetics"]["b2m"]["renal_flag"]
    assert flag["code"] == "b2m_rise_with_falling_egfr"
    assert flag["possibly_renal"] is True
    assert flag["egfr_from"] == pytest.approx(86.2, abs=0.05)
    assert flag["egfr_to"] == pytest.approx(37.5, abs=0.05)
    assert flag["egfr_change_percent"] == pytest.approx(-56.5, abs=0.1)
    assert flag["heuristic"] is True


def test_renal_flag_not_when_egfr_stable() -> None:
    """Same B2M rise with creatinine 1.0 at both dates: eGFR unchanged (0%, not a ≥ 25% fall) -> not renal."""
    doc = _doc(
        [("2026-01-05", 4.0), ("2026-03-01", 2.0), ("2026-05-01", 3.0)],
        [("2026-03-01", 1.0), ("2026-05-01", 1.0)],
    )
    flag = _monitor(doc).to_dict()["kinetics"]["b2m"]["renal_flag"]
    assert (flag["code"], flag["possibly_renal"], flag["egfr_change_percent"]) == (
        "b2m_rise_without_egfr_fall",
        False,
        0.0,
    )


def test_renal_flag_unknown_without_kidney_results() -> None:
    """Same B2M rise with no creatinine: unknown (possibly_renal null), never 'not renal'."""
    doc = _doc([("2026-01-05", 4.0), ("2026-03-01", 2.0), ("2026-05-01", 3.0)])
    flag = _monitor(doc).to_dict()["kinetics"]["b2m"]["renal_flag"]
    assert (flag["code"], flag["possibly_renal"]) == ("b2m_rise_egfr_unknown", None)


def test_point_direction_flags() -> None:
    """Each point says whether B2M rose while eGFR fell against the previous point: 2.0 -> 3.0 with creatinine
    1.0 -> 2.0 is True; the first point has no previous one (null)."""
    doc = _doc([("2026-03-01", 2.0), ("2026-05-01", 3.0)], [("2026-03-01", 1.0), ("2026-05-01", 2.0)])
    points = _monitor(doc).to_dict()["kinetics"]["b2m"]["points"]
    assert [p["b2m_up_egfr_down"] for p in points] == [None, True]


def test_censored_b2m_left_out_of_the_fit() -> None:
    """A censored '<0.2' result is shown but not fitted (a note says so); 2 exact points remain."""
    k = b2m_kinetics(
        b2m=[*b2m_at([(0, 2.0)]), lab("b2m", D0 + dt.timedelta(days=30), "<0.2", "mg/L"), *b2m_at([(182, 4.0)])],  # type: ignore[arg-type]
        creatinine=[],
        cystatin_c=[],
        age_years=None,
        sex=None,
        weight_kg=None,
    )
    assert len(k.points) == 3
    assert any(n.code == "b2m_censored_points" for n in k.notes)
    assert k.slope_log_per_month is not None
