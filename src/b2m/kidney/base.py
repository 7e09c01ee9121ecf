"""Shared vocabulary of the kidney package: the result type, input checks and KDIGO GFR categories.

Every equation module returns a :class:`KidneyEstimate` that carries its provenance (which published
equation, version and DOI), the inputs as received, the value in its own unit, and a note for every
caveat or disputed choice the value depends on.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from b2m.errors import InputError
from b2m.provenance import Note, RuleRef

Sex = Literal["female", "male"]
SEXES: tuple[Sex, ...] = ("female", "male")

UNIT_ML_MIN_1_73_M2 = "mL/min/1.73 m²"  # CKD-EPI: GFR indexed to 1.73 m² body surface area
UNIT_ML_MIN = "mL/min"  # Cockcroft–Gault: creatinine clearance, not indexed to body surface area

# Every equation here was developed in adults; b2m reference KID-1 gives "adults >= 18" [C].
ADULT_MIN_AGE_YEARS = 18.0  # inclusive: 18.0 years is adult, 17.99 is not


@dataclass(frozen=True, slots=True)
class KidneyEstimate:
    """One kidney-function estimate for one patient.

    ``value`` is ``None`` when the equation does not apply (a child); ``notes`` then says why. The
    value is unrounded: laboratories report eGFR as a whole number, which is a presentation step.
    """

    equation: RuleRef
    value: float | None
    unit: str
    inputs: Mapping[str, object] = field(default_factory=dict)
    notes: tuple[Note, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "value": self.value,
            "unit": self.unit,
            "inputs": dict(self.inputs),
            "notes": [n.to_dict() for n in self.notes],
            "equation": self.equation.to_dict(),
        }


def require_positive(field_name: str, value: object, unit: str) -> float:
    """Return ``value`` as a float, or raise :class:`InputError` unless it is a finite number > 0.

    Any real number is accepted (``int``, ``float``, NumPy scalars); ``bool`` and strings are not.
    """
    accepted = f"a finite number > 0, in {unit}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(field_name, f"expected a number, got {type(value).__name__}", accepted)
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise InputError(field_name, f"{value!r} is not a finite positive number", accepted)
    return number


def require_sex(value: object) -> Sex:
    """Return ``value`` if it is one of :data:`SEXES`, else raise :class:`InputError`."""
    for sex in SEXES:
        if value == sex:
            return sex
    raise InputError("sex", f"{value!r} is not a recognised sex", " or ".join(f'"{s}"' for s in SEXES))


def is_adult(age_years: float) -> bool:
    return age_years >= ADULT_MIN_AGE_YEARS


def adults_only_note(title: str, age_years: float) -> Note:
    """The caveat attached (instead of a value) when an adult-only equation is given a child's age."""
    return Note(
        code="kidney.adults_only",
        kind="caveat",
        text=(
            f"{title} is validated for adults (>= {ADULT_MIN_AGE_YEARS:g} years) only; "
            f"age {age_years:g} years was given, so no value is reported."
        ),
    )


# KDIGO 2012 Clinical Practice Guideline for the Evaluation and Management of Chronic Kidney Disease,
# Kidney Int Suppl 2013;3(1):1-150, GFR categories (mL/min/1.73 m²): G1 >= 90, G2 60-89, G3a 45-59,
# G3b 30-44, G4 15-29, G5 < 15. Each lower bound is inclusive; the table's integer ranges are read
# as half-open intervals so that a non-integer value (e.g. 89.5) falls in exactly one category.
KDIGO_GFR_CATEGORIES: tuple[tuple[float, str], ...] = (
    (90.0, "G1"),
    (60.0, "G2"),
    (45.0, "G3a"),
    (30.0, "G3b"),
    (15.0, "G4"),
    (0.0, "G5"),
)


def egfr_stage(value: float) -> str:
    """KDIGO 2012 GFR category (``"G1"`` ... ``"G5"``) of a GFR in mL/min/1.73 m².

    Lower bounds are inclusive (90 is G1, 89.9 is G2; 15 is G4, 14.9 is G5). The value is used as
    given, without rounding; a laboratory value already rounded to a whole number maps onto the
    KDIGO table exactly. The categories are defined for GFR indexed to 1.73 m², so a Cockcroft–Gault
    clearance (mL/min) is not a KDIGO input.
    """
    accepted = "a finite number >= 0, in mL/min/1.73 m²"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError("egfr", f"expected a number, got {type(value).__name__}", accepted)
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise InputError("egfr", f"{value!r} is not a finite number >= 0", accepted)
    for lower, category in KDIGO_GFR_CATEGORIES:
        if value >= lower:
            return category
    raise AssertionError("unreachable: the last KDIGO category starts at 0")  # pragma: no cover
