"""The I/O of the exact per-table check: find a logical snapshot in the recoverable window, restore
the physical backups to its WAL position, read the same table facts the logical restore test reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..adapters import postgres
from ..backups.catalog import load_catalog
from ..backups.manifest import TableFacts
from ..backups.restore import restored_facts, table_key_of
from ..backups.schema_facts import table_key
from ..backups.trust import trusted
from ..config.loader import LoadedConfig
from ..stores.factory import open_store
from . import engine
from .exact import Choice, ExactVerdict, Snapshot, choose, decide, stop_problems
from .restore import RecoveryTarget, restored_server
from .sets import BackupSet

UNLOGGED = """
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND c.relpersistence = 'u'
"""

# Transactions the snapshot did not see (running in it, or from its xmax on) that the restore
# holds as committed; bounded by the restored server's next transaction id (later ones do not exist).
RACED = """
WITH r AS (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS next)
SELECT c.x FROM r, LATERAL (SELECT unnest(%s::bigint[]) UNION SELECT generate_series(%s::bigint, r.next - 1)) AS c(x)
WHERE c.x < r.next AND pg_xact_status(c.x::text::xid8) = 'committed' ORDER BY 1 LIMIT 100
"""


def find_snapshot(cfg: LoadedConfig, sets: list[BackupSet], *, system_id: str | None, upper_lsn: int,
                  now: datetime) -> Choice | str:
    """The logical backup to check against (the store's trusted backups), or why there is none.
    Raises StoreError when the store cannot be listed."""
    catalog = load_catalog(open_store(cfg))
    return choose(trusted(catalog, now, cfg.config.backup.max_clock_skew_seconds), sets, system_id=system_id,
                  upper_lsn=upper_lsn)


def raced_commits(conn: Any, snapshot: Snapshot) -> list[int]:
    rows = conn.execute(RACED, (list(snapshot.xip), snapshot.xmax)).fetchall()
    return [int(r[0]) for r in rows]


def verify_at_lsn(cfg: LoadedConfig, lay: engine.Layout, choice: Choice, *, timeout: float,
                  jobs: int = 2) -> tuple[ExactVerdict, dict[str, TableFacts]]:
    """Restore to just before the snapshot's WAL position from the chosen set and compare every
    table; the verdict and the restored facts."""
    m = choice.backup.manifest
    key = table_key_of(m)
    target = RecoveryTarget(lsn=choice.lsn, backup_set=choice.backup_set.label)
    with restored_server(cfg, lay, target, timeout=timeout) as (server, db, _):
        db = db.model_copy(update={"dbname": m.database})
        actual = restored_facts(db, m.tables, jobs, key)
        with postgres.connect(db, autocommit=True) as conn:
            unlogged = [(key or table_key)(r[0], r[1]) for r in conn.execute(UNLOGGED).fetchall()]
            raced = raced_commits(conn, choice.snapshot)
        log = server.log_file.read_text(errors="replace")
    return decide(m.tables, actual, unlogged=unlogged, raced=raced, stop=stop_problems(log, choice.lsn)), actual
