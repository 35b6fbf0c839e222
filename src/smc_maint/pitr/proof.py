"""Did a restore to T really stop at T? Pure checks on the recovery markers and the server log."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from ..backups.markers import Marker, split_at

# PostgreSQL's own words when a time target stops recovery (xlogrecovery.c), and when it ran out
STOP_RE = re.compile(r"recovery stopping (before|after) (?:commit|abort) of transaction \d+, time (.+)$", re.M)
PAUSED_RE = re.compile(r"recovery has paused|pausing at the end of recovery")
NOT_REACHED = "recovery ended before configured recovery target was reached"


@dataclass(frozen=True)
class Proof:
    problems: list[str]
    stop_line: str | None
    markers_expected: int
    markers_found: int


def misplaced(before: list[Marker], after: list[Marker], restored: list[Marker]
              ) -> tuple[list[Marker], list[Marker]]:
    """The markers of ``before`` the restore lacks and those of ``after`` it holds."""
    have = {m.id for m in restored}
    return [m for m in before if m.id not in have], [m for m in after if m.id in have]


def prove(source: list[Marker], restored: list[Marker], target: datetime, server_log: str) -> Proof:
    """Every marker committed up to ``target`` is in the restore and none after it, and the server
    log says recovery stopped at the target (not at the end of the WAL, not early)."""
    before, after = split_at(source, target)
    missing, extra = misplaced(before, after, restored)
    problems: list[str] = []
    if missing:
        problems.append(f"{len(missing)} marker(s) up to the target missing (first {missing[0].id} at "
                        f"{missing[0].written_at.isoformat()}): recovery stopped early")
    if extra:
        problems.append(f"{len(extra)} marker(s) after the target present (first {extra[0].id} at "
                        f"{extra[0].written_at.isoformat()}): recovery replayed past the target")
    if not after:
        problems.append("no marker after the target in the source: cannot prove recovery stopped at it")
    stop = STOP_RE.search(server_log)
    if NOT_REACHED in server_log:
        problems.append("the server log says: " + NOT_REACHED)
    elif stop is None and not PAUSED_RE.search(server_log):
        problems.append("the server log does not say recovery stopped at the target (replayed to the end?)")
    return Proof(problems, stop.group(0) if stop else None, len(before),
                 len([m for m in restored if m.id in {b.id for b in before}]))
