"""db-maintenance against a real PostgreSQL 15 (pg_stat_statements preloaded): bloated, clean,
unused-index, duplicate and invalid-index fixtures created here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from smc_maint.adapters.clock import FixedClock
from smc_maint.config.loader import LoadedConfig
from smc_maint.dbmaint import decide
from smc_maint.dbmaint.facts import AutovacuumDefaults, IndexStats, TableStats
from smc_maint.result import Status
from smc_maint.runner import run_group

from .conftest import DB_PASSWORD, PgServer, need

DEFAULTS = AutovacuumDefaults(50, 0.2, 50, 0.1, 1000, 0.2)


def _table(**kw: Any) -> TableStats:
    base: dict[str, Any] = dict(schema="public", name="t", reltuples=10_000, n_live_tup=10_000, n_dead_tup=0,
                                n_mod_since_analyze=0, n_ins_since_vacuum=0, reloptions=(), last_vacuum=None,
                                last_analyze=None)
    base.update(kw)
    return TableStats(**base)


def test_trigger_is_threshold_plus_scale_factor_times_reltuples_with_reloptions_winning() -> None:
    assert decide.triggers(_table(), DEFAULTS).vacuum == 50 + 0.2 * 10_000
    tuned = _table(reloptions=("autovacuum_vacuum_scale_factor=0.01", "autovacuum_enabled=false"))
    trig = decide.triggers(tuned, DEFAULTS)
    assert trig.vacuum == 50 + 0.01 * 10_000
    assert trig.autovacuum_enabled is False
    assert decide.triggers(_table(reltuples=-1), DEFAULTS).vacuum == 50  # never analyzed
    plan = decide.plan([_table(name="big", n_dead_tup=2000), _table(name="over", n_dead_tup=2100),
                        _table(name="stale", n_mod_since_analyze=1100)], DEFAULTS)
    assert [(p.table, p.action) for p in plan] == [("over", "vacuum"), ("stale", "analyze")]


def _ix(name: str, scans: int, **kw: Any) -> IndexStats:
    base: dict[str, Any] = dict(schema="public", table="t", name=name, idx_scan=scans, size_bytes=8192,
                                is_primary=False, is_unique=False, backs_constraint=False, is_valid=True,
                                signature=name, definition="")
    base.update(kw)
    return IndexStats(**base)


def test_unused_index_means_idx_scan_flat_across_snapshots_since_the_same_stats_reset() -> None:
    now = datetime(2026, 11, 28, tzinfo=UTC)
    reset = now - timedelta(days=100)
    ixs = [_ix("flat", 7), _ix("growing", 9), _ix("pk", 0, is_primary=True), _ix("uq", 0, is_unique=True)]
    old = {"public.flat": 7, "public.growing": 3, "public.pk": 0, "public.uq": 0}
    snaps = [(now - timedelta(days=20), reset.isoformat(), old)]
    found = decide.unused_indexes(ixs, snaps, reset, now, min_days=14)
    assert [u.qualified for u in found] == ["public.flat"]
    assert "stayed at 7" in found[0].evidence
    # statistics were reset since the snapshot: the old snapshot proves nothing, a recent reset is too soon
    assert decide.unused_indexes([_ix("zero", 0)], snaps, now - timedelta(days=2), now, 14) == []
    # no history, but zero scans over a long-enough statistics period
    assert [u.qualified for u in decide.unused_indexes([_ix("zero", 0)], [], reset, now, 14)] == ["public.zero"]
    # never reset (NULL): no known start, so no verdict without a recorded snapshot
    assert decide.unused_indexes([_ix("zero", 0)], [], None, now, 14) == []


def _wait_stats(conn: psycopg.Connection[Any], table: str, pred: Callable[[int], bool]) -> None:
    """Statistics reach shared memory when a backend goes idle: poll until they show (not a timing test)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = %s", (table,)).fetchone()
        if row and pred(int(row[0])):
            return
        time.sleep(0.2)
    raise AssertionError(f"statistics of {table} never showed the expected dead tuples")


