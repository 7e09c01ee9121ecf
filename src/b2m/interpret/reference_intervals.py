"""Serum B2M reference intervals, and where one result sits against one (b2m reference LAB-2).

Intervals are method-dependent: results of different manufacturers or methods are not
interchangeable [C, Ohio State; b2m reference LAB-2]. The reporting lab's own interval is therefore always
preferred; the cited default (Mayo Clinic Laboratories, nephelometry) is used only when the lab sent
none, and the result says which one was used.

Comparisons follow b2m reference EDGE-1 and E45: they are made on the value *as reported*, and
when the unit differs a threshold is converted into the reported unit, never the value into the
threshold's. A value equal to a limit is inside the interval ("above" means ``> upper``, as for
LDH and B2M against an upper limit in b2m reference E6, E19).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from b2m.errors import InputError
from b2m.provenance import Source
from b2m.rules import kleene
from b2m.units.censored import Censored
from b2m.units.labvalue import LabValue, parse_number
from b2m.units.registry import round_sig

Position = Literal["below", "within", "above", "unknown"]
IntervalOrigin = Literal["reporting_lab", "default"]

MAYO_CLINIC_LABORATORIES_B2M = Source(
    "Mayo Clinic Laboratories test catalogue, test ID B2M (beta-2-microglobulin, serum): adult "
    "reference interval, method (nephelometry), LOINC 1952-1, causes of raised values.",
    "",
)

# Mayo Clinic Laboratories, test ID B2M [C] (b2m reference LAB-2): adult serum 1.21-2.70 mcg/mL (= mg/L),
# nephelometry, LOINC 1952-1. Both limits are inside the interval (closed).
MAYO_B2M_LOWER_MG_L = 1.21
MAYO_B2M_UPPER_MG_L = 2.70
MAYO_B2M_METHOD = "nephelometry"
B2M_SERUM_LOINC = "1952-1"  # b2m reference LAB-5 [C]
B2M_URINE_LOINC = "1953-9"  # b2m reference LAB-5 [S]


@dataclass(frozen=True, slots=True)
class ReferenceInterval:
    """A serum B2M reference interval in mg/L; either limit may be absent (``< 2 mg/L`` style)."""

    lower: float | None
    upper: float | None
    unit: str
    method: str | None
    origin: IntervalOrigin
    source: Source | None = None  # None for the reporting lab's own interval
    loinc: str | None = None
    population: str = "adults"

    def text(self) -> str:
        """``"1.21–2.7 mg/L"``, ``"≤ 2 mg/L"`` or ``"≥ 1.2 mg/L"``, from the stored limits."""
        return limits_text(self.lower, self.upper, self.unit)

    def as_reported(self, lab: LabValue) -> tuple[float | None, float | None, str]:
        """The limits in the unit ``lab`` was reported in (the lab's own limits come back exactly).

        A cited default converted into another unit is shown to 4 significant digits
        (1.21 mg/L -> 102.5 nmol/L); the comparisons themselves use the unrounded threshold.
        """
        digits = 12 if self.origin == "reporting_lab" else 4

        def conv(x: float | None) -> float | None:
            return None if x is None else round_sig(threshold_as_reported(x, lab), digits)

        return conv(self.lower), conv(self.upper), lab.received_unit

    def text_as_reported(self, lab: LabValue) -> str:
        return limits_text(*self.as_reported(lab))

    def to_dict(self) -> dict[str, object]:
        return {
            "lower": self.lower,
            "upper": self.upper,
            "unit": self.unit,
            "method": self.method,
            "origin": self.origin,
            "citation": self.source.citation if self.source else None,
            "doi": self.source.doi if self.source else None,
            "loinc": self.loinc,
            "population": self.population,
        }


def limits_text(lower: float | None, upper: float | None, unit: str) -> str:
    if lower is not None and upper is not None:
        return f"{lower:g}–{upper:g} {unit}"
    if upper is not None:
        return f"≤ {upper:g} {unit}"
    return f"≥ {lower:g} {unit}"


MAYO_B2M_SERUM = ReferenceInterval(
    lower=MAYO_B2M_LOWER_MG_L,
    upper=MAYO_B2M_UPPER_MG_L,
    unit="mg/L",
    method=MAYO_B2M_METHOD,
    origin="default",
    source=MAYO_CLINIC_LABORATORIES_B2M,
    loinc=B2M_SERUM_LOINC,
)


def interval_for(b2m: LabValue) -> ReferenceInterval:
    """The reporting lab's interval if it sent any limit, else the cited default."""
    if b2m.lower_limit is None and b2m.upper_limit is None:
        return MAYO_B2M_SERUM
    return ReferenceInterval(
        lower=b2m.lower_limit,
        upper=b2m.upper_limit,
        unit=b2m.unit,
        method=b2m.method,
        origin="reporting_lab",
        loinc=b2m.loinc,
        population="as stated by the reporting lab",
    )


# ---------------------------------------------------------------------------------------------
# Comparing in the reported unit (b2m reference EDGE-1, E45)
# ---------------------------------------------------------------------------------------------


def as_reported(lab: LabValue) -> float | Censored:
    """The value in the unit the lab reported, exactly as received when it can be read back."""
    try:
        return parse_number(lab.received_value, "value", allow_censored=True)
    except InputError:
        return lab.received_magnitude


def threshold_as_reported(threshold_canonical: float, lab: LabValue) -> float:
    """A canonical-unit threshold converted into the lab's reported unit (``3.5 mg/L -> 296.61 nmol/L``)."""
    return round_sig(threshold_canonical / lab.factor)


def lt(lab: LabValue, threshold_canonical: float) -> kleene.Tri:
    return kleene.lt(as_reported(lab), threshold_as_reported(threshold_canonical, lab))


def ge(lab: LabValue, threshold_canonical: float) -> kleene.Tri:
    return kleene.ge(as_reported(lab), threshold_as_reported(threshold_canonical, lab))


def gt(lab: LabValue, threshold_canonical: float) -> kleene.Tri:
    return kleene.gt(as_reported(lab), threshold_as_reported(threshold_canonical, lab))


def position(b2m: LabValue | None, interval: ReferenceInterval) -> tuple[Position, tuple[Position, ...]]:
    """Where a result sits against ``interval``: the position if settled, and every position possible.

    A censored value is placed only when its known side settles it: ``<0.5`` is "below" a 1.21
    lower limit but "below" or "within" a 0.3 one, so "unknown". A missing lower limit means a
    one-sided interval (nothing is "below" ``≤ 2 mg/L``); a missing upper limit leaves "above" open.
    """
    if b2m is None:
        return "unknown", ("below", "within", "above")
    below = lt(b2m, interval.lower) if interval.lower is not None else False
    above = gt(b2m, interval.upper) if interval.upper is not None else None
    within = kleene.and_(kleene.not_(below), kleene.not_(above))
    candidates: tuple[tuple[Position, kleene.Tri], ...] = (
        ("below", below),
        ("within", within),
        ("above", above),
    )
    possible = tuple(p for p, t in candidates if t is not False)
    settled: Position = possible[0] if len(possible) == 1 else "unknown"
    return settled, possible


def times_upper_limit(b2m: LabValue | None, interval: ReferenceInterval) -> float | None:
    """The result as a multiple of the interval's upper limit (3 significant digits); None if censored."""
    if b2m is None or interval.upper is None or interval.upper <= 0:
        return None
    x = as_reported(b2m)
    if isinstance(x, Censored):
        return None
    return round_sig(x / threshold_as_reported(interval.upper, b2m), 3)
