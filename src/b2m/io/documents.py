"""JSON documents from outside, read once: bytes -> checked JSON -> validated model -> domain objects.

Every way a document enters b2m (the CLI's FILE or standard input today, an API request body next)
goes through :func:`load_json` and the document readers below, so the checks are written once:

- size: at most :data:`MAX_DOCUMENT_BYTES`, checked before anything is parsed (a larger document is a
  cohort: ``b2m stage``); a NUL byte (binary data, ``/dev/zero``) is refused as soon as it is read;
- UTF-8 text (a byte-order mark is allowed), valid JSON;
- no duplicate key in any object (parsers silently keep the last one, which would hide a conflicting
  value: two B2M results, ISS I or III);
- no lone surrogate (``"\\ud800"``: a string that cannot be written back as UTF-8);
- nesting at most :data:`MAX_DEPTH` levels (the contracts need five);
- then the document model (:mod:`b2m.io.models`): unknown keys, JSON's types taken strictly, numbers
  beyond any measurement (a 400-digit integer, ``1e400``, ``NaN``) refused by the field that holds them,
  control characters in ids; then the unit layer, through the conversion to domain objects.

An array is read one element at a time (:func:`iter_json`): the standard library's C parser
decodes each element from a bounded window of the text (``JSONDecoder.raw_decode`` at an offset), so
a 200 MB array never becomes one Python object tree, its length is checked element by element before
the next is parsed, and memory holds one element and one read buffer. ``b2m assess`` reads the
document twice this way (every patient checked first, so bad input prints nothing but its error line;
then each patient assessed and written in turn): its peak memory does not grow with the number of
patients (``benchmarks/assess_memory.py``). Why not an incremental parser such as ijson: its events
would be assembled into objects in Python (slower than the C parser per element), and the duplicate-key,
surrogate and depth checks would have to be written again on its events.

Why not pydantic's ``model_validate_json`` on the raw bytes (its fastest path): its JSON parser keeps
the last of two duplicate keys without a word, and duplicate keys must be refused. The standard
library's C parser reports every key to :func:`_unique_keys`; the model then validates the parsed
object (pydantic's Python mode). One patient takes well under a millisecond either way
(``benchmarks/edge.py``).
"""

from __future__ import annotations

import codecs
import json
import re
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, Generic, TypeVar

from b2m.errors import InputError
from b2m.io.models.patient import MAX_PATIENTS_PER_DOCUMENT
from b2m.io.patient import parse_patient, parse_patients
from b2m.io.series import MAX_PATIENTS as MAX_SERIES_PATIENTS
from b2m.io.series import parse_patient_series, parse_series_document
from b2m.monitor.series import PatientSeries
from b2m.patient import Patient

MAX_DOCUMENT_BYTES = 256 << 20
MAX_DEPTH = 20
# One element of an array (one patient's document) at most: a series of 13 labs x 10,000 dated results
# with limits and methods is about 25 MB; more is not one patient.
MAX_ITEM_BYTES = 64 << 20
READ_CHUNK_BYTES = 1 << 20
SPOOL_IN_MEMORY_BYTES = 8 << 20
_NOT_JSON = "a JSON object or array of objects"
_LITERAL_TAIL = 16  # a parse error this close to the end of the buffer may be a cut literal ("tru", "-Infin")
# A JSON escape of a UTF-16 surrogate: only then can a decoded string hold a lone surrogate.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE_ESCAPE_TEXT = re.compile(r"\\u[dD][89a-fA-F]")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Loaded(Generic[T]):
    """The domain objects of one document, and whether it was an array (output mirrors the input's shape)."""

    items: list[T]
    array: bool


def _too_large(max_bytes: int) -> str:
    return f"larger than {max_bytes >> 20} MiB" if max_bytes >= 1 << 20 else f"larger than {max_bytes:,} bytes"


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _refuse_binary(data: bytes, name: str, *, first: bool) -> None:
    """UTF-16 or UTF-32 text (its byte-order mark) and binary data (a NUL byte, which JSON text never holds)."""
    if first and data.startswith(_UTF16_BOMS):
        raise InputError(name, "is UTF-16 or UTF-32 text, not UTF-8", "a UTF-8 JSON document")
    if b"\x00" in data:
        raise InputError(name, "contains a NUL byte: binary data, not JSON text", _NOT_JSON)


