"""``db-maintenance``: VACUUM/ANALYZE only where autovacuum's own trigger is passed, and name what
vacuum cannot fix (xmin horizon blockers); unused/duplicate/invalid indexes, sizes, wraparound,
sequences and slow queries. The runbook's blanket VACUUM of four tables stays available (``all_tables``).
"""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from pydantic import Field

from ..adapters.postgres import DatabaseUnavailable
from ..config.model import Section
from ..context import Context
from ..dbmaint import decide, facts
from ..result import Result, Status, worst


class Settings(Section):
    all_tables: bool = Field(False, description="the runbook's blanket VACUUM (ANALYZE) of blanket_tables")
    blanket_tables: list[str] = Field(default_factory=lambda: list(decide.RUNBOOK_TABLES))
    lock_timeout_seconds: float = Field(5, gt=0, description="give up on a table whose lock is not granted")
    statement_timeout_seconds: float = Field(1800, gt=0, description="longest VACUUM/ANALYZE of one table")
    time_budget_seconds: float = Field(
        600, gt=0, description="all VACUUM/ANALYZE together; keep it below runner.timeouts['db-maintenance'] "
        "(default 900 s) so the procedure stops cleanly instead of being abandoned mid-vacuum")
    long_transaction_seconds: float = Field(600, ge=0)
    idle_in_transaction_seconds: float = Field(300, ge=0)
    prepared_transaction_seconds: float = Field(600, ge=0)
    unused_index_min_days: float = Field(14, ge=0, description="idx_scan must stay flat this long")
    warn_on_unused_indexes: bool = False
    largest_tables: int = Field(10, ge=1, le=100)
    wraparound_warning_age: int = Field(500_000_000, gt=0)
    wraparound_critical_age: int = Field(1_200_000_000, gt=0)
    sequence_warning_fraction: float = Field(0.75, gt=0, le=1)
    sequence_critical_fraction: float = Field(0.9, gt=0, le=1)
    slow_query_mean_ms: float = Field(1000, ge=0)
    slow_query_min_calls: int = Field(5, ge=1)
    slow_query_limit: int = Field(10, ge=1, le=100)


def _previous_snapshots(ctx: Context) -> list[tuple[datetime, str | None, dict[str, int]]]:
    out = []
    for row in ctx.history.procedure_results("db-maintenance", limit=200):
        snap = row.details.get("index_scans")
        if isinstance(snap, dict) and isinstance(snap.get("scans"), dict):
            out.append((row.started_at, snap.get("stats_reset"), {k: int(v) for k, v in snap["scans"].items()}))
    return out


def _maintain(ctx: Context, conn: psycopg.Connection[Any], items: list[decide.PlanItem], settings: Settings
              ) -> list[dict[str, Any]]:
    done = []
    deadline = time.monotonic() + settings.time_budget_seconds
    for item in items:
        entry: dict[str, Any] = {"table": f"{item.schema}.{item.table}", "action": item.action,
                                 "reason": item.reason, "dead_tuples_before": item.dead_before}
        remaining = deadline - time.monotonic()
        limit = min(settings.statement_timeout_seconds, remaining)
        if ctx.dry_run:
            entry["outcome"] = "planned (dry run)"
        elif remaining < 1:
            entry["outcome"] = f"not started: time budget of {settings.time_budget_seconds:g} s used up"
        else:
            try:
                facts.run_maintenance(conn, item.schema, item.table, item.action,
                                      int(settings.lock_timeout_seconds * 1000), int(limit * 1000))
                entry["outcome"] = "done"
            except psycopg.errors.LockNotAvailable:
                entry["outcome"] = f"skipped: lock not granted within {settings.lock_timeout_seconds:g} s"
            except psycopg.errors.QueryCanceled:
                entry["outcome"] = f"stopped after {limit:.0f} s (statement timeout / time budget)"
            finally:
                _bounded_locks(conn, settings)
                conn.execute("RESET statement_timeout")
            entry["dead_tuples_after"] = facts.dead_tuples(conn, item.schema, item.table)
        ctx.log.info("%s %s: %s", item.action, entry["table"], entry["outcome"])
        done.append(entry)
    return done


