"""FHIR R4 over HTTP (docs/fhir-conformance.md): the CapabilityStatement, ``$assess`` (a Bundle in, the stages and
their evidence out), and stored patients' results and stages (``Observation?patient=&code=``, ``Patient/{id}``).

Bodies are ``application/fhir+json``; every error is an OperationOutcome (what a FHIR client expects), with the same
field, problem and accepted forms as the rest of the API. Access as elsewhere: ``metadata`` is public, ``$assess``
is stateless (any role), stored data follows the reach of ``/api/v1/patients`` (a clinician their care teams'
patients, a patient their own record) and every read is audited.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Coroutine, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

import b2m
from b2m.errors import InputError
from b2m.service import store
from b2m.service.access import DB, CurrentPatient, get_patient, rule
from b2m.service.fhir_views import code_matches, derived, fhir_patient, stored_inputs
from b2m.service.problems import ServiceError, _loc
from b2m.service.routers.patients import READ

FHIR_JSON = "application/fhir+json"
ALL_ROLES = ("clinician", "lab", "patient", "admin")
ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    413: "too-long",
    415: "not-supported",
    422: "invalid",
    429: "throttled",
    503: "transient",
}
OUTCOME_SCHEMA = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {"resourceType": {"const": "OperationOutcome"}, "issue": {"type": "array", "minItems": 1}},
}


def resource_schema(*types: str) -> dict[str, Any]:
    kinds = {"const": types[0]} if len(types) == 1 else {"enum": list(types)}
    return {"type": "object", "required": ["resourceType"], "properties": {"resourceType": {"type": "string", **kinds}}}


def outcomes(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries: an OperationOutcome for each status."""
    return {
        s: {
            "description": f"OperationOutcome ({ISSUE_CODES.get(s, 'exception')})",
            "content": {FHIR_JSON: {"schema": OUTCOME_SCHEMA}},
        }
        for s in statuses
    }


