"""Alerts: confirmed progression, relapse from CR, B2M rising from nadir, unit or method change, monitoring gap.

Oracles: Kumar 2016 confirmation (DOI 10.1016/S1470-2045(16)30206-6; b2m reference RESP-8, [S]); Ohio State laboratory
information (b2m reference LAB-2, [C]: results by different methods are not interchangeable); the documented heuristics
(25% B2M rise, 120-day gap), tested at their boundaries; unit factors of the b2m reference (b2m reference UNITS-2:
g/L = g/dL x 10).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from b2m.io.series import parse_patient_series
from b2m.monitor.monitor import monitor_patient
from tests.test_monitor_response import case, cats, run


def codes(r: dict[str, Any]) -> list[str]:
    return [a["code"] for a in r["alerts"]]


def test_unit_change_mid_series_is_an_alert_not_an_error() -> None:
    """Serum M-protein 30 g/L at baseline (= 3.0 g/dL) then 1.5 g/dL: one unit change -> an info alert; the
    values are compared after conversion: (3.0 - 1.5) / 3.0 = 50% -> PR."""
    doc = case(serum=[3.0, 1.5])
    doc["series"]["m_protein"][0].update({"value": 30, "unit": "g/L"})
    r = run(doc)
    assert cats(r) == ["PR"]
    (alert,) = [a for a in r["alerts"] if a["code"] == "unit_or_method_change"]
    assert alert["severity"] == "info"
    assert alert["evidence"]["analyte"] == "m_protein"
    assert (alert["evidence"]["from_unit"], alert["evidence"]["to_unit"]) == ("g/L", "g/dL")
    assert alert["heuristic"] is False


def test_equivalent_unit_spelling_is_not_a_change() -> None:
    """B2M in mg/L then µg/mL: the same unit (1 mg/L = 1 µg/mL, b2m reference UNITS-2) -> no alert."""
    doc = case(serum=[3.0, 2.0])
    doc["series"]["b2m"] = [
        {"date": "2026-01-05", "value": 4.0, "unit": "mg/L"},
        {"date": "2026-02-07", "value": 3.0, "unit": "µg/mL"},
    ]
    assert "unit_or_method_change" not in codes(run(doc))


def test_method_change_is_an_alert() -> None:
    """B2M by nephelometry, then by turbidimetry: methods differ -> alert (results not interchangeable,
    b2m reference LAB-2)."""
    doc = case(serum=[3.0, 2.0])
    doc["series"]["b2m"] = [
        {"date": "2026-01-05", "value": 4.0, "unit": "mg/L", "method": "Nephelometry"},
        {"date": "2026-02-07", "value": 3.0, "unit": "mg/L", "method": "immunoturbidimetry"},
        {"date": "2026-03-07", "value": 3.0, "unit": "mg/L", "method": "Immunoturbidimetry "},
    ]
    changes = [a for a in run(doc)["alerts"] if a["code"] == "unit_or_method_change"]
    assert [(a["date"], a["evidence"]["method_changed"]) for a in changes] == [("2026-02-07", True)]


def test_confirmed_progression_alert() -> None:
    """PD on two consecutive assessments (3.0 -> 4.0 -> 4.5 g/dL) -> one warning, dated at confirmation."""
    r = run(case(serum=[3.0, 4.0, 4.5]))
    (alert,) = [a for a in r["alerts"] if a["code"] == "confirmed_progression"]
    assert alert["severity"] == "warning"
    assert alert["date"] == r["progression"][0]["confirmed_by"]
    assert alert["doi"] == "10.1016/S1470-2045(16)30206-6"
    assert "treat" not in alert["patient"].casefold()


def _gap_doc(gap_days: int) -> dict[str, Any]:
    start = dt.date(2026, 1, 10)
    d1 = start + dt.timedelta(days=28)
    d2 = d1 + dt.timedelta(days=gap_days)
    return {
        "id": "G",
        "series": {
            "m_protein": [
                {"date": "2026-01-05", "value": 3.0, "unit": "g/dL"},
                {"date": d1.isoformat(), "value": 1.2, "unit": "g/dL"},
                {"date": d2.isoformat(), "value": 1.1, "unit": "g/dL"},
            ],
            "urine_m_protein": [{"date": "2026-01-05", "value": 100, "unit": "mg/24 h"}],
        },
        "therapy_lines": [{"line": 1, "start": start.isoformat()}],
    }


@pytest.mark.parametrize(("gap", "alerted"), [(120, False), (121, True)])
def test_monitoring_gap(gap: int, alerted: bool) -> None:
    """Heuristic threshold: a gap of more than 120 days between response assessments (exclusive: 120 is not)."""
    r = monitor_patient(parse_patient_series(_gap_doc(gap))).to_dict()
    gaps = [a for a in r["alerts"] if a["code"] == "monitoring_gap"]
    assert bool(gaps) is alerted
    if gaps:
        assert gaps[0]["evidence"]["days"] == 121
        assert gaps[0]["heuristic"] is True
    assert any(n["code"] == "monitoring_gap_heuristic" for n in r["notes"])


def test_b2m_rise_alert_mentions_kidneys_and_gives_no_advice() -> None:
    """B2M 2.0 -> 3.0 (+50% ≥ 25%) with no kidney results: caution, heuristic, and the patient text names other
    causes instead of giving advice."""
    doc = case(serum=[3.0, 2.0, 1.9])
    doc["series"]["b2m"] = [
        {"date": "2026-01-05", "value": 4.0, "unit": "mg/L"},
        {"date": "2026-02-07", "value": 2.0, "unit": "mg/L"},
        {"date": "2026-03-07", "value": 3.0, "unit": "mg/L"},
    ]
    (alert,) = [a for a in run(doc)["alerts"] if a["code"] == "b2m_rising_from_nadir"]
    assert (alert["severity"], alert["heuristic"]) == ("caution", True)
    assert alert["evidence"]["renal_flag"] == "b2m_rise_egfr_unknown"
    assert "kidney" in alert["patient"]


# ---------------------------------------------------------------------------------------------
# Relapse from CR is named as such, never "progression" (issue 10)
# ---------------------------------------------------------------------------------------------


def _relapse_case(relapsed: int) -> dict[str, Any]:
    """CR on assessments 1 and 2 (IFE negative, marrow 2% clonal, electrophoresis 0), then serum
    immunofixation positive again with electrophoresis still 0 on the last ``relapsed`` assessments:
    relapse from CR (reappearance on immunofixation, Kumar 2016; b2m reference RESP-6); those assessments are
    VGPR (not detectable by electrophoresis), not PD (no 0.5 g/dL rise)."""
    ife = {1: ("negative", "negative"), 2: ("negative", "negative")}
    ife |= {3 + i: ("positive", "negative") for i in range(relapsed)}
    return case(serum=[3.0, 0, 0, *[0] * relapsed], urine=[100, 0, 0, *[0] * relapsed], ife=ife, marrow={1: (2, True)})


def test_confirmed_relapse_from_cr_is_its_own_alert() -> None:
    """Relapse from CR on two consecutive assessments: a `relapse_from_cr` warning dated at confirmation,
    no `confirmed_progression` (no assessment is PD)."""
    r = run(_relapse_case(2))
    assert cats(r) == ["CR", "CR", "VGPR", "VGPR"] and "PD" not in cats(r)
    assert "confirmed_progression" not in codes(r) and "progression_awaiting_confirmation" not in codes(r)
    (alert,) = [a for a in r["alerts"] if a["code"] == "relapse_from_cr"]
    assert alert["severity"] == "warning"
    assert alert["date"] == r["progression"][0]["confirmed_by"]
    assert alert["evidence"]["type"] == "relapse_from_cr"
    assert alert["clinician"].startswith("Relapse from complete response (IMWG 2016)")
    assert "come back after a complete response" in alert["patient"]
    assert alert["doi"] == "10.1016/S1470-2045(16)30206-6"


def test_relapse_from_cr_seen_once_awaits_confirmation() -> None:
    """Relapse from CR on the latest assessment only: a caution awaiting confirmation, named as a relapse."""
    r = run(_relapse_case(1))
    assert cats(r) == ["CR", "CR", "VGPR"]
    relevant = [a for a in r["alerts"] if "progression" in a["code"] or "relapse" in a["code"]]
    assert [(a["code"], a["severity"]) for a in relevant] == [("relapse_from_cr_awaiting_confirmation", "caution")]


def test_reports_name_the_relapse() -> None:
    """The clinician report lists the alert as a relapse from CR; the patient report says the myeloma came
    back after a complete response, not that it is growing again, and does not repeat the alert."""
    from b2m.report.html import render_html
    from tests.test_report import visible_text

    doc = _relapse_case(2)
    r = run(doc)
    clinician = visible_text(render_html(r, parse_patient_series(doc), "clinician"))
    assert "relapse from cr" in clinician and "confirmed progression" not in clinician
    patient = visible_text(render_html(r, parse_patient_series(doc), "patient"))
    assert "two tests in a row showed that the myeloma had come back after a complete response" in patient
    assert "growing again" not in patient
    assert patient.count("come back after a complete response") == 1
