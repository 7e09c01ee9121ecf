"""The FHIR resources of one hook call: its prefetch, and what is missing fetched from its ``fhirServer``.

For each prefetch key of the service (:func:`b2m.service.cds.services.prefetch_templates`): the prefetched value
when the client sent the key (``null`` = the client has no such data); otherwise, when the call carries both
``fhirServer`` and ``fhirAuthorization``, the template's query against that server with that token (concurrently;
:mod:`b2m.service.cds.fetch` bounds each in time and size, follows no redirect, and refuses a non-https server
outside development); otherwise nothing. A required key left without data, or a fetch that fails, answers 412
("unable to retrieve the necessary FHIR data"); an optional key left without data is named in the answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.requests import Request

from b2m.errors import InputError
from b2m.service.cds.auth import CdsCaller
from b2m.service.cds.fetch import FetchError, check_url, get_json
from b2m.service.cds.models import HookRequest
from b2m.service.cds.services import PATIENT_TOKEN, REQUIRED
from b2m.service.problems import ServiceError


class PreconditionFailed(ServiceError):
    """CDS Hooks: the service cannot obtain the FHIR data it needs, neither prefetched nor from the FHIR server."""

    status = 412
    kind = "prefetch-missing"


@dataclass(frozen=True, slots=True)
class Gathered:
    resources: list[Any]  # Patient, Bundles, ... as parsed JSON
    keys: tuple[str, ...]  # the prefetch key each resource came for (named in the errors of the edge)
    patient: Mapping[str, Any] | None
    not_sent: tuple[str, ...]  # optional keys without data from the client
    fetched: tuple[str, ...]  # keys read from fhirServer


def _query(template: str, patient_id: str) -> str:
    return template.replace(PATIENT_TOKEN, quote(patient_id, safe=""))


def _check_value(key: str, value: object, patient_id: str) -> None:
    if value is None:
        return
    if not isinstance(value, Mapping) or not isinstance(value.get("resourceType"), str):
        raise InputError(f"prefetch.{key}", "is not a FHIR resource", "a FHIR resource, a searchset Bundle, or null")
    if key == "patient":
        if value["resourceType"] != "Patient":
            raise InputError("prefetch.patient", f"is a {value['resourceType']}", "the Patient of context.patientId")
        if value.get("id") != patient_id:
            raise InputError("prefetch.patient.id", "is not context.patientId", "the Patient of context.patientId")
    elif value["resourceType"] not in ("Bundle", "OperationOutcome"):
        raise InputError(f"prefetch.{key}", f"is a {value['resourceType']}", "a searchset Bundle")


async def gather(
    request: Request, body: HookRequest, caller: CdsCaller, templates: Mapping[str, str], patient_id: str
) -> Gathered:
    """The resources of the call (see the module docstring)."""
    prefetch = body.prefetch or {}
    values: dict[str, Any] = {}
    for key in templates:
        if key in prefetch:
            _check_value(key, prefetch[key], patient_id)
            values[key] = prefetch[key]
    missing = [k for k in templates if k not in values]
    if body.fhirAuthorization is not None and body.fhirServer is None:
        raise InputError("fhirServer", "is required when fhirAuthorization is given", "the client's FHIR base URL")
    fetched: list[str] = []
    server = body.fhirServer.rstrip("/") if body.fhirServer is not None else None
    unlisted = server is not None and not caller.client.allows_fhir_server(server)
    # A server not configured for this client is never called (the token goes nowhere); what the prefetch lacks is
    # then simply not sent: an optional key is named in the cards, a required one is the 412 below.
    if missing and server is not None and body.fhirAuthorization is not None and not unlisted:
        try:
            check_url(request, server, "fhirServer")
        except FetchError as e:
            raise PreconditionFailed(str(e)) from None
        token = body.fhirAuthorization.access_token

        async def one(key: str) -> Any:
            return await get_json(request, f"{server}/{_query(templates[key], patient_id)}", bearer=token, what=key)

        try:
            results = await asyncio.gather(*(one(k) for k in missing))
        except FetchError as e:
            raise PreconditionFailed(f"the FHIR server could not give the data: {e}") from None
        for key, value in zip(missing, results, strict=True):
            if isinstance(value, Mapping) and value.get("resourceType") == "OperationOutcome":
                value = None  # the server found nothing it could give
            _check_value(key, value, patient_id)
            values[key] = value
            fetched.append(key)
        missing = []
    lacking = [k for k in missing if k in REQUIRED]
    if lacking and unlisted:
        raise PreconditionFailed(
            f"prefetch lacks {', '.join(lacking)}, and fhirServer is not one of the FHIR servers configured for this "
            "client (fhir_servers in the B2M_CDS_CLIENTS file): send them in the prefetch, or configure the server"
        )
    if lacking:
        raise PreconditionFailed(
            f"prefetch lacks {', '.join(lacking)} and the call gives no fhirServer with fhirAuthorization to fetch them"
        )
    patient = values.get("patient")
    given = [(k, v) for k, v in values.items() if v is not None]
    return Gathered(
        resources=[v for _, v in given],
        keys=tuple(k for k, _ in given),
        patient=patient if isinstance(patient, Mapping) else None,
        not_sent=tuple(missing),
        fetched=tuple(fetched),
    )
