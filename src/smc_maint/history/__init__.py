"""Run history: SQLite by default, PostgreSQL for a fleet (:func:`open_history`)."""

from __future__ import annotations

import os

from ..config.loader import LoadedConfig
from ..errors import ConfigError
from ..redact import register_secret
from .store import History, ResultRow, RunRow, SlotTaken, open_postgres, open_sqlite


def open_history(cfg: LoadedConfig) -> History:
    """The configured history store; a PostgreSQL DSN comes only from the environment."""
    hist = cfg.config.history
    if hist.backend == "postgresql":
        dsn = os.environ.get(hist.dsn_env)
        if not dsn:
            raise ConfigError(f"history.backend is postgresql but {hist.dsn_env} is not set")
        register_secret(dsn)
        return open_postgres(dsn)
    return open_sqlite(cfg.history_path)


__all__ = ["History", "ResultRow", "RunRow", "SlotTaken", "open_history", "open_postgres", "open_sqlite"]
