"""``backup create`` against a real PostgreSQL: snapshot-consistent facts, checksums, publication."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from smc_maint.backups.catalog import load_catalog, verify_backup
from smc_maint.backups.create import BackupError, create_backup
from smc_maint.backups.manifest import MANIFEST, parse
from smc_maint.config.loader import LoadedConfig
from smc_maint.embedded import demo_data
from smc_maint.pitr.exact import Snapshot
from smc_maint.pitr.sets import lsn_value
from smc_maint.stores.factory import local_store, open_store

from .conftest import DB_PASSWORD, PgServer


def test_backup_records_exact_row_counts_and_checksums(make_config: Callable[..., LoadedConfig], pg: PgServer,
                                                        trading_db: str) -> None:
    cfg = make_config()
    store = open_store(cfg)
    manifest = create_backup(cfg, store)

    with pg.connect(trading_db) as conn:
        counts = demo_data.row_counts(conn)
    for table, rows in counts.items():
        assert manifest.tables[table].rows == rows
    assert manifest.tables["trades"].rows > 0
    assert manifest.database == trading_db
    assert manifest.server_version.startswith("15")
    assert manifest.database_size_bytes > 0
    assert manifest.dump_format == "custom+zstd"

    art = manifest.artifacts[0]
    data = (cfg.store_path / manifest.backup_id / art.name).read_bytes()
    assert len(data) == art.size and hashlib.sha256(data).hexdigest() == art.sha256
    assert data[:4] == b"\x28\xb5\x2f\xfd"  # zstd frame magic
    on_disk = json.loads((cfg.store_path / manifest.backup_id / MANIFEST).read_text())
    assert on_disk["backup_id"] == manifest.backup_id
    assert DB_PASSWORD not in json.dumps(on_disk)
    # where the snapshot sits in WAL (a primary): before anything written after the backup
    assert manifest.wal_lsn is not None and manifest.xact_snapshot is not None
    with pg.connect(trading_db) as conn:
        conn.execute("CREATE TEMP TABLE later AS SELECT 1")
        row = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()
    assert row is not None and lsn_value(manifest.wal_lsn) < lsn_value(str(row[0]))
    assert Snapshot.parse(manifest.xact_snapshot).xmin <= Snapshot.parse(manifest.xact_snapshot).xmax
    # manifests written before these fields still load
    older = {k: v for k, v in on_disk.items() if k not in ("wal_lsn", "xact_snapshot")}
    assert parse(json.dumps(older).encode(), "older").wal_lsn is None
    # nothing left in the staging area
    assert list((cfg.home / "work").glob("create-*")) == []
    assert verify_backup(store, manifest) == []


def test_facts_come_from_the_backup_snapshot_not_from_later_writes(
        make_config: Callable[..., LoadedConfig], pg: PgServer, trading_db: str) -> None:
    cfg = make_config()
    with pg.connect(trading_db) as conn:
        before = demo_data.row_counts(conn)["audit_logs"]

    def write_concurrently() -> None:
        with pg.connect(trading_db) as conn:
            conn.execute("INSERT INTO audit_logs (actor, action, target, details) "
                         "SELECT 'bot', 'late', 'x', '{}'::jsonb FROM generate_series(1, 25)")

    manifest = create_backup(cfg, open_store(cfg), after_snapshot=write_concurrently)
    assert manifest.tables["audit_logs"].rows == before
    with pg.connect(trading_db) as conn:
        assert demo_data.row_counts(conn)["audit_logs"] == before + 25


def test_fingerprint_changes_when_content_changes_at_equal_row_count(
        make_config: Callable[..., LoadedConfig], pg: PgServer, trading_db: str) -> None:
    cfg = make_config()
    store = open_store(cfg)
    first = create_backup(cfg, store)
    with pg.connect(trading_db) as conn:
        conn.execute("UPDATE trades SET pnl = pnl + 0.00000001 WHERE id = (SELECT id FROM trades LIMIT 1)")
    second = create_backup(cfg, store)
    assert first.tables["trades"].rows == second.tables["trades"].rows
    assert first.tables["trades"].fingerprint != second.tables["trades"].fingerprint
    assert first.tables["users"].fingerprint == second.tables["users"].fingerprint


def test_failed_backup_publishes_nothing(make_config: Callable[..., LoadedConfig], tmp_path: Path) -> None:
    cfg = make_config({"database": {"dbname": "no_such_database"}})
    store = local_store(tmp_path / "store")
    with pytest.raises(BackupError) as err:
        create_backup(cfg, store)
    assert "no_such_database" in str(err.value)
    assert DB_PASSWORD not in str(err.value)
    assert store.backup_ids() == []


def test_old_pg_dump_is_refused_clearly(make_config: Callable[..., LoadedConfig], tmp_path: Path) -> None:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    script = fake_bin / "pg_dump"
    script.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 12.1'\n")
    script.chmod(0o755)
    cfg = make_config({"database": {"bin_dir": str(fake_bin)}})
    store = local_store(tmp_path / "store")
    with pytest.raises(BackupError, match="at least the server's major version"):
        create_backup(cfg, store)
    assert load_catalog(store).backups == []


def test_connection_string_and_password_never_reach_pg_dump_argv(
        make_config: Callable[..., LoadedConfig], tmp_path: Path) -> None:
    """pg_dump gets the password through a private PGPASSFILE; we record its argv to prove it."""
    real = make_config().config.database.bin_dir
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    log = tmp_path / "argv.log"
    script = fake_bin / "pg_dump"
    script.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexec {real}/pg_dump "$@"\n')
    script.chmod(0o755)
    cfg = make_config({"database": {"bin_dir": str(fake_bin)}})
    create_backup(cfg, open_store(cfg))
    argv = log.read_text()
    assert "--snapshot=" in argv
    assert DB_PASSWORD not in argv



def test_server_idle_in_transaction_timeout_does_not_break_the_snapshot(
        make_config: Callable[..., LoadedConfig], pg: PgServer, trading_db: str) -> None:
    """Production servers often end idle transactions; the exporting one idles while pg_dump runs."""
    import time

    with pg.connect() as conn:
        conn.execute(f'ALTER DATABASE "{trading_db}" SET idle_in_transaction_session_timeout = \'100ms\'')
    cfg = make_config()
    manifest = create_backup(cfg, open_store(cfg), after_snapshot=lambda: time.sleep(0.5))
    assert manifest.tables["trades"].rows > 0


def test_unreadable_pg_dump_version_is_a_backup_error(make_config: Callable[..., LoadedConfig],
                                                      tmp_path: Path) -> None:
    """The one version parser (embedded.postgres.tool_version) serves backups too; its error is a BackupError."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    script = fake_bin / "pg_dump"
    script.write_text("#!/bin/sh\necho 'no version here'\n")
    script.chmod(0o755)
    cfg = make_config({"database": {"bin_dir": str(fake_bin)}})
    with pytest.raises(BackupError, match="cannot read the version of"):
        create_backup(cfg, local_store(tmp_path / "store"))


