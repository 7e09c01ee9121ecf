"""The documents that enter b2m from outside, as strict pydantic models.

- :mod:`b2m.io.models.patient` - the patient document of ``b2m assess`` (:class:`PatientDocument`)
- :mod:`b2m.io.models.series` - the series document of ``b2m monitor`` / ``b2m report`` (:class:`SeriesDocument`)
- :mod:`b2m.io.models.options` - options of ``b2m stage`` and the cohort runs (imported on its own: it
  names the cohort layer's choices)
- :mod:`b2m.io.models.errors` - pydantic's errors in the project's words (:class:`b2m.errors.InputError`)

The models check shape, types, ranges and choices, and carry the descriptions that become the JSON
Schema (``b2m schema patient|series``, ``docs/schemas/``) and the API's OpenAPI document. Units and
plausibility are read by the unit layer when a model becomes a domain object
(:func:`b2m.io.patient.to_patient`, :func:`b2m.io.series.to_patient_series`).
"""

from __future__ import annotations

import json
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from b2m.io.models.errors import input_error
from b2m.io.models.patient import LabResult, Labs, PatientDocument, PatientFile
from b2m.io.models.series import DatedLabResult, SeriesDocument, SeriesFile

M = TypeVar("M", bound=BaseModel)
SchemaName = Literal["patient", "series"]
SCHEMAS: dict[str, type[BaseModel]] = {"patient": PatientFile, "series": SeriesFile}
SCHEMA_TITLES = {
    "patient": (
        "b2m patient document",
        "Input of `b2m assess`: one patient object or an array of them. Absent keys and null mean unknown; "
        "unknown keys are refused. Lab units and plausibility are checked by b2m's unit layer when the document "
        "is read.",
    ),
    "series": (
        "b2m series document",
        "Input of `b2m monitor` and `b2m report`: one patient followed over time, or an array of them (ids "
        "unique): the patient document plus dated series, therapy lines and imaging events "
        "(docs/monitor-contract.md).",
    ),
}


def validate(model: type[M], raw: object, *, prefix: str = "", root: str = "patient") -> M:
    """``raw`` (parsed JSON, or Python values of the same types) as ``model``; errors as one :class:`InputError`."""
    try:
        return model.model_validate(raw, strict=True)
    except ValidationError as e:
        raise input_error(e, model, prefix, root) from None


def json_schema(name: SchemaName) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a document, with ``$id``, title and description set."""
    schema = SCHEMAS[name].model_json_schema()
    title, description = SCHEMA_TITLES[name]
    head = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:b2m:schema:{name}",
        "title": title,
        "description": description,
    }
    return {**head, **{k: v for k, v in schema.items() if k not in head}}


def json_schema_text(name: SchemaName) -> str:
    """:func:`json_schema` as the text committed under ``docs/schemas/`` (stable key order, two-space indent)."""
    return json.dumps(json_schema(name), indent=2, ensure_ascii=False) + "\n"


__all__ = [
    "SCHEMAS",
    "DatedLabResult",
    "LabResult",
    "Labs",
    "PatientDocument",
    "PatientFile",
    "SchemaName",
    "SeriesDocument",
    "SeriesFile",
    "json_schema",
    "json_schema_text",
    "validate",
]
