"""Per-run log files: owner-only, redacted, isolated per run, and never fatal.

A run's file receives only the records of the threads working for that run (two runs started
from the web at once each keep their own file; worker processes write their own records to it
themselves). A log directory that is full or unwritable costs the log, not the run: the
problem becomes a warning in the outcome and one line on stderr, never exit 70 with tracebacks.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path

from .redact import RedactingFilter, redact

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _QuietFileHandler(logging.FileHandler):
    """A FileHandler that, when a write fails (disk full), says so once and stops writing."""

    failed: str | None = None

    def handleError(self, record: logging.LogRecord) -> None:
        if self.failed is None:  # the runner reports it once, on stderr and in the run's note
            exc = sys.exc_info()[1]
            self.failed = redact(f"run log {self.baseFilename} lost: {type(exc).__name__}: {exc}")

    def emit(self, record: logging.LogRecord) -> None:
        if self.failed is None:
            super().emit(record)


def open_handler(path: Path) -> tuple[_QuietFileHandler | None, str | None]:
    """A redacting handler appending to ``path`` (0600), or None and why it could not be opened."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Logs hold hostnames, query texts and paths: owner-only, whatever the caller's umask.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        os.chmod(path, 0o600)
        handler = _QuietFileHandler(path, encoding="utf-8")
    except OSError as exc:
        return None, redact(f"no run log: cannot write {path}: {exc.strerror or exc}")
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactingFilter())
    return handler, None


class _Threads(logging.Filter):
    """Pass only records emitted by the threads registered for one run."""

    def __init__(self) -> None:
        super().__init__()
        self.idents = {threading.get_ident()}

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread in self.idents


class RunLog:
    """Attach a per-run log file to the package logger for the run's duration (see module doc)."""

    def __init__(self, path: Path) -> None:
        self.path: Path | None = path
        self.handler, self.problem = open_handler(path)
        if self.handler is None:
            self.path = None
        self.threads = _Threads()
        self.logger = logging.getLogger("smc_maint")
        self._old_level = self.logger.level

    def adopt(self, thread: threading.Thread) -> None:
        """Records of ``thread`` (a procedure run in-thread) belong to this run too."""
        if thread.ident is not None:
            self.threads.idents.add(thread.ident)

    @property
    def warnings(self) -> list[str]:
        lost = self.handler.failed if self.handler is not None else None
        return [w for w in (self.problem, lost) if w]

    def __enter__(self) -> RunLog:
        if self.handler is not None:
            self.handler.addFilter(self.threads)
            self.logger.addHandler(self.handler)
        if self.logger.level == logging.NOTSET or self.logger.level > logging.INFO:
            self.logger.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.handler is not None:
            self.logger.removeHandler(self.handler)
            self.handler.close()
        self.logger.setLevel(self._old_level)
