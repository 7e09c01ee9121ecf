"""The clinician's pages: my patients (alerts first) and one patient's page (timeline, stage at diagnosis with its
evidence, response history, kinetics, adding results by form or file, the clinician report).

Every view is the engine's, recomputed from the stored results (:mod:`b2m.service.web.views`); results are added
through the same checks and storage as the API (:mod:`b2m.service.web.uploads`). Reads and writes are audited
like the API's.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from b2m.errors import B2MError, FileFormatError
from b2m.io.series import LONG_ANALYTES
from b2m.service import store
from b2m.service.access import DB, Caller, CurrentCaller, CurrentPatient, reach_filter, rule
from b2m.service.db.models import Patient, TeamMember
from b2m.service.routers.patients import PatientId
from b2m.service.web.common import PAGE_HEADERS, render
from b2m.service.web.uploads import Checked, ResultForm, check_and_store, read_file
from b2m.service.web.views import alerts_of, diagnosed, monitored, priority, timeline_json
from b2m.units import ANALYTES, LAB_NAMES, parse_lab

router = APIRouter(include_in_schema=False)
CLINICIAN: dict[str, Any] = {"clinician": "team"}
PAGE_SIZE = 50
MAX_UPLOAD_BYTES = 16 << 20
STAGING_KEYS = ("iss", "r_iss", "r2_iss")

# The analytes a result form offers (the long format's), with their labels and units.
ANALYTE_CHOICES: list[tuple[str, str]] = [
    (a, ANALYTES[a].label if a in ANALYTES else a.replace("_", " ")) for a in LONG_ANALYTES
]
ALL_UNITS: list[str] = sorted({u for a in ANALYTES.values() for u in a.accepted})


def _team_ids(db: Session, caller: Caller) -> set[int]:
    return set(db.scalars(select(TeamMember.team_id).where(TeamMember.user_id == caller.id)))


def _b2m_at_diagnosis(p: Patient) -> dict[str, Any] | None:
    """The B2M recorded with the patient (the labs at diagnosis) when no dated result is stored: the list then shows
    the value the stage was computed from, marked as such, rather than a dash beside a staged patient."""
    raw = (json.loads(p.details).get("labs") or {}).get("b2m")
    try:
        lab = parse_lab("b2m", raw)  # canonical, like the dated results beside it (checked at registration)
    except B2MError:
        return None
    if lab is None:
        return None
    return {"value": lab.value, "unit": lab.unit, "date": lab.date, "at_diagnosis": True}


@router.get("/patients", **rule(CLINICIAN, audit="read"))
def my_patients(
    request: Request,
    db: DB,
    caller: CurrentCaller,
    q: Annotated[str, Query(max_length=64)] = "",
    page: Annotated[int, Query(ge=1, le=10**6)] = 1,
) -> Response:
    """The patients of the caller's care teams, searched by the start of the site id; on each page the patients
    with alerts come first (confirmed progression, then progression awaiting confirmation, B2M rising with
    falling eGFR, monitoring gaps)."""
    everything, teams, own = reach_filter(db, caller, CLINICIAN)
    query = select(Patient)
    if not everything:
        query = query.where(or_(Patient.team_id.in_(teams), Patient.id == (own if own is not None else -1)))
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Patient.site_id.like(escaped + "%", escape="\\"))
    total = store.count_patients(db, query)
    patients = list(db.scalars(query.order_by(Patient.site_id).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    rows: list[dict[str, Any]] = []
    for p in patients:
        doc, series = monitored(db, p)
        alerts = alerts_of(doc)
        b2m = series.lab("b2m")
        last: Any = b2m[-1] if b2m else _b2m_at_diagnosis(p)
        assessments = [a for a in doc.get("assessments") or [] if a.get("category")]
        rows.append(
            {
                "patient": p,
                "alerts": alerts,
                "priority": priority(alerts),
                "b2m": last,
                "response": assessments[-1] if assessments else None,
            }
        )
    rows.sort(key=lambda r: (int(r["priority"]), str(r["patient"].site_id)))
    return render(
        request,
        "patients.html.j2",
        {"rows": rows, "q": q, "page": page, "total": total, "pages": max(1, -(-total // PAGE_SIZE))},
        caller=caller,
    )


def patient_context(db: Session, patient: Patient) -> dict[str, Any]:
    doc, series = monitored(db, patient)
    details = json.loads(patient.details)
    staging = doc.get("staging_at_diagnosis") or {}
    at_diagnosis, labs_from = diagnosed(db, patient)  # the B2M read with its confounders
    return {
        "b2m_panel": {"b2m": at_diagnosis.b2m.to_dict(), "kidney": at_diagnosis.kidney.to_dict()},
        "labs_from": labs_from,
        "patient": patient,
        "details": details,
        "doc": doc,
        "alerts": alerts_of(doc),
        "staging": [(k, staging[k]) for k in staging if isinstance(staging.get(k), dict)],
        "assessments": doc.get("assessments") or [],
        "lines": doc.get("lines") or [],
        "best": doc.get("best_response") or {},
        "kinetics": (doc.get("kinetics") or {}).get("b2m") or {},
        "measurable": doc.get("measurable_disease") or {},
        "therapy_lines": series.therapy_lines,
        "tl": timeline_json(doc, series),
        "analytes": ANALYTE_CHOICES,
        "units": ALL_UNITS,
        "lab_names": LAB_NAMES,
    }


def _page(
    request: Request,
    db: Session,
    caller: Caller,
    patient: Patient,
    *,
    status: int = 200,
    form: dict[str, str] | None = None,
    form_error: str | None = None,
    upload: Checked | None = None,
    notice: str | None = None,
) -> Response:
    ctx = patient_context(db, patient)
    ctx |= {"form": form or {}, "form_error": form_error, "upload": upload, "notice": notice}
    return render(request, "patient_page.html.j2", ctx, status=status, caller=caller)


@router.get("/patients/{patient_id}", **rule(CLINICIAN, audit="read"))
def patient_page(
    request: Request,
    db: DB,
    patient_id: PatientId,
    patient: CurrentPatient,
    caller: CurrentCaller,
    added: Annotated[int, Query(ge=0, le=10**6)] = 0,
) -> Response:
    notice = f"{added} result{'s' if added != 1 else ''} stored." if added else None
    return _page(request, db, caller, patient, notice=notice)


@router.get("/patients/{patient_id}/timeline.json", **rule(CLINICIAN, audit="read"))
def timeline(request: Request, patient_id: PatientId, patient: CurrentPatient) -> Response:
    """The timeline's series for the charts (canonical units, seconds since 1970)."""
    with request.app.state.sessions() as db:
        doc, series = monitored(db, patient)
    return JSONResponse(timeline_json(doc, series), headers={"Cache-Control": "no-store"})


