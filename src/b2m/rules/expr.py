"""Three-valued comparisons as dataframe expressions (narwhals), the vectorised twin of :mod:`kleene`.

Rule definitions for ISS, R-ISS and R2-ISS are written once against these helpers. The same
expressions run on Polars (the embedded default), DuckDB and Spark through narwhals, for one patient
or for a whole registry. Nulls follow SQL/Kleene logic: ``null & False`` is ``False``,
``null & True`` is ``null``, so an unknown input never turns into a favourable one.

A numeric input is either *exact* (one column, as in batch files) or *bounded* (two columns
``lo``/``hi``, which is how a censored result such as ``<0.5`` is carried: ``lo = 0``,
``hi = nextafter(0.5, -inf)``). Exact inputs compile to plain comparisons, which engines evaluate fastest.
"""

from __future__ import annotations

from dataclasses import dataclass

import narwhals as nw

TRUE = nw.lit(True)
FALSE = nw.lit(False)
NULL_BOOL = nw.lit(None, dtype=nw.Boolean())


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


def _tri(true_when: nw.Expr, false_when: nw.Expr) -> nw.Expr:
    return nw.when(true_when).then(TRUE).when(false_when).then(FALSE).otherwise(NULL_BOOL)


def lt(x: NumExpr, t: float) -> nw.Expr:
    """``x < t``: true, false, or null when the input leaves it open."""
    return x.lo < t if x.exact else _tri(x.hi < t, x.lo >= t)


def ge(x: NumExpr, t: float) -> nw.Expr:
    return x.lo >= t if x.exact else ~lt(x, t)


def gt(x: NumExpr, t: float) -> nw.Expr:
    return x.lo > t if x.exact else _tri(x.lo > t, x.hi <= t)


def le(x: NumExpr, t: float) -> nw.Expr:
    return x.lo <= t if x.exact else ~gt(x, t)


def gt_num(x: NumExpr, y: NumExpr) -> nw.Expr:
    """``x > y`` for two uncertain inputs (LDH against the reporting lab's upper limit)."""
    if x.exact and y.exact:
        return x.lo > y.lo
    return _tri(x.lo > y.hi, x.hi <= y.lo)


def possible(condition: nw.Expr) -> nw.Expr:
    """A stage is possible unless its condition is definitely false."""
    return condition.fill_null(value=True)


def certain(condition: nw.Expr) -> nw.Expr:
    return condition.fill_null(value=False)
