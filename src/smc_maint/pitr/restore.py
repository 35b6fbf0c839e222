"""Restore the engine's backups into a scratch server to a moment T and prove where it stopped."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..adapters import postgres
from ..backups.create import work_dir
from ..backups.markers import Marker, read_markers, write_marker
from ..backups.scratch import local_binaries
from ..backups.stale import claim, reap
from ..config.loader import LoadedConfig
from ..config.model import DatabaseConfig
from ..embedded.postgres import EmbeddedPostgres, free_port
from ..errors import SafetyRefusal
from . import engine
from .proof import Proof, prove

PURPOSE = "pitr"


def pg_time(at: datetime) -> str:
    """A recovery_target_time PostgreSQL parses exactly (microseconds, UTC offset)."""
    return at.isoformat(sep=" ", timespec="microseconds")


def confined(scratch: Path, pg_data: Path) -> None:
    """Refuse a scratch directory that is (or is inside, or holds) the production data directory."""
    s, p = scratch.resolve(), pg_data.resolve()
    if s == p or p in s.parents or s in p.parents:
        raise SafetyRefusal(f"PITR scratch directory {s} overlaps the production data directory {p}")


def wait_archived(conn: Any, timeout: float = 120) -> str:
    """Close the current WAL segment and wait until the archiver has shipped it (its name)."""
    row = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()
    segment = str(row[0])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()
        if done and done[0] and str(done[0])[:24] >= segment[:24]:
            return segment
        time.sleep(0.2)
    raise engine.EngineError(f"WAL segment {segment} was not archived within {timeout:g} s (archive_command failing?)")


@dataclass(frozen=True)
class Outcome:
    target: datetime
    rto_seconds: float
    proof: Proof
    table_rows: dict[str, int]
    server_log_tail: str


@dataclass(frozen=True)
class RecoveryTarget:
    """Where recovery stops: a moment (``time``), a WAL position (``lsn``, stopping just before
    the first record at or after it) or the end of the archived WAL (``latest``), optionally from
    one backup set (``--set``)."""

    time: datetime | None = None
    lsn: str | None = None
    backup_set: str | None = None
    latest: bool = False

    def args(self) -> list[str]:
        """pgBackRest restore options. Pure."""
        if [self.time is not None, self.lsn is not None, self.latest].count(True) != 1:
            raise ValueError("a recovery target is a time, an LSN or the latest point")
        if self.latest:  # --type=default: no target, and pgBackRest refuses --target-action with it
            return ["--type=default", *([f"--set={self.backup_set}"] if self.backup_set is not None else []),
                    "--archive-mode=off"]
        out = (["--type=time", f"--target={pg_time(self.time)}"] if self.time is not None
               else ["--type=lsn", f"--target={self.lsn}", "--target-exclusive"])
        if self.backup_set is not None:
            out.append(f"--set={self.backup_set}")
        return [*out, "--target-action=promote", "--archive-mode=off"]


@contextlib.contextmanager
def restored_server(cfg: LoadedConfig, lay: engine.Layout, target: RecoveryTarget, *, timeout: float
                    ) -> Iterator[tuple[EmbeddedPostgres, DatabaseConfig, float]]:
    """pgBackRest restores to ``target`` into a fresh scratch directory, a server starts there and is
    promoted; yields it, a connection config for it and the seconds it took (the RTO). Removed on exit.

    ``timeout`` bounds the whole (restore, start, replay, promotion), not each step. The directory
    carries this process's ``owner.pid``: if it is killed, the next run stops the server and removes it."""
    deadline = time.monotonic() + timeout

    def left() -> float:
        return max(1.0, deadline - time.monotonic())

    reap(work_dir(cfg))  # what a killed restore left: its server stopped, its directory removed
    run_dir = Path(tempfile.mkdtemp(prefix="pitr-", dir=work_dir(cfg)))
    os.chmod(run_dir, 0o711)  # noqa: S103 - the OS user must traverse it; data/ inside is 0700
    claim(run_dir)
    data = run_dir / "data"
    confined(data, lay.pg_data)
    user = engine.os_user(lay)
    data.mkdir(mode=0o700)
    if os.geteuid() == 0:
        os.chown(data, user.pw_uid, user.pw_gid)
    server: EmbeddedPostgres | None = None
    try:
        started = time.monotonic()
        engine.check_ok(engine.run(lay, f"--pg1-path={data}", *target.args(), "restore", timeout=left()),
                        "restore")
        major = int((data / "PG_VERSION").read_text().strip())
        binaries = local_binaries(cfg.config.database, cfg.config.embedded.postgres, major)
        # queries on the scratch server end with the timeout too
        server = EmbeddedPostgres(data, free_port(), binaries, settings={
            "archive_mode": "off", "statement_timeout": str(max(1, int(timeout * 1000)))})
        server.start(timeout=left())
        db = cfg.config.database.model_copy(update={"host": server.host, "port": server.port, "sslmode": "prefer"})
        while True:
            with postgres.connect(db) as conn:
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
            if row and not row[0]:
                break
            if time.monotonic() > deadline:
                raise engine.EngineError(f"the restored server did not finish recovery within {timeout:g} s")
            time.sleep(0.2)
        yield server, db, time.monotonic() - started
    finally:
        if server is not None:
            server.destroy()
        shutil.rmtree(run_dir, ignore_errors=True)


def count_rows(conn: Any, tables: list[str]) -> dict[str, int]:
    out = {}
    for name in tables:
        row = conn.execute(f"SELECT count(*) FROM {name}").fetchone()
        out[name] = int(row[0])
    return out


def restore_and_prove(cfg: LoadedConfig, lay: engine.Layout, target: datetime, source: list[Marker], *,
                      tables: list[str], timeout: float) -> Outcome:
    with restored_server(cfg, lay, RecoveryTarget(time=target), timeout=timeout) as (server, db, rto):
        with postgres.connect(db) as conn:
            restored = read_markers(conn)
            rows = count_rows(conn, tables)
        log = server.log_file.read_text(errors="replace")
    proof = prove(source, restored, target, log)
    return Outcome(target, rto, proof, rows, "\n".join(log.splitlines()[-15:]))


def bracket_now(conn: Any, not_before: datetime) -> tuple[datetime, list[Marker]]:
    """Write a marker, take T just after its commit, write another after T and ship the WAL: a
    fresh moment with a marker on each side. Returns T and the markers (all of them).

    T is after ``not_before`` (the newest backup set's stop time, which pgBackRest records in
    whole seconds and needs strictly before the target)."""
    while True:
        row = conn.execute("SELECT clock_timestamp()").fetchone()
        wait = (not_before - row[0]).total_seconds() + 1.1
        if wait <= 0:
            break
        time.sleep(min(wait, 5))
    write_marker(conn, PURPOSE)
    time.sleep(0.05)
    row = conn.execute("SELECT clock_timestamp()").fetchone()
    target: datetime = row[0]
    time.sleep(0.05)
    write_marker(conn, PURPOSE)
    wait_archived(conn)
    return target, read_markers(conn)
