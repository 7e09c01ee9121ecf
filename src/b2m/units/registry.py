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

_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
_POWER_OF_TEN = re.compile("10([⁰¹²³⁴⁵⁶⁷⁸⁹]+)")
_I = re.IGNORECASE
_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, flags), r)
    for p, r, flags in (
        (r"[\u00b5\u03bc]", "u", 0),  # micro sign and Greek mu
        (r"\bmc(?=(g|mol|l|kat)\b)", "u", _I),  # mcg, mcmol, mcL (and MCG)
        (r"\[iu\]", "IU", _I),  # UCUM [IU], [iU]
        (r"\bIU\b", "IU", _I),
        (r"(?:x|\u00d7|\*)?\s*10\s*(?:\*\*|\*|\^)\s*(\d+)", r"1e\1", _I),  # 10*9, 10^9, x10^9
        (r"\bK\s*/\s*uL\b", "1e3/uL", _I),  # thousand per microlitre
        (r"/\s*\(?\s*24\s*\.?\s*(?:hours?|hrs?|h)\s*\)?", "/(24*h)", _I),  # /24h, /(24.h), /24 hr
        (r"/\s*(?:day|d)\b", "/(24*h)", _I),
        (r"%", "percent", 0),
        (r"\bl\b", "L", 0),  # lower-case litre
        (r"^/", "1/", 0),  # "/uL" (cells per microlitre)
    )
)


def normalise_unit_text(text: str) -> str:
    """Rewrite a unit as received into pint syntax (``"μg/mL"`` -> ``"ug/mL"``)."""
    s = " ".join(text.strip().split())
    s = _POWER_OF_TEN.sub(lambda m: "10^" + m.group(1).translate(_SUPERSCRIPTS), s)  # 10⁹ -> 10^9
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
