"""A progress bar on the terminal (rich), only when stderr is a terminal: nothing else ever prints."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from b2m.cohort.survival import ProgressHook


@contextmanager
def terminal_progress(stream: TextIO | None = None) -> Iterator[ProgressHook | None]:
    """A rich progress bar on ``stream`` (stderr) when it is a terminal; otherwise no hook at all."""
    out = stream if stream is not None else sys.stderr
    if not out.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeRemainingColumn

    tasks: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=Console(file=out),
        transient=True,
    ) as bar:

        def hook(description: str, completed: int, total: int) -> None:
            channel = description.split(":", 1)[0]
            if channel not in tasks:
                tasks[channel] = bar.add_task(description, total=total or None)
            bar.update(tasks[channel], description=description, completed=completed, total=total or None)

        yield hook
