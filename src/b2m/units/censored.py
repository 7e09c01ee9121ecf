"""Censored lab values (``<0.5``, ``>20``): carried as such, never replaced by a number."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Direction = Literal["<", "<=", ">", ">="]


@dataclass(frozen=True, slots=True)
class Censored:
    """A value known only to lie on one side of ``bound`` (in the same unit as the context)."""

    direction: Direction
    bound: float

    def bounds(self) -> tuple[float, float]:
        """Closed interval of floats the true value can take (values are never negative)."""
        if self.direction == "<":
            return (0.0, math.nextafter(self.bound, -math.inf))
        if self.direction == "<=":
            return (0.0, self.bound)
        if self.direction == ">":
            return (math.nextafter(self.bound, math.inf), math.inf)
        return (self.bound, math.inf)

    def scaled(self, factor: float) -> Censored:
        """The same bound in another unit (rounded like every converted value: no binary noise)."""
        return Censored(self.direction, float(f"{self.bound * factor:.12g}"))

    def __str__(self) -> str:
        return f"{self.direction}{self.bound:g}"
