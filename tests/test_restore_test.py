"""``restore-test`` against real PostgreSQL servers: exact verification, failures, refusal, cleanup."""

from __future__ import annotations

import json
from collections.abc import Callable

import psutil
import pytest

from .backup_support import backup_config, make_ctx
from .conftest import DB_PASSWORD, PgServer, Receiver

__all__ = ["backup_config"]  # a fixture

from smc_maint.backups.create import create_backup
from smc_maint.backups.manifest import MANIFEST
from smc_maint.config.loader import LoadedConfig
from smc_maint.embedded import demo_data
from smc_maint.procedures import restore_test
from smc_maint.result import Status
from smc_maint.runner import run_group
from smc_maint.stores.factory import open_store


def _postgres_data_dirs() -> set[str]:
    dirs = set()
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmd = proc.info.get("cmdline") or []
        if proc.info.get("name") == "postgres" and "-D" in cmd:
            dirs.add(cmd[cmd.index("-D") + 1])
    return dirs


def _assert_clean(cfg: LoadedConfig) -> None:
    work = cfg.config.backup.work_dir
    assert work is not None
    leftovers = [p for p in work.rglob("*") if p.name != "scratch"] if work.exists() else []
    assert leftovers == []
    assert not any(str(work) in d for d in _postgres_data_dirs())


def test_restore_test_passes_exactly_and_records_figures(backup_config: Callable[..., LoadedConfig],
                                                          pg: PgServer, trading_db: str) -> None:
    cfg = backup_config()
    manifest = create_backup(cfg, open_store(cfg))
    outcome = run_group(cfg, "monthly", only=["restore-test"])
    result = outcome.procedures[0].result
    assert result.status is Status.OK, result.summary
    assert manifest.backup_id in result.summary
    with pg.connect(trading_db) as conn:
        counts = demo_data.row_counts(conn)
    assert result.details["rows"] == sum(counts.values())
    assert result.details["differences"] == []
    for name in ("restore_seconds", "download_seconds", "verify_seconds", "backup_age_seconds"):
        assert result.figures[name] >= 0
    assert result.figures["restore_ok"] == 1.0
    from smc_maint.history import open_history

    series = open_history(cfg).figure_series("restore_seconds")
    assert [p.value for p in series] == [result.figures["restore_seconds"]]
    mark = json.loads((cfg.store_path / manifest.backup_id / "restore-test.json").read_text())
    assert mark["backup_id"] == manifest.backup_id
    _assert_clean(cfg)


