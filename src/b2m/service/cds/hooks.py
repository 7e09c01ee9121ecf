"""One call of a b2m CDS service: check the context, gather the FHIR data, read it through the FHIR edge, assess,
answer cards (:mod:`.cards`). The FHIR data never leaves the call: nothing of it is stored."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from starlette.requests import Request

from b2m.errors import InputError
from b2m.io.fhir import codes as c
from b2m.service.cds import cards
from b2m.service.cds.auth import CdsCaller
from b2m.service.cds.models import CdsResponse, HookRequest, Link, OrderSelectContext, PatientViewContext
from b2m.service.cds.prefetch import Gathered, gather
from b2m.service.cds.services import SERVICES, prefetch_templates
from b2m.service.db.models import Patient

MR = ("http://terminology.hl7.org/CodeSystem/v2-0203", "MR")
B2M_LOINC = "1952-1"
# What an order of these LOINC codes brings to staging (besides B2M).
ORDERABLE_INPUTS = {
    "1751-7": ("albumin_g_dl",),
    "2532-0": ("ldh_u_l", "ldh_uln_u_l"),
    "14804-9": ("ldh_u_l", "ldh_uln_u_l"),
}


M = TypeVar("M", bound=BaseModel)


def _context(model: type[M], raw: Mapping[str, Any]) -> M:
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InputError(
            f"context.{where}" if where else "context", str(first.get("msg", "invalid")), "see the hook's context"
        ) from None


def _site_ids(patient: Mapping[str, Any], system: str | None) -> list[str]:
    out = []
    for ident in patient.get("identifier") or []:
        if not isinstance(ident, Mapping) or not isinstance(ident.get("value"), str):
            continue
        if system is not None:
            if ident.get("system") == system:
                out.append(ident["value"])
            continue
        codings = ((ident.get("type") or {}).get("coding") or []) if isinstance(ident.get("type"), Mapping) else []
        if any(isinstance(cd, Mapping) and (cd.get("system"), cd.get("code")) == MR for cd in codings):
            out.append(ident["value"])
    return [v for v in out if 0 < len(v) <= 64]


async def _patient_link(request: Request, patient: Mapping[str, Any] | None) -> list[Link]:
    """A link to the patient's page in the web app, when the chart's patient is one stored patient of b2m."""
    settings = request.app.state.settings
    values = _site_ids(patient, settings.site_id_system) if patient is not None else []
    if not values:
        return []

    def lookup() -> list[int]:
        with request.app.state.sessions() as db:
            return list(db.scalars(select(Patient.id).where(Patient.site_id.in_(values)).limit(2)))

    found = await run_in_threadpool(lookup)
    if len(found) != 1:
        return []
    request.state.b2m_audit["patient_id"] = found[0]
    base = settings.web_url or settings.public_url or str(request.base_url).rstrip("/")
    return [Link(label="Open the patient in b2m", url=f"{base}/patients/{found[0]}", type="absolute")]


_POSITION = re.compile(r"^\[(\d+)\]\([A-Za-z]+\)")


def _in_prefetch(e: InputError, got: Gathered) -> InputError:
    """The edge's refusal with its FHIR path starting at the prefetch key (``prefetch.b2m.entry[0]...``) instead of
    the position in the list of resources read."""
    m = _POSITION.match(e.field)
    if m is None or int(m.group(1)) >= len(got.keys):
        return e
    where = "fhirServer" if got.keys[int(m.group(1))] in got.fetched else "prefetch"
    field = f"{where}.{got.keys[int(m.group(1))]}{e.field[m.end() :]}"
    return InputError(field, e.problem, e.accepted, e.hint)


def _check_hook(body: HookRequest, service_id: str) -> None:
    hook = SERVICES[service_id].hook
    if body.hook != hook:
        raise InputError("hook", f"{body.hook!r} is not this service's hook", hook)


def _fish_codes(request: Request) -> Mapping[str, tuple[tuple[str, str], ...]] | None:
    codes: Mapping[str, tuple[tuple[str, str], ...]] | None = request.app.state.settings.fhir_fish_codes
    return codes


async def patient_view(request: Request, body: HookRequest, caller: CdsCaller, service_id: str) -> CdsResponse:
    from b2m.assessment import assess
    from b2m.io.fhir import read_fhir

    _check_hook(body, service_id)
    ctx = _context(PatientViewContext, body.context)
    fish = _fish_codes(request)
    got = await gather(request, body, caller, prefetch_templates(fish), ctx.patientId)
    links = await _patient_link(request, got.patient)
    try:
        fi = read_fhir(got.resources, fish_codes=fish)
        assessment = assess([fi.patient()])[0]
    except InputError as e:
        return CdsResponse(cards=[cards.unreadable_card(_in_prefetch(e, got), links)])
    return CdsResponse(cards=cards.patient_view_cards(assessment, links, got.not_sent))


def _b2m_order(ctx: OrderSelectContext) -> tuple[bool, set[str]]:
    """(is a serum B2M among the selected orders, the staging inputs the draft orders also bring)."""
    selected = set(ctx.selections)
    b2m = False
    brings: set[str] = set()
    entries = ctx.draftOrders.get("entry") if isinstance(ctx.draftOrders, Mapping) else None
    for entry in entries if isinstance(entries, list) else []:
        res = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(res, Mapping) or res.get("resourceType") != "ServiceRequest":
            continue
        code = res.get("code")
        codings = code.get("coding") if isinstance(code, Mapping) else None
        loincs = {
            cd.get("code")
            for cd in (codings if isinstance(codings, list) else [])
            if isinstance(cd, Mapping) and cd.get("system") == c.LOINC
        }
        if B2M_LOINC in loincs and f"ServiceRequest/{res.get('id')}" in selected:
            b2m = True
        for code_ in loincs:
            brings.update(ORDERABLE_INPUTS.get(str(code_), ()))
    return b2m, brings


async def order_select(request: Request, body: HookRequest, caller: CdsCaller, service_id: str) -> CdsResponse:
    from b2m.assessment import assess
    from b2m.io.fhir import read_fhir

    _check_hook(body, service_id)
    ctx = _context(OrderSelectContext, body.context)
    ordered_b2m, brings = _b2m_order(ctx)
    if not ordered_b2m:
        return CdsResponse(cards=[])
    fish = _fish_codes(request)
    got = await gather(request, body, caller, prefetch_templates(fish), ctx.patientId)
    links = await _patient_link(request, got.patient)
    try:
        fi = read_fhir(got.resources, fish_codes=fish)
        assessment = assess([fi.patient()])[0]
    except InputError as e:
        return CdsResponse(cards=[cards.unreadable_card(_in_prefetch(e, got), links)])
    return CdsResponse(cards=cards.order_cards(assessment, brings, links))
