"""Where the DR database comes from: the newest logical backup, or point-in-time recovery to the end
of the archived WAL (what a real disaster leaves), with the proof of the newest point that copy holds."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg
from psycopg import sql

from ..adapters import postgres
from ..backups.catalog import BackupInfo
from ..backups.markers import Marker, read_markers
from ..backups.restore_test import RestoreTestFailed, pick
from ..config.loader import LoadedConfig
from ..config.model import DatabaseConfig
from ..embedded.postgres import EmbeddedError
from ..pitr import engine
from ..pitr.latest import LatestCheck, check_latest, last_transaction_at
from ..pitr.restore import RecoveryTarget, restored_server
from ..pitr.sets import backup_sets
from ..stores.base import BackupStore
from .settings import DrDrillSettings

Source = Literal["logical", "pitr"]


def choose_source(wanted: str, engine_kind: str, target: str) -> tuple[Source, str]:
    """The source and why (for the plan). Pure; RestoreTestFailed for a ``pitr`` that cannot be."""
    if wanted == "logical":
        return "logical", "the newest logical backup (source: logical)"
    if wanted == "pitr":
        if engine_kind != "pgbackrest":
            raise RestoreTestFailed(f"source: pitr needs point-in-time recovery (backup.engine.kind: pgbackrest; "
                                    f"it is {engine_kind})", stage="plan")
        if target != "local":
            raise RestoreTestFailed("source: pitr restores a whole server and needs target: local", stage="plan")
        return "pitr", "point-in-time recovery to the end of the archived WAL (source: pitr)"
    if engine_kind != "pgbackrest":
        return "logical", "the newest logical backup (no point-in-time recovery configured)"
    if target != "local":
        return "logical", ("the newest logical backup: point-in-time recovery needs a whole scratch server on this "
                           "machine and target is server")
    return "pitr", "point-in-time recovery to the end of the archived WAL (pgBackRest is configured)"


@dataclass(frozen=True)
class Basis:
    """What the DR copy is restored from."""

    source: Source
    note: str
    backup_id: str  # the logical backup, or the pgBackRest set recovery starts from
    created_at: datetime
    provable_at: datetime  # the copy surely holds what was committed before (snapshot, or the set's start)
    info: BackupInfo | None = None  # the logical backup


def basis(cfg: LoadedConfig, store: BackupStore, settings: DrDrillSettings, now: datetime) -> Basis:
    """Decide the source and find what it restores (RestoreTestFailed / EngineError when nothing)."""
    source, note = choose_source(settings.source, cfg.config.backup.engine.kind, settings.target)
    if source == "logical":
        info = pick(store, settings.backup_id, now=now, skew_seconds=cfg.config.backup.max_clock_skew_seconds)
        return Basis(source, note, info.id, info.created_at, info.created_at, info)
    sets = backup_sets(engine.info(engine.layout(cfg)))
    if not sets:
        raise RestoreTestFailed("source: pitr: pgBackRest has no backup set to restore", stage="list")
    newest = sets[-1]
    return Basis(source, note, newest.label, newest.stopped_at, newest.started_at)


@dataclass(frozen=True)
class PitrCopy:
    db: DatabaseConfig
    restore_seconds: float  # pgBackRest restore, server start, replay and promotion
    verify_seconds: float
    last_xact_at: datetime | None  # the server log's last completed transaction
    check: LatestCheck
    empty: list[str]  # required tables missing or without rows (the runbook's check)


def empty_tables(conn: Any, required: list[str]) -> list[str]:
    """The runbook's non-empty check on the copy (``schema.table`` or a table on the search path)."""
    out = []
    for name in required:
        row = conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()
        if row is None or row[0] is None:
            out.append(f"{name}: does not exist (runbook check: must have rows)")
            continue
        query = sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(*name.split(".")))
        found = conn.execute(query).fetchone()
        if not (found and found[0]):
            out.append(f"{name}: has no rows (runbook check: must be > 0)")
    return out


@contextlib.contextmanager
def pitr_copy(cfg: LoadedConfig, base: Basis, production: list[Marker], required: list[str], *,
              timeout: float) -> Iterator[PitrCopy]:
    """Restore ``base``'s set to the end of the archived WAL into a scratch server (removed on exit),
    check its markers against production's up to the last transaction the server log names and that
    the ``required`` tables have rows."""
    stack = contextlib.ExitStack()
    try:
        target = RecoveryTarget(latest=True, backup_set=base.backup_id)
        server, db, took = stack.enter_context(restored_server(cfg, engine.layout(cfg), target, timeout=timeout))
        t = time.monotonic()
        last = last_transaction_at(server.log_file.read_text(errors="replace"))
        with postgres.connect(db, autocommit=True) as conn:
            restored = read_markers(conn)
            empty = empty_tables(conn, required)
        check = check_latest(production, restored, last, base.provable_at)
        copy = PitrCopy(db, took, time.monotonic() - t, last, check, empty)
    except (engine.EngineError, EmbeddedError, OSError, psycopg.Error) as exc:
        stack.close()
        raise RestoreTestFailed(f"point-in-time restore of {base.backup_id} failed: {exc}", backup_id=base.backup_id,
                                stage="restore") from None
    except BaseException:  # SafetyRefusal, Ctrl-C: the scratch server goes all the same
        stack.close()
        raise
    with stack:
        yield copy
