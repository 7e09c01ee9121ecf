"""Three-valued (Kleene) comparisons for scalar rule inputs.

A rule input is a number, ``None`` (unknown) or a :class:`~b2m.units.Censored` value such as
``<0.5``. A comparison answers ``True``/``False`` when the known part of the value settles it and
``None`` (unknown) otherwise, so unknown never silently becomes normal. The vectorised twin of this
module is :mod:`b2m.rules.expr`; both follow SQL's three-valued AND/OR/NOT.
"""

from __future__ import annotations

from typing import TypeAlias

from b2m.units.censored import Censored

Tri: TypeAlias = bool | None
Num: TypeAlias = float | Censored | None


def bounds(x: Num) -> tuple[float, float] | None:
    """Closed bounds ``(lo, hi)`` of a value; a strict censor ``<a`` becomes ``hi = nextafter(a, -inf)``."""
    if x is None:
        return None
    if isinstance(x, Censored):
        return x.bounds()
    return (float(x), float(x))


def lt(x: Num, t: float) -> Tri:
    b = bounds(x)
    if b is None:
        return None
    lo, hi = b
    if hi < t:
        return True
    if lo >= t:
        return False
    return None


def ge(x: Num, t: float) -> Tri:
    return not_(lt(x, t))


def gt(x: Num, t: float) -> Tri:
    b = bounds(x)
    if b is None:
        return None
    lo, hi = b
    if lo > t:
        return True
    if hi <= t:
        return False
    return None


def le(x: Num, t: float) -> Tri:
    return not_(gt(x, t))


def gt_num(x: Num, y: Num) -> Tri:
    """``x > y`` where both sides may be uncertain (e.g. LDH against the lab's upper limit)."""
    bx, by = bounds(x), bounds(y)
    if bx is None or by is None:
        return None
    if bx[0] > by[1]:
        return True
    if bx[1] <= by[0]:
        return False
    return None


def not_(a: Tri) -> Tri:
    return None if a is None else not a


def and_(*xs: Tri) -> Tri:
    if any(x is False for x in xs):
        return False
    if all(x is True for x in xs):
        return True
    return None


def or_(*xs: Tri) -> Tri:
    if any(x is True for x in xs):
        return True
    if all(x is False for x in xs):
        return False
    return None
