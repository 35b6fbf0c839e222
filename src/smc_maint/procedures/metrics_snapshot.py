"""``metrics-snapshot``: host and database figures stored in history, for trends and capacity.

Replaces the runbook's ``kubectl top`` files in /tmp and the Prometheus admin snapshot: each
figure is recorded with the run, so ``History.figure_series`` can plot and project it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field

from ..adapters import host
from ..adapters.postgres import DatabaseUnavailable
from ..backups.own_scans import PREFIX
from ..backups.table_facts import table_name
from ..config.model import Section
from ..context import Context
from ..health import platform_usage
from ..result import Result, Status


class Settings(Section):
    disk_paths: list[Path] = Field(default_factory=lambda: [Path("/")],
                                   description="filesystems to measure; the first gives disk_* figures")
    top_tables: int = Field(10, ge=0, le=100, description="how many of the largest tables to record")
    trades_table: str = Field("trades", description="table whose exact row count is trades_rows")
    cpu_sample_seconds: float = Field(0.5, gt=0, le=10)
    unreachable_status: Status = Field(Status.CRITICAL, description="status when the database is unreachable")
    platform_usage: bool = Field(True, description="node and pod CPU/memory per workload from the platform "
                                 "(metrics.k8s.io, what `kubectl top` shows; psutil per process locally)")
    activity_days: int = Field(28, ge=0, le=365, description="days of trades behind the recorded hour-of-week "
                               "heat map (the dashboard's and report's activity chart); 0: none")


@dataclass(frozen=True)
class TableSize:
    name: str
    total_bytes: int


@dataclass(frozen=True)
class DbFacts:
    size_bytes: int
    connections: int
    connections_by_state: dict[str, int]
    max_connections: int
    trades_rows: int | None
    tables: list[TableSize] = field(default_factory=list)
    own_seq_scans: dict[str, float] = field(default_factory=dict)  # this snapshot's own scans, by table


DB_QUERY = """
SELECT pg_database_size(current_database()),
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),
       current_setting('max_connections')::int
