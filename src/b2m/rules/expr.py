"""Three-valued logic written once, evaluated by two backends: dataframe expressions and one patient's values.

Rule definitions for ISS, R-ISS and R2-ISS are written once against these helpers, generic in the
backend's value type ``V``:

- ``V = nw.Expr``: narwhals column expressions. The same expressions run on Polars (the embedded
  default), DuckDB and Spark, for a whole registry or a one-row frame.
- ``V = int``: plain Python values for one patient (``True``/``False``, and small integers for points
  and masks; Python's ``bool`` is an ``int``). A definition evaluated this way costs microseconds.

A three-valued truth (true / false / unknown) is carried as a pair of never-null booleans,
:class:`Tri`: ``certain`` (known to hold) and ``possible`` (not known to fail). Unknown is
``certain=False, possible=True``, so an unknown input can never become a favourable one. The pair
form does not depend on any engine's null semantics (SQL Kleene logic, pandas' lack of it) and runs
as plain bitmap logic, the fastest thing every engine does.

A numeric input (:class:`Number`) is, on frames, either *exact* (one column, as in batch files) or
*bounded* (two columns ``lo``/``hi``, which is how a censored result such as ``<0.5`` is carried:
``lo = 0``, ``hi = nextafter(0.5, -inf)``); for one patient it holds the same closed bounds
(:func:`b2m.rules.kleene.bounds`) or ``None`` when unknown. Both backends implement each comparison
with the same bounds and the same rule for a missing value (unknown: not certain, possible), so a
definition answers identically on either; the property tests check it on generated patients.

Inside a definition, negate a truth with ``~`` on the :class:`Tri` (never on its ``certain`` or
``possible`` bits: ``~True`` is ``-2`` in Python).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Generic, TypeVar

import narwhals as nw

from b2m.rules.kleene import Num, bounds

V = TypeVar("V", nw.Expr, int)
"""A never-null value of the backend: a narwhals expression, or a Python ``bool``/``int`` for one patient."""


def not_(v: V) -> V:
    """Boolean negation on either backend."""
    if isinstance(v, nw.Expr):
        return ~v
    return not v


@dataclass(frozen=True, slots=True)
class Tri(Generic[V]):
    """A three-valued truth: ``certain`` implies ``possible``; neither is ever null."""

    certain: V
    possible: V

    @staticmethod
    def from_nullable(expr: nw.Expr) -> Tri[nw.Expr]:
        """From a boolean whose null means unknown (a comparison with a missing value, a FISH column)."""
        return Tri(expr.fill_null(value=False), expr.fill_null(value=True))

    @staticmethod
    def of(value: bool | None) -> Tri[int]:
        """One patient's yes/no input (``None`` = unknown)."""
        return UNKNOWN if value is None else (TRUE if value else FALSE)

    def __and__(self, other: Tri[V]) -> Tri[V]:
        return Tri(self.certain & other.certain, self.possible & other.possible)

    def __or__(self, other: Tri[V]) -> Tri[V]:
        return Tri(self.certain | other.certain, self.possible | other.possible)

    def __invert__(self) -> Tri[V]:
        return Tri(not_(self.possible), not_(self.certain))

    def value(self: Tri[int]) -> bool | None:
        """One patient's truth: ``True``, ``False``, or ``None`` where undecided."""
        return True if self.certain else (None if self.possible else False)

    def to_nullable(self: Tri[nw.Expr]) -> nw.Expr:
        """True, false, or null where undecided (for showing a criterion)."""
        return nw.when(self.certain).then(nw.lit(True)).when(~self.possible).then(nw.lit(False))

    def columns(self: Tri[nw.Expr], name: str) -> list[nw.Expr]:
        """Materialise as two columns (shares the work with every rule that reads it back)."""
        return [self.certain.alias(f"{name}__certain"), self.possible.alias(f"{name}__possible")]

    @staticmethod
    def column(name: str) -> Tri[nw.Expr]:
        return Tri(nw.col(f"{name}__certain"), nw.col(f"{name}__possible"))