def _reach(caller: Caller) -> Any:
    def in_reach(db: Session, p: Patient) -> bool:
        return p.team_id is not None and p.team_id in _team_ids(db, caller)

    return in_reach


@router.post("/patients/{patient_id}/results", **rule(CLINICIAN, audit="write"))
def add_result(
    request: Request,
    patient_id: PatientId,
    patient: CurrentPatient,
    caller: CurrentCaller,
    form: Annotated[ResultForm, Form()],
) -> Response:
    """Add one result from the page's form (the same checks as a file row); back to the page when stored."""
    cells = form.cells()
    checked = check_and_store(
        request.app.state.sessions,
        request.scope["state"],
        [cells],
        user_id=caller.id,
        in_reach=_reach(caller),
        fixed_patient=patient,
        source="web",
        one_result=True,
    )
    if checked.ok:
        return RedirectResponse(f"/patients/{patient.id}?added=1#timeline", status_code=303, headers=PAGE_HEADERS)
    error = checked.file_error or "; ".join(r["error"] for r in checked.errors)
    with request.app.state.sessions() as db:
        return _page(request, db, caller, _fresh(db, patient), status=422, form=form.model_dump(), form_error=error)


def _fresh(db: Session, patient: Patient) -> Patient:
    return db.get(Patient, patient.id) or patient


@router.post("/patients/{patient_id}/upload", **rule(CLINICIAN, audit="write"))
async def upload(
    request: Request,
    patient_id: PatientId,
    patient: CurrentPatient,
    caller: CurrentCaller,
    file: Annotated[UploadFile, File()],
) -> Response:
    """A long-format file of this patient's results: every row checked, each refusal named beside its row; all
    stored, or none."""
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    name = file.filename or "results.csv"

    def work() -> tuple[int, Checked]:
        checked = Checked()
        if not name.lower().endswith((".csv", ".parquet")):
            checked.file_error = "upload a .csv or .parquet file (by its file name)"
            return 415, checked
        if len(data) > MAX_UPLOAD_BYTES:
            checked.file_error = f"the file is larger than {MAX_UPLOAD_BYTES >> 20} MiB"
            return 413, checked
        try:
            cells = read_file(data, name, one_patient=True)
        except FileFormatError as e:
            checked.file_error = e.one_line()
            return 422, checked
        checked = check_and_store(
            request.app.state.sessions,
            request.scope["state"],
            cells,
            user_id=caller.id,
            in_reach=_reach(caller),
            fixed_patient=patient,
        )
        return (201 if checked.ok else 422), checked

    status, checked = await run_in_threadpool(work)
    with request.app.state.sessions() as db:
        fresh = _fresh(db, patient)
        notice = f"{checked.stored} results stored from {name}." if checked.ok else None
        return _page(request, db, caller, fresh, status=status if status != 201 else 200, upload=checked, notice=notice)