def test_one_version_parser_for_server_and_tools(pg: PgServer) -> None:
    from smc_maint.embedded.postgres import server_major, tool_version

    bin_dir = pg.server.binaries.bin_dir
    major, line = tool_version(bin_dir / "pg_dump")
    assert major == server_major(bin_dir) == pg.server.binaries.major
    assert line.startswith("pg_dump (PostgreSQL) ")


def test_manifest_records_the_source_server_identity(make_config: Callable[..., LoadedConfig],
                                                     pg: PgServer) -> None:
    cfg = make_config()
    manifest = create_backup(cfg, open_store(cfg))
    with pg.connect() as conn:
        row = conn.execute("SELECT system_identifier::text FROM pg_control_system()").fetchone()
    assert row is not None and manifest.system_identifier == row[0]


def test_local_store_is_private_whatever_the_umask(make_config: Callable[..., LoadedConfig]) -> None:
    """Backups hold every user's data: store and backup directories 0700, every file 0600."""
    import os
    import stat

    from smc_maint.backups.manifest import RESTORE_MARK

    old = os.umask(0o022)
    try:
        cfg = make_config()
        store = open_store(cfg)
        manifest = create_backup(cfg, store)
        store.write_bytes(f"{manifest.backup_id}/{RESTORE_MARK}", b"{}")
    finally:
        os.umask(old)
    root = cfg.store_path
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE((root / manifest.backup_id).stat().st_mode) == 0o700
    files = list((root / manifest.backup_id).iterdir())
    assert {p.name for p in files} == {MANIFEST, RESTORE_MARK, manifest.artifacts[0].name}
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in files} == {p.name: 0o600 for p in files}
