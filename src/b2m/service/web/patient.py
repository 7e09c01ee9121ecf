"""The patient's own page: their results in plain language (the patient report's text,
:func:`b2m.report.content_patient.patient_content`, reading grade 8 or below), their charts, their report, questions
to ask the care team and support organisations.

The page has no patient id in its address: it always shows the record linked to the logged-in account, so there
is nothing to edit to reach anyone else's. Reads are audited like the API's.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from b2m.report import content_patient as cp
from b2m.report.charts import points_from_monitor, series_from_patient
from b2m.service.access import CurrentCaller, rule
from b2m.service.db.models import Patient
from b2m.service.problems import NotFound
from b2m.service.web.common import render
from b2m.service.web.views import monitored, timeline_json

router = APIRouter(include_in_schema=False)
PATIENT = ("patient",)


def _own(request: Request, caller: CurrentCaller) -> Patient:
    pid = caller.user.patient_id
    patient: Patient | None = None
    with request.app.state.sessions() as db:
        if pid is not None:
            patient = db.get(Patient, pid)
    if patient is None:
        raise NotFound("no record is linked to this account")
    audit = getattr(request.state, "b2m_audit", None)
    if isinstance(audit, dict):
        audit["patient_id"] = patient.id
    return patient


@router.get("/my", **rule(PATIENT, audit="read"))
def my_page(request: Request, caller: CurrentCaller) -> Response:
    patient = _own(request, caller)
    with request.app.state.sessions() as db:
        doc, series = monitored(db, patient)
    s = series_from_patient(series)
    b2m = points_from_monitor(doc, "value_mg_l") or s.get("b2m")
    egfr = points_from_monitor(doc, "egfr")
    content = cp.patient_content(doc, s, b2m=b2m, egfr=egfr)
    return render(
        request,
        "my.html.j2",
        {"patient": patient, "content": content, "tl": timeline_json(doc, series, audience="patient")},
        caller=caller,
    )


@router.get("/my/timeline.json", **rule(PATIENT, audit="read"))
def my_timeline(request: Request, caller: CurrentCaller) -> Response:
    patient = _own(request, caller)
    with request.app.state.sessions() as db:
        doc, series = monitored(db, patient)
    return JSONResponse(timeline_json(doc, series, audience="patient"), headers={"Cache-Control": "no-store"})
