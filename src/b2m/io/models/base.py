"""What every document model shares: strict, closed, and typed field by field.

Strict means JSON's own types: ``false`` is not a number, ``"5"`` is not a number, ``1`` is not
``true``. Closed means an unknown key is refused, never ignored (a misspelt ``"del_17p"`` must not
silently become "FISH unknown"). Absent keys and ``null`` mean unknown.

Each field carries a description and its constraints, which become the JSON Schema (``b2m schema``)
and the API's OpenAPI document, and an :class:`Accepted` text: the accepted forms that an error
about the field names (:mod:`b2m.io.models.errors`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from b2m.errors import InputError, short
from b2m.units import CENSORED_PATTERN, Censored, parse_number

# Plausible calendar for dated clinical results (a typo such as 0202-01-10 is refused, not monitored).
EARLIEST_DATE = dt.date(1950, 1, 1)
LATEST_DATE = dt.date(2100, 12, 31)
DATE_ACCEPTED = "an ISO 8601 date such as 2026-01-31"
MAX_TEXT_CHARS = 200
MAX_ID_CHARS = 64


class Contract(BaseModel):
    """Base of every document model: unknown keys refused, JSON's types taken strictly, immutable."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
        frozen=True,
        field_title_generator=lambda name, info: name,  # the JSON Schema shows each key as written
    )


@dataclass(frozen=True, slots=True)
class Accepted:
    """Field metadata: the accepted forms named by an error about this field (overrides the derived text)."""

    text: str


def json_type(raw: object) -> str:
    """The JSON name of a value's type, for error messages."""
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return "a boolean"
    if isinstance(raw, int | float):
        return "a number"
    if isinstance(raw, str):
        return "text"
    if isinstance(raw, list | tuple):
        return "an array"
    if isinstance(raw, dict):
        return "an object"
    return type(raw).__name__


def got(raw: object) -> str:
    """What was given instead: its JSON type, and the value itself when it is a single value."""
    return json_type(raw) if isinstance(raw, dict | list | tuple) or raw is None else f"{json_type(raw)} {short(raw)}"


# ---------------------------------------------------------------------------------------------
# Value types with their own reading (one error each, in the project's words)
# ---------------------------------------------------------------------------------------------

LAB_NUMBER_ACCEPTED = 'a number such as 4.2, or a censored value such as "<0.5" or ">20"'


def _lab_number(raw: object) -> object:
    """A lab result as JSON gives it: a number, or a censored string; read by the unit layer's number reader.

    The value itself is kept as received (``35`` stays an integer), so reports can show it as sent.
    """
    if raw is None:
        raise InputError("", "value is required", LAB_NUMBER_ACCEPTED)
    if isinstance(raw, str):
        x = parse_number(raw, "", allow_censored=True)
        if not isinstance(x, Censored):
            raise InputError(
                "", f"not a number: {short(raw)} (a number is written without quotes)", LAB_NUMBER_ACCEPTED
            )
        return raw
    parse_number(raw, "", allow_censored=True)
    return raw


LabNumber = Annotated[
    int | float | str,
    BeforeValidator(_lab_number),
    Accepted(LAB_NUMBER_ACCEPTED),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": CENSORED_PATTERN, "examples": ["<0.5", ">=20"]},
            ]
        }
    ),
]


LIMIT_ACCEPTED = "a number in the result's unit"


def _limit(raw: object) -> object:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise InputError("", f"not a number: {short(raw)}", LIMIT_ACCEPTED)
    parse_number(raw, "", allow_censored=False)  # finite, not negative
    return raw  # as received: the unit layer shows it in its errors


LimitNumber = Annotated[
    int | float,
    BeforeValidator(_limit),
    WithJsonSchema({"type": "number", "minimum": 0}),
    Accepted(LIMIT_ACCEPTED),
]


def parse_iso_date(raw: object, field: str = "") -> dt.date:
    """A calendar date in ISO 8601 (``2026-01-31``), from 1950 to 2100."""
    if raw is None:
        raise InputError(field, "date is required", DATE_ACCEPTED)
    if isinstance(raw, dt.datetime):
        raw = raw.date()
    if isinstance(raw, dt.date):
        d = raw
    elif isinstance(raw, str) and len(raw) <= 40:
        try:
            d = dt.date.fromisoformat(raw.strip())
        except ValueError:
            raise InputError(field, f"not a date: {short(raw)}", DATE_ACCEPTED) from None
    else:
        raise InputError(field, f"not a date: {short(raw)}", DATE_ACCEPTED)
    if not EARLIEST_DATE <= d <= LATEST_DATE:
        raise InputError(field, f"implausible date {d.isoformat()}", f"a date from {EARLIEST_DATE} to {LATEST_DATE}")
    return d


def _series_date(raw: object) -> dt.date:
    return parse_iso_date(raw)


ClinicalDate = Annotated[dt.date, BeforeValidator(_series_date), Accepted(DATE_ACCEPTED)]

ID_ACCEPTED = f"printable text of 1-{MAX_ID_CHARS} characters, or an integer"


def _patient_id(raw: object) -> object:
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        raise InputError("", f"expected text, got {got(raw)}", ID_ACCEPTED)
    if len(raw) > MAX_ID_CHARS:
        raise InputError("", f"expected text of at most {MAX_ID_CHARS} characters", ID_ACCEPTED)
    if not raw.strip() or not raw.isprintable():
        raise InputError("", "empty or contains control characters", f"printable text of 1-{MAX_ID_CHARS} characters")
    return raw


# Printable: no C0/C1 control character (the reader also refuses other non-printable characters).
_ID_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f]*\S[^\u0000-\u001f\u007f-\u009f]*$"
PatientId = Annotated[
    str,
    BeforeValidator(_patient_id),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "minLength": 1, "maxLength": MAX_ID_CHARS, "pattern": _ID_PATTERN},
                {"type": "integer"},
            ]
        }
    ),
    Accepted(ID_ACCEPTED),
]

Text = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]
