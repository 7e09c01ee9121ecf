"""Typed readers for JSON fields: each refuses bad input with a one-line :class:`InputError`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TypeVar

from b2m.errors import InputError, short

T = TypeVar("T", bound=str)


def check_keys(raw: Mapping[str, object], allowed: Sequence[str], field: str) -> None:
    extra = sorted(set(raw) - set(allowed))
    if extra:
        where = f"{field}: " if field else ""
        raise InputError(
            field or "patient",
            f"{where}unknown key(s) {', '.join(map(repr, extra))}".removeprefix(where),
            ", ".join(allowed),
        )


def obj(raw: object, field: str) -> Mapping[str, object]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not all(isinstance(k, str) for k in raw):
        raise InputError(field, f"expected an object, got {type(raw).__name__}", "a JSON object")
    return raw


def number(raw: object, field: str, lo: float, hi: float, why: str = "") -> float | None:
    if raw is None:
        return None
    accepted = f"a number from {lo:g} to {hi:g}" + (f" ({why})" if why else "")
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise InputError(field, f"not a number: {short(raw)}", accepted)
    try:
        x = float(raw)
    except OverflowError:  # JSON integers are unbounded
        raise InputError(field, "out of range: a number too large for any measurement", accepted) from None
    if not math.isfinite(x) or not lo <= x <= hi:
        raise InputError(field, f"out of range: {short(raw)}", accepted)
    return x


def integer(raw: object, field: str, lo: int, hi: int) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not lo <= raw <= hi:
        raise InputError(field, f"not a whole number from {lo} to {hi}: {short(raw)}", f"an integer {lo}-{hi}")
    return raw


def boolean(raw: object, field: str) -> bool | None:
    if raw is None or isinstance(raw, bool):
        return raw
    raise InputError(field, f"expected true, false or null, got {short(raw)}", "true, false, null (unknown)")


def choice(raw: object, field: str, options: Sequence[T]) -> T | None:
    if raw is None:
        return None
    for o in options:
        if raw == o:
            return o
    raise InputError(field, f"unknown value {short(raw)}", ", ".join(options))


def text(raw: object, field: str, max_len: int = 200) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, str) and len(raw) <= max_len:
        return raw
    raise InputError(field, f"expected text of at most {max_len} characters", "a string")


def text_list(raw: object, field: str, max_items: int = 200) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > max_items:
        raise InputError(field, "expected a list of names or codes", f"a JSON array of up to {max_items} strings")
    out = []
    for i, item in enumerate(raw):
        t = text(item, f"{field}[{i}]")
        if t:
            out.append(t)
    return tuple(out)
