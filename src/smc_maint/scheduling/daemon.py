"""Run due slots: once (``schedule run``, for systemd timers and CronJobs) or as a daemon.

The daemon is a small loop over the pure slot functions: every wake-up it asks the history
store what is due, runs it, and sleeps until the next slot (at most ``max_sleep`` seconds, so a
clock jump or a suspended machine is noticed). It keeps no state of its own, so a restart, a
second replica or a duplicate CronJob cannot run a slot twice: the history store's
UNIQUE(group, slot) decides.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .. import registry
from ..adapters.clock import Clock, SystemClock
from ..config.loader import LoadedConfig
from ..errors import LockHeld
from ..forkserver import warm
from ..history import History, SlotTaken, open_history
from ..redact import redact
from ..runner import RunOutcome, run_group
from .catchup import is_on_time
from .deadman import Pinger
from .due import due_slots
from .slots import next_slots

log = logging.getLogger("smc_maint.scheduler")


@dataclass(frozen=True)
class SlotOutcome:
    """What happened to one due slot: ran (with the run's outcome), taken elsewhere, or locked."""

    group: str
    slot: datetime
    trigger: str
    state: str  # ran | taken | locked
    run: RunOutcome | None = None

    def to_json(self) -> dict[str, Any]:
        return {"group": self.group, "slot": self.slot.isoformat(), "trigger": self.trigger, "state": self.state,
                "run": self.run.to_json() if self.run else None}


def scheduled_groups(cfg: LoadedConfig, only: str | None = None) -> list[str]:
    """Enabled groups that have procedures, in registry order."""
    groups = cfg.config.schedule.groups
    return [g for g in registry.GROUPS
            if g in groups and groups[g].enabled and registry.GROUPS[g] and (only is None or g == only)]


def run_slot(cfg: LoadedConfig, group: str, slot: datetime, trigger: str, *, history: History | None = None,
             clock: Clock | None = None, runner: Callable[..., RunOutcome] = run_group) -> SlotOutcome:
    """Run ``group`` for ``slot`` with dead-man pings; a slot taken or a lock held is an outcome."""
    gs = cfg.config.schedule.groups[group]
    pinger = Pinger.from_env(gs.ping_url_env)
    log.info("%s slot %s: starting (%s)", group, slot.isoformat(), trigger)
    try:
        outcome = runner(cfg, group, only=gs.only, trigger=trigger, slot=slot, history=history, clock=clock,
                         on_start=lambda run_id: pinger.start())
    except SlotTaken:
        log.info("%s slot %s: already ran or running elsewhere; skipped", group, slot.isoformat())
        return SlotOutcome(group, slot, trigger, "taken")
    except LockHeld as exc:
        log.warning("%s slot %s: not started: %s", group, slot.isoformat(), exc)
        return SlotOutcome(group, slot, trigger, "locked")
    except (KeyboardInterrupt, SystemExit):
        pinger.fail()
        raise
    pinger.finish(outcome.status.exit_code)
    log.info("%s slot %s: finished %s in %.1f s (run %s)", group, slot.isoformat(), outcome.status.value.upper(),
             outcome.duration_seconds, outcome.run_id)
    return SlotOutcome(group, slot, trigger, "ran", outcome)


def run_due(cfg: LoadedConfig, *, source: str, group: str | None = None, clock: Clock | None = None,
            runner: Callable[..., RunOutcome] = run_group) -> list[SlotOutcome]:
    """Run every slot due now (per catch-up policy), oldest first within each group."""
    clock = clock or SystemClock()
    history = open_history(cfg)
    sched = cfg.config.schedule
    zone = sched.zone()
    outcomes = []
    for name in scheduled_groups(cfg, group):
        gs = sched.groups[name]
        grace = timedelta(minutes=gs.grace_minutes)
        for slot in due_slots(gs, zone, name, history, clock.now()):
            trigger = source if is_on_time(slot, clock.now(), grace) else f"{source}-catch-up"
            outcomes.append(run_slot(cfg, name, slot, trigger, history=history, clock=clock, runner=runner))
    from ..emergency.watch import deadline_pass  # an emergency window must not outlive its deadline

    if (note := deadline_pass(cfg, history, clock)) is not None:
        log.warning("%s", note)
    return outcomes


def next_wake(cfg: LoadedConfig, now: datetime) -> datetime | None:
    """The earliest upcoming slot of any scheduled group."""
    sched = cfg.config.schedule
    upcoming = [s.utc for g in scheduled_groups(cfg) for s in next_slots(sched.groups[g].cron, sched.zone(), now, 1)]
    return min(upcoming) if upcoming else None


class Scheduler:
    """The foreground daemon behind ``smc-maint scheduler``."""

    def __init__(self, cfg: LoadedConfig, *, clock: Clock | None = None, stop: threading.Event | None = None,
                 max_sleep: float = 60.0, after_run: Callable[[RunOutcome], None] | None = None) -> None:
        self.cfg = cfg
        self.after_run = after_run  # e.g. publish metrics: given by the caller, like the CLI's
        self.clock = clock or SystemClock()
        self.stop = stop or threading.Event()
        self.max_sleep = max_sleep
        self.busy = False  # True while a run is in progress (a signal then interrupts it)

    def serve(self) -> None:
        """Run until :attr:`stop` is set or SIGTERM/SIGINT raise KeyboardInterrupt.

        A signal during a run propagates after the runner marked that run interrupted.
        """
        groups = scheduled_groups(self.cfg)
        warm([pid for g in groups for pid in registry.GROUPS.get(g, [])])  # one fork server for all its runs
        log.info("scheduler started: groups %s, time zone %s", ", ".join(groups) or "(none)",
                 self.cfg.config.schedule.timezone)
        backoff = 1.0
        while not self.stop.is_set():
            try:
                run_due(self.cfg, source="scheduler", clock=self.clock, runner=self._run)
            except Exception as exc:
                # History down, SQLite busy, a bug in one slot: the daemon must outlive it; the
                # slot stays due (nothing recorded it) and runs on a later pass.
                wait = min(self.max_sleep, backoff)
                log.error("scheduler pass failed (retrying in %.0f s): %s", wait,
                          redact(f"{type(exc).__name__}: {exc}"))
                backoff = min(60.0, backoff * 2)
                self.stop.wait(wait)
                continue
            backoff = 1.0
            now = self.clock.now()
            wake = next_wake(self.cfg, now)
            delay = self.max_sleep if wake is None else (wake - now).total_seconds()
            if wake is not None:
                log.debug("next slot %s; sleeping %.0f s", wake.isoformat(), min(delay, self.max_sleep))
            self.stop.wait(max(0.5, min(delay, self.max_sleep)))
        log.info("scheduler stopped")

    def _run(self, *args: Any, **kwargs: Any) -> RunOutcome:
        self.busy = True  # stays True if a signal interrupts the run: the CLI reports it
        try:
            if self.after_run is not None and not kwargs.get("dry_run"):
                kwargs.setdefault("after_run", self.after_run)
            outcome = run_group(*args, **kwargs)
        except Exception:
            self.busy = False  # an error (not a signal) ended the run: the daemon goes on idle
            raise
        self.busy = False
        return outcome