def _setup(pg: PgServer, db: str) -> None:
    with pg.connect(db) as c:
        c.execute("CREATE TABLE bloated (id int PRIMARY KEY, v text) WITH (autovacuum_enabled = false)")
        c.execute("INSERT INTO bloated SELECT g, repeat('x', 50) FROM generate_series(1, 10000) g")
        c.execute("CREATE TABLE clean (id int PRIMARY KEY, v int) WITH (autovacuum_enabled = false)")
        c.execute("INSERT INTO clean SELECT g, g % 7 FROM generate_series(1, 10000) g")
        c.execute("CREATE INDEX clean_v_unused ON clean (v)")
        c.execute("CREATE INDEX trades_symbol_dup ON trades (symbol)")
        c.execute("CREATE TABLE dupes (k int)")
        c.execute("INSERT INTO dupes VALUES (1), (1)")
        with pytest.raises(psycopg.errors.UniqueViolation):
            c.execute("CREATE UNIQUE INDEX CONCURRENTLY dupes_k_invalid ON dupes (k)")
        # a bigint sequence feeding an int4 column: the column overflows long before the sequence
        c.execute("CREATE SEQUENCE small_ids_id_seq AS bigint")
        c.execute("CREATE TABLE small_ids (id int PRIMARY KEY DEFAULT nextval('small_ids_id_seq'), note text)")
        c.execute("ALTER SEQUENCE small_ids_id_seq OWNED BY small_ids.id")
        c.execute("SELECT setval('small_ids_id_seq', 2040109465)")  # 95 % of int4
        c.execute("SELECT pg_stat_force_next_flush()")  # insert counts reach the stats before the vacuum
        c.execute("VACUUM ANALYZE bloated, clean, dupes, small_ids")
        c.execute("DELETE FROM bloated WHERE id % 2 = 0")
        _wait_stats(c, "bloated", lambda n: n >= 5000)


def _run(cfg: LoadedConfig, **kw: Any) -> Any:
    outcome = run_group(cfg, "weekly", only=["db-maintenance"], **kw)
    return outcome.procedures[0].result


def test_vacuums_only_tables_over_their_trigger_and_reports_indexes_sequences(
        pg: PgServer, trading_db: str, make_config: Callable[..., LoadedConfig]) -> None:
    _setup(pg, trading_db)
    cfg = make_config({"procedures": {"db-maintenance": {"unused_index_min_days": 0}}})
    first = _run(cfg)
    assert first.details["unused_indexes"] == []  # statistics never reset: no judgement without a snapshot
    result = _run(cfg)
    maintained = {m["table"]: m for m in first.details["maintenance"]}
    assert set(maintained) == {"public.bloated"}, maintained
    assert result.details["maintenance"] == []  # nothing over its trigger any more
    bloated = maintained["public.bloated"]
    assert bloated["outcome"] == "done"
    assert bloated["dead_tuples_before"] >= 5000
    assert bloated["dead_tuples_after"] == 0
    assert "autovacuum is disabled" in bloated["reason"]

    unused = {u["qualified"] for u in result.details["unused_indexes"]}
    assert "public.clean_v_unused" in unused
    assert not any(name.endswith("_pkey") for name in unused)  # primary keys are never "unused"
    assert "public.users_email_key" not in unused  # unique/constraint indexes neither
    assert ["public.trades_symbol_dup", "public.trades_symbol_idx"] in result.details["duplicate_indexes"]
    assert result.details["invalid_indexes"] == ["public.dupes_k_invalid"]
    seq = result.details["sequences"][0]
    assert seq["name"] == "public.small_ids_id_seq" and seq["limited_by"] == "column type integer"
    assert result.status is Status.CRITICAL
    assert "small_ids_id_seq 95% used" in result.summary
    assert result.details["database_size_bytes"] > 0
    assert result.details["largest_tables"][0]["table"] == "public.trades"
    assert first.figures["dead_tuples_after"] == 0


def test_dry_run_plans_and_changes_nothing(pg: PgServer, trading_db: str,
                                           make_config: Callable[..., LoadedConfig]) -> None:
    _setup(pg, trading_db)
    result = _run(make_config(), dry_run=True)
    assert [m["outcome"] for m in result.details["maintenance"]] == ["planned (dry run)"]
    with pg.connect(trading_db) as c:
        c.execute("SELECT pg_stat_clear_snapshot()")
        dead = c.execute("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'bloated'").fetchone()
    assert dead is not None and dead[0] >= 5000


