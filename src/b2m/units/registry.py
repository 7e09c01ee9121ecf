"""The one unit registry, and the one place where unit text is read.

Lab systems spell units many ways: the micro sign as U+00B5 or U+03BC, ``u`` or ``mc``; UCUM's
``[IU]/L``, ``10*9/L`` and ``mg/(24.h)``; everyday ``x10^9/L``, ``K/uL``, ``mg/24h``. All of them are
rewritten to one pint-readable form here, and nowhere else.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

import pint

_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), r)
    for p, r in (
        (r"[\u00b5\u03bc]", "u"),  # micro sign and Greek mu
        (r"\bmc(?=(g|mol|L|l|kat)\b)", "u"),  # mcg, mcmol, mcL
        (r"\[(?:iU|IU)\]", "IU"),  # UCUM [IU], [iU]
        (r"\bIU\b", "IU"),
        (r"(?:x|\u00d7|\*)?\s*10\s*(?:\*|\^|\*\*)\s*(\d+)", r"1e\1"),  # 10*9, 10^9, x10^9
        (r"\u2079", "9"),  # superscript nine: 10⁹
        (r"\bK\s*/\s*uL\b", "1e3/uL"),  # thousand per microlitre
        (r"/\s*\(?\s*24\s*\.?\s*(?:h|hr|hrs|hours?)\s*\)?", "/(24*h)"),  # /24h, /(24.h), /24 hr
        (r"/\s*(?:day|d)\b", "/(24*h)"),
        (r"%", "percent"),
        (r"\bl\b", "L"),  # lower-case litre
        (r"^/", "1/"),  # "/uL" (cells per microlitre)
    )
)


def normalise_unit_text(text: str) -> str:
    """Rewrite a unit as received into pint syntax (``"μg/mL"`` -> ``"ug/mL"``)."""
    s = " ".join(text.strip().split())
    for pattern, repl in _REWRITES:
        s = pattern.sub(repl, s)
    # "1e9/L" written after a digit-free prefix can stay; pint reads "1e9/L" as a scaled unit.
    return s.replace(" ", "")


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:  # type: ignore[type-arg]
    ureg: pint.UnitRegistry = pint.UnitRegistry(cache_folder=None)  # type: ignore[type-arg]
    ureg.load_definitions(str(resources.files("b2m.units") / "definitions.txt"))
    return ureg


@lru_cache(maxsize=512)
def parse_unit(text: str) -> pint.Quantity:  # type: ignore[type-arg]
    """A unit as a pint quantity of magnitude 1 in that unit (``1e9/L`` keeps its scale).

    Raises ``pint.PintError`` or ``ValueError`` when the text is not a unit.
    """
    ureg = registry()
    q = ureg.parse_expression(normalise_unit_text(text))
    if not isinstance(q, ureg.Quantity):  # a bare number such as "1"
        raise ValueError(f"not a unit: {text!r}")
    return q


def round_sig(x: float, digits: int = 12) -> float:
    """Drop binary noise from a unit conversion (35 g/L -> 3.5 g/dL, not 3.5000000000000004)."""
    return float(f"{x:.{digits}g}")
