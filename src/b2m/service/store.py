"""Patients and their results as stored: validated by the engine's edge, kept as received beside canonical values.

A write of results is one transaction (a batch): every row goes through the unit layer
(:func:`b2m.units.parse_lab`) and the series rules of the monitor contract, is compared with what is stored,
and is stored with all the others or not at all. Rules, as ``b2m monitor`` applies them to a file:

- one result per analyte and date: a different value on a date that already has one is refused (409), and so is
  an exact repeat of a stored result (409; the client learns its earlier write arrived); inside one request the
  same pair is refused as the command line refuses it (422);
- one therapy line per number and per start date;
- a stored result is never changed: a correction is a new row that supersedes it (each row at most once; the
  database's unique index refuses a second, concurrent correction), ``entered_in_error`` retracts one.

Writers lock the patient row and bump its version, so two writers of one patient are serialised: the second
sees the first's rows, and is refused (409) only if it conflicts with them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, Select, bindparam, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from b2m.errors import InputError, short
from b2m.io.series import parse_patient_series
from b2m.monitor.series import IFE_KEY, MARROW_KEY, PatientSeries
from b2m.service.db.models import Patient, Result, ResultBatch
from b2m.service.problems import Conflict
from b2m.service.schemas import ResultIn, ResultOut
from b2m.units import LAB_NAMES, Censored

THERAPY = "therapy_line"
IMAGING = "imaging_event"
IFE_SIDES = {"immunofixation_serum": "serum", "immunofixation_urine": "urine"}
DOCUMENT_KEYS_STORED_AS_RESULTS = ("series", "therapy_lines", "imaging_events")
ONE_PER_DATE = "one result per analyte and date"


# --------------------------------------------------------------------------------------------- received rows


@dataclass(frozen=True, slots=True)
class Row:
    """One result ready to store: the received texts and the canonical values derived from them."""

    analyte: str
    date: dt.date
    value_json: str
    unit_text: str | None
    lower_limit_json: str | None
    upper_limit_json: str | None
    method: str | None
    loinc: str | None
    clonal: bool | None
    end_date: dt.date | None
    canonical_value: float | None = None
    censoring: str | None = None
    canonical_unit: str | None = None
    canonical_lower_limit: float | None = None
    canonical_upper_limit: float | None = None
    factor: float | None = None

    def received_key(self) -> tuple[object, ...]:
        """What 'the same result' means: every received field."""
        return (
            self.analyte,
            self.date,
            self.value_json,
            self.unit_text,
            self.lower_limit_json,
            self.upper_limit_json,
            self.method,
            self.loinc,
            self.clonal,
            self.end_date,
        )

    def slot(self) -> tuple[str, object] | None:
        """The key that may hold one result only (analyte and date; a therapy line's number), or None."""
        if self.analyte == IMAGING:
            return None  # several findings on one date are legitimate
        if self.analyte == THERAPY:
            return (THERAPY, json.loads(self.value_json))
        return (self.analyte, self.date)

    def describe(self) -> str:
        value = json.loads(self.value_json)
        text = f"{value} {self.unit_text}" if self.unit_text else f"{value}"
        return text + (f" by {self.method}" if self.method else "")


def _dump(x: object) -> str | None:
    return None if x is None else json.dumps(x, ensure_ascii=False, allow_nan=False)


def _entry_document(r: ResultIn) -> dict[str, Any]:
    """The one-result document of the monitor contract that says what ``r`` says."""
    a = r.analyte
    if a in LAB_NAMES:
        entry: dict[str, Any] = {"date": r.date, "value": r.value, "unit": r.unit}
        for k in ("lower_limit", "upper_limit", "method", "loinc"):
            if getattr(r, k) is not None:
                entry[k] = getattr(r, k)
        return {"series": {a: [entry]}}
    if a == MARROW_KEY:
        return {"series": {a: [{"date": r.date, "value": r.value, "clonal": r.clonal, "method": r.method}]}}
    if a in IFE_SIDES:
        return {"series": {IFE_KEY: [{"date": r.date, IFE_SIDES[a]: r.value}]}}
    if a == THERAPY:
        line = r.value
        if (isinstance(line, str) and line.strip().isdigit()) or (isinstance(line, float) and line.is_integer()):
            line = int(line)
        return {"therapy_lines": [{"line": line, "start": r.date, "end": r.end, "regimen": r.method}]}
    return {"imaging_events": [{"date": r.date, "finding": r.value, "modality": r.method}]}


# The document's names for the request's fields, to name the request's field in an engine error.
_FIELD_NAMES = {"start": "date", "line": "value", "regimen": "method", "finding": "value", "modality": "method"}
_FIELD_NAMES |= {side: "value" for side in IFE_SIDES.values()}


def _refield(e: InputError, where: str) -> InputError:
    """``series.b2m[0].unit`` -> ``results[3].unit``."""
    tail = e.field.rsplit("]", 1)[-1].lstrip(".") if "]" in e.field else ""
    name = _FIELD_NAMES.get(tail, tail)
    return type(e)(f"{where}.{name}" if name else where, e.problem, e.accepted, e.hint)


def _unused(r: ResultIn, where: str) -> None:
    """A field that the analyte does not take is refused (never silently dropped)."""
    takes = {
        "lab": ("unit", "lower_limit", "upper_limit", "method", "loinc"),
        MARROW_KEY: ("unit", "clonal", "method"),
        "ife": (),
        THERAPY: ("end", "method"),
        IMAGING: ("method",),
    }
    kind = "lab" if r.analyte in LAB_NAMES else "ife" if r.analyte in IFE_SIDES else r.analyte
    allowed = takes[kind]
    for name in ("unit", "lower_limit", "upper_limit", "method", "loinc", "clonal", "end"):
        if getattr(r, name) is not None and name not in allowed:
            raise InputError(
                f"{where}.{name}",
                f"{name} does not apply to {r.analyte}",
                f"for {r.analyte}: analyte, date, value" + "".join(f", {k}" for k in allowed),
            )
    if r.analyte == MARROW_KEY and r.unit not in (None, "%"):
        raise InputError(f"{where}.unit", f"unit {short(r.unit)} for marrow plasma cells", "% or none")


def _dates(ps: PatientSeries) -> tuple[dt.date, dt.date | None]:
    """The date (and a therapy line's end) of the one entry of a one-result series, as the edge read it."""
    for labs in ps.labs.values():
        return ps.date_of(labs[0]), None
    if ps.marrow:
        return ps.marrow[0].date, None
    if ps.immunofixation:
        return ps.immunofixation[0].date, None
    if ps.therapy_lines:
        return ps.therapy_lines[0].start, ps.therapy_lines[0].end
    return ps.imaging_events[0].date, None


def to_row(r: ResultIn, where: str) -> Row:
    """Validate one result through the engine's edge; refusals name the request's field."""
    _unused(r, where)
    try:
        ps = parse_patient_series(_entry_document(r))
    except InputError as e:
        raise _refield(e, where) from None
    date, end = _dates(ps)
    row = Row(
        analyte=r.analyte,
        date=date,
        value_json=_dump(r.value) or "null",
        unit_text=r.unit if r.analyte in LAB_NAMES else None,
        lower_limit_json=_dump(r.lower_limit),
        upper_limit_json=_dump(r.upper_limit),
        method=r.method,
        loinc=r.loinc,
        clonal=r.clonal,
        end_date=end,
    )
    if r.analyte not in LAB_NAMES:
        return row
    lab = ps.lab(r.analyte)[0]  # read by the unit layer (parse_lab) inside the edge
    value = lab.value
    magnitude = value.bound if isinstance(value, Censored) else value
    return replace(
        row,
        canonical_value=float(magnitude),
        censoring=value.direction if isinstance(value, Censored) else None,
        canonical_unit=lab.unit,
        canonical_lower_limit=lab.lower_limit,
        canonical_upper_limit=lab.upper_limit,
        factor=lab.factor,
    )


def to_rows(results: Sequence[ResultIn], prefix: str = "results") -> list[Row]:
    """Validate a request's results; a pair repeated inside the request is refused as ``b2m monitor`` does."""
    names = [f"{prefix}[{i}]" for i in range(len(results))]
    rows = [to_row(r, name) for r, name in zip(results, names, strict=True)]
    check_within(rows, names)
    return rows


def check_within(rows: Sequence[Row], names: Sequence[str]) -> None:
    """One request: no exact repeat, no two different values for one analyte and date (422)."""
    seen: dict[object, int] = {}
    for i, row in enumerate(rows):
        slot = row.slot() or row.received_key()
        if slot in seen:
            j = seen[slot]
            first = rows[j]
            if first.received_key() == row.received_key():
                raise InputError(names[i], f"repeats {names[j]} exactly", "each result once")
            raise InputError(
                f"{names[i]}.value" if row.analyte == THERAPY else f"{names[i]}.date",
                _two_different(row, first),
                f"{ONE_PER_DATE}; correct or remove one of them" if row.analyte != THERAPY else "each line number once",
            )
        seen[slot] = i


def _two_different(row: Row, other: Row) -> str:
    if row.analyte == THERAPY:
        return f"line {json.loads(row.value_json)} is given twice"
    return f"two different results on {row.date.isoformat()} ({other.describe()} and {row.describe()})"


# --------------------------------------------------------------------------------------------- reading


def _current(patient_id: int) -> tuple[Any, ...]:
    later = aliased(Result)
    return (
        Result.patient_id == patient_id,
        Result.status == "final",
        ~exists().where(later.supersedes_id == Result.id),
    )


def current_results(patient_id: int) -> Select[Result]:
    """The patient's results that are final and superseded by no other row, in date order."""
    return select(Result).where(*_current(patient_id)).order_by(Result.date, Result.analyte, Result.id)


_RESULTS = Result.__table__
_LATER = _RESULTS.alias("later")
# The columns of a result's JSON object, in the order :func:`_result_dict` takes them.
_OUT_COLUMNS = (
    "id",
    "batch_id",
    "analyte",
    "date",
    "value_json",
    "unit_text",
    "lower_limit_json",
    "upper_limit_json",
    "method",
    "loinc",
    "clonal",
    "end_date",
    "canonical_value",
    "censoring",
    "canonical_unit",
    "canonical_lower_limit",
    "canonical_upper_limit",
    "factor",
    "status",
    "supersedes_id",
    "created_at",
    "created_by",
)
# :func:`current_results` as one Core statement built once (the timeline is read often, and only read).
_CURRENT_ROWS = (
    select(*(_RESULTS.c[k] for k in _OUT_COLUMNS))
    .where(
        _RESULTS.c.patient_id == bindparam("patient_id"),
        _RESULTS.c.status == "final",
        ~exists().where(_LATER.c.supersedes_id == _RESULTS.c.id),
    )
    .order_by(_RESULTS.c.date, _RESULTS.c.analyte, _RESULTS.c.id)
)


def current_rows(db: Session | Connection, patient_id: int) -> list[Any]:
    """:func:`current_results` as plain rows (no ORM objects)."""
    return list(db.execute(_CURRENT_ROWS, {"patient_id": patient_id}))


def current_dicts(db: Session | Connection, patient_id: int) -> list[dict[str, Any]]:
    """:func:`current_results` as ``ResultOut`` JSON objects (the columns taken by position: the fast path)."""
    return [_result_dict(*row) for row in db.execute(_CURRENT_ROWS, {"patient_id": patient_id})]


def row_of(r: Result) -> Row:
    return Row(
        analyte=r.analyte,
        date=r.date,
        value_json=r.value_json,
        unit_text=r.unit_text,
        lower_limit_json=r.lower_limit_json,
        upper_limit_json=r.upper_limit_json,
        method=r.method,
        loinc=r.loinc,
        clonal=r.clonal,
        end_date=r.end_date,
    )


def result_dict(r: Any, superseded_by: int | None = None) -> dict[str, Any]:
    """A stored result (an ORM object or a row with the same columns) as the ``ResultOut`` JSON object."""
    return _result_dict(*(getattr(r, k) for k in _OUT_COLUMNS), superseded_by=superseded_by)


def _result_dict(
    id: int,
    batch_id: int,
    analyte: str,
    date: dt.date,
    value_json: str,
    unit_text: str | None,
    lower_limit_json: str | None,
    upper_limit_json: str | None,
    method: str | None,
    loinc: str | None,
    clonal: bool | None,
    end_date: dt.date | None,
    canonical_value: float | None,
    censoring: str | None,
    canonical_unit: str | None,
    canonical_lower_limit: float | None,
    canonical_upper_limit: float | None,
    factor: float | None,
    status: str,
    supersedes_id: int | None,
    created_at: dt.datetime,
    created_by: int | None,
    *,
    superseded_by: int | None = None,
) -> dict[str, Any]:
    received: dict[str, Any] = {"value": json.loads(value_json)}
    if unit_text is not None:
        received["unit"] = unit_text
    if lower_limit_json is not None:
        received["lower_limit"] = json.loads(lower_limit_json)
    if upper_limit_json is not None:
        received["upper_limit"] = json.loads(upper_limit_json)
    if method is not None:
        received["method"] = method
    if loinc is not None:
        received["loinc"] = loinc
    if clonal is not None:
        received["clonal"] = clonal
    if end_date is not None:
        received["end"] = end_date.isoformat()
    canonical = None
    if canonical_unit is not None:
        canonical = {
            "value": canonical_value,
            "censoring": censoring,
            "unit": canonical_unit,
            "lower_limit": canonical_lower_limit,
            "upper_limit": canonical_upper_limit,
            "factor": factor,
        }
    return {
        "id": id,
        "batch_id": batch_id,
        "analyte": analyte,
        "date": date.isoformat(),
        "received": received,
        "canonical": canonical,
        "status": status,
        "supersedes": supersedes_id,
        "superseded_by": superseded_by,
        "created_at": created_at.isoformat() + ("Z" if created_at.tzinfo is None else ""),
        "created_by": created_by,
    }


def result_out(r: Result, superseded_by: int | None = None) -> ResultOut:
    return ResultOut.model_validate(result_dict(r, superseded_by))


def document(patient: Patient, results: Iterable[Result]) -> dict[str, Any]:
    """The patient document of the monitor contract, rebuilt from the stored details and current results."""
    doc: dict[str, Any] = {**json.loads(patient.details), "id": patient.site_id}
    series: dict[str, list[dict[str, Any]]] = {}
    lines: list[dict[str, Any]] = []
    imaging: list[dict[str, Any]] = []
    ife: dict[dt.date, dict[str, Any]] = {}
    for r in results:
        value = json.loads(r.value_json)
        day = r.date.isoformat()
        if r.analyte in LAB_NAMES:
            entry: dict[str, Any] = {"date": day, "value": value, "unit": r.unit_text}
            for k, raw in (("lower_limit", r.lower_limit_json), ("upper_limit", r.upper_limit_json)):
                if raw is not None:
                    entry[k] = json.loads(raw)
            for k, x in (("method", r.method), ("loinc", r.loinc)):
                if x is not None:
                    entry[k] = x
            series.setdefault(r.analyte, []).append(entry)
        elif r.analyte == MARROW_KEY:
            series.setdefault(MARROW_KEY, []).append(
                {"date": day, "value": value, "clonal": r.clonal, "method": r.method}
            )
        elif r.analyte in IFE_SIDES:
            ife.setdefault(r.date, {"date": day})[IFE_SIDES[r.analyte]] = value
        elif r.analyte == THERAPY:
            lines.append(
                {
                    "line": value if not isinstance(value, str) else int(value),
                    "start": day,
                    "end": r.end_date.isoformat() if r.end_date else None,
                    "regimen": r.method,
                }
            )
        else:
            imaging.append({"date": day, "finding": value, "modality": r.method})
    if ife:
        series[IFE_KEY] = [ife[d] for d in sorted(ife)]
    doc["series"] = series
    doc["therapy_lines"] = lines
    doc["imaging_events"] = imaging
    return doc


# --------------------------------------------------------------------------------------------- writing


def lock_patient(db: Session, patient_id: int) -> Patient:
    """The patient row, locked for this write transaction (FOR UPDATE; SQLite: the transaction is IMMEDIATE)."""
    patient = db.execute(select(Patient).where(Patient.id == patient_id).with_for_update()).scalar_one()
    db.refresh(patient)
    return patient


def check_against_stored(
    stored: Sequence[Result], rows: Sequence[Row], prefix: str = "results", where: Sequence[str] | None = None
) -> None:
    """Refuse exact repeats and conflicting values of what is stored (409); ``where`` names each row."""
    names = list(where) if where is not None else [f"{prefix}[{i}]" for i in range(len(rows))]
    by_slot: dict[object, Result] = {}
    by_key: dict[tuple[object, ...], Result] = {}
    for r in stored:
        row = row_of(r)
        by_key[row.received_key()] = r
        if (slot := row.slot()) is not None:
            by_slot[slot] = r
    for i, row in enumerate(rows):
        if (same := by_key.get(row.received_key())) is not None:
            raise Conflict(
                f"{names[i]} repeats stored result {same.id} exactly (it was stored before)",
                field=names[i],
                accepted="each result once",
                kind="duplicate",
            )
        slot = row.slot()
        if slot is not None and (other := by_slot.get(slot)) is not None:
            field = f"{names[i]}.value" if row.analyte == THERAPY else f"{names[i]}.date"
            raise Conflict(
                f"{field}: {_two_different(row, row_of(other))}; stored result {other.id} holds the first",
                field=field,
                accepted=f"{ONE_PER_DATE}; to change a stored result, post a correction to "
                f"/api/v1/patients/{{patient_id}}/results/{other.id}/corrections",
                kind="conflicting-result",
            )


def check_document(patient: Patient, results: Iterable[Result], rows: Sequence[Row]) -> None:
    """The whole patient document with the new rows must still be a valid monitor document (therapy lines in
    order, ...): the engine's own parser decides, with its message."""
    doc = document(patient, results)
    extra = document(Patient(details="{}", site_id=patient.site_id), [_as_result(r) for r in rows])
    for key, entries in extra["series"].items():
        doc["series"].setdefault(key, []).extend(entries)
    doc["therapy_lines"].extend(extra["therapy_lines"])
    doc["imaging_events"].extend(extra["imaging_events"])
    parse_patient_series(doc)


def _as_result(row: Row) -> Result:
    return Result(**{k: getattr(row, k) for k in Row.__dataclass_fields__})


def store_rows(
    db: Session,
    patient: Patient,
    rows: Sequence[Row],
    *,
    batch: ResultBatch,
    user_id: int | None,
    supersedes: int | None = None,
    status: str = "final",
) -> list[Result]:
    """Insert ``rows`` for the locked ``patient`` into ``batch`` and bump the patient's version."""
    stored = [
        Result(
            **{k: getattr(row, k) for k in Row.__dataclass_fields__},
            patient_id=patient.id,
            batch_id=batch.id,
            created_by=user_id,
            supersedes_id=supersedes,
            status=status,
        )
        for row in rows
    ]
    db.add_all(stored)
    try:
        db.flush()
    except IntegrityError:
        raise Conflict("a concurrent write changed this result first; read the timeline and retry") from None
    # In SQL, not in Python: the row is locked, and the session's copy is synchronised by the statement.
    db.execute(update(Patient).where(Patient.id == patient.id).values(version=Patient.version + 1))
    return stored


def new_batch(db: Session, source: str, rows: int, user_id: int | None) -> ResultBatch:
    batch = ResultBatch(source=source, row_count=rows, created_by=user_id)
    db.add(batch)
    db.flush()
    return batch


def add_results(
    db: Session, patient_id: int, rows: Sequence[Row], *, source: str, user_id: int | None, prefix: str = "results"
) -> tuple[Patient, ResultBatch, list[Result]]:
    """The whole write of one patient's results, inside the caller's write transaction."""
    patient = lock_patient(db, patient_id)
    stored = list(db.scalars(current_results(patient.id)))
    check_against_stored(stored, rows, prefix)
    check_document(patient, stored, rows)
    batch = new_batch(db, source, len(rows), user_id)
    return patient, batch, store_rows(db, patient, rows, batch=batch, user_id=user_id)


def superseded_by(db: Session, ids: Sequence[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = db.execute(select(Result.supersedes_id, Result.id).where(Result.supersedes_id.in_(ids))).all()
    return {int(a): int(b) for a, b in rows if a is not None}


def count_patients(db: Session, query: Select[Any]) -> int:
    return int(db.scalar(select(func.count()).select_from(query.subquery())) or 0)


def site_id_taken(db: Session, site_id: str) -> bool:
    return db.scalar(select(Patient.id).where(Patient.site_id == site_id)) is not None


def split_document(document: Mapping[str, Any]) -> tuple[dict[str, Any], list[ResultIn]]:
    """A patient document (monitor contract, without ``id``) -> its details and its dated parts as results."""
    details = {k: v for k, v in document.items() if k not in DOCUMENT_KEYS_STORED_AS_RESULTS}
    results: list[ResultIn] = []
    series = document.get("series") or {}
    for key, entries in series.items():
        for e in entries:
            if key in LAB_NAMES or key == MARROW_KEY:
                results.append(ResultIn.model_validate({"analyte": key, **e}))
            elif key == IFE_KEY:
                for side_key, side in IFE_SIDES.items():
                    if e.get(side) is not None:
                        results.append(ResultIn(analyte=side_key, date=e["date"], value=e[side]))
    for ln in document.get("therapy_lines") or []:
        results.append(
            ResultIn(analyte=THERAPY, date=ln["start"], value=ln["line"], end=ln.get("end"), method=ln.get("regimen"))
        )
    for ev in document.get("imaging_events") or []:
        results.append(ResultIn(analyte=IMAGING, date=ev["date"], value=ev["finding"], method=ev.get("modality")))
    return details, results
