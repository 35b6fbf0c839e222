"""The sequential scans smc-maint itself makes of the platform's tables, as history figures.

performance-review judges how the *platform* reads its tables; a daily backup reads every table
in full (pg_dump's COPY, and the table-facts query in the same snapshot), which would otherwise
make every table look "mostly sequentially scanned". Procedures that scan record
``own_seq_scans.<table>`` figures; the review subtracts them from the counters' growth.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

PREFIX = "own_seq_scans."
IDX_PREFIX = "own_idx_scans."
SCANS_PER_BACKED_UP_TABLE = 2  # pg_dump's COPY + the table-facts query


def backup_scan_figures(tables: Iterable[str]) -> dict[str, float]:
    """Figures for a backup of ``tables`` (names as table_facts.table_name gives them)."""
    return {PREFIX + name: float(SCANS_PER_BACKED_UP_TABLE) for name in tables}


def totals(figures: Mapping[str, Iterable[float]], prefix: str = PREFIX) -> dict[str, float]:
    """Own scans per table from recorded figure series (name -> values) named ``prefix<table>``."""
    return {name[len(prefix):]: sum(values) for name, values in figures.items() if name.startswith(prefix)}


XACT_SCANS = """SELECT schemaname, relname, coalesce(seq_scan, 0), coalesce(idx_scan, 0)
FROM pg_stat_xact_user_tables WHERE coalesce(seq_scan, 0) + coalesce(idx_scan, 0) > 0"""


def xact_scan_figures(rows: Iterable[tuple[str, str, int, int]]) -> dict[str, float]:
    """Figures from ``pg_stat_xact_user_tables`` rows read at the end of the tool's own transaction."""
    from .table_facts import table_name

    out: dict[str, float] = {}
    for schema, name, seq, idx in rows:
        if seq:
            out[PREFIX + table_name(schema, name)] = float(seq)
        if idx:
            out[IDX_PREFIX + table_name(schema, name)] = float(idx)
    return out
