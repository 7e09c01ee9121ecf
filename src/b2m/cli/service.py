"""``b2m serve`` and ``b2m user``: start the clinical service, manage its accounts from the command line."""

from __future__ import annotations

import os
import secrets
import sys
from typing import Annotated, Any

import typer

from b2m.errors import InputError

user_app = typer.Typer(
    help="Accounts of the clinical service (B2M_DATABASE_URL, or the embedded SQLite file).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

cds_app = typer.Typer(
    help="CDS Hooks in development mode: the demo EHR's signed JWT and an example hook call (B2M_ENV=development).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

ROLES = ("clinician", "lab", "patient", "admin")


def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (loopback unless told otherwise).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo", help="Load the bundled example patients and demo accounts (one-time passwords printed)."
        ),
    ] = False,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=64, help="Worker processes (they share the database).")
    ] = 1,
) -> None:
    """Start the clinical service (REST API under /api/v1) on the embedded SQLite file or B2M_DATABASE_URL."""
    import uvicorn

    from b2m.service.db.engine import make_engine, migrate, session_factory
    from b2m.service.settings import from_environment

    if os.environ.get("B2M_ENV", "").strip().lower() == "development" and not os.environ.get("B2M_SECRET_KEY"):
        # One random secret for this start, shared by all workers through the environment (never a default).
        os.environ["B2M_SECRET_KEY"] = secrets.token_urlsafe(48)
    development = os.environ.get("B2M_ENV", "").strip().lower() == "development"
    if demo and development:
        os.environ.setdefault("B2M_CDS_DEMO", "1")  # trust the demo EHR's key (b2m cds token); development only
    settings = from_environment()
    os.environ["B2M_DATABASE_URL"] = settings.database_url
    migrate(settings.database_url)
    base = f"http://{host if ':' not in host else f'[{host}]'}:{port}"
    if demo:
        from b2m.service.demo import load_demo

        engine = make_engine(settings.database_url)
        try:
            accounts = load_demo(session_factory(engine))
        finally:
            engine.dispose()
        sys.stderr.write("b2m: demo accounts (one-time passwords, shown once):\n")
        for a in accounts:
            sys.stderr.write(f"b2m:   {a.username:<16} {a.password}   ({', '.join(a.roles)})\n")
        sys.stderr.write(f"b2m: try: curl -s -d 'username=demo-clinician&password=...' {base}/api/v1/auth/token\n")
        if settings.cds_clients:
            sys.stderr.write(
                f"b2m: CDS Hooks: {base}/cds-services; a demo EHR call: b2m cds request EX3-renal > call.json; "
                f"curl -H \"Authorization: Bearer $(B2M_ENV=development b2m cds token --base {base})\" "
                f"-H 'Content-Type: application/json' "
                f"-d @call.json {base}/cds-services/b2m-patient-view\n"
            )
    where = settings.database_url.split("@")[-1] if "@" in settings.database_url else settings.database_url
    sys.stderr.write(f"b2m: database {where}\n")
    sys.stderr.write(f"b2m: serving {base}  (API {base}/api/v1, OpenAPI {base}/api/v1/openapi.json)\n")
    sys.stderr.flush()
    uvicorn.run(
        "b2m.service.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,  # the service logs each request itself, without patient data
        timeout_graceful_shutdown=15,
        proxy_headers=False,
    )


