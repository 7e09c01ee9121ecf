"""What a registry may publish about a cohort: data completeness, the unit report and data notes, with
small-count suppression (:mod:`b2m.cohort.suppression`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import polars as pl

from b2m.cohort.suppression import Shown, complement_mark, is_hidden, suppress, suppress_group

INPUT_COLUMNS = (
    "b2m_mg_l",
    "albumin_g_dl",
    "ldh_u_l",
    "ldh_uln_u_l",
    "del17p",
    "t4_14",
    "t14_16",
    "gain1q",
    "creatinine_mg_dl",
    "age",
    "sex",
)


def completeness(table: pl.DataFrame, min_cell_count: int | None) -> list[dict[str, Any]]:
    """Known and unknown per input column; they add up to the number of patients (published), so
    each pair is suppressed as a group (:func:`suppress_group`)."""
    out = []
    for c in INPUT_COLUMNS:
        known = int(table[c].is_not_null().sum()) if c in table.columns else 0
        shown, _ = suppress_group({"known": known, "unknown": table.height - known}, min_cell_count)
        out.append({"column": c, **shown})
    return out


UNIT_REPORT_PARTS = ("accepted", "refused_unit", "implausible", "value_missing")  # add up to "rows"
# counts that are a part of some of those (converted: of accepted; censored: of what had a number)
UNIT_REPORT_SUBCOUNTS = {"converted": ("accepted",), "censored": ("accepted", "implausible")}


def suppress_unit_report(units: pl.DataFrame, min_cell_count: int | None) -> list[dict[str, Any]]:
    """The loader's unit report as JSON rows, with small-count suppression.

    In each row ``rows = accepted + refused_unit + implausible + value_missing``; these are
    suppressed as a group whose total is published only here (:func:`suppress_group`).
    ``converted`` is a part of ``accepted`` (all of it when the unit needed a factor) and
    ``censored`` of ``accepted + implausible``; shown, either could bound a hidden part to one
    value, so it is hidden (``">=N"``) whenever one of its parts is. Every other count is suppressed
    on its own (:func:`suppress`), as is every count of a row whose parts do not add up (an
    unrecognised analyte has none).
    """
    out: list[dict[str, Any]] = []
    for row in units.iter_rows(named=True):
        counts = {k: v for k, v in row.items() if units.schema[k].is_integer() and v is not None}
        shown: dict[str, Shown] = {k: suppress(int(v), min_cell_count) for k, v in counts.items()}
        if min_cell_count is not None and "rows" in counts and all(k in counts for k in UNIT_REPORT_PARTS):
            parts = {k: int(counts[k]) for k in UNIT_REPORT_PARTS}
            if sum(parts.values()) == counts["rows"]:
                part_shown, shown["rows"] = suppress_group(parts, min_cell_count, fixed_total=False)
                shown.update(part_shown)
                for sub, within in UNIT_REPORT_SUBCOUNTS.items():
                    if counts.get(sub, 0) >= min_cell_count and any(is_hidden(shown[k]) for k in within):
                        shown[sub] = complement_mark(min_cell_count)
        out.append({k: shown.get(k, v) for k, v in row.items()})
    return out


_COUNT_IN_TEXT = re.compile(r"\b(\d+)(?=(?: of \d+)? patients?\b| yes\b)")


def registry_note(note: Mapping[str, Any], n: int | None) -> dict[str, Any]:
    """A data note as published: with suppression on, no patient ids, no per-patient values (the note's
    ``registry_text``), and its counts (the ``count`` field and counts written in its text, "3
    patients", "3 of 565 patients", "12 yes") below N as "<N"."""
    if n is None:
        return {k: v for k, v in note.items() if k != "registry_text"}
    out = {k: v for k, v in note.items() if k not in ("patient_ids", "registry_text")}
    if isinstance(note.get("registry_text"), str):  # the same note without per-patient values
        out["text"] = note["registry_text"]
    if isinstance(out.get("count"), int):
        out["count"] = suppress(out["count"], n)
    if isinstance(out.get("text"), str):
        out["text"] = _COUNT_IN_TEXT.sub(lambda m: str(suppress(int(m.group(1)), n)), out["text"])
    return out


def published_note(note: Mapping[str, Any], n: int | None) -> dict[str, Any]:
    """A data note as the cohort report publishes it: :func:`registry_note`, and never a patient id.

    A cohort report is registry-style output whether or not small-count suppression is on: a note says
    how many patients it concerns (``count``), not which (the loader's ``patient_ids`` stay in memory,
    for the caller who holds the data anyway).
    """
    return {k: v for k, v in registry_note(note, n).items() if k != "patient_ids"}
