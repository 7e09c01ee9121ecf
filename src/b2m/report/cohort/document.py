"""The cohort report's JSON document: everything its page shows, with small-count suppression applied."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

import b2m
from b2m.cohort.publication import completeness, published_note
from b2m.cohort.renal import b2m_by_egfr
from b2m.cohort.survival import CohortAnalysis
from b2m.kidney.ckd_epi_2021_creatinine import RULE as CKD_EPI_2021

DISCLAIMER = (
    "Research use. Decision support, not diagnosis: survival differences between stages describe this cohort "
    "and its treatment era, not an individual patient's prognosis."
)


def ldh_uln_assumption(ldh_uln_u_l: float) -> str:
    """The sentence the report shows when the LDH upper limit of normal was supplied by the user."""
    return (
        f"LDH upper limit of normal ASSUMED to be {ldh_uln_u_l:g} U/L for every patient without a laboratory-reported "
        "limit (user-supplied). 'LDH high', used by R-ISS and R2-ISS, rests on this value."
    )


def build_document(
    table: pl.DataFrame,
    analysis: CohortAnalysis,
    egfr: pl.Series,
    *,
    title: str,
    provenance: Mapping[str, Any],
    notes: Sequence[Mapping[str, Any]],
    assumptions: Sequence[str],
    min_cell_count: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON document of the report (everything the page shows)."""
    n = min_cell_count if min_cell_count is not None and min_cell_count > 1 else None
    return {
        "title": title,
        "b2m_version": b2m.__version__,
        "provenance": dict(provenance),
        "assumptions": list(assumptions),
        # counts, never patient identifiers (with small-count suppression, small counts as "<N")
        "data_notes": [published_note(x, n) for x in notes],
        "min_cell_count": n,
        "data_completeness": completeness(table, n),
        "egfr_equation": {"id": CKD_EPI_2021.id, "title": CKD_EPI_2021.title, "doi": CKD_EPI_2021.source.doi},
        "b2m_by_egfr": b2m_by_egfr(table, egfr, n),
        "survival": analysis.to_dict(n),
        **({"extra": dict(extra)} if extra else {}),
        "disclaimer": DISCLAIMER,
    }


def plain(obj: Any) -> Any:
    """A JSON-ready copy of a provenance or unit-report object of any reasonable shape."""
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    if isinstance(obj, Mapping):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [plain(v) for v in obj]
    if isinstance(obj, pl.DataFrame):
        return [plain(r) for r in obj.to_dicts()]
    if isinstance(obj, Path):
        return str(obj)
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        return plain(to_dict())
    if hasattr(obj, "__dataclass_fields__"):
        return {f: plain(getattr(obj, f)) for f in obj.__dataclass_fields__}
    return str(obj)
