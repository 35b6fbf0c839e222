"""Grandfather-father-son retention as a pure decision over backup facts.

Keeps the newest backup of each of the last N days, ISO weeks and months that have backups,
and always the newest verified backup and the newest verified backup that passed a restore test.
Integrity counts as well as time: a backup that fails verification never fills a bucket (the
good one before it does), and a backup dated in the future (a wrong clock) fills none either;
it is kept for inspection rather than judged by a time it cannot be trusted on.
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
    future: bool = False  # created ahead of now beyond the allowed clock skew


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
    rejected: dict[str, str] = field(default_factory=dict)  # id -> why it filled no bucket

    def to_json(self) -> dict[str, object]:
        return {"keep": self.keep, "delete": self.delete, "delete_leftovers": self.delete_leftovers,
                "rejected": self.rejected}


Check = Callable[[str], list[str]]  # problems of a backup by id; empty: it verifies


def _buckets(entries: Sequence[Entry], n: int, key: Callable[[datetime], Hashable],
             good: Callable[[Entry], bool]) -> list[str]:
    """Newest good entry of each of the newest ``n`` buckets (entries sorted newest first)."""
    seen: set[Hashable] = set()
    chosen: list[str] = []
    for entry in entries:
        bucket = key(entry.created_at)
        if bucket in seen:
            continue
        if len(seen) >= n:
            break
        if not good(entry):
            continue
        seen.add(bucket)
        chosen.append(entry.id)
    return chosen


def plan(entries: Sequence[Entry], policy: RetentionConfig, *, now: datetime,
         leftovers: Sequence[Leftover] = (), check: Check | None = None) -> Plan:
    """The plan; ``check`` verifies a backup (called lazily, only for backups that would be kept)."""
    ordered = sorted(entries, key=lambda e: e.created_at, reverse=True)
    keep: dict[str, list[str]] = {}
    rejected: dict[str, str] = {}
    verdicts: dict[str, bool] = {}

    def good(entry: Entry) -> bool:
        if entry.id not in verdicts:
            problems = check(entry.id) if check else []
            verdicts[entry.id] = not problems
            if problems:
                rejected[entry.id] = "fails verification: " + "; ".join(problems)
        return verdicts[entry.id]

    def mark(ids: list[str], reason: str) -> None:
        for backup_id in ids:
            keep.setdefault(backup_id, []).append(reason)

    for entry in ordered:
        if entry.future:
            rejected[entry.id] = "created in the future (wrong clock)"
            mark([entry.id], "future-dated: kept for inspection")
    timely = [e for e in ordered if not e.future]
    newest = next((e for e in timely if good(e)), None)
    if newest:
        mark([newest.id], "newest")
    tested = next((e for e in timely if e.restore_tested and good(e)), None)
    if tested:
        mark([tested.id], "newest restore-tested")
    mark(_buckets(timely, policy.keep_daily, lambda t: t.date(), good), "daily")
    mark(_buckets(timely, policy.keep_weekly, lambda t: tuple(t.isocalendar())[:2], good), "weekly")
    mark(_buckets(timely, policy.keep_monthly, lambda t: (t.year, t.month), good), "monthly")
    delete = [e.id for e in ordered if e.id not in keep]
    grace = timedelta(hours=policy.partial_grace_hours)
    stale = [x.id for x in leftovers if x.started_at is not None and now - x.started_at > grace]
    return Plan(keep, delete, stale, rejected)
