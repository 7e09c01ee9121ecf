"""Lab results as received, parsed once at the edge into canonical units."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import pint

from b2m.errors import ImplausibleValueError, InputError, UnitError, short
from b2m.units.analytes import ANALYTES, LAB_NAMES, Analyte
from b2m.units.censored import Censored, Direction
from b2m.units.registry import normalise_unit_text, parse_unit, round_sig

# A censored result as text ("<0.5", ">= 20", "≤0.2"); also the JSON Schema pattern of censored values.
CENSORED_PATTERN = r"^\s*(<=|>=|<|>|≤|≥)\s*([0-9]*\.?[0-9]+(?:[eE][-+]?\d+)?)\s*$"
_CENSORED = re.compile(CENSORED_PATTERN)
_NUMBER = re.compile(r"^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$")
_DIRECTIONS: dict[str, Direction] = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "≤": "<=", "≥": ">="}
# Units are short; anything longer, or with characters no unit spelling uses ("mg/L=1", control
# characters), is refused before it reaches pint's expression parser.
MAX_UNIT_CHARS = 40
_UNIT_CHARS = re.compile(r"^[A-Za-z0-9µμ/*^.()\[\]% ×⁰¹²³⁴⁵⁶⁷⁸⁹_-]+$")
_LAB_KEYS = ("value", "unit", "lower_limit", "upper_limit", "date", "method", "loinc")


@dataclass(frozen=True, slots=True)
class LabValue:
    """One lab result: the canonical value used by the rules, and everything as received."""

    key: str
    value: float | Censored  # canonical unit
    unit: str  # canonical unit, as displayed
    received_value: object
    received_unit: str
    lower_limit: float | None = None  # the reporting lab's reference interval, canonical unit
    upper_limit: float | None = None
    date: dt.date | None = None
    method: str | None = None
    loinc: str | None = None
    factor: float = 1.0  # canonical = received x factor (recorded so conversions are auditable)

    @property
    def analyte(self) -> Analyte:
        return ANALYTES[self.key]

    @property
    def censored(self) -> bool:
        return isinstance(self.value, Censored)

    def reported_in(self, unit: str) -> bool:
        """Whether the lab reported in ``unit`` (or an equivalent spelling of it)."""
        return _same_unit(self.key, unit, self.received_unit)

    @property
    def received_magnitude(self) -> float | Censored:
        if isinstance(self.value, Censored):
            return self.value.scaled(1 / self.factor)
        return round_sig(self.value / self.factor)

    def to_dict(self) -> dict[str, object]:
        return {
            "value": str(self.value) if isinstance(self.value, Censored) else self.value,
            "unit": self.unit,
            "received": {"value": self.received_value, "unit": self.received_unit},
            "lower_limit": self.lower_limit,
            "upper_limit": self.upper_limit,
            "date": self.date.isoformat() if self.date else None,
            "method": self.method,
            "loinc": self.loinc,
        }


@lru_cache(maxsize=256)
def _dim(unit: str) -> str:
    return str(parse_unit(unit).dimensionality)


@lru_cache(maxsize=256)
def _factor(key: str, unit: str) -> float:
    """Multiplier taking a number in ``unit`` to the analyte's canonical unit."""
    a = ANALYTES[key]
    canon = parse_unit(a.canonical)  # may carry a scale, e.g. 1e9/L
    q = parse_unit(unit)
    q = q.to(canon.units, a.context) if a.context else q.to(canon.units)
    # Unrounded: the product with a value is rounded instead, so 176.8 µmol/L is exactly 2.0 mg/dL.
    return float(q.magnitude) / float(canon.magnitude)


# Both below are pure functions of short strings (units are at most MAX_UNIT_CHARS), called for every lab
# value: cached, the unit layer reads a value in microseconds (a service reads one patient per request).
@lru_cache(maxsize=1024)
def canonical_spelling(key: str, unit: str) -> str:
    """Older HL7 feeds send upper case ("MG/L"); match the analyte's spellings case-insensitively
    first, because pint would read "MG" as megagram."""
    a = ANALYTES[key]
    folded = normalise_unit_text(unit).casefold()
    spellings = a.accepted + tuple(r for r, _ in a.refused)
    return next((ok for ok in spellings if normalise_unit_text(ok).casefold() == folded), unit)


