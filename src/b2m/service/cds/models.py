"""CDS Hooks 2.0 documents: the discovery response, a hook request, the cards answered, feedback.

Requests keep unknown keys (the specification reserves ``extension`` and lets hooks grow); responses are closed and
written without nulls ("JSON attributes SHALL NOT be null": optional ones are omitted).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

SUMMARY_MAX_CHARS = 139  # "one-sentence, <140-character summary"
Text = Annotated[StrictStr, Field(min_length=1, max_length=2000)]
Url = Annotated[StrictStr, Field(min_length=1, max_length=2000, pattern=r"^https?://[^\s]+$")]
Indicator = Literal["info", "warning", "critical"]


class Open(BaseModel):
    """A request document: typed where b2m reads it, open elsewhere."""

    model_config = ConfigDict(extra="allow", strict=True)


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ----------------------------------------------------------------------------------------------- discovery


class ServiceDescription(Closed):
    hook: str
    title: str
    description: str
    id: str
    prefetch: dict[str, str] = Field(description="Prefetch key -> FHIR query template (root context tokens only).")
    usageRequirements: str | None = None


class Discovery(Closed):
    services: list[ServiceDescription]


# ----------------------------------------------------------------------------------------------- a hook call


class FhirAuthorization(Open):
    access_token: Annotated[StrictStr, Field(min_length=1, max_length=8192)]
    token_type: Literal["Bearer"]
    expires_in: Annotated[StrictInt, Field(ge=0, le=10**9)]
    scope: Annotated[StrictStr, Field(max_length=4000)]
    subject: Annotated[StrictStr, Field(max_length=500)]


class HookRequest(Open):
    hook: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    hookInstance: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    fhirServer: Url | None = Field(default=None, description="The client's FHIR base URL (https outside development).")
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, dict[str, Any] | None] | None = Field(
        default=None, description="Prefetch key -> the FHIR resource (or searchset Bundle) the template gave, or null."
    )


class PatientViewContext(Open):
    userId: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    patientId: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9\-.]{1,64}$")]
    encounterId: Annotated[StrictStr, Field(max_length=64)] | None = None


class OrderSelectContext(PatientViewContext):
    selections: Annotated[list[Annotated[StrictStr, Field(max_length=200)]], Field(min_length=1, max_length=100)]
    draftOrders: dict[str, Any] = Field(description="A Bundle of the orders being drafted.")


# ----------------------------------------------------------------------------------------------- cards


class Coding(Closed):
    code: str
    system: str | None = None
    display: str | None = None


class Source(Closed):
    label: str
    url: str | None = None
    topic: Coding | None = None


class Link(Closed):
    label: str
    url: str
    type: Literal["absolute", "smart"]


class Card(Closed):
    uuid: str
    summary: str = Field(max_length=SUMMARY_MAX_CHARS)
    detail: str | None = Field(default=None, description="GitHub Flavored Markdown.")
    indicator: Indicator
    source: Source
    links: list[Link] | None = None


class CdsResponse(Closed):
    cards: list[Card]


# ----------------------------------------------------------------------------------------------- feedback


class OverrideReason(Open):
    reason: Coding | None = None
    userComment: Annotated[StrictStr, Field(max_length=2000)] | None = None


class AcceptedSuggestion(Open):
    id: Annotated[StrictStr, Field(min_length=1, max_length=100)]


class FeedbackItem(Open):
    card: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: Annotated[list[AcceptedSuggestion], Field(max_length=50)] | None = None
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: Annotated[StrictStr, Field(min_length=1, max_length=40)]

    def outcome_time(self) -> dt.datetime | None:
        """``outcomeTimestamp`` as naive UTC, or None when it is not an ISO 8601 time with a zone."""
        try:
            t = dt.datetime.fromisoformat(self.outcomeTimestamp.replace("Z", "+00:00"))
        except ValueError:
            return None
        if t.tzinfo is None:
            return None
        return t.astimezone(dt.UTC).replace(tzinfo=None)


class FeedbackIn(Open):
    feedback: Annotated[list[FeedbackItem], Field(min_length=1, max_length=100)]


class FeedbackStored(Closed):
    stored: int