def _bounded_locks(conn: psycopg.Connection[Any], settings: Settings) -> None:
    """Even reading sizes takes a lock: never queue behind a migration's exclusive lock for long."""
    conn.execute(f"SET lock_timeout = '{int(settings.lock_timeout_seconds * 1000)}ms'")


def run(ctx: Context, settings: Settings) -> Result:
    try:
        conn = ctx.connect()
    except DatabaseUnavailable as exc:
        return Result(Status.CRITICAL, f"database unreachable: {exc}")
    with conn:
        return _run(ctx, conn, settings)


def _run(ctx: Context, conn: psycopg.Connection[Any], settings: Settings) -> Result:
    now = ctx.clock.now()
    statuses: list[Status] = [Status.OK]
    problems: list[str] = []
    notes: list[str] = []
    details: dict[str, Any] = {}

    _bounded_locks(conn, settings)
    defaults = facts.autovacuum_defaults(conn)
    items = decide.plan(facts.tables(conn), defaults, blanket=settings.all_tables,
                        blanket_tables=settings.blanket_tables)
    maintained = _maintain(ctx, conn, items, settings)
    details["maintenance"] = maintained
    details["mode"] = "all_tables" if settings.all_tables else "targeted"
    failed = [m for m in maintained if not str(m.get("outcome", "")).startswith(("done", "planned"))]
    if failed:
        statuses.append(Status.WARNING)
        problems.append(f"{len(failed)} table(s) not maintained ({', '.join(m['table'] for m in failed)})")

    blockers = decide.blockers(facts.horizon_holders(conn),
                               long_transaction_seconds=settings.long_transaction_seconds,
                               idle_in_transaction_seconds=settings.idle_in_transaction_seconds,
                               prepared_seconds=settings.prepared_transaction_seconds)
    details["xmin_blockers"] = [asdict(b) for b in blockers]
    if blockers:
        statuses.append(Status.WARNING)
        stuck = [m["table"] for m in maintained if m.get("dead_tuples_after", 0) and
                 m["dead_tuples_after"] >= m["dead_tuples_before"] * 0.5]
        names = ", ".join(f"{b.kind.replace('_', ' ')} {b.name}" for b in blockers)
        problems.append(f"xmin horizon held by {names}: vacuum cannot remove dead rows"
                        + (f" (still dead in {', '.join(stuck)})" if stuck else ""))

    try:
        ix = facts.indexes(conn)
    except psycopg.errors.LockNotAvailable:
        ix = []
        statuses.append(Status.WARNING)
        problems.append(f"index sizes not read: a table lock was not granted within {settings.lock_timeout_seconds:g} s")
    reset = facts.stats_reset(conn)
    if ix:  # an empty snapshot must not become the baseline of later runs
        details["index_scans"] = {"stats_reset": reset.isoformat() if reset else None,
                                  "scans": decide.index_snapshot(ix)}
    unused = decide.unused_indexes(ix, _previous_snapshots(ctx), reset, now, settings.unused_index_min_days)
    dups = decide.duplicate_indexes(ix)
    invalid = decide.invalid_indexes(ix)
    details["unused_indexes"] = [asdict(u) for u in unused]
    details["duplicate_indexes"] = dups
    details["invalid_indexes"] = invalid
    if invalid:
        statuses.append(Status.WARNING)
        problems.append(f"invalid index(es) {', '.join(invalid)}: REINDEX or drop them")
    if dups:
        statuses.append(Status.WARNING)
        problems.append("duplicate indexes " + "; ".join(" = ".join(g) for g in dups))
    if unused:
        msg = f"{len(unused)} unused index(es) ({sum(u.size_bytes for u in unused)} bytes): " + \
            ", ".join(u.qualified for u in unused)
        (problems if settings.warn_on_unused_indexes else notes).append(msg)
        if settings.warn_on_unused_indexes:
            statuses.append(Status.WARNING)

    try:
        db_size, largest = facts.sizes(conn, settings.largest_tables)
    except psycopg.errors.LockNotAvailable:
        db_size, largest = 0, []
        statuses.append(Status.WARNING)
        problems.append(f"table sizes not read: a table lock was not granted within {settings.lock_timeout_seconds:g} s")
    details["database_size_bytes"] = db_size
    details["largest_tables"] = [{"table": t, "bytes": b} for t, b in largest]

    ages = facts.xid_ages(conn)
    details["xid_age"] = [{"database": d, "age": a, "share_of_limit": round(a / decide.WRAPAROUND_LIMIT, 4)}
                          for d, a in ages]
    max_age = max((a for _, a in ages), default=0)
    oldest = ages[0][0] if ages else "-"
    if max_age >= settings.wraparound_critical_age:
        statuses.append(Status.CRITICAL)
        problems.append(f"transaction-ID age {max_age} in {oldest}: wraparound shutdown approaches")
    elif max_age >= settings.wraparound_warning_age:
        statuses.append(Status.WARNING)
        problems.append(f"transaction-ID age {max_age} in {oldest}: freeze vacuums are falling behind")

    seqs = decide.sequence_usage(facts.sequences(conn))
    details["sequences"] = [asdict(s) for s in seqs[:20]]
    for s in seqs:
        if s.used_fraction >= settings.sequence_warning_fraction:
            crit = s.used_fraction >= settings.sequence_critical_fraction
            statuses.append(Status.CRITICAL if crit else Status.WARNING)
            problems.append(f"sequence {s.name} {s.used_fraction:.0%} used (limit {s.limit}, {s.limited_by})")

    slow_count = 0.0
    try:
        slow = facts.slow_queries(conn, settings.slow_query_mean_ms, settings.slow_query_min_calls,
                                  settings.slow_query_limit)
        details["slow_queries"] = [asdict(q) for q in slow]
        slow_count = float(len(slow))
        if slow:
            statuses.append(Status.WARNING)
            problems.append(f"{len(slow)} slow quer{'y' if len(slow) == 1 else 'ies'} (mean >= "
                            f"{settings.slow_query_mean_ms:g} ms), slowest {slow[0].mean_ms:.0f} ms")
    except facts.StatementsUnavailable as exc:
        details["slow_queries_unavailable"] = str(exc)
        statuses.append(Status.WARNING)
        problems.append(str(exc))

    done = [m for m in maintained if m.get("outcome") == "done"]
    dead_before = sum(int(m["dead_tuples_before"]) for m in maintained)
    dead_after = sum(int(m.get("dead_tuples_after", m["dead_tuples_before"])) for m in maintained)
    acted = (f"{len(items)} table(s) planned (dry run)" if ctx.dry_run else
             f"{len(done)}/{len(items)} table(s) maintained, dead tuples {dead_before} -> {dead_after}")
    details["notes"] = notes
    details["problems"] = problems
    status = worst(statuses)
    summary = acted + ("; " + "; ".join(problems) if problems else "; no problems found")
    if notes:
        summary += "; note: " + "; ".join(notes)
    figures = {
        "tables_maintained": float(len(done)), "dead_tuples_before": float(dead_before),
        "dead_tuples_after": float(dead_after), "xmin_blockers": float(len(blockers)),
        "unused_indexes": float(len(unused)), "duplicate_indexes": float(len(dups)),
        "invalid_indexes": float(len(invalid)), "xid_age_max": float(max_age),
        "sequence_used_fraction_max": seqs[0].used_fraction if seqs else 0.0, "slow_queries": slow_count,
    }
    return Result(status, summary, details, figures)


def demo_settings(home: Path) -> dict[str, Any]:
    return {"unused_index_min_days": 0, "slow_query_mean_ms": 50, "slow_query_min_calls": 1}