def test_names_the_transaction_holding_the_xmin_horizon(pg: PgServer, trading_db: str,
                                                        make_config: Callable[..., LoadedConfig]) -> None:
    _setup(pg, trading_db)
    with pg.connect(trading_db) as holder:
        holder.autocommit = False
        holder.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ  # keeps its snapshot while idle
        holder.execute("SET application_name = 'stuck-report-job'")
        holder.execute("SELECT count(*) FROM clean")  # snapshot taken: backend_xmin set, idle in transaction
        holder_pid = holder.info.backend_pid
        with pg.connect(trading_db) as c:
            c.execute("DELETE FROM bloated WHERE id % 2 = 1")
            _wait_stats(c, "bloated", lambda n: n >= 10000)
        cfg = make_config({"procedures": {"db-maintenance": {"idle_in_transaction_seconds": 0}}})
        result = _run(cfg)
        holder.rollback()
    blockers = result.details["xmin_blockers"]
    assert [b["name"] for b in blockers] == [f"pid {holder_pid}"]
    assert blockers[0]["kind"] == "idle_in_transaction" and "stuck-report-job" in blockers[0]["detail"]
    assert result.status in (Status.WARNING, Status.CRITICAL)
    assert f"idle in transaction pid {holder_pid}" in result.summary
    assert "vacuum cannot remove dead rows (still dead in public.bloated)" in result.summary


def test_lock_timeout_skips_a_locked_table_and_says_so(pg: PgServer, trading_db: str,
                                                       make_config: Callable[..., LoadedConfig]) -> None:
    _setup(pg, trading_db)
    with pg.connect(trading_db) as locker:
        locker.autocommit = False
        locker.execute("LOCK TABLE bloated IN ACCESS EXCLUSIVE MODE")
        cfg = make_config({"procedures": {"db-maintenance": {"lock_timeout_seconds": 0.2}}})
        result = _run(cfg)
        locker.rollback()
    entry = result.details["maintenance"][0]
    assert entry["outcome"].startswith("skipped: lock not granted")
    assert "1 table(s) not maintained (public.bloated)" in result.summary


def test_all_tables_keeps_the_runbook_blanket_vacuum(pg: PgServer, trading_db: str,
                                                     make_config: Callable[..., LoadedConfig]) -> None:
    result = _run(make_config({"procedures": {"db-maintenance": {"all_tables": True}}}))
    tables = sorted(m["table"] for m in result.details["maintenance"])
    assert tables == ["public.audit_logs", "public.smc_signals", "public.trades", "public.user_sessions"]
    assert all(m["outcome"] == "done" for m in result.details["maintenance"])


def test_slow_queries_from_pg_stat_statements(pg: PgServer, trading_db: str,
                                              make_config: Callable[..., LoadedConfig]) -> None:
    need(pg.server.binaries.has_pg_stat_statements, "pg_stat_statements (postgresql-contrib)")
    with pg.connect(trading_db) as c:
        c.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        for _ in range(3):
            c.execute("SELECT pg_sleep(0.05), count(*) FROM trades")
    cfg = make_config({"procedures": {"db-maintenance": {"slow_query_mean_ms": 40, "slow_query_min_calls": 3}}})
    result = _run(cfg)
    queries = result.details["slow_queries"]
    assert any("pg_sleep" in q["query"] and q["calls"] == 3 and q["mean_ms"] >= 50 for q in queries), queries
    assert "slow quer" in result.summary


def test_missing_pg_stat_statements_is_a_warning_with_the_fix_not_a_failure(
        pg: PgServer, trading_db: str, make_config: Callable[..., LoadedConfig]) -> None:
    result = _run(make_config())
    assert result.status is Status.WARNING
    assert "CREATE EXTENSION pg_stat_statements" in result.details["slow_queries_unavailable"]
    assert result.details["largest_tables"]  # the rest of the procedure still ran


def test_unused_index_judged_across_recorded_snapshots(pg: PgServer, trading_db: str,
                                                       make_config: Callable[..., LoadedConfig]) -> None:
    _setup(pg, trading_db)
    cfg = make_config()
    t0 = datetime.now(UTC)
    _run(cfg, clock=FixedClock(t0))
    with pg.connect(trading_db) as c:
        c.execute("SET enable_seqscan = off")
        c.execute("SELECT count(*) FROM clean WHERE v = 3")
        c.execute("SELECT pg_stat_force_next_flush()")
    later = _run(cfg, clock=FixedClock(t0 + timedelta(days=15)))
    unused = {u["qualified"]: u["evidence"] for u in later.details["unused_indexes"]}
    assert "public.clean_v_unused" not in unused
    assert "public.trades_symbol_dup" in unused and "since" in unused["public.trades_symbol_dup"]


def test_unreachable_database_is_critical_without_the_password(make_config: Callable[..., LoadedConfig]) -> None:
    cfg = make_config({"database": {"port": 1}})
    result = _run(cfg)
    assert result.status is Status.CRITICAL and "unreachable" in result.summary


def _cli(cfg: LoadedConfig, *args: str) -> subprocess.CompletedProcess[str]:
    assert cfg.source is not None
    return subprocess.run([sys.executable, "-m", "smc_maint", "db-maintenance", *args, "--config", str(cfg.source)],
                          capture_output=True, text=True, env=os.environ.copy(), timeout=120)


