"""Grandfather-father-son retention as a pure decision over backup facts.

Keeps the newest backup of each of the last N days, ISO weeks and months that have backups,
and always the newest backup and the newest backup that passed a restore test.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..config.model import RetentionConfig


@dataclass(frozen=True)
class Entry:
    id: str
    created_at: datetime
    restore_tested: bool = False


@dataclass(frozen=True)
class Leftover:
    id: str
    started_at: datetime | None
    reason: str


@dataclass(frozen=True)
class Plan:
    keep: dict[str, list[str]] = field(default_factory=dict)  # id -> reasons
    delete: list[str] = field(default_factory=list)  # valid backups to delete
    delete_leftovers: list[str] = field(default_factory=list)  # manifest-less directories past grace

    def to_json(self) -> dict[str, object]:
        return {"keep": self.keep, "delete": self.delete, "delete_leftovers": self.delete_leftovers}


def _buckets(entries: Sequence[Entry], n: int, key: Callable[[datetime], Hashable]) -> list[str]:
    """Newest entry of each of the newest ``n`` buckets (entries sorted newest first)."""
    seen: set[Hashable] = set()
    chosen: list[str] = []
    for entry in entries:
        bucket = key(entry.created_at)
        if bucket in seen:
            continue
        if len(seen) >= n:
            break
        seen.add(bucket)
        chosen.append(entry.id)
    return chosen


def plan(entries: Sequence[Entry], policy: RetentionConfig, *, now: datetime,
         leftovers: Sequence[Leftover] = ()) -> Plan:
    ordered = sorted(entries, key=lambda e: e.created_at, reverse=True)
    keep: dict[str, list[str]] = {}

    def mark(ids: list[str], reason: str) -> None:
        for backup_id in ids:
            keep.setdefault(backup_id, []).append(reason)

    if ordered:
        mark([ordered[0].id], "newest")
    tested = next((e for e in ordered if e.restore_tested), None)
    if tested:
        mark([tested.id], "newest restore-tested")
    mark(_buckets(ordered, policy.keep_daily, lambda t: t.date()), "daily")
    mark(_buckets(ordered, policy.keep_weekly, lambda t: tuple(t.isocalendar())[:2]), "weekly")
    mark(_buckets(ordered, policy.keep_monthly, lambda t: (t.year, t.month)), "monthly")
    delete = [e.id for e in ordered if e.id not in keep]
    grace = timedelta(hours=policy.partial_grace_hours)
    stale = [x.id for x in leftovers if x.started_at is not None and now - x.started_at > grace]
    return Plan(keep, delete, stale)
