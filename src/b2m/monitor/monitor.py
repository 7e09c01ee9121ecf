"""One patient followed over time: IMWG 2016 response, B2M kinetics, alerts and staging at diagnosis.

This module only wires the pure pieces together and renders the JSON contract of
``b2m monitor --format json`` (docs/monitor-contract.md); it decides nothing itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import b2m
from b2m.monitor.alerts import GAP_NOTE, Alert, alerts
from b2m.monitor.imwg_2016 import BASELINE_WINDOW_DAYS, NOTES, RULE, ResponseHistory, evaluate
from b2m.monitor.kinetics import B2MKinetics, b2m_kinetics
from b2m.monitor.series import PatientSeries
from b2m.rules.base import RuleResult

DISCLAIMER = (
    "Decision support, not diagnosis: b2m shows the results, the criteria that fired, sources and caveats. "
    "It gives no treatment recommendation; results must be read by a clinician with the whole clinical picture."
)


@dataclass(frozen=True, slots=True)
class MonitorResult:
    series: PatientSeries
    history: ResponseHistory
    kinetics: B2MKinetics
    alerts: tuple[Alert, ...]
    staging: Mapping[str, RuleResult] | None

    def to_dict(self) -> dict[str, object]:
        h = self.history
        cur = h.current
        return {
            "id": self.series.id,
            "measurable_disease": {"line": cur.line.number, **cur.measurable.to_dict()} if cur else None,
            "assessments": [a.to_dict() for a in h.assessments],
            "best_response": cur.best.to_dict() if cur else None,
            "lines": [ln.to_dict() for ln in h.lines],
            "progression": [e.to_dict() for e in h.events],
            "kinetics": {"b2m": self.kinetics.to_dict()},
            "alerts": [a.to_dict() for a in self.alerts],
            "staging_at_diagnosis": (
                {name: r.to_dict() for name, r in self.staging.items()} if self.staging is not None else None
            ),
            "rule": {**RULE.to_dict(), "notes": [n.to_dict() for n in NOTES]},
            "notes": [n.to_dict() for n in (*self.series.notes, *h.notes, GAP_NOTE)],
            "disclaimer": DISCLAIMER,
            "b2m_version": b2m.__version__,
        }


def _staging(ps: PatientSeries) -> Mapping[str, RuleResult] | None:
    """ISS, R-ISS and R2-ISS from the engine, when labs at diagnosis are given (``labs``)."""
    if not ps.patient.labs or ps.patient.disease != "multiple_myeloma":
        return None
    from b2m.assessment import assess

    return assess([ps.patient])[0].staging


def monitor_patient(ps: PatientSeries) -> MonitorResult:
    """Follow one patient (a series read at the edge: :func:`b2m.io.series.parse_patient_series`)."""
    history = evaluate(ps)
    cur = history.current
    p = ps.patient
    kinetics = b2m_kinetics(
        b2m=ps.lab("b2m"),
        creatinine=ps.lab("creatinine"),
        cystatin_c=ps.lab("cystatin_c"),
        age_years=p.age,
        sex=p.sex,
        weight_kg=p.weight_kg,
        line=cur.line.number if cur else None,
        line_start=cur.line.start if cur and cur.line.therapy is not None else None,
        baseline_window_days=BASELINE_WINDOW_DAYS,
    )
    return MonitorResult(
        series=ps,
        history=history,
        kinetics=kinetics,
        alerts=alerts(series=ps, history=history, kinetics=kinetics),
        staging=_staging(ps),
    )
