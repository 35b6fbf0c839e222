"""Cleanup that runs even when the run is cut short.

Scratch servers, scratch databases and downloads are removed by ``finally`` blocks; when the
procedure runs in a worker thread and the process is stopped (Ctrl-C, SIGTERM, a runner
timeout followed by exit), the same callbacks run from ``atexit`` instead.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import threading
from collections.abc import Callable, Iterator

log = logging.getLogger("smc_maint.backups.cleanup")
_lock = threading.Lock()
_pending: dict[int, tuple[str, Callable[[], None]]] = {}
_ids = itertools.count()


def _run(what: str, fn: Callable[[], None]) -> None:
    try:
        fn()
    except Exception as exc:
        log.warning("cleanup of %s failed: %s", what, exc)


@atexit.register
def run_pending() -> None:
    """Run every cleanup still registered (newest first)."""
    with _lock:
        items = sorted(_pending.items(), reverse=True)
        _pending.clear()
    for _, (what, fn) in items:
        _run(what, fn)


@contextlib.contextmanager
def always(what: str, fn: Callable[[], None]) -> Iterator[None]:
    """Run ``fn`` when the block ends, however it ends, or at process exit if it never does."""
    key = next(_ids)
    with _lock:
        _pending[key] = (what, fn)
    try:
        yield
    finally:
        with _lock:
            entry = _pending.pop(key, None)
        if entry is not None:
            _run(what, fn)
