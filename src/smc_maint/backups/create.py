"""``backup create``: one exported snapshot feeds pg_dump and the table facts, then data, then manifest.

pg_dump writes an uncompressed custom archive that zstd compresses on the other core, while a
second session reads exact row counts and fingerprints of every table inside the same snapshot.
The manifest is published last: until it exists the backup does not count.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from .. import __version__
from ..adapters import postgres
from ..adapters.clock import Clock, SystemClock
from ..config.loader import LoadedConfig
from ..deadline import DeadlineExceeded, check, server_bounds
from ..embedded.postgres import EmbeddedError, tool_version
from ..errors import LockHeld
from ..lock import store_lock
from ..redact import redact
from ..stores.base import CHUNK, BackupStore, StoreError
from .manifest import MANIFEST, Artifact, Manifest, TableFacts
from .pipeline import PipelineError, pipeline, zstd_binary
from .progress import ProgressFn as Progress
from .schema_facts import schema_facts, sequence_positions
from .scratch import read_system_identifier
from .stale import claim, reap
from .table_facts import STABLE_SESSION, table_facts, user_tables

log = logging.getLogger("smc_maint.backups")
DUMP_ZSTD = "database.dump.zst"
DUMP_PLAIN = "database.dump"
# Read in the statement that takes the snapshot, right after it: every transaction the snapshot
# sees has its commit record before this WAL position (a commit leaves the proc array only after
# writing it), so a point-in-time restore to it holds at least the snapshot's data.
WAL_LSN = "CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_insert_lsn()::text END"
XACT_SNAPSHOT = "pg_current_snapshot()::text"


class BackupError(Exception):
    """The backup could not be taken; nothing was published. The message says why."""


def new_backup_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def work_dir(cfg: LoadedConfig) -> Path:
    """Staging for dumps and downloads. Traversable (not listable) so that a scratch server's
    unprivileged user can reach its data directory below it; every entry inside is 0700."""
    path = cfg.config.backup.work_dir or cfg.home / "work"
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o711)
    return path


def _dump_argv(pg_dump: str, snapshot: str, compress_in_pg_dump: bool, lock_wait_ms: int) -> list[str]:
    return [pg_dump, "--format=custom", f"--compress={6 if compress_in_pg_dump else 0}",
            f"--snapshot={snapshot}", "--no-password", f"--lock-wait-timeout={lock_wait_ms}"]


# Who holds up a session: pid, state, query and how long its transaction has been open.
BLOCKERS = """
SELECT a.pid, a.state, left(coalesce(a.query, ''), 200),
       extract(epoch FROM now() - coalesce(a.xact_start, a.query_start, a.backend_start))::float8
FROM pg_stat_activity a WHERE a.pid = ANY(pg_blocking_pids(%s))
"""


def describe_blockers(rows: list[tuple[Any, ...]]) -> str:
    """Pure: 'pid 123 (idle in transaction, 42 s): LOCK TABLE trades ...' for each blocker."""
    if not rows:
        return "the blocking session could not be identified"
    return "; ".join(f"blocked by pid {r[0]} ({r[1] or 'unknown state'}, {float(r[3] or 0):.0f} s): "
                     f"{redact(str(r[2]))}" for r in rows)


@contextmanager
def naming_blockers(conn: psycopg.Connection[Any], connect: Callable[[], psycopg.Connection[Any]],
                    lock_ms: int) -> Iterator[None]:
    """Lock waits in the block end after ``lock_ms`` with a BackupError naming who blocked us.

    A second session watches ``pg_blocking_pids`` of ours while we wait: by the time the lock
    times out the blocked request is gone, so the blockers are recorded as they are seen.
    """
    conn.execute(f"SET lock_timeout = {int(lock_ms)}")
    backend = conn.info.backend_pid
    seen: list[tuple[Any, ...]] = []
    stop = threading.Event()

    def watch() -> None:
        try:
            with connect() as mon:
                while True:
                    rows = mon.execute(BLOCKERS, (backend,)).fetchall()
                    if rows:
                        seen[:] = [tuple(r) for r in rows]
                    if stop.wait(0.1):
                        return
        except Exception as exc:  # the watch only improves the message
            log.debug("blocker watch ended: %s", exc)

    watcher = threading.Thread(target=watch, name="lock-watch", daemon=True)
    watcher.start()
    try:
        yield
    except psycopg.errors.LockNotAvailable:
        stop.set()
        watcher.join(2)
        raise BackupError(f"could not lock the tables to dump within {lock_ms / 1000:g} s: "
                          f"{describe_blockers(seen)}") from None
    finally:
        stop.set()
        watcher.join(2)


def _bounds(cfg: LoadedConfig, deadline: float) -> dict[str, int]:
    """Server-side timeouts of the backup's sessions: all of them end with the deadline."""
    return server_bounds(deadline, statement_seconds=float("inf"), lock_seconds=cfg.config.backup.lock_wait_seconds,
                         grace_seconds=cfg.config.runner.timeout_grace_seconds)


