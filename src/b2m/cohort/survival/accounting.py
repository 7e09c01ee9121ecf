"""Stage accounting: how many patients each staging system could stage, and what the others could be.

For each system (ISS, R-ISS, R2-ISS): the patients staged, by stage, and the patients not staged by
the range of stages their inputs leave possible (``"I|II"``; ``""`` when there was no input at all),
with small-count suppression of the nested counts when they are published.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from b2m.cohort.suppression import suppress_tree
from b2m.cohort.survival.common import STAGES, SYSTEM_LABELS


@dataclass(frozen=True)
class StageAccounting:
    """How many patients a system could stage, and the possible-stage ranges of the rest."""

    system: str
    n_patients: int
    n_staged: int
    by_stage: dict[str, int]
    unstaged_by_possible: dict[str, int]  # "I|II" -> count ("" = no input at all)

    def to_dict(self, min_cell_count: int | None = None) -> dict[str, Any]:
        """JSON-ready counts, with small-count suppression (:func:`suppress_tree`) when ``min_cell_count``.

        The counts nest: patients = staged + not staged, staged = the sum over stages, not staged =
        the sum over possible-stage ranges; all three groups are suppressed together, so a count
        hidden in one cannot be worked out through another. The number of patients is published
        elsewhere in the report, so it is never hidden as a complement.
        """
        patients, staged, unstaged = ("n", "patients"), ("n", "staged"), ("n", "unstaged")
        stage_keys = [("by_stage", k) for k in self.by_stage]
        range_keys = [("unstaged_by_possible", k) for k in self.unstaged_by_possible]
        counts = {
            patients: self.n_patients,
            staged: self.n_staged,
            unstaged: self.n_patients - self.n_staged,
            **{k: self.by_stage[k[1]] for k in stage_keys},
            **{k: self.unstaged_by_possible[k[1]] for k in range_keys},
        }
        sums = {patients: [staged, unstaged], staged: stage_keys}
        if range_keys:
            sums[unstaged] = range_keys
        shown = suppress_tree(counts, sums, min_cell_count, fixed=[patients])
        return {
            "system": self.system,
            "label": SYSTEM_LABELS[self.system],
            "n_patients": shown[patients],
            "n_staged": shown[staged],
            "n_unstaged": shown[unstaged],
            "by_stage": {k[1]: shown[k] for k in stage_keys},
            "unstaged_by_possible": {k[1]: shown[k] for k in range_keys},
        }


def staging_accounting(table: pl.DataFrame) -> tuple[StageAccounting, ...]:
    """The :class:`StageAccounting` of every system, from the ``<system>`` and ``<system>_possible`` columns."""
    out = []
    for system, stages in STAGES.items():
        col = table[system].cast(pl.String)
        possible = table[f"{system}_possible"].cast(pl.String).fill_null("")
        by_stage = {s: int((col == s).sum()) for s in stages}
        unstaged = possible.filter(col.is_null()).value_counts(sort=True)
        ranges = {str(r[0]): int(r[1]) for r in unstaged.iter_rows()}
        out.append(StageAccounting(system, table.height, int(col.is_not_null().sum()), by_stage, ranges))
    return tuple(out)