@lru_cache(maxsize=1024)  # pure in its strings; LabValue.reported_in is asked per criterion per patient
def _same_unit(key: str, a: str, b: str) -> bool:
    a, b = canonical_spelling(key, a), canonical_spelling(key, b)
    try:
        return _dim(a) == _dim(b) and round_sig(_factor(key, a)) == round_sig(_factor(key, b))
    except Exception:  # unit text is arbitrary input; pint's parser raises many kinds of errors on it
        return False


def _accepted_text(a: Analyte) -> str:
    return ", ".join(a.accepted)


def unit_factor(key: str, unit: object, field: str) -> float:
    """Check ``unit`` for analyte ``key`` and return its factor to the canonical unit (as recorded)."""
    return round_sig(_checked_factor(key, unit, field))


def _checked_factor(key: str, unit: object, field: str) -> float:
    a = ANALYTES[key]
    if not isinstance(unit, str) or not unit.strip():
        raise UnitError(field, "unit is missing (a unit is never assumed)", _accepted_text(a))
    if len(unit) > MAX_UNIT_CHARS or not _UNIT_CHARS.match(unit):
        shown = unit[:MAX_UNIT_CHARS] + ("..." if len(unit) > MAX_UNIT_CHARS else "")
        raise UnitError(field, f"unknown unit {shown!r}", _accepted_text(a))
    unit = canonical_spelling(key, unit)
    for refused, why in a.refused:
        if _same_unit(key, unit, refused):
            raise UnitError(field, f"unit {unit!r} refused: {why}", _accepted_text(a))
    try:
        factor = _factor(key, unit)
    except pint.DimensionalityError:
        raise UnitError(field, f"unit {unit!r} is of the wrong dimension for {a.label}", _accepted_text(a)) from None
    except Exception:  # unit text is arbitrary input; pint's parser raises many kinds of errors on it
        raise UnitError(field, f"unknown unit {unit!r}", _accepted_text(a)) from None
    if not any(_same_unit(key, ok, unit) for ok in a.accepted):
        raise UnitError(field, f"unit {unit!r} is not an accepted unit for {a.label}", _accepted_text(a))
    return factor


def parse_number(raw: object, field: str, *, allow_censored: bool) -> float | Censored:
    """A finite, non-negative number, or (if allowed) a censored value such as ``"<0.5"``."""
    accepted = "a number such as 4.2" + (', or a censored value such as "<0.5" or ">20"' if allow_censored else "")
    if isinstance(raw, bool) or raw is None:
        raise InputError(field, f"not a number: {short(raw)}", accepted)
    if isinstance(raw, int | float) or (isinstance(raw, str) and _NUMBER.match(raw)):
        try:
            x = float(raw)
        except OverflowError:  # JSON integers are unbounded
            raise InputError(field, f"value is not finite: {short(raw)}", accepted) from None
    elif isinstance(raw, str) and (m := _CENSORED.match(raw)):
        if not allow_censored:
            raise InputError(field, f"censored value {short(raw)} not allowed here", "a number")
        bound = float(m.group(2))
        if not math.isfinite(bound):
            raise InputError(field, f"censored bound is not finite: {short(raw)}", accepted)
        return Censored(_DIRECTIONS[m.group(1)], bound)
    else:
        raise InputError(field, f"not a number: {short(raw)}", accepted)
    if not math.isfinite(x):
        raise InputError(field, f"value is not finite: {short(raw)}", accepted)
    if x < 0:
        raise InputError(field, f"value is negative: {short(raw)}", accepted)
    return x


