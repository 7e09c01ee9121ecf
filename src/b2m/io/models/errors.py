"""Pydantic's validation errors in the project's words: one :class:`InputError` naming the field path
(``labs.b2m.unit``, ``[3].series.b2m[2].date``), the problem and the accepted forms.

A :class:`pydantic.ValidationError` never reaches a user: the CLI prints this one line, the API
turns the same fields into problem details.
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt, MaxLen
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from b2m.errors import InputError, short
from b2m.io.models.base import Accepted, got
from b2m.units import ANALYTES

Loc = tuple[int | str, ...]


def field_path(loc: Sequence[int | str], prefix: str = "") -> str:
    """``("series", "b2m", 2, "date")`` -> ``series.b2m[2].date``; ``prefix`` (``[3]``) goes first."""
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _unwrap(tp: Any) -> tuple[Any, list[Any]]:
    """The type without ``Optional`` and ``Annotated``, and the metadata found on the way."""
    meta: list[Any] = []
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            args = get_args(tp)
            extra = [x for a in args[1:] for x in ([a, *a.metadata] if isinstance(a, FieldInfo) else [a])]
            tp, meta = args[0], [*meta, *extra]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(tp) if a is not type(None)]
            if len(members) != 1:
                return tp, meta
            tp = members[0]
        else:
            return tp, meta


def _slot(model: type[BaseModel], loc: Loc) -> tuple[str | None, Any, list[Any]]:
    """Walk ``loc`` through the model: the last field name on the way, the type at ``loc`` and its metadata."""
    tp: Any = model
    name: str | None = None
    meta: list[Any] = []
    for part in loc:
        base, _ = _unwrap(tp)
        if isinstance(part, int):
            if get_origin(base) in (list, tuple):
                tp = get_args(base)[0]
                meta = _unwrap(tp)[1]  # an item: its own constraints, not the list's
                continue
            break
        if isinstance(base, type) and issubclass(base, BaseModel) and part in base.model_fields:
            info: FieldInfo = base.model_fields[part]
            name, tp = part, info.annotation
            meta = [*info.metadata, *_unwrap(tp)[1]]
        elif get_origin(base) is dict:
            tp = get_args(base)[1]
        else:
            break
    return name, _unwrap(tp)[0], meta


def _bounds(meta: list[Any]) -> tuple[Any, Any]:
    """The field's lower and upper bound (numbers, as declared), or None."""
    lo = next((m.ge for m in meta if isinstance(m, Ge)), next((m.gt for m in meta if isinstance(m, Gt)), None))
    hi = next((m.le for m in meta if isinstance(m, Le)), next((m.lt for m in meta if isinstance(m, Lt)), None))
    return lo, hi


def _choices(tp: Any) -> tuple[str, ...] | None:
    base, _ = _unwrap(tp)
    if get_origin(base) is Literal:
        return tuple(str(a) for a in get_args(base))
    return None


def accepted_forms(tp: Any, meta: list[Any]) -> str:
    """The accepted forms of a field: its :class:`Accepted` text, else derived from its type and constraints."""
    for m in reversed(meta):  # the outermost declaration wins (a percentage over a lab number)
        if isinstance(m, Accepted):
            return m.text
    choices = _choices(tp)
    if choices is not None:
        return ", ".join(choices)
    lo, hi = _bounds(meta)
    if tp is bool:
        return "true, false, null (unknown)"
    if tp is int:
        return f"an integer {lo}-{hi}" if lo is not None and hi is not None else "an integer"
    if tp is float:
        return f"a number from {lo:g} to {hi:g}" if lo is not None and hi is not None else "a number"
    if tp is str:
        limit = next((m.max_length for m in meta if isinstance(m, MaxLen)), None)
        return f"text of at most {limit} characters" if limit else "text"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return f"a JSON object with keys {', '.join(tp.model_fields)}"
    if get_origin(tp) in (list, tuple):
        return "a JSON array"
    if get_origin(tp) is dict:
        return "a JSON object"
    return ""


def _is_number_error(kind: str) -> bool:
    return kind in ("float_type", "int_type", "float_parsing", "int_parsing", "int_from_float", "finite_number")


