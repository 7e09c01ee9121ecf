"""The stored state of the service, as SQLAlchemy 2 declarative models.

Everything the workers share lives here (users, sessions, token revocation, login rate limits, patients, results,
audit), so several workers or machines serve one database. Two tables are append-only: ``results`` (a correction
is a new row that supersedes the old one) and ``audit_events``; the migrations add triggers on both databases
that refuse UPDATE and DELETE, so no code path, and no hand-written SQL, can rewrite them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Integer ids: BIGINT on PostgreSQL, INTEGER (the rowid alias, so it autoincrements) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES: tuple[str, ...] = ("clinician", "lab", "patient", "admin")
APPEND_ONLY_TABLES: tuple[str, ...] = ("results", "audit_events")


def utcnow() -> dt.datetime:
    """Naive UTC (both databases store it the same way)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # The one patient record a user with the patient role may read.
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin", order_by="UserRole.role"
    )

    @property
    def role_names(self) -> tuple[str, ...]:
        return tuple(r.role for r in self.roles)


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    user: Mapped[User] = relationship(back_populates="roles")


class CareTeam(Base):
    __tablename__ = "care_teams"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(ForeignKey("care_teams.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    # The site's own identifier (MRN or registry number), unique within this service.
    site_id: Mapped[str] = mapped_column(String(64), unique=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("care_teams.id"), index=True, default=None)
    # The patient document of the engine contract without its dated parts (age, sex, setting, labs at
    # diagnosis, cytogenetics, ...), as received (JSON text).
    details: Mapped[str] = mapped_column(Text)
    # Bumped by every write of the patient's results: the row lock writers take, and the ETag clients may send.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # Who registered the patient (no foreign key: users reference patients, and the audit trail says it too).
    created_by: Mapped[int | None] = mapped_column(Id, default=None)


class ResultBatch(Base):
    """One write of results: all of its rows are stored, or none (one transaction)."""

    __tablename__ = "result_batches"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    source: Mapped[str] = mapped_column(String(16))  # api, upload, correction, demo
    row_count: Mapped[int] = mapped_column(Integer)


class Result(Base):
    """One dated result as received, beside its canonical value; never updated (append-only)."""

    __tablename__ = "results"
    __table_args__ = (Index("ix_results_patient_analyte_date", "patient_id", "analyte", "date"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    batch_id: Mapped[int] = mapped_column(ForeignKey("result_batches.id"), index=True)
    # A lab name of the engine contract, marrow plasma cells, immunofixation_serum|urine, therapy_line or
    # imaging_event (the analytes of the long format).
    analyte: Mapped[str] = mapped_column(String(32))
    date: Mapped[dt.date] = mapped_column(Date)
    # As received: JSON texts of the value and limits ("4.2", "\"<0.5\""), the unit text, method, LOINC.
    value_json: Mapped[str] = mapped_column(String(200))
    unit_text: Mapped[str | None] = mapped_column(String(40), default=None)
    lower_limit_json: Mapped[str | None] = mapped_column(String(60), default=None)
    upper_limit_json: Mapped[str | None] = mapped_column(String(60), default=None)
    method: Mapped[str | None] = mapped_column(String(200), default=None)
    loinc: Mapped[str | None] = mapped_column(String(20), default=None)
    clonal: Mapped[bool | None] = mapped_column(Boolean, default=None)
    end_date: Mapped[dt.date | None] = mapped_column(Date, default=None)  # therapy lines
    # Canonical, through b2m.units.parse_lab (lab analytes only): value, or the bound of a censored value
    # with its direction; the reporting lab's limits; the factor received -> canonical.
    canonical_value: Mapped[float | None] = mapped_column(Float, default=None)
    censoring: Mapped[str | None] = mapped_column(String(2), default=None)  # <, <=, >, >=
    canonical_unit: Mapped[str | None] = mapped_column(String(20), default=None)
    canonical_lower_limit: Mapped[float | None] = mapped_column(Float, default=None)
    canonical_upper_limit: Mapped[float | None] = mapped_column(Float, default=None)
    factor: Mapped[float | None] = mapped_column(Float, default=None)
    status: Mapped[str] = mapped_column(String(20), default="final")  # final, entered_in_error
    # A correction points to the result it replaces; each result is replaced at most once.
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("results.id"), unique=True, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)


class AuthSession(Base):
    """A bearer token or a browser session; only a keyed hash of the token is stored."""

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_hash: Mapped[str | None] = mapped_column(String(64), default=None)  # cookie sessions only
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # bearer, cookie
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)


class LoginAttempt(Base):
    """Login attempts for rate limiting: a keyed hash of the user name, never the name or password."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_user_at", "user_key", "at"),
        Index("ix_login_attempts_addr_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_key: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    success: Mapped[bool] = mapped_column(Boolean)


class AuditEvent(Base):
    """Who did what to which patient's data, when, from where, and how it ended (append-only)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_patient_at", "patient_id", "at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(Id, default=None)  # no foreign key: the trail outlives users
    username: Mapped[str | None] = mapped_column(String(64), default=None)
    roles: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(120))  # METHOD route template
    access: Mapped[str] = mapped_column(String(8))  # read, write
    patient_id: Mapped[int | None] = mapped_column(Id, default=None)
    address: Mapped[str | None] = mapped_column(String(64), default=None)
    outcome: Mapped[int] = mapped_column(Integer)  # HTTP status
    request_id: Mapped[str] = mapped_column(String(36))
    detail: Mapped[str | None] = mapped_column(String(200), default=None)


class CdsTokenUse(Base):
    """A CDS client's JWT, seen once: the keyed hash of its issuer and ``jti``, kept until the token expires, so that
    every worker refuses a replay (the unique index decides a race)."""

    __tablename__ = "cds_token_uses"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_key: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class CdsFeedback(Base):
    """What a CDS client reported a user did with a card (CDS Hooks feedback): accepted or overridden, and why."""

    __tablename__ = "cds_feedback"
    __table_args__ = (Index("ix_cds_feedback_service_card", "service_id", "card_uuid"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    issuer: Mapped[str] = mapped_column(String(255))  # the CDS client (its JWT's iss)
    service_id: Mapped[str] = mapped_column(String(64))
    card_uuid: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))  # accepted, overridden
    outcome_at: Mapped[dt.datetime] = mapped_column(DateTime)  # outcomeTimestamp (UTC)
    # JSON texts as received: the accepted suggestions' ids, the override reason's Coding.
    accepted_suggestions: Mapped[str | None] = mapped_column(Text, default=None)
    override_reason: Mapped[str | None] = mapped_column(Text, default=None)
    user_comment: Mapped[str | None] = mapped_column(Text, default=None)
    request_id: Mapped[str] = mapped_column(String(36))


__all__ = [
    "APPEND_ONLY_TABLES",
    "ROLES",
    "AuditEvent",
    "AuthSession",
    "Base",
    "CareTeam",
    "CdsFeedback",
    "CdsTokenUse",
    "LoginAttempt",
    "Patient",
    "Result",
    "ResultBatch",
    "TeamMember",
    "User",
    "UserRole",
    "utcnow",
]