def create_backup(cfg: LoadedConfig, store: BackupStore, *, emergency: bool = False,
                  clock: Clock | None = None, progress: Progress | None = None,
                  after_snapshot: Callable[[], None] | None = None, deadline: float | None = None) -> Manifest:
    """Take a backup of the configured database into ``store`` and return its manifest.

    ``after_snapshot`` runs once the snapshot is exported (tests use it to write concurrently).
    ``deadline`` (``time.monotonic()``; default: the backup timeout from now) bounds every session
    and is checked before upload and publication. Only one backup of a store runs at a time.
    Raises :class:`BackupError`; on failure whatever was uploaded is removed again.
    """
    try:
        with store_lock(cfg.lock_dir, store.description):
            return _create(cfg, store, emergency=emergency, clock=clock, progress=progress,
                           after_snapshot=after_snapshot,
                           deadline=deadline or time.monotonic() + cfg.config.runner.timeout_for("backup"))
    except LockHeld as exc:
        raise BackupError(str(exc)) from None


def _create(cfg: LoadedConfig, store: BackupStore, *, emergency: bool, clock: Clock | None,
            progress: Progress | None, after_snapshot: Callable[[], None] | None, deadline: float) -> Manifest:
    clock = clock or SystemClock()
    db = cfg.config.database
    opts = cfg.config.backup
    created = clock.now()
    backup_id = new_backup_id(created)
    t0 = time.monotonic()
    try:
        pg_dump = postgres.tool(db, "pg_dump")
    except FileNotFoundError as exc:
        raise BackupError(str(exc)) from None
    try:
        dump_major, dump_version = tool_version(pg_dump)
    except EmbeddedError as exc:
        raise BackupError(str(exc)) from None
    zstd = zstd_binary() if opts.compression == "zstd" else None
    if opts.compression == "zstd" and zstd is None:
        raise BackupError("backup.compression is zstd but no zstd binary is on PATH (install zstd, or set "
                          "backup.compression: pg_dump)")
    reap(work_dir(cfg))
    staging = work_dir(cfg) / f"create-{backup_id}"
    staging.mkdir(mode=0o700)
    claim(staging)
    artifact = DUMP_ZSTD if zstd else DUMP_PLAIN
    local = staging / artifact
    published = False
    bounds = _bounds(cfg, deadline)
    options = " ".join(f"-c {k}={v}" for k, v in bounds.items())
    try:
        try:
            conn = postgres.connect(db, autocommit=True, options=options)
        except postgres.DatabaseUnavailable as exc:
            raise BackupError(f"database unreachable: {exc}") from None
        with conn:
            server_major = postgres.server_version_num(conn) // 10000
            if dump_major < server_major:
                raise BackupError(f"{pg_dump} is version {dump_major} but the server is {server_major}: "
                                  f"pg_dump must be at least the server's major version (set database.bin_dir)")
            system_id = read_system_identifier(conn)
            for stmt in STABLE_SESSION:
                conn.execute(stmt)
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            row = conn.execute(f"SELECT pg_export_snapshot(), {WAL_LSN}, "
                               f"{XACT_SNAPSHOT if server_major >= 13 else 'NULL'}, "
                               "current_setting('server_version'), pg_database_size(current_database())").fetchone()
            assert row is not None
            snapshot, wal_lsn, xact_snapshot = str(row[0]), row[1], row[2]
            server_version, db_size = str(row[3]), int(row[4])

            def connect() -> Any:
                return postgres.connect(db, autocommit=True, options=options)

            with naming_blockers(conn, connect, bounds["lock_timeout"]):
                tables = user_tables(conn)  # pg_relation_size waits for the tables' locks too
                if tables:
                    names = ", ".join(f'"{s.replace(chr(34), chr(34) * 2)}"."{t.replace(chr(34), chr(34) * 2)}"'
                                      for s, t in tables)
                    conn.execute(f"LOCK TABLE {names} IN ACCESS SHARE MODE")
            # sequences first: pg_dump reads them later, so it can only have them at or past this point
            objects = schema_facts(conn, sequence_positions(conn))
            if after_snapshot:
                after_snapshot()

            with ThreadPoolExecutor(1, thread_name_prefix="backup-facts") as pool:
                facts_future: Future[dict[str, TableFacts]] = pool.submit(
                    table_facts, connect, tables, snapshot=snapshot, jobs=opts.fingerprint_jobs)
                size, digest = _dump(cfg, pg_dump, zstd, snapshot, local, progress, bounds["lock_timeout"])
                try:
                    facts = facts_future.result()
                except Exception as exc:
                    raise BackupError(f"reading table facts failed: {type(exc).__name__}: {exc}") from None
            conn.execute("COMMIT")
        manifest = Manifest(
            backup_id=backup_id, created_at=created, tool_version=__version__, database=db.dbname,
            system_identifier=system_id, server_version=server_version, server_version_num=server_major * 10000,
            database_size_bytes=db_size, snapshot=snapshot, wal_lsn=wal_lsn, xact_snapshot=xact_snapshot,
            dump_format="custom+zstd" if zstd else "custom", pg_dump_version=dump_version,
            emergency=emergency, duration_seconds=0.0,
            artifacts=[Artifact(name=artifact, size=size, sha256=digest)], tables=facts, objects=objects,
        )
        if progress:
            progress("upload", 0, size)
        check(deadline, "uploading the backup")
        store.upload(local, f"{backup_id}/{artifact}")
        manifest = manifest.model_copy(update={"duration_seconds": round(time.monotonic() - t0, 3)})
        check(deadline, "publishing the backup's manifest")
        store.write_bytes(f"{backup_id}/{MANIFEST}", manifest.to_bytes())
        published = True
        if progress:
            progress("upload", size, size)
        log.info("backup %s published to %s: %d bytes, %d tables", backup_id, store.description, size,
                 len(facts))
        return manifest
    except BaseException as exc:
        if not published:
            _discard(store, backup_id)
        if isinstance(exc, StoreError):
            raise BackupError(f"store: {exc}") from None
        if isinstance(exc, (PipelineError, DeadlineExceeded)):
            raise BackupError(str(exc)) from None
        if isinstance(exc, psycopg.Error):
            raise BackupError(f"database: {redact(str(exc).strip())}") from None
        if isinstance(exc, OSError):
            raise BackupError(f"staging {staging}: {exc}") from None
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # if we are killed instead, stale.reap removes it


