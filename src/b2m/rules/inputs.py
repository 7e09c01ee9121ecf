"""The inputs of the expression-defined staging systems (ISS, R-ISS, R2-ISS), by column name.

Batch files carry one exact column per input (``b2m_mg_l``); single patients are laid out with a
``__lo``/``__hi`` pair per numeric input so censored results keep their direction. Both layouts feed
the *same* rule expressions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from b2m.rules.expr import NumExpr, Tri, flag

NUMERIC_COLUMNS: tuple[str, ...] = ("b2m_mg_l", "albumin_g_dl", "ldh_u_l", "ldh_uln_u_l")
FISH_COLUMNS: tuple[str, ...] = ("del17p", "t4_14", "t14_16", "gain1q")
BATCH_COLUMNS: tuple[str, ...] = NUMERIC_COLUMNS + FISH_COLUMNS


@dataclass(frozen=True, slots=True)
class StagingInputs:
    b2m_mg_l: NumExpr
    albumin_g_dl: NumExpr
    ldh_u_l: NumExpr
    ldh_uln_u_l: NumExpr
    del17p: Tri
    t4_14: Tri
    t14_16: Tri
    gain1q: Tri  # 1q+ : gain (3 copies) or amplification (>= 4 copies), counted once

    @classmethod
    def exact(cls) -> StagingInputs:
        """Batch layout: one column per input, named as in :data:`BATCH_COLUMNS`."""
        return cls._make(NumExpr.column)

    @classmethod
    def bounded(cls) -> StagingInputs:
        """Single-patient layout: ``<name>__lo`` / ``<name>__hi`` for each numeric input."""
        return cls._make(lambda c: NumExpr.bounded(f"{c}__lo", f"{c}__hi"))

    @classmethod
    def _make(cls, num: Callable[[str], NumExpr]) -> StagingInputs:
        b2m, albumin, ldh, uln = (num(c) for c in NUMERIC_COLUMNS)
        del17p, t4_14, t14_16, gain1q = (flag(c) for c in FISH_COLUMNS)
        return cls(b2m, albumin, ldh, uln, del17p, t4_14, t14_16, gain1q)
