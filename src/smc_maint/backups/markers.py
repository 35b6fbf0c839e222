"""Recovery markers: rows smc-maint writes into the platform database so a restore can be proven.

A marker is a row with the commit time the server gave it. A restore to a moment T must hold
every marker committed up to T and none after (point-in-time recovery); a DR copy's newest
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
"""


@dataclass(frozen=True)
class Marker:
    id: int
    written_at: datetime
    purpose: str
    run_id: str


def ensure_table(conn: psycopg.Connection[Any]) -> None:
    """Create the marker schema and table if missing (idempotent)."""
    with conn.cursor() as cur:
        cur.execute(DDL)


def write_marker(conn: psycopg.Connection[Any], purpose: str, run_id: str = "") -> Marker:
    """Insert one marker and commit it; ``written_at`` is the server's clock at insert."""
    ensure_table(conn)
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(f"INSERT INTO {TABLE} (purpose, run_id) VALUES (%s, %s) "
                    "RETURNING id, written_at, purpose, run_id", (purpose, run_id))
        row = cur.fetchone()
    assert row is not None
    return Marker(int(row[0]), row[1], str(row[2]), str(row[3]))


def read_markers(conn: psycopg.Connection[Any], *, purpose: str | None = None) -> list[Marker]:
    """Every marker (of ``purpose``), oldest first; an empty list when the table does not exist."""
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass(%s)", (TABLE,))
        found = cur.fetchone()
        if found is None or found[0] is None:
            return []
        if purpose is None:
            cur.execute(f"SELECT id, written_at, purpose, run_id FROM {TABLE} ORDER BY id")
        else:
            cur.execute(f"SELECT id, written_at, purpose, run_id FROM {TABLE} WHERE purpose = %s ORDER BY id",
                        (purpose,))
        return [Marker(int(r[0]), r[1], str(r[2]), str(r[3])) for r in cur.fetchall()]


def newest(markers: list[Marker]) -> Marker | None:
    return max(markers, key=lambda m: (m.written_at, m.id)) if markers else None


def split_at(markers: list[Marker], target: datetime) -> tuple[list[Marker], list[Marker]]:
    """Markers committed at or before ``target`` and those after: a restore to ``target`` must hold
    exactly the first list."""
    before = [m for m in markers if m.written_at <= target]
    after = [m for m in markers if m.written_at > target]
    return before, after
