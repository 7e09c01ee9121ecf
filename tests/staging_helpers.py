"""Run one set of staging inputs through every path (Python, one-row frame, batch) and compare them."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from b2m.rules.base import RuleResult
from b2m.rules.inputs import BATCH_COLUMNS, FISH_COLUMNS
from b2m.rules.staging import stage_frame
from b2m.rules.staging_results import StagingValues, stage_patient, staging_results
from b2m.units import Censored


@dataclass(frozen=True)
class Staged:
    iss: RuleResult
    r_iss: RuleResult
    r2_iss: RuleResult


def batch_frame(rows: list[StagingValues]) -> pl.DataFrame:
    schema = {c: (pl.Boolean if c in FISH_COLUMNS else pl.Float64) for c in BATCH_COLUMNS}
    return pl.DataFrame([{c: getattr(r, c) for c in BATCH_COLUMNS} for r in rows], schema=schema, orient="row")


def stage_both(**values: object) -> Staged:
    """Stage one patient on every path, assert they agree, return the single-patient results."""
    v = StagingValues(**values)  # type: ignore[arg-type]
    single = staging_results([v])[0]
    assert stage_patient(v) == single, "the Python path and the one-row-frame path differ"
    if any(isinstance(x, Censored) for x in values.values()):
        # The batch contract has plain numeric columns; censored results exist only on the single path.
        return Staged(single["iss"], single["r_iss"], single["r2_iss"])
    batch = stage_frame(batch_frame([v])).with_columns(pl.col(pl.Enum).cast(pl.String)).row(0, named=True)
    for name in ("iss", "r_iss", "r2_iss"):
        r = single[name]
        assert batch[name] == r.stage, (name, batch[name], r.stage)
        assert batch[f"{name}_possible"] == "|".join(r.possible), (name, batch[f"{name}_possible"], r.possible)
    assert batch["r2_iss_score"] == single["r2_iss"].score
    return Staged(single["iss"], single["r_iss"], single["r2_iss"])