def fhir_response(
    body: Mapping[str, Any] | str, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(text.encode("utf-8"), status_code=status, media_type=FHIR_JSON, headers=dict(headers or {}))


def outcome(
    request: Request,
    status: int,
    diagnostics: str,
    *,
    expression: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """An OperationOutcome response (and, for the audit trail, what kind of problem: never a value)."""
    code = ISSUE_CODES.get(status, "exception")
    request.state.b2m_problem = code + (f" at {expression}" if expression else "")
    issue: dict[str, Any] = {"severity": "error" if status < 500 else "fatal", "code": code, "diagnostics": diagnostics}
    if expression:
        issue["expression"] = [expression]
    return fhir_response({"resourceType": "OperationOutcome", "issue": [issue]}, status, headers)


class FhirRoute(APIRoute):
    """A route whose errors (of its dependencies too: authentication, access) are OperationOutcomes."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def fhir_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except ServiceError as e:
                return outcome(request, e.status, e.detail, headers=e.headers)
            except InputError as e:
                return outcome(request, 422, e.one_line(), expression=e.field)
            except RequestValidationError as e:
                errors = list(e.errors())
                first = errors[0] if errors else {}
                where = _loc(first.get("loc", ()))
                return outcome(request, 422, f"{where}: {first.get('msg', 'invalid')}", expression=where)
            except StarletteHTTPException as e:
                return outcome(request, e.status_code, str(e.detail), headers=dict(e.headers or {}))

        return fhir_handler


router = APIRouter(prefix="/fhir", tags=["fhir"], route_class=FhirRoute)


def base_url(request: Request) -> str:
    settings = request.app.state.settings
    return f"{settings.public_url or str(request.base_url).rstrip('/')}/fhir"


# ----------------------------------------------------------------------------------------------- metadata


def capability_statement(base: str) -> dict[str, Any]:
    from fhir.resources.R4B.capabilitystatement import (
        CapabilityStatement,
        CapabilityStatementImplementation,
        CapabilityStatementRest,
        CapabilityStatementRestResource,
        CapabilityStatementRestResourceInteraction,
        CapabilityStatementRestResourceOperation,
        CapabilityStatementRestResourceSearchParam,
        CapabilityStatementRestSecurity,
        CapabilityStatementSoftware,
    )

    from b2m.io.fhir import codes as c

    cs = CapabilityStatement(
        status="active",
        date=dt.datetime(2026, 12, 4, tzinfo=dt.UTC),
        kind="instance",
        fhirVersion="4.0.1",
        format=[FHIR_JSON, "json"],
        software=CapabilityStatementSoftware(name="b2m", version=b2m.__version__),
        implementation=CapabilityStatementImplementation(
            description="b2m: serum beta-2 microglobulin in multiple myeloma (decision support, not diagnosis)",
            url=base,
        ),
        implementationGuide=["http://hl7.org/fhir/us/mcode/ImplementationGuide/hl7.fhir.us.mcode|4.0.0"],
        rest=[
            CapabilityStatementRest(
                mode="server",
                documentation="docs/fhir-conformance.md lists every code read and written.",
                security=CapabilityStatementRestSecurity(
                    description="OAuth2 password flow bearer token (/api/v1/auth/token) or the web app's session; "
                    "metadata is public."
                ),
                resource=[
                    CapabilityStatementRestResource(
                        type="Patient",
                        interaction=[CapabilityStatementRestResourceInteraction(code="read")],
                    ),
                    CapabilityStatementRestResource(
                        type="Observation",
                        supportedProfile=[c.MCODE_CANCER_STAGE],
                        interaction=[CapabilityStatementRestResourceInteraction(code="search-type")],
                        searchParam=[
                            CapabilityStatementRestResourceSearchParam(
                                name="patient",
                                type="reference",
                                definition="http://hl7.org/fhir/SearchParameter/clinical-patient",
                                documentation="Required: the stored patient (id or Patient/id).",
                            ),
                            CapabilityStatementRestResourceSearchParam(
                                name="code",
                                type="token",
                                definition="http://hl7.org/fhir/SearchParameter/clinical-code",
                                documentation="system|code, |code or code; several separated by commas (OR).",
                            ),
                        ],
                    ),
                ],
                operation=[
                    CapabilityStatementRestResourceOperation(
                        name="assess",
                        definition=f"{c.B2M_SYSTEM}#assess",
                        documentation="POST a Bundle of one patient's resources (or a Parameters resource with it "
                        "as 'bundle'); returns a collection Bundle: ISS / R-ISS (mCODE CancerStage), R2-ISS, the B2M "
                        "interpretation, eGFR, a Provenance and an OperationOutcome of the inputs not used.",
                    )
                ],
            )
        ],
    )
    out: dict[str, Any] = json.loads(cs.model_dump_json())
    return out


@router.get(
    "/metadata",
    response_class=Response,
    responses={
        200: {
            "description": "CapabilityStatement",
            "content": {FHIR_JSON: {"schema": resource_schema("CapabilityStatement")}},
        }
    },
    **rule(public=True),
)
def metadata(request: Request) -> Response:
    """The server's CapabilityStatement (FHIR R4)."""
    return fhir_response(capability_statement(base_url(request)))


# ----------------------------------------------------------------------------------------------- $assess

ASSESS_BODY = {
    "required": True,
    "content": {
        ctype: {"schema": resource_schema("Bundle", "Parameters", "Observation", "Patient")}
        for ctype in (FHIR_JSON, "application/json")
    },
}


def _bundle_of(raw: object) -> object:
    """The resources to read: the body, or a Parameters resource's ``bundle`` (or ``resource``) parameter."""
    if isinstance(raw, dict) and raw.get("resourceType") == "Parameters":
        for i, p in enumerate(raw.get("parameter") or []):
            if isinstance(p, dict) and p.get("name") in ("bundle", "resource") and isinstance(p.get("resource"), dict):
                return p["resource"]
            if not isinstance(p, dict):
                raise InputError(f"Parameters.parameter[{i}]", "is not an object", "a FHIR Parameters resource")
        raise InputError(
            "Parameters.parameter", "has no 'bundle' parameter with a resource", "name: bundle, resource: a Bundle"
        )
    return raw


@router.post(
    "/$assess",
    response_class=Response,
    responses={
        200: {"description": "A collection Bundle", "content": {FHIR_JSON: {"schema": resource_schema("Bundle")}}},
        **outcomes(401, 403, 413, 415, 422),
    },
    **rule(ALL_ROLES, openapi={"requestBody": ASSESS_BODY}),
)
async def assess_operation(
    request: Request,
    setting: Annotated[
        str | None, Query(max_length=40, description="The contract's setting (never read from FHIR).")
    ] = None,
    as_of: Annotated[dt.date | None, Query(description="Assessment date: results after it are not used.")] = None,
) -> Response:
    """One patient's FHIR resources -> ISS and R-ISS as mCODE CancerStage Observations (and R2-ISS, the B2M
    interpretation, eGFR) with ``derivedFrom`` their inputs, a Provenance, and the inputs not used."""
    from b2m.assessment import assess
    from b2m.io.documents import load_json
    from b2m.io.fhir import assessment_bundle, read_fhir

    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in (FHIR_JSON, "application/json"):
        return outcome(request, 415, f"send {FHIR_JSON} (or application/json)")
    raw = _bundle_of(load_json(await request.body(), "body"))
    fi = read_fhir(raw, setting=setting, as_of=as_of, fish_codes=request.app.state.settings.fhir_fish_codes)
    bundle = assessment_bundle(fi, assess([fi.patient()])[0])
    return fhir_response(bundle.model_dump_json())


# ----------------------------------------------------------------------------------------------- stored patients


def _tokens(raw: str | None) -> list[tuple[str | None, str]] | None:
    if raw is None:
        return None
    out: list[tuple[str | None, str]] = []
    for part in raw.split(","):
        if "|" in part:
            system, _, code = part.partition("|")
            out.append((system, code))
        else:
            out.append((None, part))
    if not all(code for _, code in out):
        raise InputError("code", "a token without a code", "system|code, |code or code, separated by commas")
    return out


SEARCHSET: dict[int | str, dict[str, Any]] = {
    200: {"description": "A searchset Bundle", "content": {FHIR_JSON: {"schema": resource_schema("Bundle")}}}
}


@router.get(
    "/Observation",
    response_class=Response,
    responses={**SEARCHSET, **outcomes(401, 403, 404, 422)},
    **rule(READ, audit="read", patient_query="patient"),
)
def search_observations(
    request: Request,
    db: DB,
    patient: Annotated[str, Query(max_length=40, description="The stored patient: id or Patient/id.")],
    code: Annotated[
        str | None, Query(max_length=2000, description="system|code, |code or code; commas: any of them.")
    ] = None,
) -> Response:
    """A stored patient's results (as received, with LOINC) and what b2m derives from them (stages as mCODE
    CancerStage, B2M interpretation, eGFR, IMWG responses), with server-assigned ids."""
    tokens = _tokens(code)
    p = get_patient(request)  # the stored patient the access rule found in the caller's reach (else 404)
    rows = list(db.scalars(store.current_results(p.id)))
    stored = stored_inputs(p, rows)
    resources = [json.loads(o.model_dump_json()) for o in stored.inputs] + derived(db, p, rows, stored)
    base = base_url(request)
    matches = [
        r for r in resources if r["resourceType"] == "Observation" and (tokens is None or code_matches(r, tokens))
    ]
    entries: list[dict[str, Any]] = [
        {"fullUrl": f"{base}/Observation/{r['id']}", "resource": r, "search": {"mode": "match"}} for r in matches
    ]
    if stored.not_written:
        entries.append(
            {
                "resource": {
                    "resourceType": "OperationOutcome",
                    "issue": [
                        {"severity": "information", "code": "informational", "diagnostics": n}
                        for n in stored.not_written
                    ],
                },
                "search": {"mode": "outcome"},
            }
        )
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(matches),
        "link": [{"relation": "self", "url": str(request.url)}],
        "entry": entries,
    }
    return fhir_response(bundle)


@router.get(
    "/Patient/{patient_id}",
    response_class=Response,
    responses={
        200: {"description": "Patient", "content": {FHIR_JSON: {"schema": resource_schema("Patient")}}},
        **outcomes(401, 403, 404, 422),
    },
    **rule(READ, audit="read"),
)
def read_patient(request: Request, patient_id: str, patient: CurrentPatient) -> Response:
    """A stored patient: id, the site's identifier (MRN), administrative sex."""
    return fhir_response(fhir_patient(patient, request.app.state.settings.site_id_system).model_dump_json())


__all__ = ["router"]
