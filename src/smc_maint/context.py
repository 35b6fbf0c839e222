"""What a procedure receives: configuration, adapters and run facts. Nothing global."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from .adapters import postgres
from .adapters.clock import Clock, SystemClock
from .adapters.platform import Platform
from .config.loader import LoadedConfig
from .history import History
from .stores import BackupStore


@dataclass
class Context:
    cfg: LoadedConfig
    history: History
    run_id: str
    group: str
    clock: Clock = field(default_factory=SystemClock)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("smc_maint"))
    dry_run: bool = False
    interactive: bool = False
    platform_override: Platform | None = None  # tests inject one; else platform() opens the configured one
    deadline: float | None = None  # time.monotonic() by which the procedure must be done (deadline.check)

    def connect(self, *, dbname: str | None = None, autocommit: bool = True, **extra: Any
                ) -> psycopg.Connection[Any]:
        """A connection to the production database (raises DatabaseUnavailable, redacted)."""
        return postgres.connect(self.cfg.config.database, dbname=dbname, autocommit=autocommit, **extra)

    def platform(self) -> Platform:
        """Where the trading platform runs (Kubernetes namespace or this machine): the one seam to it."""
        if self.platform_override is not None:
            return self.platform_override
        from .adapters.platform import open_platform

        return open_platform(self.cfg)

    @property
    def report_dir(self) -> Path:
        path = self.cfg.report_dir
        path.mkdir(parents=True, exist_ok=True)
        return path

    def store(self) -> BackupStore:
        """The configured backup store (local directory or S3)."""
        from .stores import open_store

        return open_store(self.cfg)
