"""A patient's dated series: the input of ``b2m monitor`` (docs/monitor-contract.md), parsed once.

The engine's patient JSON (README) is extended with three keys: ``series`` (dated lab results,
marrow plasma cells and immunofixation), ``therapy_lines`` and ``imaging_events``. Every dated lab
result goes through the engine's unit layer (:func:`b2m.units.parse_lab`), so units, censoring and
plausibility work exactly as in ``b2m assess``; everything else in the document is parsed by
:func:`b2m.io.patient.parse_patient`, so unknown keys are refused the same way.

Rules applied here, at the edge:

- a series entry needs a ``date``; entries are sorted by date, and if they were not in order a note
  says so (the result does not depend on the input order);
- two entries for the same analyte on the same date are an error unless they are identical (an
  identical repeat is dropped, with a note);
- a unit or method change between consecutive results is *not* an error here: the alert layer
  reports it (:mod:`b2m.monitor.alerts`).

The long format (CSV or Parquet, one result per row) is turned into the same JSON document and then
parsed by the same code, so both inputs are validated identically.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, TypeVar, cast

from b2m.errors import FileFormatError, InputError, short
from b2m.io import fields as f
from b2m.io.patient import Patient, parse_patient
from b2m.rules.base import Note
from b2m.units import LAB_NAMES, Censored, LabValue, parse_lab, parse_number

IfeResult = Literal["positive", "negative"]
IFE_RESULTS: tuple[IfeResult, ...] = ("positive", "negative")

ImagingFinding = Literal[
    "new_bone_lesion",
    "new_soft_tissue_plasmacytoma",
    "lesion_growth_50_percent",
    "no_new_or_progressing_lesions",
]
IMAGING_FINDINGS: tuple[ImagingFinding, ...] = (
    "new_bone_lesion",
    "new_soft_tissue_plasmacytoma",
    "lesion_growth_50_percent",
    "no_new_or_progressing_lesions",
)

MARROW_KEY = "marrow_plasma_cells_percent"
IFE_KEY = "immunofixation"
# Series keys: every lab name of the engine contract, plus marrow plasma cells and immunofixation.
SERIES_KEYS: tuple[str, ...] = (*LAB_NAMES, MARROW_KEY, IFE_KEY)
MONITOR_KEYS: tuple[str, ...] = ("series", "therapy_lines", "imaging_events")
MARROW_ENTRY_KEYS: tuple[str, ...] = ("date", "value", "clonal", "method")
IFE_ENTRY_KEYS: tuple[str, ...] = ("date", "serum", "urine")
LINE_KEYS: tuple[str, ...] = ("line", "regimen", "start", "end")
IMAGING_EVENT_KEYS: tuple[str, ...] = ("date", "finding", "modality")

MAX_ENTRIES_PER_SERIES = 10_000  # a decade of daily results; more is not one patient's series
MAX_THERAPY_LINES = 50
# Plausible calendar for clinical results (a typo such as 0202-01-10 is refused, not monitored).
EARLIEST_DATE = dt.date(1950, 1, 1)
LATEST_DATE = dt.date(2100, 12, 31)


@dataclass(frozen=True, slots=True)
class Marrow:
    """Marrow plasma cells (%) on one date; ``clonal`` = clonal plasma cells seen by IHC/IF (sCR)."""

    date: dt.date
    percent: float | Censored
    clonal: bool | None = None
    method: str | None = None


@dataclass(frozen=True, slots=True)
class Immunofixation:
    date: dt.date
    serum: IfeResult | None = None
    urine: IfeResult | None = None


@dataclass(frozen=True, slots=True)
class TherapyLine:
    line: int
    start: dt.date
    end: dt.date | None = None
    regimen: str | None = None


@dataclass(frozen=True, slots=True)
class ImagingEvent:
    date: dt.date
    finding: ImagingFinding
    modality: str | None = None


@dataclass(frozen=True, slots=True)
class PatientSeries:
    """One patient: the engine's patient fields plus dated series, therapy lines and imaging."""

    patient: Patient
    labs: Mapping[str, tuple[LabValue, ...]] = field(default_factory=dict)  # each sorted by date
    marrow: tuple[Marrow, ...] = ()
    immunofixation: tuple[Immunofixation, ...] = ()
    therapy_lines: tuple[TherapyLine, ...] = ()  # sorted by start date
    imaging_events: tuple[ImagingEvent, ...] = ()
    notes: tuple[Note, ...] = ()  # about the input itself (sorting, dropped repeats)

    @property
    def id(self) -> str:
        return self.patient.id

    def lab(self, key: str) -> tuple[LabValue, ...]:
        return self.labs.get(key, ())

    def date_of(self, lab: LabValue) -> dt.date:
        assert lab.date is not None  # every series entry has a date (checked at parsing)
        return lab.date


