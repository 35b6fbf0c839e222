"""Expected run slots for reports and the dashboard, read from the scheduler's ``schedule:`` section.

A thin adapter over :mod:`smc_maint.scheduling.slots` (which owns time zones and DST), so the
report counts exactly the slots the scheduler runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .. import registry
from ..config.loader import LoadedConfig
from ..scheduling import slots

_EPS = timedelta(microseconds=1)
UTC_ZONE = ZoneInfo("UTC")


def slots_between(cron: str, since: datetime, until: datetime, zone: ZoneInfo = UTC_ZONE) -> list[datetime]:
    """Every slot (UTC instant) of ``cron`` read in ``zone`` with since <= slot < until."""
    return [s.utc for s in slots.slots_between(cron, zone, since - _EPS, until - _EPS)]


def next_slot(cron: str, after: datetime, zone: ZoneInfo = UTC_ZONE) -> datetime:
    """The first slot strictly after ``after``."""
    return slots.next_slots(cron, zone, after, 1)[0].utc


@dataclass(frozen=True)
class Expected:
    """Which groups run on a schedule, their cron, the procedures each runs, and the zone."""

    crons: dict[str, str] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)
    zone: ZoneInfo = UTC_ZONE
    grace_minutes: dict[str, float] = field(default_factory=dict)


def expected(cfg: LoadedConfig) -> Expected:
    sched = cfg.config.schedule
    crons, members, grace = {}, {}, {}
    for group, gs in sched.groups.items():
        if gs.enabled and registry.GROUPS.get(group):
            crons[group] = gs.cron
            members[group] = list(gs.only or registry.GROUPS[group])
            # a gated procedure's result may come as late as its maximum deferral: pending until then
            grace[group] = float(gs.grace_minutes) + sched.gate.allowance_seconds(members[group]) / 60
    return Expected(crons, members, sched.zone(), grace)