def _spool(stream: BinaryIO, name: str, max_bytes: int) -> IO[bytes]:
    """A stream that cannot be read twice (standard input, a pipe, a device) copied to a temporary file
    (in memory up to :data:`SPOOL_IN_MEMORY_BYTES`), refusing more than ``max_bytes`` and binary data as it reads."""
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES)  # noqa: SIM115 (returned)
    total = 0
    while chunk := stream.read(READ_CHUNK_BYTES):
        total += len(chunk)
        if total > max_bytes:
            spool.close()
            raise InputError(name, f"input is {_too_large(max_bytes)}", "use `b2m stage` for cohorts")
        try:
            _refuse_binary(chunk, name, first=total == len(chunk))
        except InputError:
            spool.close()
            raise
        spool.write(chunk)
    spool.seek(0)
    return spool


def shown_path(source: str, limit: int = 200) -> str:
    """A path as an error shows it: cut so that the error stays one readable line."""
    return source if len(source) <= limit else source[:limit] + "..."


@contextmanager
def open_source(
    source: str, stdin: BinaryIO, *, max_bytes: int = MAX_DOCUMENT_BYTES
) -> Iterator[tuple[IO[bytes], str]]:
    """``source`` (a path, or ``-`` for ``stdin``) as a seekable binary stream, and the name errors give it.

    A regular file over ``max_bytes`` is refused from its size, before a byte is read; standard input, a
    pipe or a device (``/dev/zero``) is copied as it is read, up to ``max_bytes``, and refused at its first
    NUL byte. A folder or a missing path is refused by name.
    """
    if source == "-":
        spool = _spool(stdin, "stdin", max_bytes)
        try:
            yield spool, "stdin"
        finally:
            spool.close()
        return
    path = Path(source)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError(
            "FILE", f"no such file: {shown_path(source)}", "a path to a JSON file, or - for standard input"
        ) from None
    except OSError as e:
        raise InputError("FILE", f"cannot read {shown_path(source)} ({e.strerror})", "a readable JSON file") from None
    if stat.S_ISDIR(mode):
        raise InputError("FILE", f"is a folder: {shown_path(source)}", "a path to a JSON file, or - for standard input")
    if stat.S_ISREG(mode) and path.stat().st_size > max_bytes:
        raise InputError("FILE", f"{shown_path(source)} is {_too_large(max_bytes)}", "use `b2m stage` for cohorts")
    try:
        fh = path.open("rb")
    except OSError as e:
        raise InputError("FILE", f"cannot read {shown_path(source)} ({e.strerror})", "a readable JSON file") from None
    with fh:
        if stat.S_ISREG(mode):
            yield fh, shown_path(source)
            return
        spool = _spool(fh, shown_path(source), max_bytes)
        try:
            yield spool, shown_path(source)
        finally:
            spool.close()


