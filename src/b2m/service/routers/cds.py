"""CDS Hooks 2.0 (docs/fhir-conformance.md): discovery (public), the b2m services and their feedback endpoints,
each called by a trusted CDS client with its signed JWT (``rule(client="cds")``; no user token)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request

from b2m.errors import InputError
from b2m.service.access import rule
from b2m.service.cds import hooks
from b2m.service.cds.auth import CdsClientDep
from b2m.service.cds.models import CdsResponse, Discovery, FeedbackIn, FeedbackStored, HookRequest, ServiceDescription
from b2m.service.cds.services import ORDER_SELECT, PATIENT_VIEW, SERVICES, prefetch_templates
from b2m.service.db.engine import write_session
from b2m.service.db.models import CdsFeedback
from b2m.service.problems import PROBLEM_JSON, Problem, problems

router = APIRouter(prefix="/cds-services", tags=["cds-hooks"])
PRECONDITION: dict[int | str, dict[str, Any]] = {
    412: {
        "model": Problem,
        "description": "Neither the prefetch nor the client's FHIR server (fhirServer with fhirAuthorization) gave "
        "the FHIR data the service needs (CDS Hooks 2.0)",
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
}
HOOK_STATUSES = {**problems(401, 413, 422), **PRECONDITION}


@router.get("", response_model=Discovery, response_model_exclude_none=True, **rule(public=True))
def discovery(request: Request) -> Discovery:
    """The CDS services of this b2m, their hooks and prefetch templates."""
    templates = prefetch_templates(request.app.state.settings.fhir_fish_codes)
    return Discovery(
        services=[
            ServiceDescription(hook=s.hook, title=s.title, description=s.description, id=s.id, prefetch=templates)
            for s in SERVICES.values()
        ]
    )


@router.post(
    f"/{PATIENT_VIEW}",
    response_model=CdsResponse,
    response_model_exclude_none=True,
    responses=HOOK_STATUSES,
    **rule(client="cds", audit="read"),
)
async def patient_view(request: Request, body: HookRequest, caller: CdsClientDep) -> CdsResponse:
    """``patient-view``: the staging systems and the B2M's readability from the chart's latest results."""
    return await hooks.patient_view(request, body, caller, PATIENT_VIEW)


@router.post(
    f"/{ORDER_SELECT}",
    response_model=CdsResponse,
    response_model_exclude_none=True,
    responses=HOOK_STATUSES,
    **rule(client="cds", audit="read"),
)
async def order_select(request: Request, body: HookRequest, caller: CdsClientDep) -> CdsResponse:
    """``order-select``: for a selected serum B2M order, what staging still lacks and whether the B2M will be
    hard to read (no card for other orders)."""
    return await hooks.order_select(request, body, caller, ORDER_SELECT)


def _store_feedback(request: Request, service_id: str, body: FeedbackIn, issuer: str) -> int:
    rows = []
    for i, item in enumerate(body.feedback):
        when = item.outcome_time()
        if when is None:
            raise InputError(
                f"feedback[{i}].outcomeTimestamp", "is not an ISO 8601 time with a time zone", "2026-12-04T10:00:00Z"
            )
        if item.outcome == "accepted" and not item.acceptedSuggestions:
            raise InputError(f"feedback[{i}].acceptedSuggestions", "is required for accepted", '[{"id": ...}]')
        reason = item.overrideReason
        rows.append(
            CdsFeedback(
                issuer=issuer[:255],
                service_id=service_id,
                card_uuid=item.card,
                outcome=item.outcome,
                outcome_at=when,
                accepted_suggestions=_json([s.id for s in item.acceptedSuggestions or []] or None),
                override_reason=_json(
                    reason.reason.model_dump(exclude_none=True) if reason and reason.reason else None
                ),
                user_comment=reason.userComment if reason else None,
                request_id=str(getattr(request.state, "request_id", "-")),
            )
        )
    with write_session(request.app.state.sessions) as db:
        db.add_all(rows)
    return len(rows)


def _json(x: Any) -> str | None:
    return None if x is None else json.dumps(x, ensure_ascii=False)


def _feedback_route(service_id: str) -> None:
    @router.post(
        f"/{service_id}/feedback",
        response_model=FeedbackStored,
        responses=problems(401, 413, 422),
        name=f"feedback_{service_id.replace('-', '_')}",
        **rule(client="cds"),
    )
    def feedback(request: Request, body: FeedbackIn, caller: CdsClientDep) -> FeedbackStored:
        """CDS Hooks feedback: what the user did with this service's cards (accepted, overridden and why)."""
        return FeedbackStored(stored=_store_feedback(request, service_id, body, caller.client.issuer))


for _id in SERVICES:
    _feedback_route(_id)

__all__ = ["router"]
