"""``b2m cohort values``: the lab values at diagnosis and the stages of every patient, to files.

What a researcher or registry takes away instead of a one-off script: one row per patient (the
value used for each analyte, censored ones as ``"<0.5"``, the stages and the stages still possible),
optionally the audit trail (every measurement: used, or why not) and the unit report. Each file
goes to a temporary file beside its target and they replace their targets together, through a
roll-forward journal (:class:`b2m.io.publish.Outputs`): a run that fails (bad input, full disk) or
is killed leaves what was there before, or, killed after every file was complete, the new set once
the next run has completed the publish. A CSV cell a spreadsheet would run as a formula is written
as text (:mod:`b2m.engines.csv_safety`).

The audit trail is written by the engine (:func:`b2m.io.cohort.load_cohort`'s ``audit_trail``):
it is never held in this process, so its size is bounded by the engine, not by memory here. Its rows
come in no particular order (sort the file if needed); on Spark it is a folder of part files.

The command line prints counts only (no patient id): the files hold the identifiers.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import narwhals as nw
import polars as pl

from b2m.cohort import at_diagnosis as ad
from b2m.engines import PolarsEngine
from b2m.errors import InputError
from b2m.io.cohort import load_cohort
from b2m.io.publish import Outputs
from b2m.rules.registry import staging_systems

FORMATS: tuple[str, ...] = (".parquet", ".csv")
AuditRows = Literal["all", "used"]


@dataclass(frozen=True, slots=True)
class ValuesSummary:
    """Counts for the command line (nothing that identifies a patient)."""

    patients: int
    staged: dict[str, int]  # per system: patients with one stage (the rest have a range)
    audit_rows: int | None  # rows written to the audit trail, None when none was asked for
    notes: tuple[str, ...]


def parse_window(text: str) -> tuple[int, int]:
    """``"-60,30"`` -> (-60, 30): days from the index date, both ends inclusive."""
    lo, sep, hi = text.partition(",")
    whole = re.compile(r"^ *[-+]?[0-9]{1,9} *$")  # ASCII digits only: no "1_0", no other scripts' digits
    window = (int(lo), int(hi)) if whole.match(lo) and whole.match(hi) else None
    if not sep or window is None:
        raise InputError("--window", f"not LO,HI in days: {text!r}", "two whole numbers of days, e.g. -60,30")
    try:
        ad.Window(*window)  # refuses lo > hi with its own message
    except InputError as e:
        raise InputError("--window", e.problem, e.accepted, e.hint) from None
    return window


def _spark_output(path: Path) -> bool:
    """A folder Spark wrote (an earlier audit trail on Spark): the only folder an output may replace."""
    return path.is_dir() and (path / "_SUCCESS").is_file()


def _checked_outputs(outputs: Mapping[str, Path | None], inputs: Collection[object]) -> dict[str, Path]:
    given = {field: Path(p) for field, p in outputs.items() if p is not None}
    sources = {Path(str(i)).resolve() for i in inputs if isinstance(i, str | os.PathLike)}
    for field, path in given.items():
        where = path.resolve()
        if path.suffix.lower() not in FORMATS:
            raise InputError(field, f"unsupported file type {path.suffix!r}", ", ".join(FORMATS))
        if not where.parent.is_dir():
            raise InputError(field, f"no such directory: {path.parent}", "a file in an existing directory")
        if where in sources or any(s.is_dir() and s in where.parents for s in sources):
            raise InputError(field, f"{path} is an input or inside an input folder", "a file not read by this run")
        if where.is_dir() and not _spark_output(where):
            raise InputError(field, f"{path} is a folder", "a file name (a folder only if Spark wrote it)")
    if len({p.resolve() for p in given.values()}) < len(given):
        raise InputError(", ".join(given), "two outputs name the same file", "a different file for each")
    return given


def _write(frame: pl.DataFrame, path: Path) -> None:
    PolarsEngine().sink(nw.from_native(frame.lazy()), str(path))  # the one .parquet / .csv writer


def _rows(path: Path) -> int:
    """Rows of a written file, or of a folder of Spark part files."""
    csv = path.suffix.lower() == ".csv"
    source = path / ("*.csv" if csv else "*.parquet") if path.is_dir() else path
    scan = pl.scan_csv(source, infer_schema=False) if csv else pl.scan_parquet(source)
    return int(scan.select(pl.len()).collect().item())


def write_values(
    source: str | os.PathLike[str],
    output: Path,
    *,
    kind: str,
    patients: str | os.PathLike[str] | None = None,
    engine: str = "polars",
    window_days: tuple[int, int] = (-60, 30),
    policy: str = "nearest",
    ldh_uln_u_l: float | None = None,
    audit_trail: Path | None = None,
    audit_rows: AuditRows = "all",
    unit_report: Path | None = None,
    fish_concept_ids: Mapping[str, Collection[int]] | None = None,
) -> ValuesSummary:
    """Load the cohort (:func:`b2m.io.cohort.load_cohort`) and write its table, and on request its
    audit trail (``audit_rows``: every measurement, or only those used) and unit report."""
    if audit_rows not in ("all", "used"):
        raise InputError("--audit-rows", f"unknown choice {audit_rows!r}", "all, used")
    targets = _checked_outputs(
        {"--output": output, "--audit-trail": audit_trail, "--unit-report": unit_report},
        [source, *([patients] if patients is not None else [])],
    )
    with Outputs(targets) as outputs:  # temporaries beside the targets, published together or not at all
        temporary = {field: outputs.temporary(field) for field in targets}
        data = load_cohort(
            source,
            kind=kind,  # type: ignore[arg-type]  # the loader refuses an unknown kind by name
            engine=engine,  # type: ignore[arg-type]  # and an unknown engine
            patients=patients,
            window_days=window_days,
            policy=policy,  # type: ignore[arg-type]  # and an unknown policy
            ldh_uln_u_l=ldh_uln_u_l,
            provenance=audit_rows if audit_trail is not None else "none",
            fish_concept_ids=fish_concept_ids,
            audit_trail=str(temporary["--audit-trail"]) if "--audit-trail" in temporary else None,  # by the engine
        )
        _write(data.table, temporary["--output"])
        if "--unit-report" in temporary:
            _write(data.unit_report, temporary["--unit-report"])
        audit = _rows(temporary["--audit-trail"]) if "--audit-trail" in temporary else None
        outputs.publish()  # every file is complete: now they replace their targets, all together
    staged = {s.name: int(data.table[s.name].is_not_null().sum()) for s in staging_systems()}
    return ValuesSummary(data.table.height, staged, audit, tuple(str(n) for n in data.notes))
