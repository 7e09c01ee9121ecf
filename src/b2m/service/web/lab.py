"""The laboratory's page: post results (one by form, or a file of many patients), and see what was refused and
why (from the audit trail: the problem and where, never the value)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from b2m.errors import FileFormatError
from b2m.service.access import Caller, CurrentCaller, rule
from b2m.service.db.models import AuditEvent, Patient
from b2m.service.web.clinician import ALL_UNITS, ANALYTE_CHOICES, MAX_UPLOAD_BYTES
from b2m.service.web.common import render
from b2m.service.web.uploads import Checked, LabResultForm, check_and_store, read_file

router = APIRouter(include_in_schema=False)
LAB = ("lab",)
RECENT = 50


def _any(db: Session, p: Patient) -> bool:
    return True  # a laboratory posts results for any registered patient


def _recent(request: Request, caller: Caller) -> tuple[list[AuditEvent], list[AuditEvent]]:
    with request.app.state.sessions() as db:
        mine = select(AuditEvent).where(AuditEvent.user_id == caller.id, AuditEvent.access == "write")
        refused = list(db.scalars(mine.where(AuditEvent.outcome >= 400).order_by(AuditEvent.id.desc()).limit(RECENT)))
        stored = list(db.scalars(mine.where(AuditEvent.outcome < 300).order_by(AuditEvent.id.desc()).limit(RECENT)))
    return refused, stored


def _page(
    request: Request,
    caller: Caller,
    *,
    status: int = 200,
    form: dict[str, str] | None = None,
    result: Checked | None = None,
    upload: Checked | None = None,
    reading: str | None = None,
) -> Response:
    refused, stored = _recent(request, caller)
    ctx: dict[str, Any] = {
        "form": form or {},
        "result": result,
        "reading": reading,
        "upload": upload,
        "refused": refused,
        "stored": stored,
        "analytes": ANALYTE_CHOICES,
        "units": ALL_UNITS,
    }
    return render(request, "lab.html.j2", ctx, status=status, caller=caller)


@router.get("/lab", **rule(LAB))
def lab_page(request: Request, caller: CurrentCaller) -> Response:
    return _page(request, caller)


@router.post("/lab/results", **rule(LAB, audit="write"))
def post_result(
    request: Request,
    caller: CurrentCaller,
    form: Annotated[LabResultForm, Form()],
) -> Response:
    """One result for the patient with this site id."""
    cells = form.cells()
    checked = check_and_store(
        request.app.state.sessions,
        request.scope["state"],
        [cells],
        user_id=caller.id,
        in_reach=_any,
        source="lab",
        one_result=True,
    )
    kept = {} if checked.ok else form.model_dump()  # a refused result stays in the form to be corrected
    reading = _reading_link(cells) if checked.ok else None
    return _page(request, caller, status=201 if checked.ok else 422, form=kept, result=checked, reading=reading)


def _reading_link(cells: dict[str, str | None]) -> str | None:
    """The B2M reading of a result just stored, with its value, unit and the lab's interval filled in: the lab's
    interpretive comment. Only what the lab itself posted goes in (the link carries no patient id, and the lab
    role reads no stored patient data); kidney function and the rest are entered there."""
    if (cells.get("analyte") or "").lower() != "b2m":
        return None
    query = {
        "labs.b2m.value": cells.get("value"),
        "labs.b2m.unit": cells.get("unit"),
        "labs.b2m.lower_limit": cells.get("lower_limit"),
        "labs.b2m.upper_limit": cells.get("upper_limit"),
    }
    return "/calculators/b2m-reading?" + urlencode({k: v for k, v in query.items() if v})


@router.post("/lab/upload", **rule(LAB, audit="write"))
async def upload(request: Request, caller: CurrentCaller, file: Annotated[UploadFile, File()]) -> Response:
    """A long-format file of results for any registered patients: every row checked; all stored, or none."""
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
            cells = read_file(data, name)
        except FileFormatError as e:
            checked.file_error = e.one_line()
            return 422, checked
        checked = check_and_store(
            request.app.state.sessions, request.scope["state"], cells, user_id=caller.id, in_reach=_any
        )
        return (201 if checked.ok else 422), checked

    status, checked = await run_in_threadpool(work)
    return _page(request, caller, status=status, upload=checked)
