"""Pure decisions over the facts in :mod:`facts`: what to vacuum, what blocks it, which indexes,
sequences and databases need attention. No I/O, so every rule is unit-testable.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .facts import AutovacuumDefaults, Blocker, IndexStats, SequenceUse, TableStats

WRAPAROUND_LIMIT = 2**31
RUNBOOK_TABLES = ("trades", "smc_signals", "user_sessions", "audit_logs")
_TYPE_MAX = {"smallint": 2**15 - 1, "integer": 2**31 - 1, "bigint": 2**63 - 1}


@dataclass(frozen=True)
class Triggers:
    """The points at which autovacuum would act on a table: dead tuples, changes, inserts."""

    vacuum: float
    analyze: float
    insert: float
    autovacuum_enabled: bool


@dataclass(frozen=True)
class PlanItem:
    schema: str
    table: str
    action: str  # vacuum_analyze | vacuum | analyze
    reason: str
    dead_before: int


def _reloption(options: Iterable[str], name: str) -> str | None:
    for item in options:
        key, _, value = item.partition("=")
        if key == name:
            return value
    return None


def triggers(table: TableStats, defaults: AutovacuumDefaults) -> Triggers:
    """``threshold + scale_factor * reltuples`` per kind, per-table reloptions winning (as autovacuum does)."""
    def opt(name: str, default: float) -> float:
        raw = _reloption(table.reloptions, name)
        try:
            return float(raw) if raw is not None else default
        except ValueError:
            return default

    tuples = max(table.reltuples, 0.0)  # -1 = never analyzed; autovacuum counts it as 0
    vac = opt("autovacuum_vacuum_threshold", defaults.vacuum_threshold) + opt(
        "autovacuum_vacuum_scale_factor", defaults.vacuum_scale_factor) * tuples
    anl = opt("autovacuum_analyze_threshold", defaults.analyze_threshold) + opt(
        "autovacuum_analyze_scale_factor", defaults.analyze_scale_factor) * tuples
    ins_threshold = opt("autovacuum_vacuum_insert_threshold", defaults.insert_threshold)
    ins = (float("inf") if ins_threshold < 0 else
           ins_threshold + opt("autovacuum_vacuum_insert_scale_factor", defaults.insert_scale_factor) * tuples)
    enabled = (_reloption(table.reloptions, "autovacuum_enabled") or "true").lower() not in ("false", "off", "0")
    return Triggers(vac, anl, ins, enabled)


def plan(tables: Sequence[TableStats], defaults: AutovacuumDefaults, *, blanket: bool = False,
         blanket_tables: Sequence[str] = RUNBOOK_TABLES) -> list[PlanItem]:
    """Tables over their autovacuum/autoanalyze trigger; with ``blanket``, the runbook's tables regardless."""
    items: list[PlanItem] = []
    for t in tables:
        if blanket:
            if t.name in blanket_tables:
                items.append(PlanItem(t.schema, t.name, "vacuum_analyze", "--all: runbook table", t.n_dead_tup))
            continue
        trig = triggers(t, defaults)
        needs_vacuum = t.n_dead_tup > trig.vacuum or t.n_ins_since_vacuum > trig.insert
        needs_analyze = t.n_mod_since_analyze > trig.analyze
        reasons = []
        if t.n_dead_tup > trig.vacuum:
            reasons.append(f"{t.n_dead_tup} dead tuples > trigger {trig.vacuum:.0f}")
        if t.n_ins_since_vacuum > trig.insert:
            reasons.append(f"{t.n_ins_since_vacuum} inserts since vacuum > trigger {trig.insert:.0f}")
        if needs_analyze:
            reasons.append(f"{t.n_mod_since_analyze} changes since analyze > trigger {trig.analyze:.0f}")
        if not trig.autovacuum_enabled and (needs_vacuum or needs_analyze):
            reasons.append("autovacuum is disabled on this table")
        if needs_vacuum or needs_analyze:
            action = "vacuum_analyze" if needs_vacuum and needs_analyze else "vacuum" if needs_vacuum else "analyze"
            items.append(PlanItem(t.schema, t.name, action, "; ".join(reasons), t.n_dead_tup))
    return items


