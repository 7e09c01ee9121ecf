"""Three-valued logic as dataframe expressions (narwhals), the vectorised twin of :mod:`kleene`.

Rule definitions for ISS, R-ISS and R2-ISS are written once against these helpers. The same
expressions run on Polars (the embedded default), DuckDB and Spark through narwhals, for one patient
or for a whole registry.

A three-valued truth (true / false / unknown) is carried as a pair of never-null booleans,
:class:`Tri`: ``certain`` (known to hold) and ``possible`` (not known to fail). Unknown is
``certain=False, possible=True``, so an unknown input can never become a favourable one. The pair
form does not depend on any engine's null semantics (SQL Kleene logic, pandas' lack of it) and runs
as plain bitmap logic, the fastest thing every engine does.

A numeric input is either *exact* (one column, as in batch files) or *bounded* (two columns
``lo``/``hi``, which is how a censored result such as ``<0.5`` is carried: ``lo = 0``,
``hi = nextafter(0.5, -inf)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import narwhals as nw


@dataclass(frozen=True, slots=True)
class Tri:
    """A vectorised three-valued truth: ``certain`` implies ``possible``; neither is ever null."""

    certain: nw.Expr
    possible: nw.Expr

    @classmethod
    def from_nullable(cls, expr: nw.Expr) -> Tri:
        """From a boolean whose null means unknown (a comparison with a missing value, a FISH column)."""
        return cls(expr.fill_null(value=False), expr.fill_null(value=True))

    def __and__(self, other: Tri) -> Tri:
        return Tri(self.certain & other.certain, self.possible & other.possible)

    def __or__(self, other: Tri) -> Tri:
        return Tri(self.certain | other.certain, self.possible | other.possible)

    def __invert__(self) -> Tri:
        return Tri(~self.possible, ~self.certain)

    def to_nullable(self) -> nw.Expr:
        """True, false, or null where undecided (for showing a criterion)."""
        return nw.when(self.certain).then(nw.lit(True)).when(~self.possible).then(nw.lit(False))

    def columns(self, name: str) -> list[nw.Expr]:
        """Materialise as two columns (shares the work with every rule that reads it back)."""
        return [self.certain.alias(f"{name}__certain"), self.possible.alias(f"{name}__possible")]

    @classmethod
    def column(cls, name: str) -> Tri:
        return cls(nw.col(f"{name}__certain"), nw.col(f"{name}__possible"))


@dataclass(frozen=True, slots=True)
class NumExpr:
    """A numeric input: exact (``lo is hi``) or an interval of floats the true value lies in."""

    lo: nw.Expr
    hi: nw.Expr
    exact: bool

    @classmethod
    def column(cls, name: str) -> NumExpr:
        c = nw.col(name)
        return cls(c, c, True)

    @classmethod
    def bounded(cls, lo: str, hi: str) -> NumExpr:
        return cls(nw.col(lo), nw.col(hi), False)


def _tri(certain_when: nw.Expr, possible_when: nw.Expr) -> Tri:
    """From comparisons that are null when an input is missing."""
    return Tri(certain_when.fill_null(value=False), possible_when.fill_null(value=True))


def lt(x: NumExpr, t: float) -> Tri:
    """``x < t``: certain when even the upper bound is below ``t``; possible unless the lower bound is not."""
    return Tri.from_nullable(x.lo < t) if x.exact else _tri(x.hi < t, x.lo < t)


def ge(x: NumExpr, t: float) -> Tri:
    return ~lt(x, t)


def gt(x: NumExpr, t: float) -> Tri:
    return Tri.from_nullable(x.lo > t) if x.exact else _tri(x.lo > t, x.hi > t)


def le(x: NumExpr, t: float) -> Tri:
    return ~gt(x, t)


def gt_num(x: NumExpr, y: NumExpr) -> Tri:
    """``x > y`` for two uncertain inputs (LDH against the reporting lab's upper limit)."""
    if x.exact and y.exact:
        return Tri.from_nullable(x.lo > y.lo)
    return _tri(x.lo > y.hi, x.hi > y.lo)


def flag(name: str) -> Tri:
    """A yes/no input column (null = unknown)."""
    return Tri.from_nullable(nw.col(name))


def points(condition: nw.Expr, value: int) -> nw.Expr:
    """``value`` where a never-null condition holds, else 0 (integer arithmetic, no casts)."""
    return nw.when(condition).then(nw.lit(value, dtype=nw.Int8())).otherwise(nw.lit(0, dtype=nw.Int8()))
