"""Progress of long operations (bytes dumped, downloaded, verified) for people at a terminal.

Callers pass ``enabled`` = interactive and not ``--json``; otherwise the callback is None and
nothing is printed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

ProgressFn = Callable[[str, int, int | None], None]


@contextmanager
def terminal_progress(enabled: bool) -> Iterator[ProgressFn | None]:
    """A ``(phase, done, total)`` callback drawing a Rich bar on stderr, or None when disabled.

    ``done``/``total`` are bytes; a phase without a byte count pulses (total None) and is
    finished with ``(phase, 1, 1)``."""
    if not enabled:
        yield None
        return
    bar = Progress(TextColumn("{task.description:>8}"), BarColumn(), DownloadColumn(), TimeElapsedColumn(),
                   console=Console(stderr=True), transient=True)
    tasks: dict[str, Any] = {}

    def update(phase: str, done: int, total: int | None) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(phase, total=total)
        bar.update(tasks[phase], completed=done, total=total)

    with bar:
        yield update
