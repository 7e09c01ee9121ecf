"""Input checks shared by the rules (and by :mod:`b2m.interpret`): one definition of each refusal.

A rule refuses input it cannot read with an :class:`~b2m.errors.InputError` that names the field,
says what was wrong and lists what would have been taken. ``None`` is always accepted: it means
unknown, and the rules widen ``possible`` for it instead of refusing.
"""

from __future__ import annotations

import math

from b2m.errors import InputError
from b2m.provenance import Note
from b2m.rules.kleene import Num, lt
from b2m.units.censored import Censored
from b2m.units.labvalue import LabValue


def check_number(field: str, x: Num, hi: float = math.inf, *, censored: bool = True) -> None:
    """A finite number from 0 to ``hi`` (inclusive), or ``None``.

    A :class:`~b2m.units.Censored` value (``"<0.5"``) is taken as it is when ``censored`` is true and
    refused otherwise; ``bool`` is refused although Python counts it as an ``int``.
    """
    if x is None or (censored and isinstance(x, Censored)):
        return
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x) or not 0 <= x <= hi:
        span = f"from 0 to {hi:g}" if math.isfinite(hi) else "≥ 0"
        raise InputError(field, f"expected a finite number {span} or null (unknown), got {x!r}", f"a number {span}")


def check_count(field: str, x: int | None) -> None:
    """A whole number ≥ 0 (a count of lesions), or ``None``."""
    if x is None:
        return
    if isinstance(x, bool) or not isinstance(x, int) or x < 0:
        raise InputError(field, f"expected a whole number ≥ 0 or null (unknown), got {x!r}", "an integer ≥ 0")


def check_bool(field: str, x: bool | None) -> None:
    """``True``, ``False`` or ``None``; ``"yes"``, ``1`` and the like are refused, not guessed."""
    if x is not None and not isinstance(x, bool):
        raise InputError(field, f"expected true, false or null (unknown), got {x!r}", "true, false, null")


def check_choice(field: str, x: object, options: tuple[str, ...]) -> None:
    """One of ``options``, or ``None``."""
    if x is not None and x not in options:
        raise InputError(field, f"unknown value {x!r}", ", ".join(options) + ", or null (unknown)")


def check_lab(field: str, x: LabValue | None, key: str) -> None:
    """A :class:`~b2m.units.LabValue` parsed for analyte ``key``, or ``None``."""
    if x is not None and (not isinstance(x, LabValue) or x.key != key):
        raise InputError(
            field, f"expected a parsed {key} lab value or null, got {x!r}", f"b2m.units.parse_lab({key!r}, ...)"
        )


def flc_ratio_orientation_note(ratio: Num, rule_id: str) -> Note | None:
    """A caveat when an involved/uninvolved FLC ratio is below 1: it looks like a κ/λ ratio given for a
    λ-type clone (b2m reference E22). Shared by the smouldering-myeloma scores."""
    if lt(ratio, 1.0) is not True:
        return None
    return Note(
        f"{rule_id}_flc_ratio_below_1",
        "caveat",
        "An involved/uninvolved FLC ratio below 1 looks like a κ/λ ratio of a λ-type clone; the "
        "rule expects involved/uninvolved (λ/κ for λ, b2m reference E22).",
    )
