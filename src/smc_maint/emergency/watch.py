"""Maintenance mode must never silently outlive its deadline: what health and the scheduler check."""

from __future__ import annotations

import contextlib
from datetime import datetime

from ..adapters.clock import Clock
from ..alerts import Notifier
from ..config.loader import LoadedConfig
from ..context import Context
from ..errors import LockHeld
from ..history import History
from ..redact import redact
from ..result import Status
from . import plan
from .journal import Entry, Window
from .machine import Machine, journal_for
from .settings import Settings


def assess_window(w: Window | None, now: datetime) -> tuple[Status, str] | None:
    """Pure: an active window is a warning; past its deadline (or never closed) it is critical."""
    if w is None:
        return None
    on = plan.to_restore(w)
    what = " and ".join(x for x in (("maintenance mode ON" if plan.MAINTENANCE_OFF in on else ""),
                                    ("trading HALTED" if plan.TRADING_RESUME in on else "")) if x) or "window open"
    if now >= w.deadline:
        late = (now - w.deadline).total_seconds() / 60
        return (Status.CRITICAL, f"emergency window {w.id}: {what} {late:.0f} min PAST its deadline "
                f"{w.deadline:%Y-%m-%d %H:%M} UTC ({w.reason}): run `smc-maint emergency finish` or `abort`")
    left = (w.deadline - now).total_seconds() / 60
    return (Status.WARNING, f"emergency window {w.id}: {what} since {w.started_at:%H:%M} UTC, "
            f"{left:.0f} min to its deadline ({w.reason})")


def enforce(ctx: Context, settings: Settings) -> list[tuple[Status, str]]:
    """The findings about an open window; past the deadline with ``auto_off_at_deadline``, abort it."""
    now = ctx.clock.now()
    journal = journal_for(ctx.cfg)
    unreadable = [(Status.CRITICAL, f"emergency journal unreadable, it may be an open window (maintenance on, "
                   f"trading halted) that only it can undo: {bad}") for bad in journal.unreadable()]
    w = journal.active()
    if w is not None and w.id == ctx.run_id:  # the window's own assess/verify: not a finding about itself
        return unreadable
    finding = assess_window(w, now)
    if finding is None or w is None:
        return unreadable
    out = [*unreadable, finding]
    s = Settings.model_validate(w.settings) if w.settings else settings
    if now >= w.deadline and s.auto_off_at_deadline and not ctx.dry_run:
        machine = Machine(ctx.cfg, settings, clock=ctx.clock, history=ctx.history, platform=ctx.platform_override)
        try:
            result = machine.abort("switched off at its deadline (auto_off_at_deadline)")
        except LockHeld:
            out.append((Status.CRITICAL, f"emergency window {w.id}: past its deadline but a command holds the "
                        "emergency lock; not switched off now"))
        except Exception as exc:
            out.append((Status.CRITICAL, redact(f"emergency window {w.id}: auto-off FAILED: {type(exc).__name__}: "
                                                f"{exc}")[:500]))
        else:
            out.append((result.status if result.status.rank > Status.WARNING.rank else Status.WARNING,
                        f"emergency window {w.id} was past its deadline and has been switched off: "
                        f"{result.message}"))
    return out


def check(ctx: Context) -> list[tuple[Status, str]]:
    """For ``health``: the configured emergency settings' findings (never raises)."""
    try:
        configured = ctx.cfg.procedure_settings.get("emergency")
        settings = configured if isinstance(configured, Settings) else Settings()
        return enforce(ctx, settings)
    except Exception as exc:  # a broken journal must show, not hide the rest of the health check
        return [(Status.WARNING, redact(f"emergency journal unreadable: {type(exc).__name__}: {exc}")[:300])]


DEADLINE_STEP, ALERTED = "deadline", "alerted"


def deadline_pass(cfg: LoadedConfig, history: History, clock: Clock, notifier: Notifier | None = None) -> str | None:
    """The scheduler's pass: at the deadline alert once (journaled), or abort with ``auto_off_at_deadline``.

    Returns what it did (None: nothing to do). Never raises: the scheduler must outlive it.
    """
    try:
        now = clock.now()
        w = journal_for(cfg).active()
        if w is None or now < w.deadline:
            return None
        configured = cfg.procedure_settings.get("emergency")
        settings = configured if isinstance(configured, Settings) else Settings()
        s = Settings.model_validate(w.settings) if w.settings else settings
        if s.auto_off_at_deadline:
            out = Machine(cfg, settings, clock=clock, history=history, notifier=notifier).abort(
                "switched off at its deadline (auto_off_at_deadline)")
            return out.message
        if any(e.step == DEADLINE_STEP for e in w.entries):
            return None
        finding = assess_window(w, now)
        text = f"[smc-maint] CRITICAL {finding[1] if finding else w.id}"
        delivery = (notifier or Notifier(cfg.config.alerts)).send(s.alert_channel, redact(text))
        w.entries.append(Entry(DEADLINE_STEP, ALERTED, now.isoformat(),
                               {"delivered": delivery.delivered, "error": delivery.error}))
        journal_for(cfg).save(w)
        with contextlib.suppress(Exception):
            history.add_alert(w.id, "emergency", now, delivery.channel, Status.CRITICAL.value,
                              delivery.delivered, delivery.attempts, delivery.error)
        return text
    except Exception as exc:  # LockHeld (a command is running), a broken journal...: next pass
        return redact(f"emergency deadline check failed: {type(exc).__name__}: {exc}")[:300]
