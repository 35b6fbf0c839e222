"""Read what maintenance decisions need from PostgreSQL's catalogs and statistics views.

Every function takes a connection and returns plain dataclasses; nothing here decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from ..redact import redact


@dataclass(frozen=True)
class AutovacuumDefaults:
    vacuum_threshold: float
    vacuum_scale_factor: float
    analyze_threshold: float
    analyze_scale_factor: float
    insert_threshold: float
    insert_scale_factor: float


@dataclass(frozen=True)
class TableStats:
    schema: str
    name: str
    reltuples: float
    n_live_tup: int
    n_dead_tup: int
    n_mod_since_analyze: int
    n_ins_since_vacuum: int
    reloptions: tuple[str, ...]
    last_vacuum: datetime | None
    last_analyze: datetime | None

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Blocker:
    """Something holding the xmin horizon back: a session, a replication slot, a prepared transaction."""

    kind: str  # long_transaction | idle_in_transaction | replication_slot | prepared_transaction
    name: str
    age_seconds: float | None
    xmin_age: int | None
    detail: str


@dataclass(frozen=True)
class IndexStats:
    schema: str
    table: str
    name: str
    idx_scan: int
    size_bytes: int
    is_primary: bool
    is_unique: bool
    backs_constraint: bool
    is_valid: bool
    signature: str  # columns, opclasses, expressions and predicate: equal signatures are duplicates
    definition: str

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class SequenceUse:
    schema: str
    name: str
    last_value: int | None
    min_value: int
    max_value: int
    increment_by: int
    cycle: bool
    column_type: str | None  # type of the owning column (int4 caps a bigint sequence)


@dataclass(frozen=True)
class SlowQuery:
    query: str
    calls: int
    mean_ms: float
    total_ms: float
    rows: int


def autovacuum_defaults(conn: psycopg.Connection[Any]) -> AutovacuumDefaults:
    names = ("autovacuum_vacuum_threshold", "autovacuum_vacuum_scale_factor", "autovacuum_analyze_threshold",
             "autovacuum_analyze_scale_factor", "autovacuum_vacuum_insert_threshold",
             "autovacuum_vacuum_insert_scale_factor")
    rows = dict(conn.execute("SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", (list(names),)))
    values = [float(rows.get(n, "-1")) for n in names]
    return AutovacuumDefaults(*values)


TABLES_SQL = """
SELECT s.schemaname, s.relname, c.reltuples, s.n_live_tup, s.n_dead_tup, s.n_mod_since_analyze,
       s.n_ins_since_vacuum, coalesce(c.reloptions, '{}'),
       greatest(s.last_vacuum, s.last_autovacuum), greatest(s.last_analyze, s.last_autoanalyze)
FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
ORDER BY s.schemaname, s.relname
"""


def tables(conn: psycopg.Connection[Any]) -> list[TableStats]:
    conn.execute("SELECT pg_stat_clear_snapshot()")
    return [TableStats(r[0], r[1], float(r[2]), int(r[3]), int(r[4]), int(r[5]), int(r[6]), tuple(r[7]),
                       r[8], r[9]) for r in conn.execute(TABLES_SQL)]


BLOCKERS_SQL = """
SELECT 'session', pid::text, usename, application_name, state,
       extract(epoch FROM now() - xact_start), extract(epoch FROM now() - state_change),
       age(backend_xmin), left(query, 200)
FROM pg_stat_activity
WHERE backend_xmin IS NOT NULL AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
UNION ALL
SELECT 'replication_slot', slot_name, slot_type, coalesce(database, ''), CASE WHEN active THEN 'active' ELSE 'inactive' END,
       NULL, NULL, greatest(age(xmin), age(catalog_xmin)), ''
FROM pg_replication_slots WHERE xmin IS NOT NULL OR catalog_xmin IS NOT NULL
UNION ALL
SELECT 'prepared_transaction', gid, owner, database, 'prepared',
       extract(epoch FROM now() - prepared), NULL, age(transaction), ''
FROM pg_prepared_xacts
"""


def horizon_holders(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    """Raw rows of everything that holds an xmin; :func:`decide.blockers` picks the culprits.

    The query text (last column) passes :func:`redact`: ``ALTER ROLE .. PASSWORD '...'`` must not leak.
    """
    return [(*r[:-1], redact(str(r[-1] or ""))) for r in conn.execute(BLOCKERS_SQL)]


INDEXES_SQL = """
SELECT s.schemaname, s.relname, s.indexrelname, s.idx_scan, pg_relation_size(s.indexrelid),
       i.indisprimary, i.indisunique,
       EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid),
       i.indisvalid,
       i.indrelid::text || ':' || i.indkey::text || ':' || i.indclass::text || ':' || i.indcollation::text
         || ':' || i.indoption::text || ':' || c.relam::text || ':'
         || coalesce(pg_get_expr(i.indexprs, i.indrelid), '') || ':' || coalesce(pg_get_expr(i.indpred, i.indrelid), ''),
       pg_get_indexdef(i.indexrelid)
