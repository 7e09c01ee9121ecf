"""Point scores with unknown factors: every total and group a completion of the inputs can reach.

A factor whose inputs leave it undecided can still take any of its point values. The rules that use
this module have at most five factors of at most three values each (at most 3^5 = 243
combinations), so the combinations are enumerated exactly instead of bounded: when only a 4-point
factor is unknown the total is 0 or 4, and the groups of totals 1-3 are not offered as possible.
Each factor must depend on its own inputs (no input shared between factors), which holds for every
rule that uses it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from b2m.errors import InputError
from b2m.rules.base import Note
from b2m.rules.kleene import Tri

Options = tuple[int, ...]
"""The point values one factor can still take (one value when the factor is decided)."""


def yes_no(met: Tri, points: int) -> Options:
    """Options of a present/absent factor worth ``points``: both values when ``met`` is unknown."""
    if met is None:
        return (0, points)
    return (points,) if met else (0,)


def score_range(options: Sequence[Options]) -> tuple[int, int]:
    """Lowest and highest total consistent with the unknowns."""
    return sum(min(o) for o in options), sum(max(o) for o in options)


def determined(options: Sequence[Options]) -> int | None:
    """The total when the unknowns cannot change it, else ``None``."""
    lo, hi = score_range(options)
    return lo if lo == hi else None


@dataclass(frozen=True, slots=True)
class Band:
    """A group holding the totals ``low``..``high`` (both inclusive)."""

    group: str
    low: int
    high: int

    def describe(self) -> str:
        return f"{self.low}" if self.low == self.high else f"{self.low}–{self.high}"


def band_of(total: int, bands: Sequence[Band]) -> str:
    for b in bands:
        if b.low <= total <= b.high:
            return b.group
    raise AssertionError(f"total {total} lies in no band of {[b.group for b in bands]}")


def possible_groups(
    options: Sequence[Options], classify: Callable[[tuple[int, ...]], str], order: Sequence[str]
) -> tuple[str, ...]:
    """Groups reached by some combination of the factors' options, in ``order``.

    ``classify`` receives one point value per factor, in the order of ``options``; rules whose group
    is not a function of the total alone (IPSSWM) classify on the individual factors.
    """
    reached = {classify(combo) for combo in itertools.product(*options)}
    return tuple(g for g in order if g in reached)


def possible_bands(options: Sequence[Options], bands: Sequence[Band]) -> tuple[str, ...]:
    """Groups of a banded total reached by some combination of the factors' options."""
    return possible_groups(options, lambda combo: band_of(sum(combo), bands), [b.group for b in bands])


def completed_years(age_years: float | None, field: str = "age_years") -> int | None:
    """Age in completed years (65.9 -> 65), the convention of b2m reference E17 and LYM-1.

    Raises :class:`~b2m.errors.InputError` for a negative, non-finite or boolean age.
    """
    if age_years is None:
        return None
    if isinstance(age_years, bool) or not isinstance(age_years, int | float) or not math.isfinite(age_years):
        raise InputError(
            field,
            f"age must be a finite number of years, got {age_years!r}",
            accepted="a number of years >= 0, or null when unknown",
        )
    if age_years < 0:
        raise InputError(
            field, f"age cannot be negative, got {age_years!r}", accepted="a number of years >= 0, or null when unknown"
        )
    return math.floor(age_years)


def age_caveats(age_years: float | None, field: str = "age_years") -> tuple[Note, ...]:
    """A caveat when a fractional age was truncated to completed years (nothing otherwise)."""
    years = completed_years(age_years, field)
    if age_years is None or years is None or years == age_years:
        return ()
    return (
        Note(
            "age_completed_years",
            "caveat",
            f"{field} {age_years:g} was counted as {years} completed years (b2m reference E17 "
            "convention); comparing the unrounded age would differ only within a year of a cut-off.",
        ),
    )