TRUE: Tri[int] = Tri(True, True)
FALSE: Tri[int] = Tri(False, False)
UNKNOWN: Tri[int] = Tri(False, True)


class Number(ABC, Generic[V]):
    """A numeric input on one backend; the comparisons answer as :class:`Tri`."""

    __slots__ = ()

    @abstractmethod
    def lt(self, t: float) -> Tri[V]:
        """``x < t``: certain when even the upper bound is below ``t``; possible unless the lower bound is not."""

    @abstractmethod
    def gt(self, t: float) -> Tri[V]:
        """``x > t``: certain when the lower bound is above ``t``; possible when the upper bound is."""

    @abstractmethod
    def gt_num(self, other: Number[V]) -> Tri[V]:
        """``x > y`` for two uncertain inputs: certain when ``x.lo > y.hi``; possible when ``x.hi > y.lo``."""


def _tri(certain_when: nw.Expr, possible_when: nw.Expr) -> Tri[nw.Expr]:
    """From comparisons that are null when an input is missing."""
    return Tri(certain_when.fill_null(value=False), possible_when.fill_null(value=True))


@dataclass(frozen=True, slots=True)
class NumExpr(Number[nw.Expr]):
    """Columns of a frame: exact (``lo is hi``) or an interval of floats the true value lies in."""

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

    def lt(self, t: float) -> Tri[nw.Expr]:
        return Tri.from_nullable(self.lo < t) if self.exact else _tri(self.hi < t, self.lo < t)

    def gt(self, t: float) -> Tri[nw.Expr]:
        return Tri.from_nullable(self.lo > t) if self.exact else _tri(self.lo > t, self.hi > t)

    def gt_num(self, other: Number[nw.Expr]) -> Tri[nw.Expr]:
        assert isinstance(other, NumExpr)
        if self.exact and other.exact:
            return Tri.from_nullable(self.lo > other.lo)
        return _tri(self.lo > other.hi, self.hi > other.lo)


@dataclass(frozen=True, slots=True)
class NumValue(Number[int]):
    """One patient's value as closed bounds ``(lo, hi)`` (equal when exact), ``None`` when unknown."""

    bounds: tuple[float, float] | None

    @classmethod
    def of(cls, x: Num) -> NumValue:
        return cls(bounds(x))

    def lt(self, t: float) -> Tri[int]:
        b = self.bounds
        return UNKNOWN if b is None else Tri(b[1] < t, b[0] < t)

    def gt(self, t: float) -> Tri[int]:
        b = self.bounds
        return UNKNOWN if b is None else Tri(b[0] > t, b[1] > t)

    def gt_num(self, other: Number[int]) -> Tri[int]:
        assert isinstance(other, NumValue)
        b, o = self.bounds, other.bounds
        if b is None or o is None:
            return UNKNOWN
        return Tri(b[0] > o[1], b[1] > o[0])


def lt(x: Number[V], t: float) -> Tri[V]:
    return x.lt(t)


def ge(x: Number[V], t: float) -> Tri[V]:
    return ~x.lt(t)


def gt(x: Number[V], t: float) -> Tri[V]:
    return x.gt(t)


def le(x: Number[V], t: float) -> Tri[V]:
    return ~x.gt(t)


def gt_num(x: Number[V], y: Number[V]) -> Tri[V]:
    """``x > y`` for two uncertain inputs (LDH against the reporting lab's upper limit)."""
    return x.gt_num(y)


def flag(name: str) -> Tri[nw.Expr]:
    """A yes/no input column (null = unknown)."""
    return Tri.from_nullable(nw.col(name))


def points(condition: V, value: int) -> V:
    """``value`` where a never-null condition holds, else 0 (integer arithmetic, no casts)."""
    if isinstance(condition, nw.Expr):
        return nw.when(condition).then(nw.lit(value, dtype=nw.Int8())).otherwise(nw.lit(0, dtype=nw.Int8()))
    return value if condition else 0