def read_source(source: str, stdin: BinaryIO, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> tuple[bytes, str]:
    """The bytes of ``source`` (a path, or ``-`` for ``stdin``) and the name errors give it; refuses a missing
    file and anything larger than ``max_bytes`` before reading it all."""
    too_large = _too_large(max_bytes)
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


class _Text:
    """The decoded text of a stream, read in chunks; ``buf`` holds the unconsumed part and a little more."""

    def __init__(self, stream: IO[bytes], name: str) -> None:
        self._stream = stream
        self._decode = codecs.getincrementaldecoder("utf-8-sig")().decode
        self.name = name
        self.buf = ""
        self.pos = 0  # the next unread character of buf
        self.eof = False
        self.read_bytes = 0
        self._line = 1  # line and column (1-based) of buf[0] in the document
        self._col = 1

    def more(self, size: int = READ_CHUNK_BYTES) -> bool:
        """Append at least ``size`` bytes' worth of text (fewer at the end); False at the end of the input."""
        if self.eof:
            return False
        data = self._stream.read(size)
        _refuse_binary(data, self.name, first=self.read_bytes == 0)
        self.read_bytes += len(data)
        try:
            text = self._decode(data, final=not data)
        except UnicodeDecodeError:
            raise InputError(self.name, "is not UTF-8 text", "a UTF-8 JSON document") from None
        if not data:
            self.eof = True
        self.buf += text
        return bool(data) or bool(text)

    def drop_consumed(self) -> None:
        """Forget the text before ``pos`` (kept only while it is most of the buffer: cheap amortised)."""
        if self.pos > READ_CHUNK_BYTES and self.pos * 2 > len(self.buf):
            gone = self.buf[: self.pos]
            lines = gone.count("\n")
            if lines:
                self._line += lines
                self._col = self.pos - gone.rfind("\n")
            else:
                self._col += self.pos
            self.buf = self.buf[self.pos :]
            self.pos = 0

    def skip_space(self) -> str:
        """The next non-whitespace character ("" at the end of the input), leaving ``pos`` on it."""
        while True:
            n = len(self.buf)
            while self.pos < n and self.buf[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < n:
                return self.buf[self.pos]
            if not self.more():
                return ""

    def where(self, at: int) -> tuple[int, int]:
        """Line and column (1-based) of ``buf[at]`` in the document."""
        newlines = self.buf.count("\n", 0, at)
        if newlines:
            return self._line + newlines, at - self.buf.rfind("\n", 0, at)
        return self._line, self._col + at

    def invalid(self, at: int, msg: str) -> InputError:
        line, col = self.where(at)
        return InputError(self.name, f"invalid JSON at line {line}, column {col}: {msg}", _NOT_JSON)


_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys)


def _decode_one(text: _Text, limit: int) -> tuple[object, bool]:
    """The JSON value starting at ``text.pos`` (whitespace skipped), read on until it is complete."""
    start = text.pos
    want = READ_CHUNK_BYTES
    while True:
        try:
            value, end = _DECODER.raw_decode(text.buf, start)
        except _DuplicateKey as e:
            raise InputError(
                text.name, f"duplicate key {e.args[0]!r} in one object", "each key once per object"
            ) from None
        except json.JSONDecodeError as e:
            cut = e.msg.startswith("Unterminated string") or e.pos >= len(text.buf) - _LITERAL_TAIL
            if not cut or not _grow(text, start, limit, want):
                raise text.invalid(e.pos, e.msg) from None
            want *= 2
            continue
        except RecursionError:
            raise InputError(
                text.name, "JSON nested too deeply", f"at most {MAX_DEPTH} levels (see the contract)"
            ) from None
        except ValueError as e:  # e.g. integers beyond Python's digit limit
            raise InputError(text.name, f"invalid JSON ({str(e)[:80]})", _NOT_JSON) from None
        if end == len(text.buf) and _grow(text, start, limit, want):
            continue  # a number at the end of the buffer may go on ("12" of "123")
        surrogates = _SURROGATE_ESCAPE_TEXT.search(text.buf, start, end) is not None
        text.pos = end
        return value, surrogates


def _grow(text: _Text, start: int, limit: int, want: int) -> bool:
    """Read more of a value that starts at ``start``; refuse one larger than ``limit`` characters."""
    if len(text.buf) - start > limit:
        raise InputError(
            text.name,
            f"one value of the document is larger than {limit >> 20} MiB",
            "one patient's document per element",
        )
    return text.more(want)


def iter_json(
    stream: IO[bytes],
    name: str,
    *,
    max_items: int,
    noun: str = "patients",
    item_limit: int = MAX_ITEM_BYTES,
) -> tuple[bool, Iterator[object]]:
    """The document on ``stream``: whether it is an array, and its elements (or the one value) one at a time.

    Each element gets the checks of :func:`load_json` (duplicate keys, surrogates, nesting) as it is
    parsed; an array of more than ``max_items`` elements is refused before the next one is parsed, and an
    empty array as holding no patient. Nothing but whitespace may follow the document.
    """
    text = _Text(stream, name)
    first = text.skip_space()
    if first != "[":
        return False, _single(text, item_limit)
    text.pos += 1
    return True, _elements(text, max_items, noun, item_limit)


def _single(text: _Text, limit: int) -> Iterator[object]:
    if not text.skip_space():
        raise text.invalid(text.pos, "Expecting value")
    value, surrogates = _decode_one(text, limit)
    _check_structure(value, text.name, surrogates=surrogates)
    if text.skip_space():
        raise text.invalid(text.pos, "Extra data")
    yield value


def _elements(text: _Text, max_items: int, noun: str, limit: int) -> Iterator[object]:
    count = 0
    while True:
        c = text.skip_space()
        if c == "]" and count == 0:
            text.pos += 1
            if text.skip_space():
                raise text.invalid(text.pos, "Extra data")
            raise InputError(
                "patients", f"no {noun[:-1]} in the document (an empty array)", "a patient object or array of them"
            )
        if not c:
            raise text.invalid(text.pos, "Expecting value")
        if count == max_items:
            raise InputError(
                "patients",
                f"more than {max_items:,} {noun} in one document",
                f"at most {max_items:,}; use `b2m stage` for cohorts",
            )
        value, surrogates = _decode_one(text, limit)
        _check_structure(value, text.name, surrogates=surrogates, depth=2)
        count += 1
        yield value
        text.drop_consumed()
        c = text.skip_space()
        if c == ",":
            text.pos += 1
            continue
        if c == "]":
            text.pos += 1
            if text.skip_space():
                raise text.invalid(text.pos, "Extra data")
            return
        raise text.invalid(text.pos, "Expecting ',' delimiter" if c else "Expecting ',' delimiter or ']'")


def _check_structure(doc: object, name: str, *, surrogates: bool, depth: int = 1) -> None:
    """Nesting depth (``depth``: the level ``doc`` stands at), and (when the text escapes a surrogate)
    strings that are not valid Unicode."""
    stack: list[tuple[object, int]] = [(doc, depth)]
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


def _domain_objects(
    stream: IO[bytes],
    name: str,
    parse: Callable[..., T],
    max_items: int,
    ident: Callable[[T], str],
) -> tuple[bool, Iterator[T]]:
    is_array, items = iter_json(stream, name, max_items=max_items)
    if not is_array:
        return False, (parse(raw) for raw in items)

    def each() -> Iterator[T]:
        ids: set[str] = set()
        for i, raw in enumerate(items):
            item = parse(raw, default_id=str(i + 1), prefix=f"[{i}]")
            key = ident(item)
            if key in ids:
                raise InputError(f"[{i}].id", "the same patient id appears twice", "one entry per patient")
            ids.add(key)
            yield item

    return True, each()


def iter_patients(stream: IO[bytes], name: str = "input") -> tuple[bool, Iterator[Patient]]:
    """The patients of a ``b2m assess`` document on ``stream``, one at a time (see :func:`iter_json`): whether
    it is an array, and each patient checked (ids unique, at most :data:`MAX_PATIENTS_PER_DOCUMENT`)."""
    return _domain_objects(stream, name, parse_patient, MAX_PATIENTS_PER_DOCUMENT, lambda p: p.id)


def iter_series(stream: IO[bytes], name: str = "input") -> tuple[bool, Iterator[PatientSeries]]:
    """The patients of a ``b2m monitor`` document on ``stream``, one at a time (as :func:`iter_patients`)."""
    return _domain_objects(stream, name, parse_patient_series, MAX_SERIES_PATIENTS, lambda p: p.id)


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
    "MAX_ITEM_BYTES",
    "Loaded",
    "iter_json",
    "iter_patients",
    "iter_series",
    "load_json",
    "open_source",
    "patients_from_json",
    "read_source",
    "series_from_json",
]
