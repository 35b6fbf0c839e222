"""What is due for a group now: expected slots not yet recorded, filtered by the catch-up policy."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..history import History
from .catchup import plan_catch_up
from .config import GroupSchedule
from .slots import slots_between

# Never look further back than this for missed slots (a years-old history must not replay).
MAX_LOOKBACK = timedelta(days=400)


def pending_slots(gs: GroupSchedule, zone: ZoneInfo, last_recorded: datetime | None, now: datetime
                  ) -> list[datetime]:
    """Expected slots after the newest recorded one (slots run oldest first, so none of them ran).

    With nothing recorded yet (a first start) only the slot within grace counts: a fresh
    install must not replay the past.
    """
    grace = timedelta(minutes=gs.grace_minutes)
    horizon = last_recorded if last_recorded is not None else now - grace
    horizon = max(horizon, now - MAX_LOOKBACK)
    return [s.utc for s in slots_between(gs.cron, zone, horizon, now)]


def due_slots(gs: GroupSchedule, zone: ZoneInfo, group: str, history: History, now: datetime) -> list[datetime]:
    """Slots of ``group`` to run now, oldest first."""
    pending = pending_slots(gs, zone, history.latest_slot(group), now)
    max_age = timedelta(hours=gs.max_age_hours) if gs.max_age_hours is not None else None
    return plan_catch_up(gs.catch_up, pending, now, grace=timedelta(minutes=gs.grace_minutes), max_age=max_age)
