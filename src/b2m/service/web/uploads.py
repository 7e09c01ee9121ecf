"""Results files and single results from the pages, checked row by row so that every refused row is named beside
itself, then stored all together or not at all (as the API stores a file).

Each row goes through exactly the checks of ``POST /api/v1/results/upload``: the long format's cells
(:func:`b2m.service.routers.results.row_result`), the unit layer and the monitor contract
(:func:`b2m.service.store.to_row`), repeats and conflicts inside the file and with what is stored, and the whole
patient document afterwards (:func:`b2m.service.store.check_document`). The API stops at the first refusal; here
every row is checked so that the page can show them all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from b2m.errors import B2MError, InputError
from b2m.service import store
from b2m.service.audit import record_in
from b2m.service.db.engine import write_session
from b2m.service.db.models import Patient
from b2m.service.problems import Conflict
from b2m.service.routers.results import REQUIRED, read_rows, row_result

SHOWN_ROWS = 500  # rows shown on the page (every refused row is shown, whatever its number)


@dataclass
class Checked:
    """A file (or one result) after the row-by-row checks."""

    rows: list[dict[str, Any]] = field(default_factory=list)  # {"line", "cells", "error"}
    file_error: str | None = None
    stored: int = 0
    total: int = 0

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["error"]]

    @property
    def ok(self) -> bool:
        return self.file_error is None and not self.errors

    def shown(self) -> list[dict[str, Any]]:
        return [r for i, r in enumerate(self.rows) if r["error"] or i < SHOWN_ROWS]


class ResultForm(BaseModel):
    """One result as typed into a page's form: text cells, checked exactly like a row of an uploaded file."""

    analyte: str = Field("", max_length=40)
    date: str = Field("", max_length=40)
    value: str = Field("", max_length=60)
    unit: str = Field("", max_length=40)
    lower_limit: str = Field("", max_length=60)
    upper_limit: str = Field("", max_length=60)
    method: str = Field("", max_length=200)

    def cells(self) -> dict[str, str | None]:
        """The row of the long format (a blank cell is absent)."""
        return {k: (v.strip() or None) for k, v in self.model_dump().items()}


class LabResultForm(ResultForm):
    """The lab's form also names the patient, by site id."""

    patient_id: str = Field("", max_length=64)


def message(e: B2MError) -> str:
    if isinstance(e, InputError):
        return e.one_line()
    return str(getattr(e, "detail", e))


def _within(rows: list[tuple[int, store.Row]]) -> dict[int, str]:
    """Repeats and two values for one analyte and date inside the file (the rules of ``store.check_within``)."""
    errors: dict[int, str] = {}
    seen: dict[object, tuple[int, store.Row]] = {}
    for line, row in rows:
        slot = row.slot() or row.received_key()
        if slot in seen:
            first_line, first = seen[slot]
            if first.received_key() == row.received_key():
                errors[line] = f"repeats row {first_line} exactly"
            elif row.analyte == store.THERAPY:
                errors[line] = f"line {json.loads(row.value_json)} is also given in row {first_line}"
            else:
                errors[line] = (
                    f"a second result for {row.analyte} on {row.date.isoformat()} (row {first_line} gives "
                    f"{first.describe()}, this row {row.describe()}); {store.ONE_PER_DATE}"
                )
            continue
        seen[slot] = (line, row)
    return errors