def check_plausible(key: str, value: float | Censored, received: object, unit: str, field: str) -> None:
    a = ANALYTES[key]
    unit = canonical_spelling(key, unit)
    lo, hi = a.plausible
    if isinstance(value, Censored):
        b_lo, b_hi = value.bounds()
        if b_lo > hi or b_hi < lo:
            raise ImplausibleValueError(
                field,
                f"{received} {unit} is outside the plausible range {lo:g}-{hi:g} {a.display} ({a.bounds_reason})",
                accepted=f"units {_accepted_text(a)}",
            )
        return
    if lo <= value <= hi:
        return
    hint = ""
    raw = value / _factor(key, unit)
    for alt in a.accepted:
        if _same_unit(key, alt, unit):
            continue
        if lo <= raw * _factor(key, alt) <= hi:
            hint = (
                f"looks like {alt}, not {unit} ({raw:g} {alt} = {round_sig(raw * _factor(key, alt), 4):g} {a.display})"
            )
            break
    raise ImplausibleValueError(
        field,
        f"{received} {unit} is implausible for {a.label} (plausible: {lo:g}-{hi:g} {a.display}: {a.bounds_reason})",
        accepted=f"units {_accepted_text(a)}",
        hint=hint,
    )


def _parse_date(raw: object, field: str) -> dt.date | None:
    if raw is None:
        return None
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, str) and len(raw) <= 40:
        text = raw.strip()
        try:
            return dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text).date()
        except ValueError:
            pass
    raise InputError(field, f"not a date: {short(raw)}", "an ISO 8601 date such as 2026-01-31")


def _opt_str(raw: object, field: str) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, str) and len(raw) <= 200:
        return raw.strip() or None
    raise InputError(field, f"expected text of at most 200 characters, got {type(raw).__name__}", "a string")


def parse_lab(key: str, raw: object, *, field: str | None = None) -> LabValue | None:
    """Parse one lab entry of the JSON contract. ``None`` or a ``null`` value means unknown."""
    field = field or f"labs.{key}"
    if key not in ANALYTES:
        raise InputError(field, f"unknown lab name {key!r}", ", ".join(LAB_NAMES))
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise InputError(field, "expected an object with value and unit", '{"value": 4.2, "unit": "mg/L"}')
    extra = sorted(set(raw) - set(_LAB_KEYS))
    if extra:
        raise InputError(field, f"unknown key(s) {', '.join(map(repr, extra))}", ", ".join(_LAB_KEYS))
    if raw.get("value") is None:
        return None
    unit = raw.get("unit")
    factor = _checked_factor(key, unit, f"{field}.unit")
    assert isinstance(unit, str)
    received = raw["value"]
    x = parse_number(received, f"{field}.value", allow_censored=True)
    value: float | Censored = x.scaled(factor) if isinstance(x, Censored) else round_sig(x * factor)
    check_plausible(key, value, received, unit, f"{field}.value")
    limits: list[float | None] = []
    for name in ("lower_limit", "upper_limit"):
        r = raw.get(name)
        if r is None:
            limits.append(None)
            continue
        lim = parse_number(r, f"{field}.{name}", allow_censored=False)
        assert isinstance(lim, float)
        canonical = round_sig(lim * factor)
        # A limit is a value of the same analyte: a unit-mixed limit (LDH ULN 5 next to U/L) must not
        # make a normal result "above ULN". A lower limit of 0 is how labs write "up to".
        if not (name == "lower_limit" and canonical == 0):
            check_plausible(key, canonical, r, unit, f"{field}.{name}")
        limits.append(canonical)
    if limits[0] is not None and limits[1] is not None and limits[0] > limits[1]:
        raise InputError(f"{field}.lower_limit", "lower_limit is above upper_limit", "lower_limit <= upper_limit")
    return LabValue(
        key=key,
        value=value,
        unit=ANALYTES[key].display,
        received_value=received,
        received_unit=unit,
        lower_limit=limits[0],
        upper_limit=limits[1],
        date=_parse_date(raw.get("date"), f"{field}.date"),
        method=_opt_str(raw.get("method"), f"{field}.method"),
        loinc=_opt_str(raw.get("loinc"), f"{field}.loinc"),
        factor=round_sig(factor),
    )
