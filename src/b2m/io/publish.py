"""Writing output files so that a reader sees the previous complete files or the new complete ones.

Every file b2m stage and b2m cohort values write goes through :class:`Outputs`:

1. **Temporaries beside the targets.** Each output is written to ``.b2m-<run>-XXXX<suffix>`` in its
   target's folder (same filesystem, so the final rename is atomic), created with the permissions a
   new file gets from the umask (a replaced file keeps its mode).
2. **A lock per run and folder.** ``.b2m-<run>.lock`` is created (under a temporary name, locked with
   ``flock``, then renamed into place, so it is never visible unlocked) and held until the run ends.
   The kernel releases the lock when the process dies, also on ``kill -9``: a lock that can be taken
   belongs to a dead run. The lock file names the run's journal.
3. **Durable before visible.** When every temporary is complete it is ``fsync``-ed (a Spark folder:
   each file and the folder).
4. **A roll-forward journal** when a run has more than one output: ``.b2m-<run>.journal`` in the first
   output's folder lists every (temporary, target) pair. It is written to a temporary name, fsynced,
   renamed into place and its folder fsynced: that rename is the commit point. Then each temporary is
   renamed over its target, every folder involved is fsynced and the journal removed.
5. **Recovery by the next run.** Before writing anything, a run sweeps the folders of its outputs: for
   each lock a dead run left, its journal (if committed) is rolled forward (every temporary that still
   exists is renamed over its target; renaming is idempotent, so a recovery interrupted in turn is
   completed by the run after), otherwise its temporaries are removed. So a run killed at any moment
   leaves the previous complete set of outputs or, once the commit point is passed, the new complete
   set, and no temporary of a dead run survives the next run that writes into the same folder.
6. **SIGTERM / SIGINT** (:func:`interruptible`): the work runs in a worker thread so the main thread
   can answer a signal at once, even while an engine is busy in native code. Before the commit point
   the run's temporaries and locks are removed and the process exits (128 + signal); after it, the
   publish (a few renames) is let finish first.

Nothing here holds data in memory; the engines write the temporaries themselves.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import Literal, TypeVar

from b2m.errors import InputError

PREFIX = ".b2m-"
JOURNAL_VERSION = 1
T = TypeVar("T")
Phase = Literal["writing", "publishing", "done"]

_state = threading.RLock()
_active: list[Outputs] = []
_terminating: list[int] = []  # the signal received, once


def _fsync_path(path: Path) -> None:
    """fsync a file, or a folder and every file in it (Spark's part files)."""
    if path.is_dir():
        for child in path.rglob("*"):
            if child.is_file():
                _fsync_fd(child, os.O_RDONLY)
        _fsync_dir(path)
    else:
        _fsync_fd(path, os.O_RDONLY)


def _fsync_fd(path: Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # some filesystems cannot fsync a folder; the rename still happened
        _fsync_fd(path, os.O_RDONLY | os.O_DIRECTORY)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _new_file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _write_durably(path: Path, text: str) -> None:
    """``text`` to ``path`` through a temporary name: fsync the file, rename, fsync the folder."""
    part = path.with_name(path.name + ".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    part.replace(path)
    _fsync_dir(path.parent)


def _move(tmp: Path, target: Path) -> None:
    """``tmp`` replaces ``target`` (a folder Spark wrote is removed first: folders cannot be renamed over)."""
    if not (tmp.exists() or tmp.is_symlink()):
        return  # already moved (a recovery completing an interrupted one)
    if target.exists() and (target.is_dir() or tmp.is_dir()):
        _remove(target)
    tmp.replace(target)


def roll_forward(journal: Path) -> None:
    """Complete the publish a committed journal describes (idempotent), then remove the journal."""
    try:
        doc = json.loads(journal.read_text(encoding="utf-8"))
        pairs = [(Path(t), Path(d)) for t, d in doc["pairs"]]
    except (OSError, ValueError, KeyError, TypeError):
        _remove(journal)  # unreadable: never committed completely (the commit is an atomic rename)
        return
    for tmp, target in pairs:
        _move(tmp, target)
    for folder in {target.parent for _, target in pairs}:
        _fsync_dir(folder)
    _remove(journal)
    _fsync_dir(journal.parent)


def sweep(folder: Path) -> None:
    """Finish or remove what dead runs left in ``folder`` (see the module docstring, step 5)."""
    try:
        locks = sorted(folder.glob(f"{PREFIX}*.lock"))
    except OSError:
        return
    for lock in locks:
        run = lock.name[len(PREFIX) : -len(".lock")]
        try:
            fd = os.open(lock, os.O_RDWR)
        except OSError:
            continue  # removed meanwhile, or not ours to open
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # its run is alive
            journal = _journal_of(lock, run)
            if journal is not None and journal.is_file():
                roll_forward(journal)
            for left in [*folder.glob(f"{PREFIX}{run}-*"), *folder.glob(f"{PREFIX}{run}.*")]:
                if left != lock:
                    _remove(left)
            _remove(lock)
            _fsync_dir(folder)
        finally:
            os.close(fd)


def _journal_of(lock: Path, run: str) -> Path | None:
    try:
        named = json.loads(lock.read_text(encoding="utf-8")).get("journal")
    except (OSError, ValueError, AttributeError):
        return None
    path = Path(named) if isinstance(named, str) else None
    return path if path is not None and path.name == f"{PREFIX}{run}.journal" else None


class Outputs:
    """The outputs of one run: ``temporary(field)`` to write, ``publish()`` to make them visible together.

    Use as a context manager; on leaving, whatever was not published is removed.
    """

    def __init__(self, targets: Mapping[str, Path]) -> None:
        self.targets = {field: Path(os.path.abspath(p)) for field, p in targets.items()}
        self.run = f"{os.getpid()}{uuid.uuid4().hex[:10]}"
        self.folders = list(dict.fromkeys(t.parent for t in self.targets.values()))
        self.journal = self.folders[0] / f"{PREFIX}{self.run}.journal" if self.folders else None
        self.temporaries: dict[str, Path] = {}
        self._modes: dict[str, int] = {}
        self._locks: dict[Path, int] = {}
        self.phase: Phase = "writing"

    def __enter__(self) -> Outputs:
        for folder in self.folders:
            sweep(folder)
        with _state:
            _active.append(self)
        try:
            for field, target in self.targets.items():
                self._lock(field, target.parent)
        except BaseException:
            self.abandon()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.abandon()

    def _lock(self, field: str, folder: Path) -> None:
        if folder in self._locks:
            return
        lock = folder / f"{PREFIX}{self.run}.lock"
        part = folder / f"{PREFIX}{self.run}.lock.part"
        try:
            fd = os.open(part, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except OSError as e:
            raise InputError(field, f"cannot write in {folder}: {e.strerror}", "a folder you can write to") from None
        self._locks[folder] = fd
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, json.dumps({"journal": str(self.journal)}).encode("utf-8"))
        part.replace(lock)

    def temporary(self, field: str) -> Path:
        """A new empty file beside ``field``'s target, for a writer to fill."""
        target = self.targets[field]
        try:
            fd, name = tempfile.mkstemp(prefix=f"{PREFIX}{self.run}-", suffix=target.suffix.lower(), dir=target.parent)
        except OSError as e:
            raise InputError(
                field, f"cannot write in {target.parent}: {e.strerror}", "a folder you can write to"
            ) from None
        try:
            mode = target.stat().st_mode & 0o777 if target.is_file() else _new_file_mode()
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        self.temporaries[field] = Path(name)
        self._modes[field] = mode
        return Path(name)

    def publish(self) -> None:
        """Every temporary replaces its target, all or (after a crash, until the next run) none."""
        for field, tmp in self.temporaries.items():
            if tmp.is_file():  # a writer may have made the file anew: the mode decided at creation
                tmp.chmod(self._modes[field])
            _fsync_path(tmp)
        with _state:
            if _terminating:
                raise InputError("output", "terminated before the outputs were complete", "a run left to finish")
            self.phase = "publishing"
        pairs = [(self.temporaries[f], self.targets[f]) for f in self.temporaries]
        if len(pairs) > 1 and self.journal is not None:
            doc = {"version": JOURNAL_VERSION, "run": self.run, "pairs": [[str(t), str(d)] for t, d in pairs]}
            _write_durably(self.journal, json.dumps(doc))  # the commit point
            roll_forward(self.journal)
        else:
            for tmp, target in pairs:
                _move(tmp, target)
                _fsync_dir(target.parent)
        self.temporaries.clear()
        self.phase = "done"

    def abandon(self) -> None:
        """Remove this run's unpublished temporaries and its locks (a committed journal is kept)."""
        if self.phase != "publishing":
            for tmp in self.temporaries.values():
                _remove(tmp)
            self.temporaries.clear()
        for folder, fd in list(self._locks.items()):
            if self.phase != "publishing":
                _remove(folder / f"{PREFIX}{self.run}.lock")
                _remove(folder / f"{PREFIX}{self.run}.lock.part")
            with contextlib.suppress(OSError):
                os.close(fd)
            del self._locks[folder]
        with _state:
            if self in _active:
                _active.remove(self)


def interruptible(work: Callable[[], T]) -> T:
    """Run ``work`` so that SIGTERM or SIGINT ends the process at once without leaving a temporary.

    ``work`` runs in a worker thread; the main thread waits and answers signals. Called outside the
    main thread (a library user's thread) it simply runs ``work``.
    """
    if threading.current_thread() is not threading.main_thread():
        return work()
    result: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(work())
        except BaseException as e:
            failure.append(e)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        with _state:
            if not _terminating:
                _terminating.append(signum)
            publishing = any(o.phase == "publishing" for o in _active)
            if not publishing:
                for outputs in list(_active):
                    outputs.abandon()
        if not publishing:
            sys.stderr.write(f"b2m: error: stopped by signal {signum}; no output was changed\n")
            sys.stderr.flush()
            os._exit(128 + signum)  # the worker may be inside an engine: no interpreter shutdown

    with _handlers(on_signal):
        worker = threading.Thread(target=target, name="b2m-work", daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(0.1)
    if _terminating:  # a signal came while the outputs were being published: they are complete
        signum = _terminating[0]
        sys.stderr.write(f"b2m: error: stopped by signal {signum} after the outputs were written\n")
        sys.stderr.flush()
        os._exit(128 + signum)
    if failure:
        raise failure[0]
    return result[0]


@contextlib.contextmanager
def _handlers(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    for s in previous:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
