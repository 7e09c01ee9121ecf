"""Table files (CSV, Parquet) refused from their first and last bytes, before an engine is asked to read them.

A reader handed a hostile file can take minutes and gigabytes (a header of a million columns), abort the
process (a Rust panic is no Python ``Exception``) or answer with a message quoting a row (patient ids). So
what can be seen cheaply is checked here first: an empty file, binary data (a NUL byte in the first 64
KiB), a header that is not UTF-8 text or is wider than the format allows, and a Parquet file that is not
whole (its magic bytes and footer length). Errors name the file and the problem, never its content.
"""

from __future__ import annotations

from pathlib import Path

from b2m.errors import FileFormatError

PROBE_BYTES = 1 << 16
MAX_HEADER_BYTES = 1 << 20
MAX_PARQUET_FOOTER_BYTES = 64 << 20  # schema and row-group index; real tables of b2m need kilobytes to megabytes


def check_csv(path: Path, name: str, accepted: str, *, max_fields: int) -> None:
    """An empty, binary, non-UTF-8 or too wide CSV file, refused from its first line."""
    with path.open("rb") as fh:
        head = fh.read(MAX_HEADER_BYTES + 1)
    if not head.strip():
        raise FileFormatError(name, "is an empty file", accepted)
    if b"\x00" in head[:PROBE_BYTES]:
        raise FileFormatError(name, "has a NUL byte: a binary file, not CSV text", accepted)
    end = head.find(b"\n")
    if end < 0 and len(head) > MAX_HEADER_BYTES:
        raise FileFormatError(name, f"header row longer than {MAX_HEADER_BYTES >> 20} MiB", accepted)
    try:
        header = (head if end < 0 else head[:end]).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileFormatError(name, "header row is not UTF-8 text", accepted) from None
    fields = max(header.count(sep) for sep in (",", ";", "\t")) + 1
    if fields > max_fields:
        raise FileFormatError(name, f"header has {fields:,} columns (at most {max_fields:,})", accepted)


def check_parquet(path: Path, name: str, accepted: str) -> None:
    """A truncated file, another format named .parquet, or a footer too large to be a table's."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(4)
        fh.seek(max(size - 8, 0))
        tail = fh.read(8)
    footer = int.from_bytes(tail[:4], "little") if len(tail) == 8 else 0
    if size < 12 or head != b"PAR1" or tail[4:] != b"PAR1" or footer > size - 12:
        raise FileFormatError(name, "is not a complete Parquet file (truncated or another format)", accepted)
    if footer > MAX_PARQUET_FOOTER_BYTES:
        raise FileFormatError(name, f"Parquet footer larger than {MAX_PARQUET_FOOTER_BYTES >> 20} MiB", accepted)


def check_table_file(path: Path, name: str, accepted: str, *, max_fields: int = 4096) -> None:
    """:func:`check_csv` or :func:`check_parquet` by the file's suffix (other suffixes are left to the caller)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        check_csv(path, name, accepted, max_fields=max_fields)
    elif suffix == ".parquet":
        check_parquet(path, name, accepted)


__all__ = ["check_csv", "check_parquet", "check_table_file"]
