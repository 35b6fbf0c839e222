"""Is WAL archiving working? ``pg_stat_archiver`` and ``archive_timeout`` read, one pure verdict.

RPO now is the age of the newest archived WAL: what a restore could not bring back if the server
were lost this moment. Failures are counted since the last check (``failed_count`` delta against
the figure recorded last time), not the raw counter, which only resets with the statistics.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..result import Status

FAILED_FIGURE = "wal_archive_failed_count"


@dataclass(frozen=True)
class ArchiverFacts:
    archive_mode: str
    archive_command: str
    archive_timeout_seconds: int
    archived_count: int
    last_archived_wal: str | None
    last_archived_time: datetime | None
    failed_count: int
    last_failed_wal: str | None
    last_failed_time: datetime | None


def read_facts(conn: Any) -> ArchiverFacts:
    """One query on the production server (``conn`` in autocommit)."""
    row = conn.execute(
        "SELECT current_setting('archive_mode'), current_setting('archive_command'), "
        "(SELECT setting::int FROM pg_settings WHERE name = 'archive_timeout'), archived_count, last_archived_wal, "
        "last_archived_time, failed_count, last_failed_wal, last_failed_time FROM pg_stat_archiver").fetchone()
    return ArchiverFacts(str(row[0]), str(row[1]), int(row[2] or 0), int(row[3]), row[4], row[5], int(row[6]),
                         row[7], row[8])


@dataclass(frozen=True)
class ArchiveFinding:
    status: Status
    problems: list[str]
    rpo_seconds: float | None
    new_failures: int


def assess(facts: ArchiverFacts, previous_failed: int | None, now: datetime, *, rpo_target_seconds: float,
           rpo_critical_seconds: float) -> ArchiveFinding:
    """Pure: archiving on, an ``archive_timeout`` so an idle database still archives, no new
    failures since ``previous_failed``, and the newest archived WAL younger than the RPO targets."""
    crit: list[str] = []
    warn: list[str] = []
    if facts.archive_mode not in ("on", "always"):
        crit.append(f"archive_mode is {facts.archive_mode}: no WAL is archived, point-in-time recovery impossible")
    if facts.archive_timeout_seconds <= 0:
        warn.append("archive_timeout is 0: an idle database archives nothing and the RPO grows without bound")
    elif facts.archive_timeout_seconds > rpo_target_seconds:
        warn.append(f"archive_timeout {facts.archive_timeout_seconds} s exceeds the RPO target "
                    f"{rpo_target_seconds:g} s")
    # a counter lower than last time: statistics were reset; count from zero
    base = previous_failed if previous_failed is not None and previous_failed <= facts.failed_count else 0
    new_failures = facts.failed_count - base if previous_failed is not None else 0
    failing_now = (facts.last_failed_time is not None
                   and (facts.last_archived_time is None or facts.last_failed_time > facts.last_archived_time))
    if new_failures > 0:
        crit.append(f"archive_command failed {new_failures} time(s) since the last check"
                    + (f" (last {facts.last_failed_wal} at {facts.last_failed_time:%Y-%m-%d %H:%M:%S %Z})"
                       if facts.last_failed_time else ""))
    elif failing_now:
        # no new failures counted against the last check (or none recorded), yet the newest
        # attempt failed after the newest success: archiving is failing right now
        crit.append(f"archive_command failed {facts.failed_count} time(s) (last {facts.last_failed_wal} at "
                    f"{facts.last_failed_time:%Y-%m-%d %H:%M:%S %Z}, after the last success)")
    rpo = (now - facts.last_archived_time).total_seconds() if facts.last_archived_time else None
    if rpo is None:
        if facts.archive_mode in ("on", "always"):
            crit.append("no WAL has been archived yet")
    elif rpo > rpo_critical_seconds:
        crit.append(f"newest archived WAL is {rpo:.0f} s old (RPO critical {rpo_critical_seconds:g} s)")
    elif rpo > rpo_target_seconds:
        warn.append(f"newest archived WAL is {rpo:.0f} s old (RPO target {rpo_target_seconds:g} s)")
    status = Status.CRITICAL if crit else Status.WARNING if warn else Status.OK
    return ArchiveFinding(status, crit + warn, rpo, new_failures)