def blockers(rows: Iterable[Sequence[Any]], *, long_transaction_seconds: float, idle_in_transaction_seconds: float,
             prepared_seconds: float) -> list[Blocker]:
    """Pick the horizon holders that stop vacuum from removing dead rows, each named for the operator."""
    found: list[Blocker] = []
    for kind, name, who, app, state, xact_age, state_age, xmin_age, query in rows:
        xmin = int(xmin_age) if xmin_age is not None else None
        age = float(xact_age) if xact_age is not None else None
        if kind == "session":
            if state and state.startswith("idle in transaction") and state_age is not None \
                    and float(state_age) >= idle_in_transaction_seconds:
                found.append(Blocker("idle_in_transaction", f"pid {name}", age, xmin,
                                     f"user {who}, application {app or '-'}, {state} for {float(state_age):.0f} s"))
            elif age is not None and age >= long_transaction_seconds:
                found.append(Blocker("long_transaction", f"pid {name}", age, xmin,
                                     f"user {who}, application {app or '-'}, state {state}, "
                                     f"transaction open {age:.0f} s: {query}"))
        elif kind == "replication_slot":
            if state == "inactive":
                found.append(Blocker("replication_slot", name, None, xmin,
                                     f"inactive {who} slot holding xmin (age {xmin} transactions); drop it "
                                     "or reconnect its consumer"))
        elif kind == "prepared_transaction" and age is not None and age >= prepared_seconds:
            found.append(Blocker("prepared_transaction", name, age, xmin,
                                 f"owner {who}, database {app}, prepared {age:.0f} s ago: COMMIT/ROLLBACK PREPARED"))
    return found


@dataclass(frozen=True)
class UnusedIndex:
    qualified: str
    table: str
    size_bytes: int
    idx_scan: int
    evidence: str


def index_snapshot(indexes: Sequence[IndexStats]) -> dict[str, int]:
    return {i.qualified: i.idx_scan for i in indexes}


def unused_indexes(indexes: Sequence[IndexStats], snapshots: Sequence[tuple[datetime, str | None, Mapping[str, int]]],
                   stats_reset: datetime | None, now: datetime, min_days: float) -> list[UnusedIndex]:
    """Indexes whose ``idx_scan`` did not grow for ``min_days``.

    ``snapshots`` are earlier (time, stats_reset, {index: idx_scan}); only those taken since the current
    statistics reset count. Without one old enough, an index counts as unused only when it has 0 scans
    and the statistics were reset more than ``min_days`` ago (a never-reset counter waits for history). Primary keys, unique and constraint indexes never count.
    """
    cutoff = now - timedelta(days=min_days)
    reset_key = stats_reset.isoformat() if stats_reset else None
    usable = [s for s in snapshots if s[1] == reset_key and s[0] <= cutoff]
    baseline = min(usable, key=lambda s: s[0]) if usable else None
    result: list[UnusedIndex] = []
    for ix in indexes:
        if ix.is_primary or ix.is_unique or ix.backs_constraint or not ix.is_valid:
            continue
        if baseline is not None and ix.qualified in baseline[2]:
            if ix.idx_scan == baseline[2][ix.qualified]:
                result.append(UnusedIndex(ix.qualified, ix.table, ix.size_bytes, ix.idx_scan,
                                          f"idx_scan stayed at {ix.idx_scan} since {baseline[0]:%Y-%m-%d}"))
        elif baseline is None and ix.idx_scan == 0 and stats_reset is not None and stats_reset <= cutoff:
            # a never-reset counter (NULL) has no known start: wait for a recorded snapshot instead,
            # since a wrongly "unused" index on a trading database is a dangerous suggestion
            result.append(UnusedIndex(ix.qualified, ix.table, ix.size_bytes, 0,
                                      f"0 scans since the statistics reset {stats_reset:%Y-%m-%d}"))
    return result


def duplicate_indexes(indexes: Sequence[IndexStats]) -> list[list[str]]:
    """Groups of indexes with identical columns, operator classes, expressions and predicates."""
    groups: dict[str, list[str]] = defaultdict(list)
    for ix in indexes:
        if ix.is_valid:
            groups[ix.signature].append(ix.qualified)
    return [sorted(v) for v in groups.values() if len(v) > 1]


def invalid_indexes(indexes: Sequence[IndexStats]) -> list[str]:
    return [i.qualified for i in indexes if not i.is_valid]


@dataclass(frozen=True)
class SequenceFinding:
    name: str
    used_fraction: float
    limit: int
    limited_by: str


def sequence_usage(seqs: Sequence[SequenceUse]) -> list[SequenceFinding]:
    """Share of each sequence's range used, capped by the owning column's type (int4 serials overflow first)."""
    found = []
    for s in seqs:
        limit, by = s.max_value, "sequence max_value"
        if s.increment_by < 0:
            continue  # descending sequences: rare, not judged
        col_max = _TYPE_MAX.get(s.column_type or "")
        if col_max is not None and col_max < limit:
            limit, by = col_max, f"column type {s.column_type}"
        last = s.last_value if s.last_value is not None else s.min_value - s.increment_by
        span = limit - s.min_value
        used = (last - s.min_value) / span if span > 0 else 1.0
        found.append(SequenceFinding(f"{s.schema}.{s.name}", max(used, 0.0), limit, by))
    return sorted(found, key=lambda f: -f.used_fraction)