def test_tampered_manifest_is_critical_and_names_the_table(backup_config: Callable[..., LoadedConfig],
                                                           webhook: Receiver,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", webhook.url)
    cfg = backup_config()
    manifest = create_backup(cfg, open_store(cfg))
    path = cfg.store_path / manifest.backup_id / MANIFEST
    data = json.loads(path.read_text())
    data["tables"]["smc_signals"]["rows"] += 1  # what was backed up no longer matches what restores
    path.write_text(json.dumps(data))
    outcome = run_group(cfg, "monthly", only=["restore-test"])
    result = outcome.procedures[0].result
    assert result.status is Status.CRITICAL
    assert "smc_signals" in result.summary
    assert result.figures["restore_ok"] == 0.0
    assert any("smc_signals" in t for t in webhook.texts)
    assert not (cfg.store_path / manifest.backup_id / "restore-test.json").exists()
    _assert_clean(cfg)


def test_corrupted_archive_fails_with_reason_and_alert(backup_config: Callable[..., LoadedConfig],
                                                       webhook: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", webhook.url)
    cfg = backup_config()
    manifest = create_backup(cfg, open_store(cfg))
    archive = cfg.store_path / manifest.backup_id / manifest.artifacts[0].name
    raw = bytearray(archive.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    archive.write_bytes(bytes(raw))
    outcome = run_group(cfg, "monthly", only=["restore-test"])
    result = outcome.procedures[0].result
    assert result.status is Status.CRITICAL
    assert "sha256 mismatch" in result.summary
    assert webhook.requests, "the failure must alert"
    _assert_clean(cfg)


def test_truncated_archive_fails_with_reason(backup_config: Callable[..., LoadedConfig]) -> None:
    cfg = backup_config()
    manifest = create_backup(cfg, open_store(cfg))
    archive = cfg.store_path / manifest.backup_id / manifest.artifacts[0].name
    archive.write_bytes(archive.read_bytes()[:1000])
    result = restore_test.run(make_ctx(cfg), restore_test.Settings())
    assert result.status is Status.CRITICAL
    assert "truncated" in result.summary
    _assert_clean(cfg)


def test_manifest_less_backup_is_not_a_backup(backup_config: Callable[..., LoadedConfig]) -> None:
    cfg = backup_config()
    manifest = create_backup(cfg, open_store(cfg))
    (cfg.store_path / manifest.backup_id / MANIFEST).unlink()
    result = restore_test.run(make_ctx(cfg), restore_test.Settings())
    assert result.status is Status.CRITICAL
    assert "no backup with a valid manifest" in result.summary
    assert result.force_alert


def test_dry_run_restores_nothing(backup_config: Callable[..., LoadedConfig]) -> None:
    cfg = backup_config()
    create_backup(cfg, open_store(cfg))
    result = restore_test.run(make_ctx(cfg, dry_run=True), restore_test.Settings())
    assert result.status is Status.OK
    assert "would restore" in result.summary
    assert not list(cfg.store_path.glob("*/restore-test.json"))


def test_scratch_database_on_a_configured_server(backup_config: Callable[..., LoadedConfig], pg: PgServer,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMC_MAINT_SCRATCH_PASSWORD", DB_PASSWORD)
    cfg = backup_config()
    create_backup(cfg, open_store(cfg))
    settings = restore_test.Settings(target="server",
                                     scratch_server={"port": pg.port, "allow_production_server": True})
    result = restore_test.run(make_ctx(cfg), settings)
    assert result.status is Status.OK, result.summary
    with pg.connect() as conn:
        names = [r[0] for r in conn.execute("SELECT datname FROM pg_database").fetchall()]
    assert not [n for n in names if n.startswith("smc_restore_test")]


def test_refuses_the_production_server_unless_explicitly_allowed(
        backup_config: Callable[..., LoadedConfig], pg: PgServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default scratch_server (127.0.0.1:5432) is also the default database address: a scratch
    database there is a full copy of production on the production server."""
    monkeypatch.setenv("SMC_MAINT_SCRATCH_PASSWORD", DB_PASSWORD)
    cfg = backup_config()
    create_backup(cfg, open_store(cfg))
    settings = restore_test.Settings(target="server", scratch_server={"port": pg.port})
    result = restore_test.run(make_ctx(cfg), settings)
    assert result.status is Status.CRITICAL and result.force_alert
    assert "is the production server (same system identifier)" in result.summary
    assert "allow_production_server" in result.summary
    with pg.connect() as conn:
        names = [r[0] for r in conn.execute("SELECT datname FROM pg_database").fetchall()]
    assert not [n for n in names if n.startswith("smc_restore_test")]


def test_refusal_needs_proof_of_another_server() -> None:
    from smc_maint.backups.scratch import refusal
    from smc_maint.config.model import DatabaseConfig

    prod = DatabaseConfig(host="db.internal", port=5432, dbname="smc")

    def why(dbname: str = "scratch", prod_sysid: str | None = "1", target_sysid: str | None = "2",
            allow: bool = False) -> str | None:
        return refusal(prod, "scratch.internal", 5432, dbname, prod_sysid=prod_sysid, target_sysid=target_sysid,
                       exists=False, allow_production_server=allow)

    assert why() is None  # two known, different identifiers: another server
    assert "same system identifier" in (why(target_sysid="1") or "")
    assert "unreadable" in (why(prod_sysid=None) or "")
    assert "unreadable" in (why(target_sysid=None) or "")
    assert why(target_sysid="1", allow=True) is None
    assert "production database's name" in (why(dbname="smc", target_sysid="1", allow=True) or "")
    assert "production database's name" in (why(dbname="smc", prod_sysid=None, allow=True) or "")


def test_refuses_the_production_database(backup_config: Callable[..., LoadedConfig], pg: PgServer,
                                         trading_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMC_MAINT_SCRATCH_PASSWORD", DB_PASSWORD)
    cfg = backup_config()
    create_backup(cfg, open_store(cfg))
    with pg.connect(trading_db) as conn:
        before = demo_data.row_counts(conn)
    for host in ("127.0.0.1", "localhost"):
        settings = restore_test.Settings(target="server",
                                         scratch_server={"host": host, "port": pg.port, "dbname": trading_db})
        result = restore_test.run(make_ctx(cfg), settings)
        assert result.status is Status.CRITICAL
        assert "production database" in result.summary
    with pg.connect(trading_db) as conn:
        assert demo_data.row_counts(conn) == before


def test_refuses_an_existing_database(backup_config: Callable[..., LoadedConfig], pg: PgServer,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMC_MAINT_SCRATCH_PASSWORD", DB_PASSWORD)
    cfg = backup_config()
    create_backup(cfg, open_store(cfg))
    with pg.connect() as conn:
        conn.execute("DROP DATABASE IF EXISTS keep_me")
        conn.execute("CREATE DATABASE keep_me")
    settings = restore_test.Settings(target="server", scratch_server={"port": pg.port, "dbname": "keep_me",
                                                                      "allow_production_server": True})
    result = restore_test.run(make_ctx(cfg), settings)
    assert result.status is Status.CRITICAL
    assert "already exists" in result.summary
    with pg.connect() as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = 'keep_me'").fetchone() == (1,)
        conn.execute("DROP DATABASE keep_me")



def test_interrupted_restore_test_leaves_no_scratch_server_or_files(
        backup_config: Callable[..., LoadedConfig]) -> None:
    """SIGTERM (what Ctrl-C and `kill` do to the CLI) in the middle of the restore still cleans up."""
    import os
    import signal
    import subprocess
    import sys
    import time

    cfg = backup_config()
    create_backup(cfg, open_store(cfg))
    work = cfg.config.backup.work_dir
    assert work is not None and cfg.source is not None
    env = {**os.environ, "SMC_MAINT_CONFIG": str(cfg.source)}
    proc = subprocess.Popen([sys.executable, "-m", "smc_maint", "backup", "restore-test"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    seen = False
    while time.monotonic() < deadline and proc.poll() is None:
        if any(str(work) in d for d in _postgres_data_dirs()):  # the scratch server is up
            seen = True
            proc.send_signal(signal.SIGTERM)
            break
        time.sleep(0.02)
    _, err = proc.communicate(timeout=120)
    assert seen, "the scratch server never showed up"
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    _assert_clean(cfg)


def test_leftovers_of_a_killed_run_are_reaped(backup_config: Callable[..., LoadedConfig]) -> None:
    """A run killed with SIGKILL cannot clean up; the next one stops its server and removes its files."""
    import os
    import shutil
    import subprocess
    import time

    from smc_maint.embedded.postgres import EmbeddedPostgres, find_binaries, free_port

    cfg = backup_config()
    create_backup(cfg, open_store(cfg))
    work = cfg.config.backup.work_dir
    assert work is not None
    dead = subprocess.Popen(["true"])
    dead.wait()
    run_dir = work / "scratch" / "run-killed"
    (run_dir / "scratch-pg-x").mkdir(parents=True)
    for d in (work, work / "scratch", run_dir, run_dir / "scratch-pg-x"):
        d.chmod(0o711)
    (run_dir / "owner.pid").write_text(str(dead.pid))
    orphan = EmbeddedPostgres(run_dir / "scratch-pg-x" / "data", free_port(), find_binaries("system"))
    orphan.init("orphan-pw-123")
    orphan.start()
    stale_download = work / "restore-old-abc"
    stale_download.mkdir()
    (stale_download / "owner.pid").write_text(str(dead.pid))
    (stale_download / "database.dump.zst").write_bytes(b"x" * 100)
    foreign = work / "restore-cache-of-other-software"  # a shared work_dir (/tmp): not ours, never reaped
    foreign.mkdir()
    (foreign / "data").write_text("theirs")
    os.utime(foreign, (time.time() - 86400, time.time() - 86400))

    result = restore_test.run(make_ctx(cfg), restore_test.Settings())
    assert result.status is Status.OK, result.summary
    assert not run_dir.exists() and not stale_download.exists()
    assert (foreign / "data").read_text() == "theirs"
    shutil.rmtree(foreign)
    _assert_clean(cfg)


def test_tables_without_hashable_types_use_the_text_fingerprint_and_still_verify(
        backup_config: Callable[..., LoadedConfig], pg: PgServer, trading_db: str) -> None:
    with pg.connect(trading_db) as conn:
        conn.execute("CREATE TABLE exchange_payloads (id int, body json, at point)")
        conn.execute("INSERT INTO exchange_payloads SELECT g, json_build_object('n', g), point(g, g) "
                     "FROM generate_series(1, 50) g")
    cfg = backup_config()
    manifest = create_backup(cfg, open_store(cfg))
    assert manifest.tables["exchange_payloads"].fingerprint.startswith("t:")  # json has no hash function
    assert manifest.tables["trades"].fingerprint.startswith("r:")
    result = restore_test.run(make_ctx(cfg), restore_test.Settings())
    assert result.status is Status.OK, result.summary
    _assert_clean(cfg)


def test_compare_names_every_kind_of_difference() -> None:
    from smc_maint.backups.manifest import TableFacts
    from smc_maint.backups.restore import compare

    want = {"trades": TableFacts(rows=3, fingerprint="r:10"), "users": TableFacts(rows=2, fingerprint="r:5"),
            "audit_logs": TableFacts(rows=1, fingerprint="r:1"), "gone": TableFacts(rows=1, fingerprint="r:1")}
    got = {"trades": TableFacts(rows=3, fingerprint="r:11"), "users": TableFacts(rows=1, fingerprint="r:5"),
           "audit_logs": TableFacts(rows=1, fingerprint="r:1"), "extra": TableFacts(rows=0, fingerprint="r:0")}
    problems = [str(d) for d in compare(want, got)]
    assert problems == ["gone: missing after restore",
                        "trades: content differs (fingerprint mismatch, same row count)",
                        "users: 1 rows restored, 2 backed up",
                        "extra: restored but not in the manifest"]
    empty = {"trades": TableFacts(rows=0, fingerprint="r:0"), "users": TableFacts(rows=4, fingerprint="r:9")}
    assert [str(d) for d in compare(empty, empty)] == ["trades: has no rows (runbook check: must be > 0)"]


def test_archive_that_matches_its_checksum_but_does_not_restore_fails_with_reason(
        backup_config: Callable[..., LoadedConfig]) -> None:
    """Corrupted before it was checksummed (e.g. a bad disk under the dump): only a restore finds it."""
    import hashlib

    cfg = backup_config()
    manifest = create_backup(cfg, open_store(cfg))
    archive = cfg.store_path / manifest.backup_id / manifest.artifacts[0].name
    garbage = b"\x28\xb5\x2f\xfd" + bytes(range(256)) * 40
    archive.write_bytes(garbage)
    path = cfg.store_path / manifest.backup_id / MANIFEST
    data = json.loads(path.read_text())
    data["artifacts"][0].update(size=len(garbage), sha256=hashlib.sha256(garbage).hexdigest())
    path.write_text(json.dumps(data))
    result = restore_test.run(make_ctx(cfg), restore_test.Settings())
    assert result.status is Status.CRITICAL
    assert result.details["stage"] == "restore"
    assert "restore failed: zstd -d failed" in result.summary
    assert result.force_alert
    _assert_clean(cfg)
