"""Patients, their stored results (the timeline) and the views derived from them.

Views are recomputed on every read from the stored results through the engine: the monitor
(:func:`b2m.monitor.monitor.monitor_patient`: IMWG 2016 response history, B2M kinetics with eGFR, alerts), the
assessment at diagnosis (:func:`b2m.assessment.assess`) and the reports (:mod:`b2m.report`).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from b2m.assessment import Assessment
from b2m.errors import InputError
from b2m.monitor.series import PatientSeries
from b2m.service import store
from b2m.service.access import DB, CurrentCaller, CurrentPatient, reach_filter, rule
from b2m.service.audit import record_in
from b2m.service.db.engine import write_session
from b2m.service.db.models import Patient, Result, TeamMember
from b2m.service.problems import Conflict, Forbidden, NotFound, problems
from b2m.service.routers import API_PREFIX
from b2m.service.schemas import (
    BatchOut,
    PatientCreate,
    PatientOut,
    PatientPage,
    PatientSummary,
    ResultIn,
    ResultsIn,
    Timeline,
)
from b2m.units import LAB_NAMES

router = APIRouter(prefix=API_PREFIX, tags=["patients"])

READ: dict[str, Any] = {"clinician": "team", "patient": "own"}
WRITE: dict[str, Any] = {"clinician": "team", "lab": "any"}
PatientId = Annotated[int, Path(ge=1, le=2**62, description="The service's id of the patient (not the site id).")]
ResultId = Annotated[int, Path(ge=1, le=2**62)]
VIEW_STATUSES = problems(401, 403, 404, 422)
# A report is one self-contained page: inline CSS and SVG, no script, nothing fetched.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


def patient_out(p: Patient) -> PatientOut:
    return PatientOut(
        id=p.id,
        site_id=p.site_id,
        team_id=p.team_id,
        version=p.version,
        details=json.loads(p.details),
        created_at=p.created_at,
    )


@router.get("/patients", response_model=PatientPage, responses=problems(401, 403, 422), **rule(READ, audit="read"))
def list_patients(
    db: DB,
    caller: CurrentCaller,
    site_id: Annotated[str | None, Query(max_length=64, description="The site's identifier, exactly.")] = None,
    q: Annotated[str | None, Query(max_length=64, description="The start of the site's identifier.")] = None,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> PatientPage:
    """The patients in the caller's reach (a clinician's care teams; a patient's own record), by site id."""
    everything, teams, own = reach_filter(db, caller, READ)
    query = select(Patient)
    if not everything:
        query = query.where(or_(Patient.team_id.in_(teams), Patient.id == (own if own is not None else -1)))
    if site_id is not None:
        query = query.where(Patient.site_id == site_id)
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Patient.site_id.like(escaped + "%", escape="\\"))
    total = store.count_patients(db, query)
    rows = db.scalars(query.order_by(Patient.site_id).offset(offset).limit(limit))
    items = [PatientSummary(id=p.id, site_id=p.site_id, team_id=p.team_id, version=p.version) for p in rows]
    return PatientPage(items=items, total=total, offset=offset, limit=limit)


def _team_for(db: Session, caller_id: int, asked: int | None) -> int:
    teams = list(db.scalars(select(TeamMember.team_id).where(TeamMember.user_id == caller_id)))
    if asked is not None:
        if asked not in teams:
            raise NotFound("no such care team among the caller's")
        return asked
    if len(teams) != 1:
        raise Conflict(
            "the caller belongs to several care teams (or none): name one",
            field="team_id",
            accepted="the id of one of the caller's care teams",
        )
    return teams[0]


