"""Point-in-time recovery end to end: a real archiving PostgreSQL, the real pgBackRest, a local
repository and moto S3 (TLS), restores to a moment proven by markers and row counts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from smc_maint.backups.markers import read_markers, write_marker
from smc_maint.pitr import engine
from smc_maint.pitr.exact import NOT_RUN_SUMMARY
from smc_maint.pitr.sets import backup_sets
from smc_maint.procedures import physical_backup, pitr_restore_test
from smc_maint.result import Status

from .backup_support import make_ctx
from .pitr_support import S3_SECRET, ArchivingDb, TlsS3, archiving_db, archiving_db_s3
from .procedure_run import run_one

__all__ = ["archiving_db", "archiving_db_s3"]


def _restore_to_a_moment(db: ArchivingDb) -> dict[str, Any]:
    """Back up, insert trades, note T between two markers, insert more, restore to T: exact."""
    first = physical_backup.run(make_ctx(db.cfg), physical_backup.Settings())
    assert first.status is Status.OK, first.summary
    assert first.details["type"] == "full"
    time.sleep(1.2)  # pgBackRest records the stop in whole seconds; a target must come after it
    db.insert_trades(11)
    with db.connect() as conn:
        before = write_marker(conn, "test")
        time.sleep(0.3)
        row = conn.execute("SELECT clock_timestamp()").fetchone()
        assert row is not None
        target = row[0]
        time.sleep(0.3)
    at_target = db.trades()
    db.insert_trades(7)
    with db.connect() as conn:
        after = write_marker(conn, "test")
    assert db.trades() == at_target + 7

    result = pitr_restore_test.run(make_ctx(db.cfg), pitr_restore_test.Settings(target=target))
    assert result.status is Status.OK, result.summary + json.dumps(result.details, default=str)
    assert result.details["rows"]["trades"] == at_target, "exactly the trades committed up to T"
    assert result.details["markers_found"] == result.details["markers_expected"] >= 1
    assert "recovery stopping before commit" in result.details["stop"]
    assert before.written_at <= target < after.written_at
    assert result.figures["pitr_rto_seconds"] > 0
    # no logical backup in the store: said so, not a failure, and no exact figures
    assert NOT_RUN_SUMMARY in result.summary and result.details["exact"]["verdict"] == "not_run"
    assert "pitr_exact_proven" not in result.figures

    second = physical_backup.run(make_ctx(db.cfg), physical_backup.Settings())
    assert second.status is Status.OK, second.summary
    assert second.details["type"] == "diff", "a full backup is recent: differential"
    return dict(result.details)


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SMC_MAINT_CONFIG"}
    return subprocess.run([sys.executable, "-m", "smc_maint", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=300)


def test_restore_to_a_moment_from_a_local_repository(archiving_db: ArchivingDb) -> None:
    _restore_to_a_moment(archiving_db)
    conf = str(archiving_db.root / "smc-maint.yaml")
    # the same through the CLI, recorded: then the one verdict names the proof
    with archiving_db.connect() as conn:
        write_marker(conn, "test")
        time.sleep(1.2)
        row = conn.execute("SELECT clock_timestamp()").fetchone()
        assert row is not None
        target = row[0]
    proc = cli("pitr", "restore-test", "--to", target.isoformat(), "--json", "--config", conf, cwd=archiving_db.root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["procedures"][0]["status"] == "ok"
    verdict = cli("recoverability", "--json", "--config", conf, cwd=archiving_db.root)
    body = json.loads(verdict.stdout)
    assert body["summary"].startswith("recoverable to any moment from ")
    assert "last proven restore never" not in body["summary"]
    assert "without the exact per-table check" in body["summary"], "no logical snapshot was there to check"
    # a database of minutes does not cover the 7-day retention target: WARNING, and says why
    assert verdict.returncode == 1 and body["status"] == "warning", verdict.stdout
    assert any("retention covers" in r for r in body["reasons"]), body
    bare = cli("pitr", "restore-test", "--to", "2026-12-04 21:00", "--config", conf, cwd=archiving_db.root)
    assert bare.returncode == 64 and "time zone" in bare.stderr, bare.stderr
    lay = engine.layout(archiving_db.cfg)
    sets = backup_sets(engine.info(lay))
    assert [s.kind for s in sets] == ["full", "diff"]
    conf = lay.conf_file.read_text()
    assert "repo1-retention-full=2" in conf and "pg1-socket-path=" in conf
    # the engine's files belong to the database's OS user, never root
    assert engine.config_problems(lay) == []


def test_restore_to_a_moment_from_s3(archiving_db_s3: tuple[ArchivingDb, TlsS3]) -> None:
    db, s3 = archiving_db_s3
    _restore_to_a_moment(db)
    keys = [o["Key"] for o in s3.client.list_objects_v2(Bucket="smc-wal", Prefix="pgbackrest/")["Contents"]]
    assert any(k.startswith("pgbackrest/archive/smc/") and k.endswith(".zst") for k in keys), keys[:5]
    assert any(k.startswith("pgbackrest/backup/smc/") for k in keys)
    lay = engine.layout(db.cfg)
    assert S3_SECRET not in lay.conf_file.read_text(), "keys live only in the 0600 include file"
    assert lay.secrets_file.stat().st_mode & 0o077 == 0
    assert S3_SECRET not in " ".join(engine.command(lay, "backup"))


def test_default_moment_is_bracketed_by_fresh_markers(archiving_db: ArchivingDb) -> None:
    """Also: a restore killed with SIGKILL left its scratch server running in work/pitr-*; the next
    restore stops it and removes the directory (it carries the dead owner's pid)."""
    import psutil

    from smc_maint.backups.create import work_dir
    from smc_maint.embedded.postgres import EmbeddedPostgres, find_binaries, free_port

    assert physical_backup.run(make_ctx(archiving_db.cfg), physical_backup.Settings()).status is Status.OK
    dead = subprocess.Popen(["true"])
    dead.wait()
    killed = work_dir(archiving_db.cfg) / "pitr-killed"
    killed.mkdir(mode=0o711)
    (killed / "owner.pid").write_text(str(dead.pid))
    orphan = EmbeddedPostgres(killed / "data", free_port(), find_binaries("system"))
    orphan.init("orphan-pw-456")
    orphan.start()

    def orphan_running() -> bool:
        return any(str(killed) in " ".join(p.info["cmdline"] or []) for p in psutil.process_iter(["cmdline"]))

    assert orphan_running()
    result = pitr_restore_test.run(make_ctx(archiving_db.cfg), pitr_restore_test.Settings())
    assert result.status is Status.OK, result.summary
    assert not killed.exists() and not orphan_running()
    with archiving_db.connect() as conn:
        markers = read_markers(conn, purpose="pitr")
    assert len(markers) == 2 and result.details["markers_found"] == result.details["markers_expected"]


def test_broken_archiving_is_critical_with_the_reason_in_one_run(archiving_db: ArchivingDb) -> None:
    db = archiving_db
    assert physical_backup.run(make_ctx(db.cfg), physical_backup.Settings()).status is Status.OK
    ok, _ = run_one(db.cfg, "backup-verify")  # through the runner: failed_count goes into history
    assert ok.details["wal_archiving"]["status"] == "ok", ok.summary
    if os.geteuid() != 0:
        pytest.skip("making repository files root-owned needs root")
    lay = engine.layout(db.cfg)
    archive = next(Path(lay.repo_path, "archive", "smc").glob("*-1"))
    for sub in archive.iterdir():
        if sub.is_dir():
            os.chown(sub, 0, 0)
            sub.chmod(0o700)  # what a pgbackrest run as root leaves behind
    db.insert_trades(3)
    with db.connect() as conn:
        start = conn.execute("SELECT failed_count FROM pg_stat_archiver").fetchone()
        assert start is not None
        conn.execute("SELECT pg_switch_wal()")
        deadline = time.monotonic() + 60
        while True:
            row = conn.execute("SELECT failed_count FROM pg_stat_archiver").fetchone()
            assert row is not None
            if row[0] > start[0]:
                break
            assert time.monotonic() < deadline, "archive_command never failed"
            time.sleep(0.2)
    bad, _ = run_one(db.cfg, "backup-verify")
    assert bad.status is Status.CRITICAL
    assert "archive_command failed" in bad.summary
    assert "owned by root" in bad.summary
    assert bad.figures["wal_archive_new_failures"] >= 1