def test_cli_all_dry_run_prints_the_blanket_plan_and_vacuums_nothing(
        pg: PgServer, trading_db: str, make_config: Callable[..., LoadedConfig]) -> None:
    _setup(pg, trading_db)
    proc = _cli(make_config(), "--all", "--dry-run", "--json")
    out = json.loads(proc.stdout)
    [proc_out] = out["procedures"]
    assert proc_out["id"] == "db-maintenance" and proc_out["details"]["mode"] == "all_tables"
    assert sorted(m["table"] for m in proc_out["details"]["maintenance"]) == [
        "public.audit_logs", "public.smc_signals", "public.trades", "public.user_sessions"]
    assert {m["outcome"] for m in proc_out["details"]["maintenance"]} == {"planned (dry run)"}
    assert proc.returncode == 2  # the int4 sequence at 95 % is critical
    assert DB_PASSWORD not in proc.stdout + proc.stderr


def test_cli_targeted_run_vacuums_the_bloated_table(pg: PgServer, trading_db: str,
                                                    make_config: Callable[..., LoadedConfig]) -> None:
    _setup(pg, trading_db)
    proc = _cli(make_config(), "--json")
    [proc_out] = json.loads(proc.stdout)["procedures"]
    assert [(m["table"], m["outcome"], m["dead_tuples_after"]) for m in proc_out["details"]["maintenance"]] == [
        ("public.bloated", "done", 0)]


def test_blockers_name_slots_and_prepared_transactions_and_ignore_short_ones() -> None:
    rows = [
        ("session", "4242", "app", "trading-engine", "active", 5.0, 1.0, 10, "SELECT 1"),  # short: fine
        ("session", "4343", "report", "psql", "active", 7200.0, 7000.0, 900_000, "SELECT * FROM trades"),
        ("replication_slot", "old_replica", "physical", "", "inactive", None, None, 5_000_000, ""),
        ("replication_slot", "live_replica", "physical", "", "active", None, None, 20, ""),
        ("prepared_transaction", "tx-batch-17", "app", "smc_trading", "prepared", 86400.0, None, 300_000, ""),
    ]
    found = decide.blockers(rows, long_transaction_seconds=600, idle_in_transaction_seconds=60, prepared_seconds=600)
    assert [(b.kind, b.name) for b in found] == [
        ("long_transaction", "pid 4343"), ("replication_slot", "old_replica"), ("prepared_transaction", "tx-batch-17")]
    assert "COMMIT/ROLLBACK PREPARED" in found[2].detail


def test_slow_query_text_never_carries_a_password() -> None:
    from smc_maint.redact import redact  # the one statement masking (slow queries, blockers, diagnostics)

    assert redact("ALTER ROLE app PASSWORD 'hunter2''x'") == "ALTER ROLE app PASSWORD '***'"
    assert redact("SELECT * FROM trades WHERE id = $1") == "SELECT * FROM trades WHERE id = $1"


def test_time_budget_stops_vacuum_cleanly_and_says_so(pg: PgServer, trading_db: str,
                                                      make_config: Callable[..., LoadedConfig]) -> None:
    with pg.connect(trading_db) as c:
        for table in ("a_locked", "b_later"):
            c.execute(f"CREATE TABLE {table} (id int) WITH (autovacuum_enabled = false)")
            c.execute(f"INSERT INTO {table} SELECT generate_series(1, 5000)")
            c.execute(f"VACUUM {table}")
            c.execute(f"DELETE FROM {table}")
            c.execute("SELECT pg_stat_force_next_flush()")
            _wait_stats(c, table, lambda n: n >= 5000)
    with pg.connect(trading_db) as locker:
        locker.autocommit = False
        locker.execute("LOCK TABLE a_locked IN ACCESS EXCLUSIVE MODE")  # the first VACUUM waits on this
        cfg = make_config({"procedures": {"db-maintenance": {"time_budget_seconds": 1.05,
                                                             "lock_timeout_seconds": 2}}})
        result = _run(cfg)
        locker.rollback()
    outcomes = {m["table"]: m["outcome"] for m in result.details["maintenance"]}
    # the budget, not the 2 s lock timeout, ended the wait; the next table was not started
    assert outcomes["public.a_locked"].startswith("stopped after 1 s"), outcomes
    assert outcomes["public.b_later"] == "not started: time budget of 1.05 s used up"
    assert "2 table(s) not maintained" in result.summary
