"""The whole survival analysis of a cohort: :func:`analyse` runs every fit and comparison by staging system.

For each endpoint present (overall survival, and event-free survival when given): Kaplan–Meier and
log-rank by each system, the Cox models, and Harrell's and Uno's C of all three systems and of each
pair on the patients they all stage; with the stage accounting. What cannot be estimated is listed
in ``skipped`` with why. :meth:`CohortAnalysis.to_dict` publishes the numbers (:mod:`.serialise`).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any

import polars as pl

from b2m.cohort.survival.accounting import StageAccounting, staging_accounting
from b2m.cohort.survival.common import (
    DEFAULT_BOOTSTRAP,
    DEFAULT_SEED,
    ENDPOINTS,
    STAGES,
    SYSTEM_LABELS,
    NotEstimable,
    ProgressHook,
    has_endpoint,
)
from b2m.cohort.survival.concordance import ConcordanceComparison, compare_concordance
from b2m.cohort.survival.lifelines_fits import CoxResults, KMResult, LogRank, cox_models, kaplan_meier, logrank
from b2m.cohort.survival.serialise import analysis_to_dict


@dataclass(frozen=True)
class CohortAnalysis:
    """Every survival number of the cohort report (see :func:`analyse`)."""

    n_patients: int
    endpoints: tuple[str, ...]
    accounting: tuple[StageAccounting, ...]
    km: tuple[KMResult, ...]
    logrank: tuple[LogRank, ...]
    cox: tuple[CoxResults, ...]
    concordance: tuple[ConcordanceComparison, ...]
    skipped: dict[str, str]  # "<analysis>:<endpoint>:<systems>" -> why it was not done

    def to_dict(self, min_cell_count: int | None = None) -> dict[str, Any]:
        """JSON-ready numbers; counts below ``min_cell_count`` become ``"<N"``, and counts that would give
        one away through a published total ``">=N"`` (see :func:`~b2m.cohort.survival.serialise.analysis_to_dict`)."""
        return analysis_to_dict(self, min_cell_count)


def analyse(
    table: pl.DataFrame,
    *,
    egfr: pl.Series | None = None,
    bootstrap: int = DEFAULT_BOOTSTRAP,
    seed: int = DEFAULT_SEED,
    progress: ProgressHook | None = None,
) -> CohortAnalysis:
    """KM, log-rank, Cox and C-index comparisons for each endpoint (OS, and EFS when present)."""
    endpoints = tuple(e for e in ENDPOINTS if has_endpoint(table, e))
    km: list[KMResult] = []
    lr: list[LogRank] = []
    cox: list[CoxResults] = []
    cc: list[ConcordanceComparison] = []
    skipped: dict[str, str] = {}
    systems = tuple(STAGES)
    sets = [systems, *combinations(systems, 2)]
    steps = len(endpoints) * (2 * len(systems) + 1 + len(sets))
    done = 0

    def starting(what: str, endpoint: str) -> None:
        """Announce the step now running (the bar shows how many are done)."""
        if progress is not None:
            progress(f"analysis: {what}, {ENDPOINTS[endpoint]}", done, steps)

    def finished() -> None:
        nonlocal done
        done += 1

    for endpoint in endpoints:
        for system in systems:
            starting(f"Kaplan–Meier by {SYSTEM_LABELS[system]}", endpoint)
            km.append(kaplan_meier(table, system, endpoint))
            finished()
            starting(f"log-rank by {SYSTEM_LABELS[system]}", endpoint)
            try:
                lr.append(logrank(table, system, endpoint))
            except NotEstimable as e:
                skipped[f"logrank:{endpoint}:{system}"] = str(e)
            finished()
        starting("Cox models", endpoint)
        cox.append(cox_models(table, endpoint, egfr=egfr))
        finished()
        for subset in sets:
            starting(f"C-index, {' vs '.join(SYSTEM_LABELS[x] for x in subset)}", endpoint)
            try:
                cc.append(
                    compare_concordance(table, subset, endpoint, bootstrap=bootstrap, seed=seed, progress=progress)
                )
            except NotEstimable as e:
                skipped[f"concordance:{endpoint}:{'+'.join(subset)}"] = str(e)
            finished()
    if progress is not None:
        progress("analysis: done", done, steps)
    return CohortAnalysis(
        table.height, endpoints, staging_accounting(table), tuple(km), tuple(lr), tuple(cox), tuple(cc), skipped
    )