FROM pg_stat_user_indexes s
JOIN pg_index i ON i.indexrelid = s.indexrelid
JOIN pg_class c ON c.oid = s.indexrelid
ORDER BY 1, 2, 3
"""


def indexes(conn: psycopg.Connection[Any]) -> list[IndexStats]:
    conn.execute("SELECT pg_stat_clear_snapshot()")
    return [IndexStats(r[0], r[1], r[2], int(r[3]), int(r[4]), bool(r[5]), bool(r[6]), bool(r[7]), bool(r[8]),
                       r[9], r[10]) for r in conn.execute(INDEXES_SQL)]


def stats_reset(conn: psycopg.Connection[Any]) -> datetime | None:
    row = conn.execute("SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()").fetchone()
    return row[0] if row else None


def sizes(conn: psycopg.Connection[Any], top: int) -> tuple[int, list[tuple[str, int]]]:
    db_size = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    rows = conn.execute(
        "SELECT n.nspname || '.' || c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'm', 'p') "
        "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%' "
        "ORDER BY 2 DESC LIMIT %s", (top,)).fetchall()
    return int(db_size[0]) if db_size else 0, [(r[0], int(r[1])) for r in rows]


def xid_ages(conn: psycopg.Connection[Any]) -> list[tuple[str, int]]:
    """Transaction-ID age of every database (wraparound comes at 2^31)."""
    return [(r[0], int(r[1])) for r in conn.execute(
        "SELECT datname, age(datfrozenxid) FROM pg_database WHERE datallowconn ORDER BY 2 DESC")]


SEQUENCES_SQL = """
SELECT s.schemaname, s.sequencename, s.last_value, s.min_value, s.max_value, s.increment_by, s.cycle,
       (SELECT format_type(a.atttypid, NULL) FROM pg_depend d
          JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
         WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
           AND d.objid = (quote_ident(s.schemaname) || '.' || quote_ident(s.sequencename))::regclass
           AND d.deptype IN ('a', 'i') LIMIT 1)
FROM pg_sequences s
"""


def sequences(conn: psycopg.Connection[Any]) -> list[SequenceUse]:
    return [SequenceUse(r[0], r[1], None if r[2] is None else int(r[2]), int(r[3]), int(r[4]), int(r[5]),
                        bool(r[6]), r[7]) for r in conn.execute(SEQUENCES_SQL)]


class StatementsUnavailable(Exception):
    """pg_stat_statements cannot be read; the message says how to enable it."""


def slow_queries(conn: psycopg.Connection[Any], min_mean_ms: float, min_calls: int, limit: int) -> list[SlowQuery]:
    """Slow statements of this database from pg_stat_statements (StatementsUnavailable if absent)."""
    installed = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'").fetchone()
    if not installed:
        preloaded = "pg_stat_statements" in str(
            conn.execute("SELECT current_setting('shared_preload_libraries')").fetchone())
        raise StatementsUnavailable(
            "pg_stat_statements is not installed in this database: "
            + ("" if preloaded else "add pg_stat_statements to shared_preload_libraries and restart, then ")
            + "run CREATE EXTENSION pg_stat_statements")
    try:
        rows = conn.execute(
            "SELECT query, calls, mean_exec_time, total_exec_time, rows FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND mean_exec_time >= %s AND calls >= %s ORDER BY mean_exec_time DESC LIMIT %s",
            (min_mean_ms, min_calls, limit)).fetchall()
    except psycopg.errors.ObjectNotInPrerequisiteState as exc:
        raise StatementsUnavailable(
            f"{str(exc).strip()}: add pg_stat_statements to shared_preload_libraries and restart") from None
    return [SlowQuery(redact(str(r[0]))[:1000], int(r[1]), float(r[2]), float(r[3]), int(r[4])) for r in rows]


def dead_tuples(conn: psycopg.Connection[Any], schema: str, table: str) -> int:
    conn.execute("SELECT pg_stat_clear_snapshot()")
    row = conn.execute("SELECT n_dead_tup FROM pg_stat_user_tables WHERE schemaname = %s AND relname = %s",
                       (schema, table)).fetchone()
    return int(row[0]) if row else 0


def run_maintenance(conn: psycopg.Connection[Any], schema: str, table: str, action: str,
                    lock_timeout_ms: int, statement_timeout_ms: int) -> None:
    """``VACUUM (ANALYZE)``, ``VACUUM`` or ``ANALYZE`` one table with bounded lock and run time."""
    conn.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(f"{lock_timeout_ms}ms")))
    conn.execute(sql.SQL("SET statement_timeout = {}").format(sql.Literal(f"{statement_timeout_ms}ms")))
    target = sql.Identifier(schema, table)
    command = {"vacuum_analyze": "VACUUM (ANALYZE)", "vacuum": "VACUUM", "analyze": "ANALYZE"}[action]
    conn.execute(sql.SQL(command + " {}").format(target))
