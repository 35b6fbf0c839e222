"""Exact per-table proof of a point-in-time restore where a logical snapshot exists. Pure decisions.

A logical backup records the WAL position read right after its snapshot (``Manifest.wal_lsn``):
every commit the snapshot sees lies before it. A physical restore stopping just before that
position must therefore hold every table exactly as the manifest recorded it, unless a commit
raced the LSN read (invisible to the snapshot, yet before the position): then it legitimately
differs, and the restored server's ``pg_xact_status`` of the snapshot's invisible transactions
tells which case it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..backups.catalog import BackupInfo
from ..backups.manifest import TableFacts
from ..result import Status
from .proof import NOT_REACHED
from .sets import BackupSet, lsn_value, set_before_lsn

LSN_STOP_RE = re.compile(r'recovery stopping before WAL location \(LSN\) "([0-9A-F]+/[0-9A-F]+)"')
NOT_RUN_SUMMARY = "no logical snapshot in the recoverable window: per-table exact check not run"


def lsn_text(value: int) -> str:
    """A WAL position as PostgreSQL writes it."""
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


@dataclass(frozen=True)
class Snapshot:
    """``pg_current_snapshot()``: transactions below ``xmin`` are done, from ``xmax`` on unseen,
    and those in ``xip`` were running (unseen) when it was taken."""

    xmin: int
    xmax: int
    xip: tuple[int, ...]

    @classmethod
    def parse(cls, text: str) -> Snapshot:
        xmin, xmax, xip = text.strip().split(":")
        return cls(int(xmin), int(xmax), tuple(int(x) for x in xip.split(",") if x))


@dataclass(frozen=True)
class Choice:
    backup: BackupInfo
    backup_set: BackupSet
    lsn: str  # normalised, safe to pass on
    snapshot: Snapshot


def choose(backups: Sequence[BackupInfo], sets: Sequence[BackupSet], *, system_id: str | None,
           upper_lsn: int) -> Choice | str:
    """The newest of ``backups`` (trusted, newest first) of the cluster ``system_id`` whose snapshot's
    WAL position lies in the recoverable window (after the oldest set's end, not after ``upper_lsn``,
    the archived WAL), with the newest set ending before it; else why there is none."""
    skipped: list[str] = []
    for info in backups:
        m = info.manifest
        if m.wal_lsn is None or m.xact_snapshot is None:
            continue  # a standby's, or made before the position was recorded
        if system_id is None or m.system_identifier != system_id:
            skipped.append(f"{m.backup_id} is not of this cluster" if m.system_identifier and system_id
                           else f"{m.backup_id}: cluster unknown")
            continue
        try:
            lsn, snapshot = lsn_value(m.wal_lsn), Snapshot.parse(m.xact_snapshot)
        except ValueError:
            skipped.append(f"{m.backup_id} records a malformed WAL position or snapshot")
            continue
        if lsn > upper_lsn:
            skipped.append(f"{m.backup_id} lies after the archived WAL")
            continue
        found = set_before_lsn(list(sets), lsn, system_id)
        if found is None:
            continue  # not after the oldest set's end: outside the recoverable window
        return Choice(info, found, lsn_text(lsn), snapshot)
    return NOT_RUN_SUMMARY + (f" ({'; '.join(skipped)})" if skipped else "")


def stop_problems(server_log: str, lsn: str) -> list[str]:
    """The server log must say recovery stopped before ``lsn`` (not at the end of the WAL)."""
    if NOT_REACHED in server_log:
        return ["the server log says: " + NOT_REACHED]
    stop = LSN_STOP_RE.search(server_log)
    if stop is None or lsn_value(stop.group(1)) != lsn_value(lsn):
        return [f"the server log does not say recovery stopped before WAL location {lsn}"]
    return []


@dataclass(frozen=True)
class ExactVerdict:
    status: Status
    verdict: str  # proven, mismatch, not_applicable, failed (did not stop at the position)
    tables_checked: int
    mismatches: list[str]
    reason: str
    skipped: list[str] = field(default_factory=list)  # unlogged tables, left out
    raced: list[int] = field(default_factory=list)  # commits the snapshot did not see, in the restore

    def to_json(self, backup_id: str, lsn: str) -> dict[str, Any]:
        return {"backup_id": backup_id, "lsn": lsn, "tables_checked": self.tables_checked,
                "mismatches": self.mismatches, "verdict": self.verdict, "reason": self.reason,
                "skipped": self.skipped, "raced_xids": self.raced}


def _describe(table: str, want: TableFacts | None, got: TableFacts | None) -> str:
    if got is None:
        return f"{table}: missing at the LSN ({want.rows if want else 0} rows in the snapshot)"
    if want is None:
        return f"{table}: {got.rows} rows at the LSN, not in the snapshot"
    if got.rows != want.rows:
        return f"{table}: {got.rows} rows at the LSN, {want.rows} in the snapshot"
    return f"{table}: content differs (fingerprint), {got.rows} rows both at the LSN and in the snapshot"


def decide(expected: Mapping[str, TableFacts], actual: Mapping[str, TableFacts], *, unlogged: Sequence[str] = (),
           raced: Sequence[int] = (), stop: Sequence[str] = ()) -> ExactVerdict:
    """Compare every table of the restore at the snapshot's LSN exactly with the manifest.

    ``unlogged`` tables are empty after any physical restore (not in the WAL): left out, named.
    ``raced``: transactions the snapshot did not see that are committed in the restore; with them
    a difference is explained (not applicable, WARNING), without them it is damage (CRITICAL).
    Equal tables are proven either way: equal is equal. ``stop``: problems with where recovery
    stopped (CRITICAL: the restore did not reach the snapshot's position)."""
    left_out = sorted(set(unlogged))
    want = {k: v for k, v in expected.items() if k not in left_out}
    got = {k: v for k, v in actual.items() if k not in left_out}
    checked = len(want)
    if stop:
        return ExactVerdict(Status.CRITICAL, "failed", checked, list(stop),
                            "the restore to the snapshot's WAL position did not stop there", left_out, list(raced))
    mismatches = [_describe(t, want.get(t), got.get(t)) for t in sorted(want.keys() | got.keys())
                  if want.get(t) != got.get(t)]
    if not mismatches:
        return ExactVerdict(Status.OK, "proven", checked, [], f"all {checked} tables equal the snapshot", left_out,
                            list(raced))
    if raced:
        shown = ", ".join(str(x) for x in raced[:5]) + (" …" if len(raced) > 5 else "")
        return ExactVerdict(Status.WARNING, "not_applicable", checked, mismatches,
                            f"{len(raced)} transaction(s) the snapshot did not see committed before its WAL "
                            f"position ({shown}): a commit raced the LSN read, the restore legitimately "
                            "differs from the snapshot; per-table exact check not applicable this run", left_out,
                            list(raced))
    return ExactVerdict(Status.CRITICAL, "mismatch", checked, mismatches,
                        f"{len(mismatches)} table(s) differ from the snapshot at its WAL position", left_out)
