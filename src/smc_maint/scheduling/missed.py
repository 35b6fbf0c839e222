"""Missed-run detection: expected slots compared with recorded runs.

:func:`detect_missed` is pure; :func:`missed_run_findings` reads configuration and history and
is what the ``health`` procedure calls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from .. import registry
from ..adapters.clock import parse_iso
from ..config.loader import LoadedConfig
from ..history import History
from ..history.store import INTERRUPTED, RUNNING, RunRow
from .slots import slots_between

# A run that ended like this did not do its work; any other final status means it ran (and
# reported its own findings, which alert on their own).
FAILED_STATUSES = frozenset({INTERRUPTED, "unknown"})


def is_expected(slot: datetime, history_start: datetime | None, *, ran: bool) -> bool:
    """THE rule for which scheduled slots were owed a run (health, the report, the dashboard, metrics).

    A slot is expected once history has begun, at or after the first run ever recorded: a fresh
    install has missed nothing before it existed, and a month before history began owes nothing.
    A slot just before that first run counts only if it did run (the first run belongs to it).
    """
    if ran:
        return True
    return history_start is not None and slot >= history_start


DEFAULT_GRACE_MINUTES = 60.0  # as GroupSchedule.grace_minutes


def is_due(slot: datetime, now: datetime, grace_minutes: float) -> bool:
    """A slot is owed its run once its grace period has passed; before that it is pending."""
    return now >= slot + timedelta(minutes=grace_minutes)


@dataclass(frozen=True)
class RunFact:
    """What detection needs of a recorded run."""

    run_id: str
    started_at: datetime
    status: str
    complete: bool = True  # ran every procedure of the group (a manual ``--only`` run does not)


@dataclass(frozen=True)
class MissedRun:
    """One slot that did not run (``missed``) or did not finish its work (``failed``)."""

    group: str
    slot: datetime
    kind: Literal["missed", "failed"]
    severity: Literal["warning", "critical"]
    message: str
    run_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"group": self.group, "slot": self.slot.isoformat(), "kind": self.kind,
                "severity": self.severity, "message": self.message, "run_id": self.run_id}


def detect_missed(group: str, expected: Sequence[datetime], slot_runs: Mapping[datetime, RunFact],
                  manual_runs: Sequence[RunFact]) -> list[MissedRun]:
    """Findings for the expected slots after the group's last slot that did its work.

    A slot older than a good one is history, not a current problem. A missing slot is covered
    by a complete manual run that succeeded after it. Two or more bad slots in a row are critical.
    """
    slots = sorted(expected)
    good = [s for s in slots if s in slot_runs and slot_runs[s].status not in FAILED_STATUSES]
    after = [s for s in slots if not good or s > good[-1]]
    bad: list[tuple[datetime, Literal["missed", "failed"], RunFact | None]] = []
    for slot in after:
        run = slot_runs.get(slot)
        if run is None:
            if any(m.complete and m.started_at >= slot and m.status not in FAILED_STATUSES | {RUNNING}
                   for m in manual_runs):
                continue
            bad.append((slot, "missed", None))
        elif run.status in FAILED_STATUSES:
            bad.append((slot, "failed", run))
    severity: Literal["warning", "critical"] = "critical" if len(bad) >= 2 else "warning"
    findings = []
    for slot, kind, run in bad:
        if kind == "missed":
            message = f"{group} run for slot {slot:%Y-%m-%d %H:%M} UTC did not run"
        else:
            assert run is not None
            message = f"{group} run for slot {slot:%Y-%m-%d %H:%M} UTC ended {run.status} (run {run.run_id})"
        findings.append(MissedRun(group, slot, kind, severity, message, run.run_id if run else None))
    return findings


def _fact(row: RunRow, members: Sequence[str]) -> RunFact:
    return RunFact(row.id, row.started_at, row.status, complete=set(members) <= set(row.procedures))


def missed_run_findings(cfg: LoadedConfig, history: History, now: datetime) -> list[MissedRun]:
    """Missed or failed scheduled runs of every enabled, non-empty group, oldest first per group.

    Slots before the first run this history ever recorded are not expected (a fresh install
    has missed nothing); a slot becomes missed once its grace period has passed.
    """
    sched = cfg.config.schedule
    zone = sched.zone()
    first = history.first_started_at()
    if first is None:
        return []
    findings: list[MissedRun] = []
    for group, gs in sched.groups.items():
        members = registry.GROUPS.get(group, [])
        if not gs.enabled or not members:
            continue
        horizon = now - timedelta(days=sched.missed_lookback_days)
        expected = [s.utc for s in slots_between(gs.cron, zone, horizon, now)
                    if is_due(s.utc, now, gs.grace_minutes) and is_expected(s.utc, first, ran=False)]
        if not expected:
            continue
        rows = [r for r in history.runs(group=group, since=horizon, limit=100_000) if not r.dry_run]
        slot_runs = {parse_iso(r.slot): _fact(r, members) for r in rows if r.slot}
        manual = [_fact(r, members) for r in rows if not r.slot]
        findings.extend(detect_missed(group, expected, slot_runs, manual))
    return findings
