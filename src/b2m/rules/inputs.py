"""The inputs of the expression-defined staging systems (ISS, R-ISS, R2-ISS, ...), by column name.

Batch files carry one exact column per input (``b2m_mg_l``); patients staged on a frame are laid out
with a ``__lo``/``__hi`` pair per numeric input so censored results keep their direction; one patient
staged in Python carries the same bounds as values. All three layouts feed the *same* rule
definitions (:mod:`b2m.rules.expr`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Literal

import narwhals as nw

from b2m.rules.expr import Number, NumExpr, NumValue, Tri, V, flag
from b2m.rules.kleene import Num
from b2m.rules.kleene import Tri as Kleene

NUMERIC_COLUMNS: tuple[str, ...] = ("b2m_mg_l", "albumin_g_dl", "ldh_u_l", "ldh_uln_u_l")
FISH_COLUMNS: tuple[str, ...] = ("del17p", "t4_14", "t14_16", "gain1q")
BATCH_COLUMNS: tuple[str, ...] = NUMERIC_COLUMNS + FISH_COLUMNS

Setting = Literal["new_diagnosis", "relapse", "smm", "mgus"]


@dataclass(frozen=True, slots=True)
class StagingValues:
    """Canonical staging inputs of one patient (``None`` = unknown), and the context their notes read."""

    b2m_mg_l: Num = None
    albumin_g_dl: Num = None
    ldh_u_l: Num = None
    ldh_uln_u_l: Num = None
    del17p: Kleene = None
    t4_14: Kleene = None
    t14_16: Kleene = None
    gain1q: Kleene = None  # 1q+ : gain (3 copies) or amplification (>= 4 copies), counted once
    setting: Setting | None = None
    fish_cd138_purified: bool | None = None


@dataclass(frozen=True, slots=True)
class StagingInputs(Generic[V]):
    """The staging inputs on one backend (:data:`b2m.rules.expr.V`): columns of a frame or one patient."""

    b2m_mg_l: Number[V]
    albumin_g_dl: Number[V]
    ldh_u_l: Number[V]
    ldh_uln_u_l: Number[V]
    del17p: Tri[V]
    t4_14: Tri[V]
    t14_16: Tri[V]
    gain1q: Tri[V]  # 1q+ : gain (3 copies) or amplification (>= 4 copies), counted once

    @staticmethod
    def exact() -> StagingInputs[nw.Expr]:
        """Batch layout: one column per input, named as in :data:`BATCH_COLUMNS`."""
        return StagingInputs._make(NumExpr.column)

    @staticmethod
    def bounded() -> StagingInputs[nw.Expr]:
        """Frame layout of censored values: ``<name>__lo`` / ``<name>__hi`` for each numeric input."""
        return StagingInputs._make(lambda c: NumExpr.bounded(f"{c}__lo", f"{c}__hi"))

    @staticmethod
    def _make(num: Callable[[str], NumExpr]) -> StagingInputs[nw.Expr]:
        b2m, albumin, ldh, uln = (num(c) for c in NUMERIC_COLUMNS)
        del17p, t4_14, t14_16, gain1q = (flag(c) for c in FISH_COLUMNS)
        return StagingInputs(b2m, albumin, ldh, uln, del17p, t4_14, t14_16, gain1q)

    @staticmethod
    def of(p: StagingValues) -> StagingInputs[int]:
        """One patient, for evaluation in Python (censored values keep their direction through their bounds)."""
        return StagingInputs(
            NumValue.of(p.b2m_mg_l),
            NumValue.of(p.albumin_g_dl),
            NumValue.of(p.ldh_u_l),
            NumValue.of(p.ldh_uln_u_l),
            Tri.of(p.del17p),
            Tri.of(p.t4_14),
            Tri.of(p.t14_16),
            Tri.of(p.gain1q),
        )