@router.post(
    "/patients",
    status_code=201,
    response_model=PatientOut,
    responses=problems(401, 403, 404, 409, 413, 422),
    **rule(("clinician",), audit="write"),
)
def create_patient(request: Request, body: PatientCreate, caller: CurrentCaller) -> PatientOut:
    """Register a patient with the document of ``b2m monitor`` (without ``id``); its series, therapy lines and
    imaging events are stored as results, validated exactly as the command line validates them."""
    if "id" in body.document:
        raise InputError("document.id", "the document's id is the site_id", "no id in the document")
    from b2m.io.series import parse_patient_series

    parse_patient_series({**body.document, "id": body.site_id}, prefix="document")
    details, results = _split(body.document)
    rows = store.to_rows(results, "document.results") if results else []
    state = request.scope["state"]
    with write_session(request.app.state.sessions) as db:
        team = _team_for(db, caller.id, body.team_id)
        if store.site_id_taken(db, body.site_id):
            raise Conflict("a patient with this site_id exists", field="site_id", accepted="a new site_id")
        patient = Patient(
            site_id=body.site_id, team_id=team, details=json.dumps(details, ensure_ascii=False), created_by=caller.id
        )
        db.add(patient)
        db.flush()
        if rows:
            batch = store.new_batch(db, "create", len(rows), caller.id)
            store.store_rows(db, patient, rows, batch=batch, user_id=caller.id)
        state["b2m_audit"]["patient_id"] = patient.id
        record_in(db, state, 201, f"registered with {len(rows)} results")
        db.flush()
        db.refresh(patient)
        return patient_out(patient)


def _split(document: dict[str, Any]) -> tuple[dict[str, Any], list[ResultIn]]:
    try:
        return store.split_document(document)
    except ValidationError as e:
        first = e.errors()[0]
        raise InputError(
            "document", f"a dated entry cannot be stored: {first['msg']}", "docs/monitor-contract.md"
        ) from None


@router.get("/patients/{patient_id}", response_model=PatientOut, responses=VIEW_STATUSES, **rule(READ, audit="read"))
def get_patient(patient_id: PatientId, patient: CurrentPatient) -> PatientOut:
    return patient_out(patient)


@router.get(
    "/patients/{patient_id}/results", response_model=Timeline, responses=VIEW_STATUSES, **rule(READ, audit="read")
)
def timeline(
    db: DB,
    patient_id: PatientId,
    patient: CurrentPatient,
    history: Annotated[bool, Query(description="Also superseded and retracted results.")] = False,
) -> Response:
    """The patient's results in date order, as received and canonical."""
    if history:
        rows = list(db.scalars(select(Result).where(Result.patient_id == patient.id).order_by(Result.date, Result.id)))
        later = store.superseded_by(db, [r.id for r in rows])
        out = [store.result_dict(r, later.get(r.id)) for r in rows]
    else:
        out = store.current_dicts(db, patient.id)
    # Written once, in the shape of the Timeline model (the tests validate it against the OpenAPI document).
    body = orjson.dumps({"patient_id": patient.id, "version": patient.version, "results": out})
    return Response(body, media_type="application/json")


def _write(request: Request, caller_id: int, patient_id: int, rows: list[store.Row], source: str) -> BatchOut:
    state = request.scope["state"]
    with write_session(request.app.state.sessions) as db:
        patient, batch, stored = store.add_results(db, patient_id, rows, source=source, user_id=caller_id)
        record_in(db, state, 201, f"batch {batch.id}: {len(stored)} results")
        return BatchOut(
            batch_id=batch.id,
            stored=len(stored),
            patient_versions={str(patient.id): patient.version},
            results=[store.result_out(r) for r in stored],
        )


@router.post(
    "/patients/{patient_id}/results",
    status_code=201,
    response_model=BatchOut,
    responses=problems(401, 403, 404, 409, 413, 422),
    **rule(WRITE, audit="write"),
)
def add_results(request: Request, patient_id: PatientId, body: ResultsIn, caller: CurrentCaller) -> BatchOut:
    """Add one or many results: all are stored, or none (409 when one repeats or contradicts a stored result)."""
    rows = store.to_rows(body.results)
    return _write(request, caller.id, patient_id, rows, "api")


