"""Demo data for ``b2m serve --demo``: the bundled example patients, a demo clinician, lab, admin and patient.

Each start gives the demo accounts new one-time passwords (only their hashes are stored) and returns them to be
printed once. The example patients are registered once, through the same validation and storage path as the API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from b2m.io.series import parse_patient_series
from b2m.service import store
from b2m.service.accounts import create_user, team_named
from b2m.service.db.engine import write_session
from b2m.service.db.models import Patient, User
from b2m.service.schemas import UserCreate
from b2m.service.security import hash_password, new_password

DEMO_TEAM = "demo-haematology"
DEMO_PATIENT_SITE_ID = "EX1-responder"


@dataclass(frozen=True, slots=True)
class DemoAccount:
    username: str
    roles: tuple[str, ...]
    password: str


def example_documents() -> list[dict[str, Any]]:
    """The bundled series (with their history) and the patients at diagnosis without a series."""
    data = resources.files("b2m").joinpath("data")
    series = json.loads(data.joinpath("example_series.json").read_text(encoding="utf-8"))
    patients = json.loads(data.joinpath("example_patients.json").read_text(encoding="utf-8"))
    return [*series, *patients]


def _register(db: Session, team_id: int, doc: dict[str, Any]) -> None:
    site_id = str(doc["id"])
    if store.site_id_taken(db, site_id):
        return
    document = {k: v for k, v in doc.items() if k != "id"}
    parse_patient_series(doc)
    details, results = store.split_document(document)
    rows = store.to_rows(results, "document.results")
    patient = Patient(site_id=site_id, team_id=team_id, details=json.dumps(details, ensure_ascii=False))
    db.add(patient)
    db.flush()
    if rows:
        batch = store.new_batch(db, "demo", len(rows), None)
        store.store_rows(db, patient, rows, batch=batch, user_id=None)


def load_demo(factory: sessionmaker[Session]) -> list[DemoAccount]:
    """Register the example patients and (re)issue the demo accounts' one-time passwords."""
    accounts: list[DemoAccount] = []
    with write_session(factory) as db:
        team = team_named(db, DEMO_TEAM)
        for doc in example_documents():
            if doc.get("disease", "multiple_myeloma") == "multiple_myeloma":
                _register(db, team.id, doc)
        own = db.scalar(select(Patient.id).where(Patient.site_id == DEMO_PATIENT_SITE_ID))
        wanted: list[tuple[str, tuple[str, ...], int | None, list[int]]] = [
            ("demo-clinician", ("clinician",), None, [team.id]),
            ("demo-lab", ("lab",), None, []),
            ("demo-patient", ("patient",), own, []),
            ("demo-admin", ("admin",), None, []),
        ]
        for name, roles, patient_id, teams in wanted:
            password = new_password()
            if db.scalar(select(User.id).where(User.username == name)) is None:
                create_user(
                    db,
                    UserCreate(
                        username=name,
                        roles=list(roles),  # type: ignore[arg-type]
                        password=password,
                        patient_id=patient_id,
                        team_ids=teams,
                    ),
                )
            else:
                db.execute(
                    update(User)
                    .where(User.username == name)
                    .values(password_hash=hash_password(password), disabled=False)
                )
            accounts.append(DemoAccount(name, roles, password))
    return accounts
