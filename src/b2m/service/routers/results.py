"""Results files in the long format (CSV or Parquet; ``patient_id`` = the site's identifier), for laboratories
and clinicians: every row through the same checks as one posted result; the whole file is stored, or nothing."""

from __future__ import annotations

import io
import re
from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from sqlalchemy import select

from b2m.errors import FileFormatError, InputError, short
from b2m.service import store
from b2m.service.access import CurrentCaller, rule
from b2m.service.audit import record_in
from b2m.service.db.engine import write_session
from b2m.service.db.models import Patient, TeamMember
from b2m.service.problems import UnsupportedMedia, problems
from b2m.service.routers import API_PREFIX
from b2m.service.schemas import BatchOut, ResultIn

router = APIRouter(prefix=API_PREFIX, tags=["results"])
UPLOAD_REACH: dict[str, Any] = {"clinician": "team", "lab": "any"}
COLUMNS = (
    "patient_id",
    "analyte",
    "date",
    "value",
    "unit",
    "lower_limit",
    "upper_limit",
    "method",
    "loinc",
    "clonal",
    "end",
)
REQUIRED = ("patient_id", "analyte", "date", "value")
MAX_ROWS = 200_000
_TRUE = ("true", "yes", "1")
_FALSE = ("false", "no", "0")


def read_rows(data: bytes, suffix: str, required: tuple[str, ...] = REQUIRED) -> list[dict[str, str | None]]:
    """The rows of a long-format file as text cells (``required``: the columns that must be there)."""
    import polars as pl

    try:
        if suffix == ".csv":
            df = pl.read_csv(io.BytesIO(data), infer_schema=False, raise_if_empty=False)
        else:
            df = pl.read_parquet(io.BytesIO(data)).select(pl.all().cast(pl.String))
    except Exception as e:  # polars / arrow raise many error kinds on malformed files
        kind = "CSV" if suffix == ".csv" else "Parquet"
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:120]
        raise FileFormatError(
            "file", f"not a readable {kind} file ({first})", f"a {kind} file with a header row"
        ) from None
    if len(set(df.columns)) != len(df.columns):
        raise FileFormatError("file", "a column appears twice", "each column once")
    missing = [c for c in required if c not in df.columns]
    unknown = [c for c in df.columns if c not in COLUMNS]
    if missing or unknown:
        problem = f"missing column(s) {', '.join(missing)}" if missing else f"unknown column(s) {', '.join(unknown)}"
        raise FileFormatError("file", problem, "columns " + ", ".join(COLUMNS))
    if df.height > MAX_ROWS:
        raise FileFormatError("file", f"{df.height} rows", f"at most {MAX_ROWS:,} rows per upload")
    return [
        {k: (v.strip() or None) if isinstance(v, str) else None for k, v in row.items()}
        for row in df.iter_rows(named=True)
    ]


_NUMBER = re.compile(r"^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$")


def _as_json(cell: str) -> object:
    """A number cell as JSON carries a number (850 an integer, 3.2 a float); other text (``<0.5``) as text."""
    if not _NUMBER.match(cell):
        return cell
    return int(cell) if cell.lstrip("+-").isdigit() else float(cell)


def row_result(row: dict[str, str | None], where: str) -> ResultIn:
    clonal_text = row.get("clonal")
    clonal = None
    if clonal_text is not None:
        low = clonal_text.casefold()
        if low not in (*_TRUE, *_FALSE):
            raise InputError(
                f"{where}.clonal", f"expected true or false, got {short(clonal_text)}", "true/false, yes/no, 1/0"
            )
        clonal = low in _TRUE
    fields: dict[str, object] = {
        k: row[k] for k in COLUMNS if k not in ("patient_id", "clonal") and row.get(k) is not None
    }
    for k in ("value", "lower_limit", "upper_limit"):
        if k in fields:
            fields[k] = _as_json(str(fields[k]))
    if "value" not in fields:
        raise InputError(f"{where}.value", "value is missing", 'a number or a censored value such as "<0.5"')
    try:
        return ResultIn.model_validate({**fields, "clonal": clonal})
    except ValidationError as e:
        first = e.errors()[0]
        name = ".".join(str(p) for p in first["loc"]) or "row"
        raise InputError(f"{where}.{name}", str(first["msg"]), "see docs/monitor-contract.md (long format)") from None


@router.post(
    "/results/upload",
    status_code=201,
    response_model=BatchOut,
    responses=problems(401, 403, 409, 413, 415, 422),
    **rule(UPLOAD_REACH, audit="write"),
)
async def upload(
    request: Request,
    file: Annotated[UploadFile, File(description="CSV or Parquet, long format.")],
    caller: CurrentCaller,
) -> BatchOut:
    """Store a long-format file of results for one or many patients (each in the caller's reach)."""
    name = (file.filename or "").lower()
    suffix = ".parquet" if name.endswith(".parquet") else ".csv" if name.endswith(".csv") else None
    if suffix is None:
        raise UnsupportedMedia("upload a .csv or .parquet file (by its file name)")
    data = await file.read()

    def work() -> BatchOut:
        rows = read_rows(data, suffix)
        by_patient: dict[str, list[tuple[int, ResultIn]]] = {}
        for n, row in enumerate(rows):
            where = f"row {n + 2}"  # the header is line 1
            site = row.get("patient_id")
            if site is None:
                raise InputError(f"{where}.patient_id", "patient_id is empty", "the site's identifier of a patient")
            by_patient.setdefault(site, []).append((n, row_result(row, where)))
        checked = {
            site: [(f"row {n + 2}", store.to_row(r, f"row {n + 2}")) for n, r in items]
            for site, items in by_patient.items()
        }
        return _store(request, caller, checked, len(rows))

    return await run_in_threadpool(work)


def _store(
    request: Request, caller: CurrentCaller, checked: dict[str, list[tuple[str, store.Row]]], total: int
) -> BatchOut:
    state = request.scope["state"]
    with write_session(request.app.state.sessions) as db:
        everything = "lab" in caller.roles
        teams = set(db.scalars(select(TeamMember.team_id).where(TeamMember.user_id == caller.id)))
        ids: dict[str, int] = {}
        for site, named in checked.items():
            p = db.scalar(select(Patient).where(Patient.site_id == site))
            if p is None or not (everything or (p.team_id in teams)):
                # Named by its row, never by the identifier (no patient id in an error message).
                raise InputError(
                    f"{named[0][0]}.patient_id",
                    "no registered patient with this identifier in the caller's reach",
                    "the site id of a registered patient",
                )
            ids[site] = p.id
        batch = store.new_batch(db, "upload", total, caller.id)
        out, versions = [], {}
        for site, named in checked.items():
            rows = [row for _, row in named]
            store.check_within(rows, [w for w, _ in named])
            patient = store.lock_patient(db, ids[site])
            stored = list(db.scalars(store.current_results(patient.id)))
            store.check_against_stored(stored, rows, where=[w for w, _ in named])
            store.check_document(patient, stored, rows)
            written = store.store_rows(db, patient, rows, batch=batch, user_id=caller.id)
            out.extend(written)
            versions[str(patient.id)] = patient.version
            state["b2m_audit"]["patient_id"] = patient.id
            record_in(db, state, 201, f"batch {batch.id}: {len(written)} results from a file")
        return BatchOut(
            batch_id=batch.id, stored=len(out), patient_versions=versions, results=[store.result_out(r) for r in out]
        )