def parse_date(raw: object, field_name: str) -> dt.date:
    """A required ISO 8601 calendar date (``2026-01-31``)."""
    accepted = "an ISO 8601 date such as 2026-01-31"
    if raw is None:
        raise InputError(field_name, "date is required", accepted)
    if not isinstance(raw, str):
        raise InputError(field_name, f"not a date: {short(raw)}", accepted)
    try:
        d = dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise InputError(field_name, f"not a date: {short(raw)}", accepted) from None
    if not EARLIEST_DATE <= d <= LATEST_DATE:
        raise InputError(
            field_name, f"implausible date {d.isoformat()}", f"a date from {EARLIEST_DATE} to {LATEST_DATE}"
        )
    return d


def _opt_date(raw: object, field_name: str) -> dt.date | None:
    return None if raw is None else parse_date(raw, field_name)


def _entries(raw: object, field_name: str, max_items: int = MAX_ENTRIES_PER_SERIES) -> list[object]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InputError(field_name, f"expected a list, got {type(raw).__name__}", "a JSON array of dated entries")
    if len(raw) > max_items:
        raise InputError(field_name, f"{len(raw)} entries", f"at most {max_items:,} entries")
    return raw


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


def _lab_series(key: str, raw: object, notes: list[Note]) -> tuple[LabValue, ...]:
    field_name = f"series.{key}"
    parsed: list[tuple[int, LabValue]] = []
    for i, entry in enumerate(_entries(raw, field_name)):
        where = f"{field_name}[{i}]"
        if not isinstance(entry, Mapping):
            raise InputError(
                where, f"expected an object, got {type(entry).__name__}", '{"date": ..., "value": ..., "unit": ...}'
            )
        date = parse_date(entry.get("date"), f"{where}.date")
        lab = parse_lab(key, entry, field=where)
        if lab is None:
            raise InputError(f"{where}.value", "value is missing", 'a number or a censored value such as "<0.5"')
        parsed.append((i, lab if lab.date == date else _with_date(lab, date)))
    return _sorted_unique(parsed, lambda lab: cast(dt.date, lab.date), _describe_lab, field_name, notes)


def _with_date(lab: LabValue, date: dt.date) -> LabValue:
    return replace(lab, date=date)


def _marrow(raw: object, notes: list[Note]) -> tuple[Marrow, ...]:
    field_name = f"series.{MARROW_KEY}"
    parsed: list[tuple[int, Marrow]] = []
    for i, entry in enumerate(_entries(raw, field_name)):
        where = f"{field_name}[{i}]"
        d = f.obj(entry, where)
        f.check_keys(d, MARROW_ENTRY_KEYS, where)
        date = parse_date(d.get("date"), f"{where}.date")
        if d.get("value") is None:
            raise InputError(f"{where}.value", "value is missing", "a percentage from 0 to 100")
        pct = parse_number(d.get("value"), f"{where}.value", allow_censored=True)
        lo, hi = pct.bounds() if isinstance(pct, Censored) else (pct, pct)
        if lo > 100 or (not isinstance(pct, Censored) and hi > 100):
            raise InputError(f"{where}.value", f"out of range: {short(d.get('value'))}", "a percentage from 0 to 100")
        parsed.append(
            (
                i,
                Marrow(
                    date=date,
                    percent=pct,
                    clonal=f.boolean(d.get("clonal"), f"{where}.clonal"),
                    method=f.text(d.get("method"), f"{where}.method"),
                ),
            )
        )
    return _sorted_unique(parsed, lambda m: m.date, lambda m: f"{m.percent}%", field_name, notes)


def _ife(raw: object, notes: list[Note]) -> tuple[Immunofixation, ...]:
    field_name = f"series.{IFE_KEY}"
    parsed: list[tuple[int, Immunofixation]] = []
    for i, entry in enumerate(_entries(raw, field_name)):
        where = f"{field_name}[{i}]"
        d = f.obj(entry, where)
        f.check_keys(d, IFE_ENTRY_KEYS, where)
        parsed.append(
            (
                i,
                Immunofixation(
                    date=parse_date(d.get("date"), f"{where}.date"),
                    serum=f.choice(d.get("serum"), f"{where}.serum", IFE_RESULTS),
                    urine=f.choice(d.get("urine"), f"{where}.urine", IFE_RESULTS),
                ),
            )
        )
    return _sorted_unique(parsed, lambda x: x.date, lambda x: f"serum {x.serum}, urine {x.urine}", field_name, notes)


