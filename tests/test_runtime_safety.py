"""Runtime safety: bad secrets and alert URLs never abort a run, the scheduler outlives transient
errors, timed-out procedures keep their lock, redaction everywhere, clear errors for bad inputs,
owner-only files."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from rich.console import Console

from smc_maint import registry
from smc_maint.adapters import postgres
from smc_maint.adapters.clock import FixedClock, parse_iso
from smc_maint.alerts import format_alert
from smc_maint.certs.sources import from_cert_manager
from smc_maint.cli import render
from smc_maint.cli.k8s_cmd import longest_run_seconds
from smc_maint.config.loader import LoadedConfig, load_config
from smc_maint.config.model import RunnerConfig, read_secret
from smc_maint.dbmaint import facts
from smc_maint.errors import EXIT_CONFIG_ERROR, EXIT_UNAVAILABLE, ConfigError, HistoryUnavailable
from smc_maint.history import open_history
from smc_maint.redact import redact, register_secret
from smc_maint.result import Result, Status
from smc_maint.runner import run_group
from smc_maint.scheduling.daemon import Scheduler, run_slot
from smc_maint.scheduling.deadman import Pinger
from smc_maint.security.vulnerability_reports import parse_time

from .conftest import Receiver, wait_for

OFF = {"enabled": False}


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "smc_maint", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120, check=False)


# -- 5: secrets with a trailing newline; alert and dead-man failures never escape the runner ---------

def test_webhook_url_with_trailing_newline_is_stripped_and_delivers(
        sample_group: None, make_config: Callable[..., LoadedConfig], webhook: Receiver,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", webhook.url + "\n")  # as `kubectl create secret --from-file` leaves it
    cfg = make_config({"procedures": {"first": {"behaviour": "critical"}}})
    outcome = run_group(cfg, "test")
    assert [p.result.status for p in outcome.procedures] == [Status.CRITICAL, Status.OK, Status.OK]
    assert [(a.delivered, a.error) for a in outcome.alerts] == [(True, None)]
    assert len(webhook.requests) == 1


def test_secret_file_and_env_are_stripped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMC_MAINT_TEST_SECRET", "  s3cr3t-value\n")
    assert read_secret("SMC_MAINT_TEST_SECRET", None) == "s3cr3t-value"
    monkeypatch.setenv("SMC_MAINT_TEST_SECRET", " \n")
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-file\n")
    assert read_secret("SMC_MAINT_TEST_SECRET", secret_file) == "from-file"  # a blank env var does not count


@pytest.mark.parametrize("bad_url", ["http://[::1/hooks/x", "http://127.0.0.1:1/x\n\nmore", "ftp://host/x"])
def test_malformed_alert_url_never_aborts_the_run(
        bad_url: str, sample_group: None, make_config: Callable[..., LoadedConfig],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", bad_url)
    cfg = make_config({"procedures": {"first": {"behaviour": "critical"}, "second": {"behaviour": "critical"}}})
    outcome = run_group(cfg, "test")
    # Every procedure ran, each alert is a reason, and the run is closed in history.
    assert [p.procedure_id for p in outcome.procedures] == ["first", "second", "third"]
    assert len(outcome.alerts) == 2 and not any(a.delivered for a in outcome.alerts)
    assert all(a.error and "not sent" in a.error for a in outcome.alerts)
    runs = open_history(cfg).runs(group="test")
    assert [r.status for r in runs] == ["critical"]
    stored = open_history(cfg).alerts(runs[0].id)
    assert [bool(a["delivered"]) for a in stored] == [False, False]


def test_bad_dead_man_url_never_aborts_the_slot(make_config: Callable[..., LoadedConfig],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMC_MAINT_TEST_PING", "http://[::1/ping")
    cfg = make_config({"schedule": {"groups": {"daily": {"only": ["trading-summary"],
                                                         "ping_url_env": "SMC_MAINT_TEST_PING"}}}})
    slot = datetime(2026, 11, 28, 2, tzinfo=UTC)
    outcome = run_slot(cfg, "daily", slot, "scheduler", clock=FixedClock(slot))
    assert outcome.state == "ran" and outcome.run is not None
    assert [r.status for r in open_history(cfg).runs(group="daily")] == [outcome.run.status.value]


def test_dead_man_ping_backs_off_between_retries(webhook: Receiver) -> None:
    webhook.fail_first = 2
    sleeps: list[float] = []
    pinger = Pinger(webhook.url, attempts=3, backoff_seconds=0.5, sleep=sleeps.append)
    assert pinger.start() is True
    assert len(webhook.requests) == 3
    assert sleeps == [0.5, 1.0]


# -- 6: the scheduler daemon outlives transient errors -------------------------------------------

def test_scheduler_survives_an_unreachable_history_and_runs_once_it_is_back(
        make_config: Callable[..., LoadedConfig], pg: Any, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    dead = f"postgresql://postgres:{pg.password}@127.0.0.1:1/postgres?connect_timeout=2"
    monkeypatch.setenv("SMC_MAINT_HISTORY_DSN", dead)
    cfg = make_config({"history": {"backend": "postgresql"},
                       "schedule": {"groups": {
                           "daily": {"cron": "0 * * * *", "grace_minutes": 120, "only": ["trading-summary"]},
                           "weekly": OFF, "monthly": OFF, "quarterly": OFF}}})
    hist_db = "smc_hist_" + os.urandom(4).hex()
    with pg.connect() as conn:
        conn.execute(f'CREATE DATABASE "{hist_db}"')
    daemon = Scheduler(cfg, max_sleep=0.2)
    failures: list[BaseException] = []

    def serve() -> None:
        try:
            daemon.serve()
        except BaseException as exc:  # the test asserts there is none
            failures.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    try:
        with caplog.at_level("ERROR", logger="smc_maint.scheduler"):
            thread.start()
            wait_for(lambda: sum("scheduler pass failed" in r.getMessage() for r in caplog.records) >= 2,
                     "two failed passes", timeout=60)
            assert thread.is_alive() and not failures
            assert all(pg.password not in r.getMessage() for r in caplog.records)  # the DSN is a secret
            monkeypatch.setenv("SMC_MAINT_HISTORY_DSN",
                               f"postgresql://postgres:{pg.password}@127.0.0.1:{pg.port}/{hist_db}")
            wait_for(lambda: [r.status for r in open_history(cfg).runs(group="daily")] == ["ok"],
                     "the due slot to run once the history is back", timeout=120)
    finally:
        daemon.stop.set()
        thread.join(30)
        with pg.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{hist_db}" WITH (FORCE)')
    assert not thread.is_alive() and not failures
    assert daemon.busy is False


# -- 10: a timed-out procedure is stopped (its worker process group), its clean-up runs -----------

def test_timed_out_procedure_is_stopped_and_its_clean_up_ran_before_the_lock_is_released(
        sample_group: None, make_config: Callable[..., LoadedConfig], tmp_path: Path) -> None:
    marker = tmp_path / "cleaned-up"
    cfg = make_config({"procedures": {"second": {"behaviour": "hang", "sleep_seconds": 60, "marker": str(marker)}},
                       "runner": {"timeout_seconds": 1, "timeout_grace_seconds": 60}})
    outcome = run_group(cfg, "test")
    assert outcome.procedures[1].result.status is Status.CRITICAL
    assert outcome.procedures[1].result.details["stopped"] == "SIGTERM"
    assert outcome.procedures[2].result.status is Status.OK
    assert marker.read_text() == "cleaned up"  # SIGTERM unwound the procedure through its finally


def test_in_thread_isolation_still_bounds_the_grace_and_says_so_in_the_note(
        sample_group: None, make_config: Callable[..., LoadedConfig], tmp_path: Path) -> None:
    cfg = make_config({"procedures": {"second": {"behaviour": "hang", "sleep_seconds": 30,
                                                 "marker": str(tmp_path / "never")}},
                       "runner": {"timeout_seconds": 1, "timeout_grace_seconds": 1}})
    t0 = time.monotonic()
    run_group(cfg, "test", isolation="thread")
    assert time.monotonic() - t0 < 15
    note = open_history(cfg).runs(group="test")[0].note or ""
    assert "STILL RUNNING" in note and "second" in note


def test_long_procedures_default_to_three_hours_and_one_longest_run() -> None:
    runner = RunnerConfig()
    assert runner.timeout_for("restore-test") == runner.timeout_for("backup") == runner.timeout_for(
        "backup-verify") == 3 * 3600
    assert runner.timeout_for("health") == 900
    overridden = RunnerConfig(timeout_seconds=60, timeouts={"restore-test": 7200})
    assert overridden.timeout_for("restore-test") == 7200 and overridden.timeout_for("health") == 60
    assert runner.longest_run_seconds(["health", "restore-test"]) == 900 + 3 * 3600 + 900 + 300


def test_k8s_deadline_and_runner_use_the_same_longest_run(tmp_path: Path) -> None:
    cfg = load_config(None, environ={}, text="runner: {timeout_seconds: 100}\n")
    for group, ids in registry.GROUPS.items():
        assert longest_run_seconds(cfg, group) == cfg.config.longest_run_seconds(ids)  # runner timeouts plus the activity gate's allowance
    assert longest_run_seconds(cfg, "monthly") >= 3 * 3600  # restore-test's default fits in the CronJob


# -- 11: redaction in alerts, markup-safe rendering, SQL literal secrets, pgpass -----------------

def test_alert_text_is_redacted(webhook: Receiver) -> None:
    register_secret("alert-secret-value")
    text = format_alert("daily", "x", Result(Status.CRITICAL, "failed with alert-secret-value and "
                                                             "ALTER ROLE app PASSWORD 'hunter2'"), "h")
    assert "alert-secret-value" not in text and "hunter2" not in text


def test_summary_with_markup_brackets_renders_as_text(
        sample_group: None, make_config: Callable[..., LoadedConfig]) -> None:
    summary = "copied to [/var/backups/x] and [bold]not bold[/bold] [/]"
    cfg = make_config({"procedures": {"first": {"behaviour": "critical", "summary": summary}}})
    outcome = run_group(cfg, "test")
    buf = io.StringIO()
    Console(file=buf, width=300, color_system=None).print(render.run_outcome(outcome))
    assert summary in buf.getvalue()


@pytest.mark.parametrize("sql", [
    "ALTER ROLE app WITH ENCRYPTED PASSWORD 'hunter2'",
    "CREATE USER MAPPING FOR app SERVER s OPTIONS (user 'a', password 'hunter2')",
    "SELECT pgp_sym_encrypt(data, 'hunter2') FROM t",
    "SELECT dblink_connect('host=db password=hunter2')",
    "CREATE ROLE x LOGIN PASSWORD E'hun''ter2' VALID UNTIL 'infinity'",
])
def test_literal_secrets_in_sql_are_masked(sql: str) -> None:
    assert "hunter2" not in redact(sql) and "ter2" not in redact(sql)


def test_blocker_query_text_is_masked(pg: Any, trading_db: str) -> None:
    holder = psycopg.connect(host="127.0.0.1", port=pg.port, user="postgres", password=pg.password,
                             dbname=trading_db)
    try:
        holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        holder.execute("SELECT count(*) FROM trades /* ALTER ROLE app PASSWORD 'hunter2' */")
        with psycopg.connect(host="127.0.0.1", port=pg.port, user="postgres", password=pg.password,
                             dbname=trading_db, autocommit=True) as conn:
            rows = facts.horizon_holders(conn)
    finally:
        holder.rollback()
        holder.close()
    texts = [str(r[-1]) for r in rows if r[0] == "session"]
    assert any("FROM trades" in t for t in texts)
    assert not any("hunter2" in t for t in texts)


def test_pgpass_matches_any_host_and_port(make_config: Callable[..., LoadedConfig], pg: Any) -> None:
    cfg = make_config()
    with postgres.libpq_env(cfg.config.database, secret_dir=cfg.secret_dir) as env:
        line = Path(env["PGPASSFILE"]).read_text()
        assert line.startswith("*:*:*:postgres:")
        with psycopg.connect(host=env["PGHOST"], port=int(env["PGPORT"]), user=env["PGUSER"],
                             dbname=env["PGDATABASE"], passfile=env["PGPASSFILE"]) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)


# -- 14: one ISO-time parser -----------------------------------------------------------------------

def test_one_iso_parser_takes_times_without_offset_as_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        want = datetime(2026, 3, 1, 12, tzinfo=UTC)
        assert parse_iso("2026-03-01T12:00:00") == want
        assert parse_iso("2026-03-01T12:00:00Z") == want
        assert parse_iso("2026-03-01T14:00:00+02:00") == want
        assert parse_time("2026-03-01T12:00:00") == want
        cert = from_cert_manager({"kind": "Certificate", "metadata": {"name": "c"},
                                  "status": {"notAfter": "2026-03-01T12:00:00"}}, "t")[0]
        assert cert.not_after == want
        with pytest.raises(ValueError):
            parse_iso("yesterday")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


# -- 15: bad inputs get their own clear errors ---------------------------------------------------

def test_non_utf8_config_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "smc-maint.yaml"
    path.write_bytes(b"# config\nhome: /tmp/caf\xe9\n")
    with pytest.raises(ConfigError, match="line 2: not UTF-8"):
        load_config(path, environ={})
    proc = _cli("config", "check", str(path))
    assert proc.returncode == EXIT_CONFIG_ERROR, proc.stderr
    assert "not UTF-8" in proc.stderr


def test_unreachable_history_database_has_its_own_exit_code(tmp_path: Path, pg: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    dsn = f"postgresql://postgres:{pg.password}@127.0.0.1:1/postgres?connect_timeout=2"
    monkeypatch.setenv("SMC_MAINT_HISTORY_DSN", dsn)
    cfg_path = tmp_path / "smc-maint.yaml"
    cfg_path.write_text(f"home: {tmp_path / 'home'}\nhistory: {{backend: postgresql}}\n")
    with pytest.raises(HistoryUnavailable):
        open_history(load_config(cfg_path, environ={}))
    proc = _cli("history", "--config", str(cfg_path), env={"SMC_MAINT_HISTORY_DSN": dsn})
    assert proc.returncode == EXIT_UNAVAILABLE == 69, proc.stderr
    assert "history database" in proc.stderr and "unreachable" in proc.stderr
    assert pg.password not in proc.stderr + proc.stdout


# -- 4 (umask part): owner-only files ------------------------------------------------------------

def test_cli_creates_files_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "new.yaml"
    old = os.umask(0o022)  # the caller's permissive umask; the CLI must not inherit it
    try:
        proc = _cli("config", "init", str(target))
    finally:
        os.umask(old)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_history_and_run_logs_are_owner_only_whatever_the_umask(
        sample_group: None, make_config: Callable[..., LoadedConfig]) -> None:
    old = os.umask(0o022)
    try:
        cfg = make_config()
        outcome = run_group(cfg, "test")
    finally:
        os.umask(old)
    assert outcome.log_path is not None
    assert stat.S_IMODE(outcome.log_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cfg.history_path.stat().st_mode) == 0o600


# -- 14: secrets resolve through read_secret (stripped, registered for redaction) -----------------

def test_history_dsn_with_trailing_newline_opens(make_config: Callable[..., LoadedConfig], pg: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMC_MAINT_HISTORY_DSN",
                       f"postgresql://postgres:{pg.password}@127.0.0.1:{pg.port}/postgres\n")
    cfg = make_config({"history": {"backend": "postgresql"}})
    assert isinstance(open_history(cfg).runs(limit=1), list)
    assert f"{pg.port}/postgres" not in redact(f"dsn postgresql://postgres:{pg.password}@127.0.0.1:{pg.port}/postgres")


def test_s3_secret_resolves_through_read_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from smc_maint.config.model import S3Config
    from smc_maint.stores.factory import s3_store

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3-secret-value-1\n")
    store = s3_store(S3Config(endpoint_url="http://127.0.0.1:1"))
    assert store.fs.secret == "s3-secret-value-1"
    assert "s3-secret-value-1" not in redact("failed with s3-secret-value-1")
