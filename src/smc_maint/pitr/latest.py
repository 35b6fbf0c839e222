"""What a restore to the end of the archived WAL holds: the newest point the server log proves, and
whether the markers agree with it. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from ..backups.markers import Marker, split_at
from .proof import misplaced

# PostgreSQL's words at the end of recovery (xlogrecovery.c): the commit (or abort) time of the last
# transaction replayed, in the server's log_timezone with a numeric offset
LAST_XACT_RE = re.compile(r"last completed transaction was at log time (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?"
                          r"[+-]\d\d(?::?\d\d)?)\s*$", re.M)


def last_transaction_at(server_log: str) -> datetime | None:
    """The last completed transaction's time recovery logged (the last such line), or None when the
    log has none (no transaction replayed after the backup) or its time does not parse."""
    found = LAST_XACT_RE.findall(server_log)
    if not found:
        return None
    try:
        at = datetime.fromisoformat(found[-1])
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


@dataclass(frozen=True)
class LatestCheck:
    problems: list[str]
    markers_expected: int
    markers_found: int


def newest_point(last_xact_at: datetime | None, floor: datetime) -> datetime:
    """The newest moment the copy provably holds: the log's last transaction, never before ``floor``
    (the backup set's start: everything committed before it is in the set)."""
    return max(floor, last_xact_at) if last_xact_at is not None else floor


def check_latest(source: list[Marker], restored: list[Marker], last_xact_at: datetime | None,
                 floor: datetime) -> LatestCheck:
    """Every production marker committed by the copy's newest provable point is in the copy; and,
    when the log named the last transaction, none written after it (a commit comes after its
    marker's ``written_at``): the data agrees with what the log says recovery replayed."""
    newest = newest_point(last_xact_at, floor)
    before, after = split_at(source, newest)
    after = after if last_xact_at is not None else []
    missing, extra = misplaced(before, after, restored)
    problems: list[str] = []
    if missing:
        problems.append(f"{len(missing)} marker(s) committed by {newest.isoformat()} missing from the copy (first "
                        f"{missing[0].id} at {missing[0].written_at.isoformat()})")
    if extra:
        problems.append(f"{len(extra)} marker(s) written after {newest.isoformat()} present in the copy (first "
                        f"{extra[0].id} at {extra[0].written_at.isoformat()}): the log's last transaction is wrong")
    return LatestCheck(problems, len(before), len(before) - len(missing))
