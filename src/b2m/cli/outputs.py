"""Where the commands write: checked before any work, and a failed write said in one line.

An output must be a path in a folder this process can write (not under ``/proc`` or ``/sys``, not a file
where a folder is wanted, not the input itself). The folder is probed by creating and removing an empty
temporary file in it, which answers what permission bits cannot (``/proc`` accepts nothing even from
root; a read-only mount refuses every user). A write that still fails (a full disk) becomes one
:class:`~b2m.errors.InputError` naming the option, never a traceback.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from b2m.errors import InputError

WRITABLE = "a path in a folder you can write to"


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and a.samefile(b)
    except OSError:
        return False


def _probe(folder: Path, option: str) -> None:
    try:
        fd, tmp = tempfile.mkstemp(prefix=".b2m-probe-", dir=folder)
    except OSError as e:
        raise InputError(option, f"cannot write in {folder} ({e.strerror or type(e).__name__})", WRITABLE) from None
    os.close(fd)
    Path(tmp).unlink(missing_ok=True)


def _inputs(inputs: Iterable[object]) -> list[Path]:
    return [Path(str(i)) for i in inputs if isinstance(i, str | os.PathLike) and str(i) != "-"]


def check_output_file(path: Path, option: str, inputs: Iterable[object] = ()) -> None:
    """``path`` can be written as a file: its folder exists and is writable, it is no folder, and it is not
    one of ``inputs``."""
    if path.is_dir():
        raise InputError(option, f"is a folder: {path}", "a file name")
    for source in _inputs(inputs):
        if _same(path, source):
            raise InputError(option, "is the input file: writing it would destroy the input", "another file name")
    folder = path.parent
    if not folder.is_dir():
        raise InputError(option, f"no such directory: {folder}", "an existing directory")
    _probe(folder, option)


def check_output_folder(path: Path, option: str, inputs: Iterable[object] = ()) -> None:
    """``path`` can hold the outputs: a folder (or one that can be created) that is writable and is neither
    an input nor a folder holding an input file the outputs could replace."""
    for source in _inputs(inputs):
        if _same(path, source):
            kind = "folder" if source.is_dir() else "file"
            raise InputError(
                option, f"is the input {kind}: the outputs would be mixed with the input", "another folder"
            )
    if path.exists() and not path.is_dir():
        raise InputError(option, f"is a file, not a folder: {path}", "a folder (created if missing)")
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(option, f"{existing} is a file, not a folder", "a folder (created if missing)")
    _probe(existing, option)


@contextmanager
def writing(option: str, target: Path) -> Iterator[None]:
    """Turn a failed write (a full disk, a folder removed meanwhile) into one line naming the option."""
    try:
        yield
    except InputError:
        raise
    except OSError as e:
        raise InputError(option, f"cannot write {target} ({e.strerror or type(e).__name__})", WRITABLE) from None


__all__ = ["check_output_file", "check_output_folder", "writing"]
