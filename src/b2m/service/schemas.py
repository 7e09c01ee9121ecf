"""Request and response models of the service's own resources (users, teams, patients, results, audit).

Strict: ``false`` is not a number, ``"3"`` is not an integer, unknown keys are refused. The engine's documents
(the patient and series contracts) are validated by the engine's edge, which gives the command line's messages.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from b2m.io.series import LONG_ANALYTES

Role = Literal["clinician", "lab", "patient", "admin"]
Analyte = Literal[LONG_ANALYTES]  # type: ignore[valid-type]
JsonScalar = (
    Annotated[StrictInt, Field(ge=-(10**15), le=10**15)] | StrictFloat | Annotated[StrictStr, Field(max_length=60)]
)
Text200 = Annotated[StrictStr, Field(max_length=200)]
SiteId = Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[!-~][ -~]{0,63}$")]
Username = Annotated[StrictStr, Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")]
Password = Annotated[StrictStr, Field(min_length=12, max_length=256)]
Id = Annotated[StrictInt, Field(ge=1, le=2**62)]


def _utc(value: dt.datetime) -> dt.datetime:
    """Stored times are naive UTC; on the way out they say so (RFC 3339 needs the offset)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


UtcTime = Annotated[dt.datetime, AfterValidator(_utc)]


class Strict(BaseModel):
    """A request body: unknown keys refused, no coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class Out(BaseModel):
    """A response body (validated on the way out; FastAPI re-validates it from plain data)."""

    model_config = ConfigDict(extra="forbid")


# ----------------------------------------------------------------------------------------------- auth


class TokenOut(Out):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int = Field(description="Seconds until the token expires.")


class SessionOut(Out):
    csrf_token: str = Field(description="Send it back in the X-CSRF-Token header with every change.")
    expires_at: UtcTime


class LoginIn(Strict):
    username: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    password: Annotated[StrictStr, Field(min_length=1, max_length=256)]


class PasswordChange(Strict):
    current_password: Annotated[StrictStr, Field(min_length=1, max_length=256)]
    new_password: Password


class Me(Out):
    id: int
    username: str
    roles: list[Role]
    patient_id: int | None


# ----------------------------------------------------------------------------------------------- users


class UserCreate(Strict):
    username: Username
    roles: Annotated[list[Role], Field(min_length=1, max_length=4)]
    password: Password | None = Field(default=None, description="Omitted: a one-time password is generated.")
    patient_id: Id | None = Field(default=None, description="The record a patient user may read.")
    team_ids: Annotated[list[Id], Field(max_length=50)] = []


class UserOut(Out):
    id: int
    username: str
    roles: list[Role]
    disabled: bool
    patient_id: int | None
    team_ids: list[int]
    created_at: UtcTime


class UserCreated(UserOut):
    one_time_password: str | None = Field(description="Shown once, when the service generated the password.")


class UserPage(Out):
    items: list[UserOut]
    total: int


class TeamCreate(Strict):
    name: Annotated[StrictStr, Field(min_length=1, max_length=100)]


class TeamOut(Out):
    id: int
    name: str
    member_ids: list[int]


class TeamMemberIn(Strict):
    user_id: Id


# ----------------------------------------------------------------------------------------------- patients


class PatientCreate(Strict):
    site_id: SiteId = Field(description="The site's own identifier (MRN, registry number); unique.")
    team_id: Id | None = Field(default=None, description="The care team; default: the caller's only team.")
    document: dict[str, Any] = Field(
        default_factory=dict,
        description="The patient document of `b2m monitor` (README, docs/monitor-contract.md) without `id`: "
        "age, sex, setting, labs at diagnosis, cytogenetics, ... and optionally `series`, `therapy_lines`, "
        "`imaging_events`, stored as results.",
    )


class PatientOut(Out):
    id: int
    site_id: str
    team_id: int | None
    version: int = Field(description="Bumped by every write of the patient's results.")
    details: dict[str, Any]
    created_at: UtcTime


class PatientSummary(Out):
    id: int
    site_id: str
    team_id: int | None
    version: int


class PatientPage(Out):
    items: list[PatientSummary]
    total: int
    offset: int
    limit: int


# ----------------------------------------------------------------------------------------------- results


class ResultIn(Strict):
    """One dated result in the long format's vocabulary (docs/monitor-contract.md).

    Labs: ``value`` a number or a censored text such as ``"<0.5"``, ``unit`` required. Marrow plasma cells:
    ``value`` a percentage, ``clonal``. Immunofixation: ``value`` positive or negative. ``therapy_line``:
    ``value`` the line number, ``date`` its start, ``end``, ``method`` the regimen. ``imaging_event``: ``value``
    the finding, ``method`` the modality.
    """

    analyte: Analyte
    date: Annotated[StrictStr, Field(max_length=40, description="ISO 8601 date, e.g. 2026-01-31")]
    value: JsonScalar = Field(description='A number, or text such as "<0.5", "positive", a finding.')
    unit: Annotated[StrictStr, Field(max_length=40)] | None = None
    lower_limit: JsonScalar | None = None
    upper_limit: JsonScalar | None = None
    method: Text200 | None = None
    loinc: Annotated[StrictStr, Field(max_length=20)] | None = None
    clonal: StrictBool | None = None
    end: Annotated[StrictStr, Field(max_length=40)] | None = None


class ResultsIn(Strict):
    results: Annotated[list[ResultIn], Field(min_length=1, max_length=10_000)]


class CanonicalValue(Out):
    value: float | None = Field(description="In the canonical unit; for a censored result, its bound.")
    censoring: Literal["<", "<=", ">", ">="] | None
    unit: str | None
    lower_limit: float | None
    upper_limit: float | None
    factor: float | None = Field(description="canonical = received x factor")


class ResultOut(Out):
    id: int
    batch_id: int
    analyte: str
    date: dt.date
    received: dict[str, Any] = Field(description="value, unit, limits, method, LOINC exactly as received")
    canonical: CanonicalValue | None = Field(description="Lab analytes only, through the unit layer.")
    status: Literal["final", "entered_in_error"]
    supersedes: int | None
    superseded_by: int | None = None
    created_at: UtcTime
    created_by: int | None


class BatchOut(Out):
    batch_id: int
    stored: int
    patient_versions: dict[str, int] = Field(description="The new version of each patient written, by id.")
    results: list[ResultOut]


class Timeline(Out):
    patient_id: int
    version: int
    results: list[ResultOut]


# ----------------------------------------------------------------------------------------------- audit


class AuditOut(Out):
    id: int
    at: UtcTime
    user_id: int | None
    username: str | None
    roles: str
    action: str
    access: str
    patient_id: int | None
    address: str | None
    outcome: int
    request_id: str
    detail: str | None


class AuditPage(Out):
    items: list[AuditOut]
    next_after: int | None = Field(description="Pass as `after` for the next page; null at the end.")


class Health(Out):
    status: Literal["ok"]
    version: str


class Readiness(Out):
    status: Literal["ready"]
    database: str
    revision: str