def _current(db: Session, patient_id: int, result_id: int) -> Result:
    r = db.get(Result, result_id)
    if r is None or r.patient_id != patient_id:
        raise NotFound("no such result for this patient")
    if r.status != "final" or store.superseded_by(db, [r.id]):
        raise Conflict(
            "this result was already corrected or retracted; correct the current version",
            kind="superseded",
            accepted="the id of a current result (GET .../results)",
        )
    return r


@router.post(
    "/patients/{patient_id}/results/{result_id}/corrections",
    status_code=201,
    response_model=BatchOut,
    responses=problems(401, 403, 404, 409, 422),
    **rule(WRITE, audit="write"),
)
def correct_result(
    request: Request, patient_id: PatientId, result_id: ResultId, body: ResultIn, caller: CurrentCaller
) -> BatchOut:
    """Store a corrected version of a result; the old one stays, superseded (never rewritten)."""
    row = store.to_row(body, "body")
    state = request.scope["state"]
    with write_session(request.app.state.sessions) as db:
        patient = store.lock_patient(db, patient_id)
        old = _current(db, patient.id, result_id)
        others = [r for r in db.scalars(store.current_results(patient.id)) if r.id != old.id]
        store.check_against_stored(others, [row], "body")
        store.check_document(patient, others, [row])
        batch = store.new_batch(db, "correction", 1, caller.id)
        stored = store.store_rows(db, patient, [row], batch=batch, user_id=caller.id, supersedes=old.id)
        record_in(db, state, 201, f"result {old.id} corrected by {stored[0].id}")
        return BatchOut(
            batch_id=batch.id,
            stored=1,
            patient_versions={str(patient.id): patient.version},
            results=[store.result_out(r) for r in stored],
        )


@router.post(
    "/patients/{patient_id}/results/{result_id}/retraction",
    status_code=201,
    response_model=BatchOut,
    responses=problems(401, 403, 404, 409, 422),
    **rule(WRITE, audit="write"),
)
def retract_result(request: Request, patient_id: PatientId, result_id: ResultId, caller: CurrentCaller) -> BatchOut:
    """Mark a result as entered in error: a new row records the retraction; the result stays, superseded."""
    state = request.scope["state"]
    with write_session(request.app.state.sessions) as db:
        patient = store.lock_patient(db, patient_id)
        old = _current(db, patient.id, result_id)
        batch = store.new_batch(db, "retraction", 1, caller.id)
        stored = store.store_rows(
            db,
            patient,
            [store.row_of(old)],
            batch=batch,
            user_id=caller.id,
            supersedes=old.id,
            status="entered_in_error",
        )
        record_in(db, state, 201, f"result {old.id} retracted by {stored[0].id}")
        return BatchOut(
            batch_id=batch.id,
            stored=1,
            patient_versions={str(patient.id): patient.version},
            results=[store.result_out(r) for r in stored],
        )


# --------------------------------------------------------------------------------------------- derived views


def stored_document(db: Session, patient: Patient) -> dict[str, Any]:
    return store.document(patient, db.scalars(store.current_results(patient.id)))


def monitor_doc(db: Session, patient: Patient) -> tuple[dict[str, Any], PatientSeries]:
    """The monitor's JSON of the stored series, and the series as the edge read it."""
    from b2m.io.series import parse_patient_series
    from b2m.monitor.monitor import monitor_patient

    series = parse_patient_series(stored_document(db, patient))
    return monitor_patient(series).to_dict(), series


@router.get(
    "/patients/{patient_id}/monitor", response_model=dict[str, Any], responses=VIEW_STATUSES, **rule(READ, audit="read")
)
def monitor(db: DB, patient_id: PatientId, patient: CurrentPatient) -> dict[str, Any]:
    """Everything ``b2m monitor --format json`` gives for the stored series (docs/monitor-contract.md)."""
    return monitor_doc(db, patient)[0]