def _dump(cfg: LoadedConfig, pg_dump: str, zstd: str | None, snapshot: str, local: Path,
          progress: Progress | None, lock_wait_ms: int) -> tuple[int, str]:
    """Run pg_dump (| zstd) into ``local``, hashing on the way; returns (size, sha256)."""
    opts = cfg.config.backup
    commands: list[tuple[str, list[str]]] = [("pg_dump", _dump_argv(pg_dump, snapshot, zstd is None, lock_wait_ms))]
    if zstd:
        commands.append(("zstd", [zstd, f"-{opts.zstd_level}", f"-T{opts.zstd_threads}", "-q", "-c"]))
    digest = hashlib.sha256()
    size = 0
    with postgres.libpq_env(cfg.config.database, secret_dir=cfg.secret_dir) as env, pipeline(commands, env=env) as pipe, \
            open(local, "wb") as out:
        while chunk := pipe.stdout.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
            if progress:
                progress("dump", size, None)
        pipe.check()
    if size == 0:
        raise BackupError("pg_dump produced no data")
    return size, digest.hexdigest()


def _discard(store: BackupStore, backup_id: str) -> None:
    """Remove a half-published backup (its manifest was never completely written)."""
    try:
        store.delete(backup_id)
    except Exception as exc:  # cleanup must not hide the original error
        log.warning("could not remove the partial backup %s: %s", backup_id, exc)

