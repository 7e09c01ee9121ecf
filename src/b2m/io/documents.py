"""JSON documents from outside, read once: bytes -> checked JSON -> validated model -> domain objects.

Every way a document enters b2m (the CLI's FILE or standard input today, an API request body next)
goes through :func:`load_json` and the document readers below, so the checks are written once:

- size: at most :data:`MAX_DOCUMENT_BYTES` (a larger document is a cohort: ``b2m stage``);
- UTF-8 text (a byte-order mark is allowed), valid JSON;
- no duplicate key in any object (parsers silently keep the last one, which would hide a conflicting
  value: two B2M results, ISS I or III);
- no lone surrogate (``"\\ud800"``: a string that cannot be written back as UTF-8);
- nesting at most :data:`MAX_DEPTH` levels (the contracts need five);
- then the document model (:mod:`b2m.io.models`): unknown keys, JSON's types taken strictly, numbers
  beyond any measurement (a 400-digit integer, ``1e400``, ``NaN``) refused by the field that holds them,
  control characters in ids; then the unit layer, through the conversion to domain objects.

Why not pydantic's ``model_validate_json`` on the raw bytes (its fastest path): its JSON parser keeps
the last of two duplicate keys without a word, and duplicate keys must be refused. The standard
library's C parser reports every key to :func:`_unique_keys`; the model then validates the parsed
object (pydantic's Python mode). One patient takes well under a millisecond either way
(``benchmarks/edge.py``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Generic, TypeVar

from b2m.errors import InputError
from b2m.io.patient import parse_patients
from b2m.io.series import parse_series_document
from b2m.monitor.series import PatientSeries
from b2m.patient import Patient

MAX_DOCUMENT_BYTES = 256 << 20
MAX_DEPTH = 20
# A JSON escape of a UTF-16 surrogate: only then can a decoded string hold a lone surrogate.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Loaded(Generic[T]):
    """The domain objects of one document, and whether it was an array (output mirrors the input's shape)."""

    items: list[T]
    array: bool


def read_source(source: str, stdin: BinaryIO, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> tuple[bytes, str]:
    """The bytes of ``source`` (a path, or ``-`` for ``stdin``) and the name errors give it; refuses a missing
    file and anything larger than ``max_bytes`` before reading it all."""
    too_large = f"larger than {max_bytes >> 20} MiB" if max_bytes >= 1 << 20 else f"larger than {max_bytes:,} bytes"
    if source == "-":
        data = stdin.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise InputError("FILE", f"input is {too_large}", "use `b2m stage` for cohorts")
        return data, "stdin"
    path = Path(source)
    if not path.is_file():
        raise InputError("FILE", f"no such file: {source}", "a path to a JSON file, or - for standard input")
    if path.stat().st_size > max_bytes:
        raise InputError("FILE", f"{source} is {too_large}", "use `b2m stage` for cohorts")
    with path.open("rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InputError("FILE", f"input is {too_large}", "use `b2m stage` for cohorts")
    return data, source


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """Refuse duplicate keys: JSON parsers silently keep the last one, which would hide a conflicting value."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise _DuplicateKey(k)
            seen.add(k)
    return out


def load_json(data: bytes, name: str = "input", *, max_bytes: int = MAX_DOCUMENT_BYTES) -> object:
    """Parse one JSON document with the checks above (everything but the model)."""
    if len(data) > max_bytes:
        raise InputError(name, f"input is larger than {max_bytes >> 20} MiB", "use `b2m stage` for cohorts")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(name, "is not UTF-8 text", "a UTF-8 JSON document") from None
    try:
        doc = json.loads(text, object_pairs_hook=_unique_keys)
    except _DuplicateKey as e:
        raise InputError(name, f"duplicate key {e.args[0]!r} in one object", "each key once per object") from None
    except json.JSONDecodeError as e:
        raise InputError(
            name, f"invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}", "a JSON object or array of objects"
        ) from None
    except RecursionError:
        raise InputError(name, "JSON nested too deeply", f"at most {MAX_DEPTH} levels (see the contract)") from None
    except ValueError as e:  # e.g. integers beyond Python's digit limit
        raise InputError(name, f"invalid JSON ({str(e)[:80]})", "a JSON object or array of objects") from None
    _check_structure(doc, name, surrogates=_SURROGATE_ESCAPE.search(data) is not None)
    return doc


def _check_structure(doc: object, name: str, *, surrogates: bool) -> None:
    """Nesting depth, and (when the text escapes a surrogate) strings that are not valid Unicode."""
    stack: list[tuple[object, int]] = [(doc, 1)]
    while stack:
        x, depth = stack.pop()
        if isinstance(x, dict):
            if depth > MAX_DEPTH:
                raise InputError(name, "JSON nested too deeply", f"at most {MAX_DEPTH} levels (see the contract)")
            if surrogates:
                stack.extend((k, depth) for k in x)
            stack.extend((v, depth + 1) for v in x.values() if isinstance(v, dict | list) or surrogates)
        elif isinstance(x, list):
            if depth > MAX_DEPTH:
                raise InputError(name, "JSON nested too deeply", f"at most {MAX_DEPTH} levels (see the contract)")
            stack.extend((v, depth + 1) for v in x if isinstance(v, dict | list) or surrogates)
        elif surrogates and isinstance(x, str):
            try:
                x.encode("utf-8")
            except UnicodeEncodeError:
                raise InputError(name, "contains a string that is not valid Unicode", "UTF-8 text") from None


def patients_from_json(data: bytes, name: str = "input") -> Loaded[Patient]:
    """The patients of one ``b2m assess`` document (one object or an array) as domain objects."""
    raw = load_json(data, name)
    return Loaded(parse_patients(raw), isinstance(raw, list))


def series_from_json(data: bytes, name: str = "input") -> Loaded[PatientSeries]:
    """The patients of one ``b2m monitor`` document (one object or an array) as domain objects."""
    raw = load_json(data, name)
    return Loaded(parse_series_document(raw), isinstance(raw, list))


__all__ = [
    "MAX_DEPTH",
    "MAX_DOCUMENT_BYTES",
    "Loaded",
    "load_json",
    "patients_from_json",
    "read_source",
    "series_from_json",
]
