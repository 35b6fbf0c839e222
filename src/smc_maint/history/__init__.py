"""Run history: SQLite by default, PostgreSQL for a fleet (:func:`open_history`)."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, HistoryUnavailable
from ..redact import redact
from .store import History, ResultRow, RunRow, SlotTaken, open_postgres, open_sqlite

if TYPE_CHECKING:  # the config (pydantic) is not needed to import the store: keeps `smc-maint --help` fast
    from ..config.loader import LoadedConfig


def open_history(cfg: LoadedConfig) -> History:
    """The configured history store; a PostgreSQL DSN comes only from the environment.

    Raises :class:`HistoryUnavailable` (its own exit code) when the store cannot be opened: an
    unreachable database is an operational problem to report clearly, not an internal error.
    """
    from ..config.model import read_secret

    hist = cfg.config.history
    if hist.backend == "postgresql":
        dsn = read_secret(hist.dsn_env, None)
        if not dsn:
            raise ConfigError(f"history.backend is postgresql but {hist.dsn_env} is not set")
        import psycopg

        try:
            opened = open_postgres(dsn, dsn_env=hist.dsn_env)
        except psycopg.Error as exc:
            raise HistoryUnavailable(redact(f"history database ({hist.dsn_env}) unreachable: "
                                            f"{type(exc).__name__}: {exc}".strip())) from None
    else:
        try:
            opened = open_sqlite(cfg.history_path)
        except (OSError, sqlite3.Error) as exc:
            raise HistoryUnavailable(f"history file {cfg.history_path} unusable: {type(exc).__name__}: "
                                     f"{exc}") from None
    opened.longest = cfg.config.longest_run_seconds
    return opened


class UnavailableHistory(History):
    """A history that could not be opened (a worker's procedure still runs): every query raises why."""

    def __init__(self, reason: str) -> None:  # no connection, no schema: nothing to reach
        self.reason = reason
        self.locator = {}
        self.longest = None

    def _tx(self) -> Any:
        raise HistoryUnavailable(self.reason)


def open_postgres_from_env(dsn_env: str) -> History:
    """The PostgreSQL history whose DSN is in ``dsn_env`` (a worker process reopening its parent's)."""
    from ..config.model import read_secret

    dsn = read_secret(dsn_env, None)
    if not dsn:
        raise ConfigError(f"history.backend is postgresql but {dsn_env} is not set")
    return open_postgres(dsn, dsn_env=dsn_env, init_schema=False)


__all__ = [
    "History",
    "ResultRow",
    "RunRow",
    "SlotTaken",
    "UnavailableHistory",
    "open_history",
    "open_postgres",
    "open_postgres_from_env",
    "open_sqlite",
]
