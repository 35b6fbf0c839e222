"""Recovery markers: rows smc-maint writes into the platform database so a restore can be proven.

A marker is a row with two server times that bracket its commit: ``written_at`` (the INSERT's
clock) and ``committed_by`` (read right after the commit). Recovery to a time T replays by commit
time, so a restore to T must hold every marker committed by T and none written after it; one
whose bracket holds T is judged by neither (it may rightly be on either side); a DR copy's newest
marker against production's newest is the RPO a drill measured. One table, one definition, used
by the DR drill and by point-in-time restore tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

SCHEMA = "smc_maint"
TABLE = f"{SCHEMA}.recovery_markers"

DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {TABLE} (
    id bigserial PRIMARY KEY,
    written_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    purpose text NOT NULL,
    run_id text NOT NULL DEFAULT ''
);
ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS committed_by timestamptz;
"""


@dataclass(frozen=True)
class Marker:
    id: int
    written_at: datetime
    purpose: str
    run_id: str
    committed_by: datetime | None = None  # None: written before the column existed (or its update lost)


def ensure_table(conn: psycopg.Connection[Any]) -> None:
    """Create the marker schema and table if missing (idempotent)."""
    with conn.cursor() as cur:
        cur.execute(DDL)


def write_marker(conn: psycopg.Connection[Any], purpose: str, run_id: str = "") -> Marker:
    """Insert one marker and commit it, then record the server's clock after that commit.

    Its own transaction: inside a caller's, the commit (and so the time recovery sees) would come
    later than either time recorded here."""
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise ValueError("write_marker needs a connection outside a transaction (its commit time is the point)")
    ensure_table(conn)
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(f"INSERT INTO {TABLE} (purpose, run_id) VALUES (%s, %s) "
                    "RETURNING id, written_at, purpose, run_id", (purpose, run_id))
        row = cur.fetchone()
    assert row is not None
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(f"UPDATE {TABLE} SET committed_by = clock_timestamp() WHERE id = %s RETURNING committed_by",
                    (row[0],))
        done = cur.fetchone()
    return Marker(int(row[0]), row[1], str(row[2]), str(row[3]), done[0] if done else None)


def read_markers(conn: psycopg.Connection[Any], *, purpose: str | None = None) -> list[Marker]:
    """Every marker (of ``purpose``), oldest first; an empty list when the table does not exist."""
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass(%s)", (TABLE,))
        found = cur.fetchone()
        if found is None or found[0] is None:
            return []
        cur.execute("SELECT count(*) FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'committed_by' "
                    "AND NOT attisdropped", (TABLE,))
        has = cur.fetchone()
        columns = "id, written_at, purpose, run_id, " + ("committed_by" if has and has[0] else "NULL")
        if purpose is None:
            cur.execute(f"SELECT {columns} FROM {TABLE} ORDER BY id")
        else:
            cur.execute(f"SELECT {columns} FROM {TABLE} WHERE purpose = %s ORDER BY id", (purpose,))
        return [Marker(int(r[0]), r[1], str(r[2]), str(r[3]), r[4]) for r in cur.fetchall()]


def newest(markers: list[Marker]) -> Marker | None:
    return max(markers, key=lambda m: (m.written_at, m.id)) if markers else None


def split_at(markers: list[Marker], target: datetime) -> tuple[list[Marker], list[Marker]]:
    """Markers surely committed by ``target`` and those surely after it: a restore to ``target``
    must hold all of the first list and none of the second. A marker whose commit bracket
    (``written_at`` .. ``committed_by``) holds ``target`` is in neither; one without
    ``committed_by`` counts by ``written_at`` alone."""
    before = [m for m in markers if (m.committed_by or m.written_at) <= target]
    after = [m for m in markers if m.written_at > target]
    return before, after
