"""Stateless computation: assess one patient or an array (``b2m assess``), stage a batch file (``b2m stage``).

Nothing is stored and no patient is named in any log; a refusal is the command line's message as problem+json.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from b2m.errors import InputError
from b2m.service.access import rule
from b2m.service.problems import UnsupportedMedia, problems
from b2m.service.routers import API_PREFIX

router = APIRouter(prefix=API_PREFIX, tags=["assess"])
ALL_ROLES = ("clinician", "lab", "patient", "admin")
ASSESS_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    {"$ref": "#/components/schemas/PatientDocument"},
                    {"type": "array", "items": {"$ref": "#/components/schemas/PatientDocument"}, "maxItems": 1000},
                ],
                "description": "The patient document of `b2m assess` (b2m.io.models.PatientDocument; README).",
            }
        }
    },
}
MAX_ASSESS_PATIENTS = 1000
INLINE_PATIENTS = 4


@router.post(
    "/assess",
    response_model=dict[str, Any] | list[dict[str, Any]],
    response_class=Response,
    responses=problems(401, 403, 413, 422),
    **rule(ALL_ROLES, openapi={"requestBody": ASSESS_BODY}),
)
async def assess(request: Request) -> Response:
    """Assess one patient object or an array of them: the JSON contract of ``b2m assess --format json``."""
    from b2m.assessment import assess as run
    from b2m.io.documents import load_json
    from b2m.io.patient import parse_patients

    # The edge's JSON checks (UTF-8, duplicate keys, lone surrogates, nesting), then its models.
    raw = load_json(await request.body(), "body")
    if isinstance(raw, list) and len(raw) > MAX_ASSESS_PATIENTS:
        raise InputError("body", f"{len(raw)} patients in one request", f"at most {MAX_ASSESS_PATIENTS}; use /stage")

    def compute() -> bytes:
        docs = [r.to_dict() for r in run(parse_patients(raw))]
        # The JSON contract as the command line writes it (the engine's own output, not validated again).
        body = json.dumps(docs if isinstance(raw, list) else docs[0], ensure_ascii=False, allow_nan=False)
        return body.encode("utf-8")

    # One patient costs about a millisecond of CPU: a thread hop would cost more. Arrays go to a thread so that
    # the event loop keeps serving the other requests.
    small = not isinstance(raw, list) or len(raw) <= INLINE_PATIENTS
    body = compute() if small else await run_in_threadpool(compute)
    return Response(body, media_type="application/json")


@router.post(
    "/stage",
    response_class=FileResponse,
    responses={
        200: {"content": {"text/csv": {}, "application/vnd.apache.parquet": {}}, "description": "The staged table"},
        **problems(401, 403, 413, 415, 422),
    },
    **rule(("clinician", "lab")),
)
async def stage(
    file: Annotated[UploadFile, File(description="CSV or Parquet with the batch columns (README).")],
    output: Annotated[Literal["csv", "parquet"], Query()] = "csv",
    on_invalid: Annotated[Literal["error", "null"], Query()] = "error",
) -> FileResponse:
    """``b2m stage`` on an uploaded table: the same columns out (streamed from disk, bounded memory)."""
    from b2m.io.batch import stage_file

    name = (file.filename or "").lower()
    suffix = ".parquet" if name.endswith(".parquet") else ".csv" if name.endswith(".csv") else None
    if suffix is None:
        raise UnsupportedMedia("upload a .csv or .parquet file (by its file name)")
    folder = Path(tempfile.mkdtemp(prefix="b2m-stage-"))
    try:
        src = folder / f"input{suffix}"
        with src.open("wb") as fh:
            await run_in_threadpool(shutil.copyfileobj, file.file, fh, 1 << 20)
        dst = folder / f"staged.{output}"
        await run_in_threadpool(stage_file, src, dst, None, on_invalid)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    media = "text/csv" if output == "csv" else "application/vnd.apache.parquet"
    return FileResponse(
        dst,
        media_type=media,
        filename=f"staged.{output}",
        background=BackgroundTask(shutil.rmtree, folder, True),
    )


__all__ = ["router"]