def _sessions() -> tuple[Any, Any]:
    from b2m.service.db.engine import make_engine, migrate, session_factory
    from b2m.service.settings import Settings, default_database_url

    url = os.environ.get("B2M_DATABASE_URL") or default_database_url()
    migrate(url)
    return session_factory(make_engine(url)), Settings(database_url=url, secret_key="-", environment="development")


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="Login name (letters, digits, . _ @ -).")],
    role: Annotated[list[str], typer.Option("--role", help="clinician, lab, patient or admin (repeat for several).")],
    patient: Annotated[
        str | None, typer.Option("--patient", help="Site id of the record a patient user reads.")
    ] = None,
    team: Annotated[
        list[str] | None, typer.Option("--team", help="Care team name (created when missing; repeat).")
    ] = None,
) -> None:
    """Add a user; a one-time password is generated and printed once."""
    from pydantic import ValidationError
    from sqlalchemy import select

    from b2m.service.accounts import create_user, team_named
    from b2m.service.db.engine import write_session
    from b2m.service.db.models import Patient
    from b2m.service.problems import ServiceError
    from b2m.service.schemas import UserCreate

    bad = [r for r in role if r not in ROLES]
    if bad:
        raise InputError("--role", f"unknown role {bad[0]!r}", ", ".join(ROLES))
    factory, _ = _sessions()
    try:
        with write_session(factory) as db:
            pid = None
            if patient is not None:
                pid = db.scalar(select(Patient.id).where(Patient.site_id == patient))
                if pid is None:
                    raise InputError("--patient", "no registered patient with this site id", "a registered site id")
            teams = [team_named(db, t).id for t in (team or [])]
            try:
                body = UserCreate(username=username, roles=role, patient_id=pid, team_ids=teams)  # type: ignore[arg-type]
            except ValidationError as e:
                first = e.errors()[0]
                raise InputError(
                    str(first["loc"][0]) if first["loc"] else "user", str(first["msg"]), "see b2m user add --help"
                ) from None
            user, password = create_user(db, body)
            name = user.username
    except ServiceError as e:
        raise InputError("user", e.detail, "see b2m user add --help") from None
    sys.stdout.write(f"{name}\t{password}\n")
    sys.stderr.write("b2m: the one-time password is shown once; change it with POST /api/v1/auth/password\n")


@user_app.command("list")
def user_list() -> None:
    """Users, their roles and whether they are disabled (tab-separated)."""
    from sqlalchemy import select

    from b2m.service.db.models import User

    factory, _ = _sessions()
    with factory() as db:
        for u in db.scalars(select(User).order_by(User.username)):
            state = "disabled" if u.disabled else "active"
            sys.stdout.write(f"{u.username}\t{','.join(u.role_names)}\t{state}\n")


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument()]) -> None:
    """Disable a user and revoke their tokens and sessions."""
    from sqlalchemy import select, update

    from b2m.service.db.engine import write_session
    from b2m.service.db.models import AuthSession, User, utcnow

    factory, _ = _sessions()
    with write_session(factory) as db:
        user = db.scalar(select(User).where(User.username == username))
        if user is None:
            raise InputError("USERNAME", "no such user", "a name from `b2m user list`")
        user.disabled = True
        db.execute(
            update(AuthSession)
            .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
    sys.stderr.write(f"b2m: {username} disabled\n")


def _development_only(what: str) -> None:
    if os.environ.get("B2M_ENV", "").strip().lower() != "development":
        raise InputError(
            "B2M_ENV",
            f"{what} is for development mode only (the demo EHR's key is trusted nowhere else)",
            "B2M_ENV=development",
        )


@cds_app.command("token")
def cds_token(
    base: Annotated[
        str, typer.Option("--base", help="The service's address as called (B2M_PUBLIC_URL when it is set).")
    ] = "http://127.0.0.1:8000",
    service: Annotated[str, typer.Option("--service", help="The CDS service id (or its feedback path).")] = (
        "b2m-patient-view"
    ),
    lifetime: Annotated[int, typer.Option("--lifetime", min=10, max=600, help="Seconds it is valid.")] = 300,
) -> None:
    """Print a JWT of the demo EHR for one call of SERVICE at BASE (aud = BASE/cds-services/SERVICE; a fresh jti:
    every call needs a new token). The service trusts it only in development with `b2m serve --demo`."""
    from b2m.service.cds.config import sign_demo_token

    _development_only("b2m cds token")
    audience = f"{base.rstrip('/')}/cds-services/{service.strip('/')}"
    sys.stdout.write(sign_demo_token(audience, key_file=os.environ.get("B2M_CDS_DEMO_KEY"), lifetime_s=lifetime) + "\n")


@cds_app.command("request")
def cds_request(
    patient: Annotated[str, typer.Argument(help="A bundled example patient's id (e.g. EX3-renal).")] = "EX3-renal",
) -> None:
    """Print a patient-view hook call whose prefetch holds a bundled example patient's chart as FHIR, as an EHR
    would send it."""
    import json

    from b2m.service.cds.example import hook_request
    from b2m.service.demo import example_documents

    docs = {str(d["id"]): d for d in example_documents() if d.get("disease", "multiple_myeloma") == "multiple_myeloma"}
    if patient not in docs:
        raise InputError("PATIENT", "not a bundled example patient", ", ".join(docs))
    sys.stdout.write(json.dumps(hook_request(docs[patient]), ensure_ascii=False) + "\n")
