"""Catch-up policy: which of the slots that have not run should run now. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from .config import CatchUp


def plan_catch_up(policy: CatchUp, pending: Sequence[datetime], now: datetime, *, grace: timedelta,
                  max_age: timedelta | None) -> list[datetime]:
    """Slots to run now, oldest first, from ``pending`` (due slots that have no run yet).

    A slot within ``grace`` of its time is on time and runs under every policy (only the newest
    if several are). Older slots were missed: ``skip`` drops them, ``latest`` runs only the newest
    slot, ``all`` runs each one; ``max_age`` bounds how old a slot may be and still run.
    """
    due = sorted(s for s in pending if s <= now)
    if not due:
        return []

    def fresh(slot: datetime) -> bool:
        return max_age is None or now - slot <= max_age

    if policy == "skip":
        return [due[-1]] if now - due[-1] <= grace else []
    if policy == "latest":
        return [due[-1]] if fresh(due[-1]) or now - due[-1] <= grace else []
    return [s for s in due if fresh(s) or now - s <= grace]


def is_on_time(slot: datetime, now: datetime, grace: timedelta) -> bool:
    return now - slot <= grace
