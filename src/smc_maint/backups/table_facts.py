"""Exact per-table facts (row count and an order-independent content fingerprint).

Computed on the server, table by table, in a fixed session setup so that the same rows give
the same text on any server: the backup reads them inside its exported snapshot, the restore
test reads them from the restored copy, and the two must be equal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
from psycopg import sql

from .manifest import TableFacts
from .schema_facts import table_key

Connect = Callable[[], psycopg.Connection[Any]]

# Text output of every type must not depend on server or client defaults.
STABLE_SESSION = (
    "SET TimeZone = 'UTC'",
    "SET DateStyle = 'ISO, MDY'",
    "SET IntervalStyle = 'postgres'",
    "SET extra_float_digits = 1",
    "SET bytea_output = 'hex'",
    "SET lc_monetary = 'C'",
)  # statement and idle-in-transaction timeouts come from the connection: bounded by the deadline

USER_TABLES = """
SELECT n.nspname, c.relname, pg_relation_size(c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND c.relpersistence <> 't'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                  AND d.deptype = 'e')
ORDER BY 3 DESC, 1, 2
"""

# A 64-bit hash per row, summed (numeric: no overflow): order-independent, and duplicate rows add
# up instead of cancelling out as they would under XOR. "r" hashes the row with each column type's
# own hash function (PostgreSQL 14+, the functions hash partitioning relies on staying stable);
# "t" hashes the row's text and serves types without a hash function (json, geometric types).
# The method is recorded as the fingerprint's prefix so that verification repeats it.
METHODS = {"r": "hash_record_extended(t, 0)", "t": "hashtextextended(t::text, 0)"}
FACTS = "SELECT count(*), coalesce(sum({}), 0)::text FROM {} AS t"


def table_name(schema: str, name: str) -> str:
    """The format-1 key (ambiguous: a public table named "a.b" and table b of schema a collide);
    kept only to verify old manifests. New manifests use :func:`schema_facts.table_key`."""
    return name if schema == "public" else f"{schema}.{name}"


KeyFn = Callable[[str, str], str]


def user_tables(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    """User tables whose data pg_dump dumps, largest first."""
    return [(r[0], r[1]) for r in conn.execute(USER_TABLES).fetchall()]


def method_of(fingerprint: str) -> str:
    return fingerprint.split(":", 1)[0] if ":" in fingerprint else "t"


def _one_table(conn: psycopg.Connection[Any], schema: str, name: str, methods: Sequence[str]) -> TableFacts:
    """Facts of one table by the first method the table's column types support."""
    for index, method in enumerate(methods):
        query = sql.SQL(FACTS).format(sql.SQL(METHODS[method]), sql.Identifier(schema, name))
        conn.execute("SAVEPOINT table_facts")
        try:
            row = conn.execute(query).fetchone()
        except psycopg.Error:
            conn.execute("ROLLBACK TO SAVEPOINT table_facts")
            if index == len(methods) - 1:
                raise
            continue
        conn.execute("RELEASE SAVEPOINT table_facts")
        assert row is not None
        return TableFacts(rows=int(row[0]), fingerprint=f"{method}:{row[1]}")
    raise ValueError("no fingerprint method given")


def _facts_worker(connect: Connect, snapshot: str | None, tables: Sequence[tuple[str, str]],
                  forced: Mapping[str, str], key_of: KeyFn) -> dict[str, TableFacts]:
    out: dict[str, TableFacts] = {}
    with connect() as conn:
        conn.autocommit = True
        for stmt in STABLE_SESSION:
            conn.execute(stmt)
        auto = ["r", "t"] if conn.info.server_version >= 140000 else ["t"]
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        if snapshot:
            conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
        for schema, name in tables:
            key = key_of(schema, name)
            out[key] = _one_table(conn, schema, name, [forced[key]] if key in forced else auto)
        conn.execute("COMMIT")
    return out


def table_facts(connect: Connect, tables: Sequence[tuple[str, str]], *, snapshot: str | None = None,
                jobs: int = 1, methods: Mapping[str, str] | None = None,
                key: KeyFn | None = None) -> dict[str, TableFacts]:
    """Facts of ``tables`` (given largest first) over ``jobs`` connections, in ``snapshot`` if given.

    ``methods`` forces the fingerprint method per table name (verification repeats the backup's);
    ``key`` names the tables (default: the unambiguous format-2 key).
    """
    key_of = key or table_key
    forced = dict(methods or {})
    jobs = max(1, min(jobs, len(tables)))
    if jobs == 1:
        return _facts_worker(connect, snapshot, tables, forced, key_of) if tables else {}
    buckets: list[list[tuple[str, str]]] = [[] for _ in range(jobs)]
    for i, table in enumerate(tables):  # largest first, dealt round-robin
        buckets[i % jobs].append(table)
    out: dict[str, TableFacts] = {}
    with ThreadPoolExecutor(jobs, thread_name_prefix="table-facts") as pool:
        for part in pool.map(lambda b: _facts_worker(connect, snapshot, b, forced, key_of), buckets):
            out.update(part)
    return out