def _therapy_lines(raw: object, notes: list[Note]) -> tuple[TherapyLine, ...]:
    lines: list[TherapyLine] = []
    for i, entry in enumerate(_entries(raw, "therapy_lines", MAX_THERAPY_LINES)):
        where = f"therapy_lines[{i}]"
        d = f.obj(entry, where)
        f.check_keys(d, LINE_KEYS, where)
        number = f.integer(d.get("line"), f"{where}.line", 1, MAX_THERAPY_LINES)
        if number is None:
            raise InputError(f"{where}.line", "line number is required", f"an integer 1-{MAX_THERAPY_LINES}")
        start = parse_date(d.get("start"), f"{where}.start")
        end = _opt_date(d.get("end"), f"{where}.end")
        if end is not None and end < start:
            raise InputError(f"{where}.end", f"end {end} is before start {start}", "an end date on or after the start")
        lines.append(
            TherapyLine(line=number, start=start, end=end, regimen=f.text(d.get("regimen"), f"{where}.regimen"))
        )
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


def _imaging(raw: object, notes: list[Note]) -> tuple[ImagingEvent, ...]:
    events: list[tuple[int, ImagingEvent]] = []
    for i, entry in enumerate(_entries(raw, "imaging_events")):
        where = f"imaging_events[{i}]"
        d = f.obj(entry, where)
        f.check_keys(d, IMAGING_EVENT_KEYS, where)
        finding = f.choice(d.get("finding"), f"{where}.finding", IMAGING_FINDINGS)
        if finding is None:
            raise InputError(f"{where}.finding", "finding is required", ", ".join(IMAGING_FINDINGS))
        events.append(
            (
                i,
                ImagingEvent(
                    date=parse_date(d.get("date"), f"{where}.date"),
                    finding=finding,
                    modality=f.text(d.get("modality"), f"{where}.modality"),
                ),
            )
        )
    # Several findings on one date are legitimate (a new lesion and a growing one): keep them all.
    if any(b[1].date < a[1].date for a, b in itertools.pairwise(events)):
        notes.append(Note("imaging_events.unsorted", "caveat", "imaging_events were not in date order; sorted."))
    return tuple(e for _, e in sorted(events, key=lambda ie: (ie[1].date, ie[0])))


def parse_patient_series(raw: object, default_id: str = "1") -> PatientSeries:
    """Parse one patient document of the monitor contract."""
    if raw is None:
        raise InputError("patient", "expected a patient object, got null", "a JSON object")
    d = f.obj(raw, "patient")
    engine_part = {k: v for k, v in d.items() if k not in MONITOR_KEYS}
    patient = parse_patient(engine_part, default_id=default_id)
    notes: list[Note] = []
    series = f.obj(d.get("series"), "series")
    f.check_keys(series, SERIES_KEYS, "series")
    labs = {key: s for key in LAB_NAMES if (s := _lab_series(key, series.get(key), notes))}
    return PatientSeries(
        patient=patient,
        labs=labs,
        marrow=_marrow(series.get(MARROW_KEY), notes),
        immunofixation=_ife(series.get(IFE_KEY), notes),
        therapy_lines=_therapy_lines(d.get("therapy_lines"), notes),
        imaging_events=_imaging(d.get("imaging_events"), notes),
        notes=tuple(notes),
    )


MAX_PATIENTS = 10_000


def parse_series_document(raw: object) -> list[PatientSeries]:
    """One patient object or an array of them; errors are prefixed with the array index."""
    if isinstance(raw, list):
        if len(raw) > MAX_PATIENTS:
            raise InputError("patients", f"{len(raw)} patients in one document", f"at most {MAX_PATIENTS:,}")
        out = []
        ids: set[str] = set()
        for i, item in enumerate(raw):
            try:
                p = parse_patient_series(item, default_id=str(i + 1))
            except InputError as e:
                raise type(e)(f"[{i}].{e.field}", e.problem, e.accepted, e.hint) from None
            if p.id in ids:
                raise InputError(f"[{i}].id", f"patient id {p.id!r} appears twice", "one entry per patient")
            ids.add(p.id)
            out.append(p)
        return out
    return [parse_patient_series(raw)]


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
    try:
        x = float(raw)
    except ValueError:
        raise InputError(where, f"not a number: {short(raw)}", f"a number from {lo:g} to {hi:g}") from None
    return f.number(x, where, lo, hi)


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
                    f"{where}: {col}", f"differs from an earlier row of patient {pid!r}", f"one {col} per patient"
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
                    "value": value,
                    "clonal": _cell_bool(row.get("clonal"), f"{where}: clonal"),
                    "method": row.get("method"),
                }
            )
        else:
            entry: dict[str, object] = {"date": date, "value": value, "unit": row.get("unit")}
            for col in ("lower_limit", "upper_limit", "method"):
                if row.get(col) is not None:
                    entry[col] = row[col]
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
                    f"{therapy} row {n + 2}: patient_id",
                    f"patient {short(pid)} has no results",
                    "an id of the series file",
                )
            line = _cell_number(row.get("line"), f"{therapy} row {n + 2}: line", 1, MAX_THERAPY_LINES)
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