@router.get(
    "/patients/{patient_id}/response",
    response_model=dict[str, Any],
    responses=VIEW_STATUSES,
    **rule(READ, audit="read"),
)
def response_history(db: DB, patient_id: PatientId, patient: CurrentPatient) -> dict[str, Any]:
    """IMWG 2016 response history: measurable disease, every assessment, best response per line, progression."""
    m = monitor_doc(db, patient)[0]
    keys = ("id", "measurable_disease", "assessments", "best_response", "lines", "progression", "rule", "notes")
    return {k: m[k] for k in (*keys, "disclaimer", "b2m_version")}


@router.get(
    "/patients/{patient_id}/kinetics",
    response_model=dict[str, Any],
    responses=VIEW_STATUSES,
    **rule(READ, audit="read"),
)
def kinetics(db: DB, patient_id: PatientId, patient: CurrentPatient) -> dict[str, Any]:
    """B2M kinetics with the eGFR at each point (labelled heuristic)."""
    m = monitor_doc(db, patient)[0]
    return {"id": m["id"], "kinetics": m["kinetics"], "disclaimer": m["disclaimer"], "b2m_version": m["b2m_version"]}


@router.get(
    "/patients/{patient_id}/alerts", response_model=dict[str, Any], responses=VIEW_STATUSES, **rule(READ, audit="read")
)
def alerts(db: DB, patient_id: PatientId, patient: CurrentPatient) -> dict[str, Any]:
    m = monitor_doc(db, patient)[0]
    return {"id": m["id"], "alerts": m["alerts"], "disclaimer": m["disclaimer"], "b2m_version": m["b2m_version"]}


@router.get(
    "/patients/{patient_id}/assessment",
    response_model=dict[str, Any],
    responses=VIEW_STATUSES,
    **rule(READ, audit="read"),
)
def assessment(db: DB, patient_id: PatientId, patient: CurrentPatient) -> dict[str, Any]:
    """The assessment at diagnosis (``b2m assess --format json``) from the labs at diagnosis in the stored
    document; without them, from each lab's earliest stored result (``labs_from`` says which)."""
    result, source = assessment_at_diagnosis(db, patient)
    return {**result.to_dict(), "labs_from": source}


def assessment_at_diagnosis(db: Session, patient: Patient) -> tuple[Assessment, str]:
    """The stored patient's assessment at diagnosis, and where its labs came from (``document`` or
    ``earliest_results``)."""
    from b2m.assessment import assess
    from b2m.io.patient import parse_patient

    doc = stored_document(db, patient)
    details = {k: v for k, v in doc.items() if k not in store.DOCUMENT_KEYS_STORED_AS_RESULTS}
    source = "document"
    if not details.get("labs"):
        source = "earliest_results"
        details["labs"] = {k: entries[0] for k, entries in doc["series"].items() if k in LAB_NAMES and entries}
    return assess([parse_patient(details)])[0], source


@router.get(
    "/patients/{patient_id}/report",
    responses={
        200: {"content": {"text/html": {}, "application/pdf": {}}, "description": "The report"},
        **VIEW_STATUSES,
    },
    response_class=Response,
    **rule(READ, audit="read"),
)
async def report(
    request: Request,
    patient_id: PatientId,
    patient: CurrentPatient,
    caller: CurrentCaller,
    audience: Literal["patient", "clinician"] = "patient",
    format: Literal["html", "pdf"] = "html",
) -> Response:
    """The patient or clinician monitoring report of the stored series, as self-contained HTML or PDF."""
    if audience == "clinician" and "clinician" not in caller.roles:
        raise Forbidden("the clinician report is for clinicians")

    def render() -> bytes:
        from b2m.report.html import render_html
        from b2m.report.pdf import html_to_pdf

        with request.app.state.sessions() as db:
            doc, series = monitor_doc(db, patient)
        html = render_html(doc, series, audience)
        return html_to_pdf(html) if format == "pdf" else html.encode("utf-8")

    body = await run_in_threadpool(render)
    if format == "pdf":
        return Response(body, media_type="application/pdf")
    # The report is one self-contained page: inline CSS and SVG, no script.
    return Response(
        body,
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": REPORT_CSP},
    )