def _problem(err: ErrorDetails, name: str | None, tp: Any, meta: list[Any], *, keyed: bool) -> str:
    """The problem in the project's words; ``keyed``: the value stands under a key (not an array item)."""
    kind, raw = err["type"], err.get("input")
    ctx = err.get("ctx") or {}
    lo, hi = _bounds(meta)
    whole = tp is int
    if kind == "missing" or (keyed and raw is None and kind not in ("value_error", "assertion_error")):
        return f"{name or 'value'} is required"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected an object, got {got(raw)}"
    if kind in ("list_type", "tuple_type"):
        return f"expected a list, got {got(raw)}"
    if kind in ("too_long", "too_short") and isinstance(raw, list | tuple | dict):
        limit = ctx.get("max_length") if kind == "too_long" else ctx.get("min_length")
        return f"{len(raw):,} entries; {'at most' if kind == 'too_long' else 'at least'} {limit:,}"
    if kind == "bool_type":
        return f"expected true, false or null, got {short(raw)}"
    if kind in ("literal_error", "enum"):
        return f"unknown value {short(raw)}"
    if kind == "string_too_long":
        return f"expected text of at most {ctx.get('max_length')} characters"
    if kind in ("string_type", "string_unicode"):
        return f"expected text, got {got(raw)}"
    if (
        whole
        and lo is not None
        and hi is not None
        and (_is_number_error(kind) or kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"))
    ):
        return f"not a whole number from {lo} to {hi}: {short(raw)}"
    if _is_number_error(kind) and isinstance(raw, int) and not isinstance(raw, bool):
        return "out of range: a number too large for any measurement"  # a JSON integer beyond any float
    if _is_number_error(kind) and kind != "finite_number":
        return f"not a number: {short(raw)}"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than", "finite_number"):
        return f"out of range: {short(raw)}"
    return f"not accepted: {short(raw)}"  # a check without its own wording here: the accepted forms say more


def _extra_keys(errors: list[ErrorDetails], parent: Loc) -> list[str]:
    return sorted(
        str(e["loc"][-1]) for e in errors if e["type"] == "extra_forbidden" and tuple(e["loc"][:-1]) == parent
    )


def input_error(exc: ValidationError, model: type[BaseModel], prefix: str = "", root: str = "patient") -> InputError:
    """The first problem of ``exc`` (raised validating ``model``) as one :class:`InputError`.

    Unknown keys are reported first (a misspelt key is the likelier cause of what follows), all the
    unknown keys of one object together. ``root`` names the document itself (``patient``).
    """
    errors = exc.errors(include_url=False)
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc: Loc = tuple(err["loc"])
    ctx = err.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, InputError):  # raised by one of our validators, in our words already
        inner = [*loc, *([cause.field] if cause.field else [])]
        return type(cause)(field_path(inner or [root], prefix), cause.problem, cause.accepted, cause.hint)
    if err["type"] == "extra_forbidden":
        parent = loc[:-1]
        holder_tp = _slot(model, parent)[1]
        keys = _extra_keys(errors, parent)
        allowed = (
            ", ".join(holder_tp.model_fields)
            if isinstance(holder_tp, type) and issubclass(holder_tp, BaseModel)
            else ""
        )
        noun = getattr(holder_tp, "unknown_key_noun", None)
        if noun:
            return InputError(field_path(loc, prefix), f"unknown {noun} {keys[0]!r}", allowed)
        return InputError(
            field_path(parent or (root,), prefix), f"unknown key(s) {', '.join(map(repr, keys))}", allowed
        )
    if "[key]" in loc:  # a mapping's key that is not one of its choices
        at = loc.index("[key]")
        mapping = _slot(model, loc[: at - 1])[1]
        key_type = get_args(mapping)[0] if get_origin(mapping) is dict else None
        choices = _choices(key_type) if key_type is not None else None
        return InputError(
            field_path(loc[: at - 1], prefix), f"unknown key {short(loc[at - 1])}", ", ".join(choices or ())
        )
    name, tp, meta = _slot(model, loc)
    path = field_path(loc or (root,), prefix)
    if not loc and err["type"] in ("model_type", "model_attributes_type", "dict_type"):
        raw = err.get("input")
        problem = f"expected a {root} object, got null" if raw is None else f"expected an object, got {got(raw)}"
        return InputError(path, problem, "a JSON object")
    accepted = accepted_forms(tp, meta)
    analyte = next((p for p in reversed(loc) if isinstance(p, str) and p in ANALYTES), None)
    if name == "unit" and analyte is not None:  # a lab's unit: the analyte's accepted units (units/analytes.py)
        accepted = ", ".join(ANALYTES[analyte].accepted)
    keyed = bool(loc) and isinstance(loc[-1], str)
    return InputError(path, _problem(err, name, tp, meta, keyed=keyed), accepted)


__all__ = ["accepted_forms", "field_path", "input_error"]
