"""Procedures run in worker process groups: stopped with what they started, bounded on the server.

Real PostgreSQL, real processes: a table lock held as a migration would, a statement outliving
its timeout, a procedure that ignores SIGTERM, a runner killed with SIGKILL, a history store
dropped mid-run, two runs at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest

from smc_maint import registry
from smc_maint.backups.catalog import load_catalog
from smc_maint.config.loader import LoadedConfig
from smc_maint.errors import ConfigError
from smc_maint.history import open_history
from smc_maint.history.liveness import STALE_AFTER_SECONDS, Liveness, is_dead
from smc_maint.lock import group_lock, store_lock
from smc_maint.result import Status
from smc_maint.runner import run_group
from smc_maint.stores import open_store

from .conftest import Receiver, wait_for

REPO = Path(__file__).parent.parent


def tool_sessions(pg: Any) -> list[tuple[Any, ...]]:
    with pg.connect() as conn:
        return conn.execute("SELECT pid, application_name, state, query FROM pg_stat_activity "
                            "WHERE application_name LIKE 'smc-maint/%' "
                            "AND application_name <> 'smc-maint/supervisor'").fetchall()


def descendants() -> set[int]:
    """Live processes below this one, but the fork server and its resource tracker (kept for the next run)."""
    found = set()
    for p in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            if p.status() != psutil.STATUS_ZOMBIE and "from multiprocessing." not in " ".join(p.cmdline()):
                found.add(p.pid)
    return found


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture
def locked_trades(pg: Any, trading_db: str) -> Iterator[Callable[[], None]]:
    """ACCESS EXCLUSIVE on trades in an open transaction (a migration's ALTER); call to release."""
    conn = pg.connect(trading_db)
    conn.autocommit = False
    conn.execute("LOCK TABLE trades IN ACCESS EXCLUSIVE MODE")
    pid = conn.info.backend_pid
    released = []

    def release() -> None:
        if not released:
            conn.rollback()
            conn.close()
            released.append(pid)

    release.pid = pid  # type: ignore[attr-defined]
    yield release
    release()


def test_locked_table_backup_fails_fast_naming_the_blocker_and_leaves_nothing(
        make_config: Callable[..., LoadedConfig], pg: Any, locked_trades: Callable[[], None]) -> None:
    cfg = make_config({"runner": {"timeouts": {"backup": 3, "backup-verify": 3}, "timeout_grace_seconds": 2}})
    before = descendants()
    t0 = time.monotonic()
    outcome = run_group(cfg, "daily", only=["backup", "backup-verify"])
    elapsed = time.monotonic() - t0
    assert elapsed < 2 * 3 + 2 + 3  # each procedure ends within its timeout; slack for process start
    backup, verify = outcome.procedures
    blocker = f"blocked by pid {locked_trades.pid}"  # type: ignore[attr-defined]
    assert backup.result.status is Status.CRITICAL and blocker in backup.result.summary
    assert "LOCK TABLE trades" in backup.result.summary
    assert verify.result.status is Status.CRITICAL and blocker in verify.result.summary
    assert tool_sessions(pg) == []
    assert descendants() <= before
    locked_trades()
    time.sleep(2)  # a straggler would now get its locks and publish
    assert load_catalog(open_store(cfg)).backups == []
    results = {r.procedure_id: r for r in open_history(cfg).results(outcome.run_id)}
    assert blocker in results["backup"].summary and results["backup"].status == "critical"
    with group_lock(cfg.lock_dir, "daily"):  # free again
        pass


def test_statement_outliving_the_timeout_is_cancelled_and_recorded_timed_out(
        sample_group: None, make_config: Callable[..., LoadedConfig], pg: Any, tmp_path: Path) -> None:
    marker = tmp_path / "worker-pid"
    cfg = make_config({"procedures": {"second": {"behaviour": "db_sleep", "sleep_seconds": 120,
                                                 "marker": str(marker)}},
                       "runner": {"timeout_seconds": 3, "timeout_grace_seconds": 2}})
    before = descendants()
    t0 = time.monotonic()
    outcome = run_group(cfg, "test")
    assert time.monotonic() - t0 < 3 + 2 + 3 + 4  # three procedures, one timed out
    second = outcome.procedures[1]
    assert second.result.status is Status.CRITICAL and "timed out after 3 s" in second.result.summary
    assert second.duration_seconds < 3 + 2 + 2
    assert outcome.procedures[2].result.status is Status.OK  # the run went on
    assert tool_sessions(pg) == []
    assert gone(int(marker.read_text())) and descendants() <= before
    stored = {r.procedure_id: r for r in open_history(cfg).results(outcome.run_id)}
    assert "timed out" in stored["second"].summary and stored["second"].details["error"] == "timeout"


def test_every_session_names_tool_run_and_procedure(
        sample_group: None, make_config: Callable[..., LoadedConfig], pg: Any, tmp_path: Path) -> None:
    marker = tmp_path / "worker-pid"
    cfg = make_config({"procedures": {"first": {"behaviour": "db_sleep", "sleep_seconds": 5, "marker": str(marker)}},
                       "runner": {"timeout_seconds": 30, "timeout_grace_seconds": 2}})
    seen: list[tuple[Any, ...]] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set() and not seen:
            with pg.connect() as conn:
                seen.extend(conn.execute("SELECT application_name FROM pg_stat_activity "
                                         "WHERE application_name LIKE 'smc-maint/%/first'").fetchall())
            time.sleep(0.1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    outcome = run_group(cfg, "test", only=["first"])
    done.set()
    watcher.join()
    assert outcome.status is Status.OK
    assert seen and seen[0][0] == f"smc-maint/{outcome.run_id[-8:]}/first"


def test_procedure_ignoring_sigterm_is_killed_with_its_children_after_the_grace(
        sample_group: None, make_config: Callable[..., LoadedConfig], tmp_path: Path) -> None:
    marker = tmp_path / "pids"
    cfg = make_config({"procedures": {"first": {"behaviour": "stubborn", "sleep_seconds": 120,
                                                "marker": str(marker)}},
                       "runner": {"timeout_seconds": 2, "timeout_grace_seconds": 1}})
    t0 = time.monotonic()
    outcome = run_group(cfg, "test", only=["first"])
    assert time.monotonic() - t0 < 2 + 1 + 4
    result = outcome.procedures[0].result
    assert result.status is Status.CRITICAL and "killed after a 1 s grace" in result.summary
    worker, grandchild = (int(p) for p in marker.read_text().split())
    assert gone(worker) and gone(grandchild)


def test_timed_out_procedure_runs_its_clean_up_and_the_run_goes_on(
        sample_group: None, make_config: Callable[..., LoadedConfig], tmp_path: Path) -> None:
    marker = tmp_path / "cleaned-up"
    cfg = make_config({"procedures": {"second": {"behaviour": "hang", "sleep_seconds": 60, "marker": str(marker)}},
                       "runner": {"timeout_seconds": 1, "timeout_grace_seconds": 30}})
    t0 = time.monotonic()
    outcome = run_group(cfg, "test")
    assert time.monotonic() - t0 < 20  # SIGTERM ended the sleep: no waiting for the grace
    assert marker.read_text() == "cleaned up"
    assert outcome.procedures[1].result.details["stopped"] == "SIGTERM"
    assert outcome.procedures[2].result.status is Status.OK


RUNNER = """
import sys
sys.path.insert(0, {repo!r})
from smc_maint import registry
registry.PROCEDURES.update({{p: 'tests.sample_procedures' for p in ('first', 'second', 'third')}})
registry.GROUPS['test'] = ['first', 'second', 'third']
from pathlib import Path
from smc_maint.config.loader import load_config
from smc_maint.runner import run_group
run_group(load_config(Path({config!r})), 'test')
"""


def test_sigkill_of_the_runner_leaves_no_child_and_the_next_look_marks_it_interrupted(
        sample_group: None, make_config: Callable[..., LoadedConfig], tmp_path: Path) -> None:
    marker = tmp_path / "pids"
    cfg = make_config({"procedures": {"first": {"behaviour": "stubborn", "sleep_seconds": 120,
                                                "marker": str(marker)}}})
    runner = subprocess.Popen([sys.executable, "-c", RUNNER.format(repo=str(REPO), config=str(cfg.source))])
    try:
        wait_for(marker.exists, "the worker to start", timeout=60)
        worker, grandchild = (int(p) for p in marker.read_text().split())
        assert not gone(worker)
        runner.send_signal(signal.SIGKILL)
        runner.wait(10)
        wait_for(lambda: gone(worker) and gone(grandchild), "the worker group to die with its runner", timeout=15)
    finally:
        if runner.poll() is None:
            runner.kill()
    (run,) = open_history(cfg).runs(group="test")  # any look: here the `history` reader
    assert run.status == "interrupted" and str(runner.pid) in (run.note or "")


def test_liveness_rule_sees_a_reused_pid_and_a_silent_host() -> None:
    now = datetime(2026, 11, 1, 12, tzinfo=UTC)
    me = psutil.Process()
    mine = Liveness("here", me.pid, me.create_time(), now)
    kw: dict[str, Any] = {"run_host": "here", "run_pid": me.pid, "run_started": now, "here": "here", "now": now,
                          "longest_seconds": 3600}
    assert not is_dead(mine, **kw)
    assert is_dead(Liveness("here", me.pid, me.create_time() - 3600, now), **kw)  # same pid, other process
    assert is_dead(Liveness("here", 2**22 + 7, None, now), **kw)  # no such process
    fresh = Liveness("other", 1, None, now - timedelta(seconds=5))
    silent = Liveness("other", 1, None, now - timedelta(seconds=STALE_AFTER_SECONDS + 1))
    assert not is_dead(fresh, **kw) and is_dead(silent, **kw)


def test_history_store_going_away_mid_run_loses_no_alert_and_no_procedure(
        sample_group: None, make_config: Callable[..., LoadedConfig], pg: Any, webhook: Receiver,
        monkeypatch: pytest.MonkeyPatch) -> None:
    hist_db = "smc_hist_" + os.urandom(4).hex()
    with pg.connect() as conn:
        conn.execute(f'CREATE DATABASE "{hist_db}"')
    monkeypatch.setenv("SMC_MAINT_HISTORY_DSN", f"postgresql://postgres:{pg.password}@127.0.0.1:{pg.port}/{hist_db}")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", webhook.url)
    cfg = make_config({"history": {"backend": "postgresql"},
                       "procedures": {"first": {"behaviour": "drop_history", "summary": hist_db},
                                      "second": {"behaviour": "critical", "summary": "disk on fire"},
                                      "third": {"behaviour": "db"}}})
    outcome = run_group(cfg, "test")
    assert [p.result.status for p in outcome.procedures] == [Status.OK, Status.CRITICAL, Status.OK]
    assert any("disk on fire" in t for t in webhook.texts)
    assert [a.delivered for a in outcome.alerts] == [True]
    assert outcome.warnings and all("history" in w for w in outcome.warnings)


def test_two_concurrent_runs_keep_separate_logs(
        sample_group: None, make_config: Callable[..., LoadedConfig], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "PROCEDURES", {**registry.PROCEDURES, "fourth": "tests.sample_procedures"})
    monkeypatch.setattr(registry, "GROUPS", {**registry.GROUPS, "test": ["first"], "test2": ["fourth"]})
    cfg = make_config({"procedures": {"first": {"behaviour": "log", "summary": "AAA-first", "sleep_seconds": 1.5},
                                      "fourth": {"behaviour": "log", "summary": "BBB-fourth", "sleep_seconds": 1.5}}})
    outcomes: dict[str, Any] = {}
    threads = [threading.Thread(target=lambda g=g: outcomes.__setitem__(g, run_group(cfg, g)))
               for g in ("test", "test2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    first_log = outcomes["test"].log_path.read_text()
    fourth_log = outcomes["test2"].log_path.read_text()
    assert "AAA-first again" in first_log and "BBB-fourth again" in fourth_log
    assert "BBB" not in first_log and outcomes["test2"].run_id not in first_log
    assert "AAA" not in fourth_log and outcomes["test"].run_id not in fourth_log


def test_emergency_backup_is_not_started_while_another_backup_of_the_store_runs(
        make_config: Callable[..., LoadedConfig]) -> None:
    cfg = make_config()
    store = open_store(cfg)
    with store_lock(cfg.lock_dir, store.description):
        outcome = run_group(cfg, "daily", only=["backup-verify"])
    result = outcome.procedures[0].result
    assert result.status is Status.CRITICAL
    assert "no emergency backup started: another backup of" in result.summary and str(os.getpid()) in result.summary
    assert load_catalog(store).backups == []


def test_unwritable_log_directory_is_a_warning_with_the_real_exit_status(
        make_config: Callable[..., LoadedConfig], tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    cfg = make_config({"runner": {"log_dir": str(blocker / "logs")}})
    proc = subprocess.run([sys.executable, "-m", "smc_maint", "run", "daily", "--only", "trading-summary",
                           "--config", str(cfg.source)], capture_output=True, text=True, timeout=120,
                          env=os.environ.copy())
    assert proc.returncode == 0, proc.stderr
    assert "warning: no run log" in proc.stderr and "Traceback" not in proc.stderr
    (run,) = open_history(cfg).runs(group="daily")
    assert run.status == "ok" and "no run log" in (run.note or "")


def test_duplicate_yaml_key_names_the_key_and_both_lines(tmp_path: Path) -> None:
    from smc_maint.config.loader import load_config

    path = tmp_path / "smc-maint.yaml"
    path.write_text("database:\n  host: a\n  port: 5432\n  host: b\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, environ={})
    assert "duplicate key database.host" in str(err.value)
    assert "line 2" in str(err.value) and "line 4" in str(err.value)


def test_killed_scheduled_run_is_a_finding_as_soon_as_anyone_looks(make_config: Callable[..., LoadedConfig]) -> None:
    """A monthly restore-test killed mid-run: missed-run detection reports it (not 'done')."""
    import socket

    from smc_maint.scheduling.missed import missed_run_findings

    cfg = make_config({"schedule": {"groups": {"monthly": {"cron": "0 3 1 * *", "grace_minutes": 60}}}})
    hist = open_history(cfg)
    october, november = datetime(2026, 10, 1, 3, tzinfo=UTC), datetime(2026, 11, 1, 3, tzinfo=UTC)
    hist.begin_run("good", "monthly", october, ["restore-test"], trigger="scheduled", slot=october)
    hist.finish_run("good", "ok", october + timedelta(minutes=5), 300.0)
    corpse = subprocess.Popen(["true"])
    corpse.wait()  # its pid is now free: the killed runner's
    host = socket.gethostname()
    hist.begin_run("killed", "monthly", november, ["restore-test"], trigger="scheduled", slot=november,
                   pid=corpse.pid, host=host)
    hist.record_liveness("killed", host, corpse.pid, time.time() - 60, november)
    findings = missed_run_findings(cfg, open_history(cfg), november + timedelta(days=2))
    assert [(f.kind, f.run_id) for f in findings if f.group == "monthly"] == [("failed", "killed")]
    run = open_history(cfg).run("killed")
    assert run is not None and run.status == "interrupted"


def test_injected_clock_and_deadline_reach_the_procedure_in_its_worker(
        sample_group: None, make_config: Callable[..., LoadedConfig]) -> None:
    from smc_maint.adapters.clock import FixedClock

    at = datetime(2027, 2, 28, 23, 59, 30, tzinfo=UTC)
    cfg = make_config({"procedures": {"first": {"behaviour": "clock"}}})
    outcome = run_group(cfg, "test", only=["first"], clock=FixedClock(at))
    result = outcome.procedures[0].result
    assert result.summary == at.isoformat() and result.details["deadline_set"] is True
    assert outcome.procedures[0].started_at == at


def test_application_name_fits_postgres_limit() -> None:
    from smc_maint.adapters.postgres import application_name

    name = application_name("20261204T212849Z-5b43f658", "a-very-long-procedure-id-" * 4)
    assert name.startswith("smc-maint/5b43f658/a-very-long") and len(name.encode()) <= 63


def test_server_bounds_end_with_the_deadline_and_locks_fail_well_before() -> None:
    from smc_maint.deadline import DeadlineExceeded, check, server_bounds

    deadline = time.monotonic() + 100
    bounds = server_bounds(deadline, statement_seconds=float("inf"), lock_seconds=60, grace_seconds=10)
    assert 100_000 < bounds["statement_timeout"] <= 110_000
    assert bounds["idle_in_transaction_session_timeout"] == bounds["statement_timeout"]
    assert 45_000 < bounds["lock_timeout"] <= 50_000  # half the time left, under the configured 60 s
    assert server_bounds(None, statement_seconds=300, lock_seconds=60)["statement_timeout"] == 300_000
    with pytest.raises(DeadlineExceeded, match="before publishing"):
        check(time.monotonic() - 1, "publishing")
