"""The series document of ``b2m monitor`` / ``b2m report`` (docs/monitor-contract.md) and its long format
(CSV / Parquet, one result per row) -> :class:`b2m.monitor.series.PatientSeries`.

:class:`b2m.io.models.SeriesDocument` checks the shape; :func:`to_patient_series` turns a checked
document into the domain object. Every dated lab result goes through the unit layer
(:func:`b2m.units.parse_lab`), so units, censoring and plausibility work exactly as in ``b2m assess``;
the patient part is read by :func:`b2m.io.patient.to_patient`. Rules applied here:

- entries are sorted by date, and if they were not in order a note says so (the result does not
  depend on the input order);
- two entries for the same analyte on the same date are an error unless they are identical (an
  identical repeat is dropped, with a note);
- therapy line numbers are unique and follow the start dates;
- a unit or method change between consecutive results is *not* an error here: the alert layer
  reports it (:mod:`b2m.monitor.alerts`).

The long format is turned into documents of the same contract (numbers as numbers, as JSON would
carry them) and validated by the same model, so both inputs are checked identically.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar, cast

from b2m.errors import FileFormatError, InputError, short
from b2m.io.models import SeriesDocument, validate
from b2m.io.models.series import (
    MAX_PATIENTS_PER_SERIES_DOCUMENT,
    MAX_THERAPY_LINES,
    DatedLabResult,
    ImmunofixationResult,
    MarrowResult,
)
from b2m.io.models.series import (
    ImagingEvent as ImagingEventEntry,
)
from b2m.io.models.series import (
    TherapyLine as TherapyLineEntry,
)
from b2m.io.patient import lab_entry, to_patient
from b2m.monitor.series import (
    IFE_KEY,
    MARROW_KEY,
    SERIES_KEYS,
    ImagingEvent,
    Immunofixation,
    Marrow,
    PatientSeries,
    TherapyLine,
)
from b2m.rules.base import Note
from b2m.units import LAB_NAMES, LabValue, parse_lab, parse_number

MAX_PATIENTS = MAX_PATIENTS_PER_SERIES_DOCUMENT

T = TypeVar("T")


def _sorted_unique(
    items: list[tuple[int, T]],
    date_of: Callable[[T], dt.date],
    describe: Callable[[T], str],
    field_name: str,
    notes: list[Note],
) -> tuple[T, ...]:
    """Sort by date (noting it if the input was out of order); refuse conflicting same-date entries."""
    dates = [date_of(x) for _, x in items]
    if any(b < a for a, b in itertools.pairwise(dates)):
        notes.append(
            Note(
                f"{field_name}.unsorted",
                "caveat",
                f"{field_name}: entries were not in date order; they were sorted by date.",
            )
        )
    ordered = sorted(items, key=lambda ix: (date_of(ix[1]), ix[0]))
    out: list[T] = []
    for k, (i, x) in enumerate(ordered):
        prev = ordered[k - 1] if k else None
        if prev is not None and date_of(prev[1]) == date_of(x):
            if prev[1] == x:
                notes.append(
                    Note(
                        f"{field_name}.repeat",
                        "caveat",
                        f"{field_name}: entry [{i}] repeats entry [{prev[0]}] exactly ({date_of(x).isoformat()}); "
                        "it was counted once.",
                    )
                )
                continue
            raise InputError(
                f"{field_name}[{i}].date",
                f"two different results on {date_of(x).isoformat()} ({describe(prev[1])} and {describe(x)})",
                "one result per analyte and date; correct or remove one of them",
            )
        out.append(x)
    return tuple(out)


def _describe_lab(lab: LabValue) -> str:
    return f"{lab.received_value} {lab.received_unit}" + (f" by {lab.method}" if lab.method else "")


def _lab_date(lab: LabValue) -> dt.date:
    assert lab.date is not None  # the model requires a date on every series entry
    return lab.date


def _lab_series(key: str, entries: list[DatedLabResult] | None, notes: list[Note]) -> tuple[LabValue, ...]:
    field_name = f"series.{key}"
    parsed: list[tuple[int, LabValue]] = []
    for i, entry in enumerate(entries or ()):
        lab = parse_lab(key, lab_entry(entry), field=f"{field_name}[{i}]")
        assert lab is not None  # the model requires a value on every series entry
        parsed.append((i, lab))
    return _sorted_unique(parsed, _lab_date, _describe_lab, field_name, notes)


def _marrow(entries: list[MarrowResult] | None, notes: list[Note]) -> tuple[Marrow, ...]:
    field_name = f"series.{MARROW_KEY}"
    parsed = [
        (
            i,
            Marrow(
                date=e.date,
                percent=parse_number(e.value, f"{field_name}[{i}].value", allow_censored=True),
                clonal=e.clonal,
                method=e.method,
            ),
        )
        for i, e in enumerate(entries or ())
    ]
    return _sorted_unique(parsed, lambda m: m.date, lambda m: f"{m.percent}%", field_name, notes)


def _ife(entries: list[ImmunofixationResult] | None, notes: list[Note]) -> tuple[Immunofixation, ...]:
    field_name = f"series.{IFE_KEY}"
    parsed = [(i, Immunofixation(date=e.date, serum=e.serum, urine=e.urine)) for i, e in enumerate(entries or ())]
    return _sorted_unique(parsed, lambda x: x.date, lambda x: f"serum {x.serum}, urine {x.urine}", field_name, notes)


def _therapy_lines(entries: list[TherapyLineEntry] | None, notes: list[Note]) -> tuple[TherapyLine, ...]:
    lines = [TherapyLine(line=e.line, start=e.start, end=e.end, regimen=e.regimen) for e in entries or ()]
    numbers = [ln.line for ln in lines]
    if len(set(numbers)) != len(numbers):
        dup = next(n for n in numbers if numbers.count(n) > 1)
        raise InputError("therapy_lines", f"line {dup} is given twice", "each line number once")
    starts = [ln.start for ln in lines]
    if len(set(starts)) != len(starts):
        raise InputError("therapy_lines", "two lines start on the same date", "one line of therapy per start date")
    by_start = sorted(lines, key=lambda ln: ln.start)
    if [ln.line for ln in by_start] != sorted(numbers):
        raise InputError(
            "therapy_lines", "line numbers do not follow the start dates", "line 1 starts first, then line 2, ..."
        )
    if by_start != lines:
        notes.append(Note("therapy_lines.unsorted", "caveat", "therapy_lines were not in order; sorted by start date."))
    for a, b in itertools.pairwise(by_start):
        if a.end is not None and a.end > b.start:
            notes.append(
                Note(
                    "therapy_lines.overlap",
                    "caveat",
                    f"Line {a.line} ends ({a.end}) after line {b.line} starts ({b.start}); results from "
                    f"{b.start} on are attributed to line {b.line}.",
                )
            )
    return tuple(by_start)


def _imaging(entries: list[ImagingEventEntry] | None, notes: list[Note]) -> tuple[ImagingEvent, ...]:
    events = [
        (i, ImagingEvent(date=e.date, finding=e.finding, modality=e.modality)) for i, e in enumerate(entries or ())
    ]
    # Several findings on one date are legitimate (a new lesion and a growing one): keep them all.
    if any(b[1].date < a[1].date for a, b in itertools.pairwise(events)):
        notes.append(Note("imaging_events.unsorted", "caveat", "imaging_events were not in date order; sorted."))
    return tuple(e for _, e in sorted(events, key=lambda ie: (ie[1].date, ie[0])))


def to_patient_series(doc: SeriesDocument, default_id: str = "1") -> PatientSeries:
    """The domain series of a checked document; ``default_id`` when the document gives none."""
    patient = to_patient(doc, default_id)
    notes: list[Note] = []
    series = doc.series
    labs: dict[str, tuple[LabValue, ...]] = {}
    if series is not None:
        for key in LAB_NAMES:
            if s := _lab_series(key, getattr(series, key), notes):
                labs[key] = s
    return PatientSeries(
        patient=patient,
        labs=labs,
        marrow=_marrow(series.marrow_plasma_cells_percent if series else None, notes),
        immunofixation=_ife(series.immunofixation if series else None, notes),
        therapy_lines=_therapy_lines(doc.therapy_lines, notes),
        imaging_events=_imaging(doc.imaging_events, notes),
        notes=tuple(notes),
    )


def parse_patient_series(raw: object, default_id: str = "1", *, prefix: str = "") -> PatientSeries:
    """One patient document of the monitor contract (parsed JSON) -> :class:`PatientSeries`."""
    doc = validate(SeriesDocument, raw, prefix=prefix)
    try:
        return to_patient_series(doc, default_id)
    except InputError as e:
        if not prefix:
            raise
        raise type(e)(f"{prefix}.{e.field}", e.problem, e.accepted, e.hint) from None


def parse_series_document(raw: object) -> list[PatientSeries]:
    """One patient object or an array of them (ids unique); errors are prefixed with the array index."""
    if not isinstance(raw, list):
        return [parse_patient_series(raw)]
    if len(raw) > MAX_PATIENTS:
        raise InputError("patients", f"{len(raw)} patients in one document", f"at most {MAX_PATIENTS:,}")
    out = []
    ids: set[str] = set()
    for i, item in enumerate(raw):
        p = parse_patient_series(item, default_id=str(i + 1), prefix=f"[{i}]")
        if p.id in ids:
            raise InputError(f"[{i}].id", "the same patient id appears twice", "one entry per patient")
        ids.add(p.id)
        out.append(p)
    return out


# ---------------------------------------------------------------------------------------------
# Long format (CSV / Parquet): one result per row
# ---------------------------------------------------------------------------------------------

LONG_REQUIRED: tuple[str, ...] = ("patient_id", "analyte", "date", "value")
LONG_OPTIONAL: tuple[str, ...] = (
    "unit",
    "lower_limit",
    "upper_limit",
    "method",
    "clonal",
    "end",
    "age",
    "sex",
    "weight_kg",
)
LONG_COLUMNS: tuple[str, ...] = (*LONG_REQUIRED, *LONG_OPTIONAL)
# Analytes of the long format besides the series keys (therapy and imaging as rows, so one file
# can carry a whole patient).
LONG_IFE = {"immunofixation_serum": "serum", "immunofixation_urine": "urine"}
LONG_THERAPY = "therapy_line"  # value = line number, date = start, method = regimen, end = end date
LONG_IMAGING = "imaging_event"  # value = finding, method = modality
LONG_ANALYTES: tuple[str, ...] = (
    *(k for k in SERIES_KEYS if k != IFE_KEY),
    *LONG_IFE,
    LONG_THERAPY,
    LONG_IMAGING,
)
PATIENT_COLUMNS = ("age", "sex", "weight_kg")
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")
MAX_LONG_BYTES = 256 << 20


def _read_table(path: Path, name: str) -> list[dict[str, str | None]]:
    """Every column as text (validation then names the offending value), rows as dicts."""
    import polars as pl

    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise FileFormatError(name, f"unsupported file type {path.suffix or '(none)'!r}", ".json, .csv, .parquet")
    if not path.is_file():
        raise FileFormatError(name, f"no such file: {path}", "a path to a .csv or .parquet file")
    if path.stat().st_size > MAX_LONG_BYTES:
        raise FileFormatError(name, f"larger than {MAX_LONG_BYTES >> 20} MiB", "one patient series file per run")
    try:
        if suffix == ".csv":
            df = pl.read_csv(path, infer_schema=False, raise_if_empty=False)
        else:
            df = pl.read_parquet(path)
            df = df.select(pl.all().cast(pl.String))
    except Exception as e:  # polars / arrow raise many error kinds on malformed files
        kind = "CSV" if suffix == ".csv" else "Parquet"
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:120]
        raise FileFormatError(
            name, f"not a readable {kind} file ({first})", f"a {kind} file with a header row"
        ) from None
    dupes = sorted({c for c in df.columns if df.columns.count(c) > 1})
    if dupes:
        raise FileFormatError(name, f"duplicate column(s) {', '.join(dupes)}", "each column once")
    missing = [c for c in LONG_REQUIRED if c not in df.columns]
    if missing:
        raise FileFormatError(name, f"missing column(s) {', '.join(missing)}", "columns " + ", ".join(LONG_COLUMNS))
    unknown = [c for c in df.columns if c not in LONG_COLUMNS]
    if unknown:
        raise FileFormatError(name, f"unknown column(s) {', '.join(unknown)}", "columns " + ", ".join(LONG_COLUMNS))
    rows: list[dict[str, str | None]] = []
    for row in df.iter_rows(named=True):
        rows.append({k: (v.strip() or None) if isinstance(v, str) else None for k, v in row.items()})
    return rows


def _cell_number(raw: str | None, where: str, lo: float, hi: float) -> float | None:
    if raw is None:
        return None
    accepted = f"a number from {lo:g} to {hi:g}"
    try:
        x = float(raw)
    except ValueError:
        raise InputError(where, f"not a number: {short(raw)}", accepted) from None
    if not lo <= x <= hi:  # also refuses nan
        raise InputError(where, f"out of range: {short(raw)}", accepted)
    return x


_INTEGER = re.compile(r"^[-+]?[0-9]+$")
_DECIMAL = re.compile(r"^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$")


def _cell_value(raw: str | None) -> object:
    """A result cell as JSON would carry it: a number as a number (``850`` an integer, ``3.2`` a float), any
    other text (a censored ``<0.5``, or a wrong value the model then names) as text."""
    if raw is None:
        return None
    if _INTEGER.match(raw):
        return int(raw)
    if _DECIMAL.match(raw):
        return float(raw)
    return raw


def _cell_bool(raw: str | None, where: str) -> bool | None:
    if raw is None:
        return None
    low = raw.casefold()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise InputError(where, f"expected true or false, got {short(raw)}", "true/false, yes/no, 1/0, empty for unknown")


def long_rows_to_documents(rows: Sequence[Mapping[str, str | None]], name: str = "input") -> list[dict[str, object]]:
    """Group long-format rows by patient into documents of the JSON contract (order of first appearance)."""
    docs: dict[str, dict[str, object]] = {}
    for n, row in enumerate(rows):
        where = f"{name} row {n + 2}"  # header is line 1
        pid = row.get("patient_id")
        if pid is None:
            raise InputError(f"{where}: patient_id", "patient_id is empty", "a patient identifier")
        analyte = row.get("analyte")
        if analyte not in LONG_ANALYTES:
            raise InputError(f"{where}: analyte", f"unknown analyte {short(analyte)}", ", ".join(LONG_ANALYTES))
        doc = docs.setdefault(pid, {"id": pid, "series": {}, "therapy_lines": [], "imaging_events": []})
        for col, parse in (
            ("age", lambda r, w: _cell_number(r, w, 0, 130)),
            ("sex", lambda r, w: r),
            ("weight_kg", lambda r, w: _cell_number(r, w, 1, 400)),
        ):
            raw = row.get(col)
            if raw is None:
                continue
            value = parse(raw, f"{where}: {col}")
            if col in doc and doc[col] != value:
                raise InputError(
                    f"{where}: {col}", "differs from an earlier row of the same patient", f"one {col} per patient"
                )
            doc[col] = value
        series = cast(dict[str, list[object]], doc["series"])
        date, value = row.get("date"), row.get("value")
        if analyte == LONG_THERAPY:
            line = _cell_number(value, f"{where}: value", 1, MAX_THERAPY_LINES)
            if line is None or not line.is_integer():
                raise InputError(
                    f"{where}: value", f"line number expected, got {short(value)}", "an integer line number"
                )
            cast(list[object], doc["therapy_lines"]).append(
                {"line": int(line), "start": date, "end": row.get("end"), "regimen": row.get("method")}
            )
        elif analyte == LONG_IMAGING:
            cast(list[object], doc["imaging_events"]).append(
                {"date": date, "finding": value, "modality": row.get("method")}
            )
        elif analyte in LONG_IFE:
            ife = cast(list[dict[str, object]], series.setdefault(IFE_KEY, []))
            same = next((e for e in ife if e["date"] == date), None)
            if same is None:
                same = {"date": date}
                ife.append(same)
            side = LONG_IFE[analyte]
            if side in same and same[side] != value:
                raise InputError(f"{where}: value", f"two different {analyte} results on {date}", "one per date")
            same[side] = value
        elif analyte == MARROW_KEY:
            unit = row.get("unit")
            if unit not in (None, "%"):
                raise InputError(f"{where}: unit", f"unit {short(unit)} for marrow plasma cells", "% or empty")
            series.setdefault(MARROW_KEY, []).append(
                {
                    "date": date,
                    "value": _cell_value(value),
                    "clonal": _cell_bool(row.get("clonal"), f"{where}: clonal"),
                    "method": row.get("method"),
                }
            )
        else:
            entry: dict[str, object] = {"date": date, "value": _cell_value(value), "unit": row.get("unit")}
            for col in ("lower_limit", "upper_limit"):
                if row.get(col) is not None:
                    entry[col] = _cell_value(row[col])
            if row.get("method") is not None:
                entry["method"] = row["method"]
            series.setdefault(analyte, []).append(entry)
    return list(docs.values())


def read_long_format(path: Path, therapy: Path | None = None) -> list[PatientSeries]:
    """Patients from a long-format CSV/Parquet file (and an optional therapy-lines file).

    The therapy file has columns ``patient_id, line, start`` and optionally ``end, regimen``.
    """
    docs = long_rows_to_documents(_read_table(path, str(path)), str(path))
    if therapy is not None:
        by_id = {cast(str, d["id"]): d for d in docs}
        for n, row in enumerate(_read_therapy(therapy)):
            pid = row.get("patient_id")
            if pid not in by_id:
                raise InputError(
                    f"{therapy} row {n + 2}: patient_id", "a patient without results", "an id of the series file"
                )
            line = _cell_number(row.get("line"), f"{therapy} row {n + 2}: line", 1, MAX_THERAPY_LINES)
            if line is not None and not line.is_integer():
                raise InputError(f"{therapy} row {n + 2}: line", f"not a whole number: {line:g}", "an integer 1-50")
            cast(list[object], by_id[pid]["therapy_lines"]).append(
                {
                    "line": int(line) if line is not None else None,
                    "start": row.get("start"),
                    "end": row.get("end"),
                    "regimen": row.get("regimen"),
                }
            )
    return parse_series_document(docs)


def _read_therapy(path: Path) -> list[dict[str, str | None]]:
    import polars as pl

    try:
        df = pl.read_csv(path, infer_schema=False) if path.suffix.lower() == ".csv" else pl.read_parquet(path)
    except Exception as e:  # polars / arrow raise many error kinds on malformed files
        raise FileFormatError(str(path), f"not a readable table ({type(e).__name__})", ".csv or .parquet") from None
    allowed = ("patient_id", "line", "start", "end", "regimen")
    unknown = [c for c in df.columns if c not in allowed]
    missing = [c for c in ("patient_id", "line", "start") if c not in df.columns]
    if unknown or missing:
        raise FileFormatError(
            str(path), f"columns must be {', '.join(allowed)}", "patient_id, line, start[, end, regimen]"
        )
    df = df.select(pl.all().cast(pl.String))
    return [
        {k: (v.strip() or None) if isinstance(v, str) else None for k, v in r.items()} for r in df.iter_rows(named=True)
    ]


__all__ = [
    "LONG_COLUMNS",
    "MAX_PATIENTS",
    "long_rows_to_documents",
    "parse_patient_series",
    "parse_series_document",
    "read_long_format",
    "to_patient_series",
]