def check_and_store(
    factory: sessionmaker[Session],
    state: dict[str, Any],
    cells: list[dict[str, str | None]],
    *,
    user_id: int,
    in_reach: Callable[[Session, Patient], bool],
    fixed_patient: Patient | None = None,
    source: str = "upload",
    one_result: bool = False,
) -> Checked:
    """Check every row of a long-format table; store them all (one batch, audited) only if none is refused.

    ``fixed_patient``: the rows belong to this patient (a patient's own page); ``patient_id`` may then be absent,
    and must name this patient where given. ``one_result``: a form's single result, named "result" in the messages
    (there is no row 2 on a form)."""
    out = Checked(total=len(cells))
    parsed: dict[int, tuple[str, store.Row]] = {}

    def where_of(line: int) -> str:
        return "result" if one_result else f"row {line}"

    for n, cell in enumerate(cells):
        line = n + 2  # the header is line 1
        entry: dict[str, Any] = {"line": line, "cells": cell, "error": None, "field": where_of(line)}
        out.rows.append(entry)
        site = cell.get("patient_id")
        if fixed_patient is not None and site is not None and site != fixed_patient.site_id:
            entry["error"] = "patient_id names another patient than this page's (leave it empty or use this site id)"
            continue
        if fixed_patient is None and site is None:
            entry["error"] = "patient_id is empty; accepted: the site's identifier of a patient"
            continue
        try:
            result = row_result(cell, where_of(line))
            parsed[line] = (site or "", store.to_row(result, where_of(line)))
        except B2MError as e:
            entry["error"] = message(e)
            entry["field"] = getattr(e, "field", None) or entry["field"]
    by_line = {r["line"]: r for r in out.rows}
    with write_session(factory) as db:
        patients: dict[str, Patient | None] = {}
        groups: dict[int, list[tuple[int, store.Row]]] = {}
        objects: dict[int, Patient] = {}
        for line, (site, row) in parsed.items():
            if fixed_patient is not None:
                p: Patient | None = fixed_patient
            else:
                if site not in patients:
                    found = db.scalar(select(Patient).where(Patient.site_id == site))
                    patients[site] = found if found is not None and in_reach(db, found) else None
                p = patients[site]
            if p is None:
                by_line[line]["error"] = "no registered patient with this identifier in your reach"
                continue
            groups.setdefault(p.id, []).append((line, row))
            objects[p.id] = p
        for pid, rows in groups.items():
            for line, msg in _within(rows).items():
                by_line[line]["error"] = msg
            stored = list(db.scalars(store.current_results(pid)))
            for line, row in rows:
                if by_line[line]["error"]:
                    continue
                try:
                    store.check_against_stored(stored, [row], where=[where_of(line)])
                except Conflict as e:
                    by_line[line]["error"] = e.detail
            good = [row for line, row in rows if not by_line[line]["error"]]
            if good and len(good) == len(rows):
                try:
                    store.check_document(objects[pid], stored, good)
                except InputError as e:
                    out.file_error = f"the patient's record would not be valid with these rows: {e.one_line()}"
        if not out.ok or not parsed:
            if not parsed and not out.errors:
                out.file_error = out.file_error or "the file has no rows"
            db.rollback()
            # For the audit trail (what a lab's page shows): where, never the refused values.
            where = "; ".join(str(r["field"]) for r in out.errors[:8]) or "the file"
            state["b2m_problem"] = f"invalid-input at {where}"[:200]
            return out
        batch = store.new_batch(db, source, len(parsed), user_id)
        for pid, rows in groups.items():
            patient = store.lock_patient(db, pid)
            written = store.store_rows(db, patient, [r for _, r in rows], batch=batch, user_id=user_id)
            out.stored += len(written)
            state.setdefault("b2m_audit", {})["patient_id"] = pid
            record_in(db, state, 201, f"batch {batch.id}: {len(written)} results from the web app")
    return out


def read_file(data: bytes, filename: str, *, one_patient: bool = False) -> list[dict[str, str | None]]:
    """The rows of an uploaded CSV or Parquet file (the API's reader; a bad file raises ``FileFormatError``).
    ``one_patient``: the file is a patient page's, and its ``patient_id`` column may be left out."""
    name = filename.lower()
    suffix = ".parquet" if name.endswith(".parquet") else ".csv"
    required = tuple(c for c in REQUIRED if not (one_patient and c == "patient_id"))
    return read_rows(data, suffix, required)