"""

STATES_QUERY = """
SELECT coalesce(state, 'unknown'), count(*) FROM pg_stat_activity
WHERE backend_type = 'client backend' GROUP BY 1 ORDER BY 1
"""

TABLES_QUERY = """
SELECT CASE WHEN n.nspname = 'public' THEN c.relname ELSE n.nspname || '.' || c.relname END,
       pg_total_relation_size(c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'
ORDER BY 2 DESC, 1
LIMIT %(limit)s
"""


def collect_db(ctx: Context, settings: Settings) -> DbFacts:
    """Database figures; raises DatabaseUnavailable when the server cannot be reached."""
    from psycopg import sql

    with ctx.connect() as conn:
        row = conn.execute(DB_QUERY).fetchone()
        assert row is not None
        states = {str(s): int(n) for s, n in conn.execute(STATES_QUERY).fetchall()}
        tables = [TableSize(str(n), int(b))
                  for n, b in conn.execute(TABLES_QUERY, {"limit": settings.top_tables}).fetchall()]
        trades: int | None = None
        own_scans: dict[str, float] = {}
        if conn.execute("SELECT to_regclass(%s)", (settings.trades_table,)).fetchone() != (None,):
            parts = settings.trades_table.split(".")
            with conn.transaction():
                # One scan, counted by this transaction's own statistics: performance-review leaves
                # the tool's scans out of the platform's (no parallel workers, whose counts it can't see).
                conn.execute("SET LOCAL max_parallel_workers_per_gather = 0")
                count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*parts))).fetchone()
                mine = conn.execute("SELECT coalesce(sum(seq_scan), 0) FROM pg_stat_xact_user_tables "
                                    "WHERE relid = to_regclass(%s)", (settings.trades_table,)).fetchone()
            trades = int(count[0]) if count else None
            own_scans = {table_name(*parts) if len(parts) == 2 else parts[0]: float(mine[0]) if mine else 0.0}
    return DbFacts(int(row[0]), int(row[1]), states, int(row[2]), trades, tables, own_scans)


def host_figures(facts: host.HostFacts) -> dict[str, float]:
    figures = {"cpu_percent": facts.cpu_percent, "memory_percent": facts.memory_percent}
    if facts.load1 is not None:
        figures["load1"] = facts.load1
    if facts.disks:
        first = facts.disks[0]
        figures.update(disk_used_bytes=float(first.used_bytes), disk_total_bytes=float(first.total_bytes),
                       disk_percent=first.percent)
    return figures


def summarize(hostf: host.HostFacts, db: DbFacts | None, db_error: str | None, settings: Settings) -> Result:
    """Pure decision: figures and details from the facts; an unreachable database is not ok."""
    figures = host_figures(hostf)
    details: dict[str, Any] = {
        "host": {"cpu_percent": hostf.cpu_percent, "memory_percent": hostf.memory_percent, "load1": hostf.load1,
                 "disks": [vars(d) for d in hostf.disks],
                 "disk_errors": [vars(e) for e in hostf.disk_errors]},
    }
    disk_text = f", disk {hostf.disks[0].percent:.0f}% of {hostf.disks[0].path}" if hostf.disks else ""
    host_text = f"CPU {hostf.cpu_percent:.0f}%, memory {hostf.memory_percent:.0f}%{disk_text}"
    if db is None:
        details["database"] = {"error": db_error}
        return Result(settings.unreachable_status,
                      f"database unreachable: {db_error}; host figures recorded ({host_text})", details, figures)
    figures.update(db_size_bytes=float(db.size_bytes), db_connections=float(db.connections))
    if db.trades_rows is not None:
        figures["trades_rows"] = float(db.trades_rows)
    figures.update({PREFIX + name: n for name, n in db.own_seq_scans.items() if n})
    for table in db.tables:
        figures[f"table_bytes.{table.name}"] = float(table.total_bytes)
    details["database"] = {
        "size_bytes": db.size_bytes, "connections": db.connections, "max_connections": db.max_connections,
        "connections_by_state": db.connections_by_state, "trades_rows": db.trades_rows,
        "largest_tables": [{"table": t.name, "total_bytes": t.total_bytes} for t in db.tables],
    }
    problems = [f"disk path {e.path}: {e.reason}" for e in hostf.disk_errors]
    if db.trades_rows is None:
        problems.append(f"table {settings.trades_table} not found")
    summary = (f"{host_text}; database {db.size_bytes / 2**20:.1f} MiB, {db.connections} connections, "
               f"{db.trades_rows if db.trades_rows is not None else '?'} trades")
    if problems:
        return Result(Status.WARNING, summary + "; " + "; ".join(problems), details, figures)
    return Result(Status.OK, summary, details, figures)


def run(ctx: Context, settings: Settings) -> Result:
    hostf = host.collect(settings.disk_paths, settings.cpu_sample_seconds)
    try:
        db: DbFacts | None = collect_db(ctx, settings)
        error = None
    except DatabaseUnavailable as exc:
        db, error = None, str(exc)
    result = summarize(hostf, db, error, settings)
    if db is not None and settings.activity_days:
        result = _with_heat_map(ctx, settings, result)
    if settings.platform_usage:
        result = platform_usage.add_to(result, platform_usage.collect(ctx.platform))
    return result


def demo_settings(home: Path) -> dict[str, Any]:
    return {"disk_paths": [str(home)], "top_tables": 5}


def _with_heat_map(ctx: Context, settings: Settings, result: Result) -> Result:
    """Record the 168 hour-of-week mean trade counts, so charts are drawn from history, never from
    the production database at render time. A failure costs the chart, not the snapshot."""
    import dataclasses

    from ..scheduling.activity import read_heat_map

    zone = ctx.cfg.config.schedule.zone()
    try:
        with ctx.connect() as conn:
            heat = read_heat_map(conn, ctx.clock.now(), settings.activity_days, zone)
    except Exception as exc:  # the snapshot's other figures still count
        ctx.log.warning("activity heat map not recorded: %s", type(exc).__name__)
        return result
    doc = {"zone": heat.zone, "days": heat.days, "trades": [round(v, 2) for v in heat.trades]}
    return dataclasses.replace(result, details={**result.details, "activity_heat_map": doc})
