"""The emergency window as a state machine over the journal.

``start`` runs assess -> announce -> maintenance on -> trading halt -> backup -> work; ``finish``
runs verify -> trading resume -> maintenance off -> notify; ``abort`` only restores (resume,
off, notify). Every step is journaled (fsync'd) before and after it acts, recorded in history as a
result of the window's run (group ``emergency``) and written to the window's run log. Whatever
step a dead process stopped at, ``abort`` and ``finish`` restore exactly the journaled state.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..adapters.clock import Clock, SystemClock
from ..adapters.platform import Platform
from ..alerts import Notifier
from ..config.loader import LoadedConfig
from ..context import Context
from ..errors import SmcMaintError
from ..history import History, open_history
from ..lock import group_lock
from ..redact import redact
from ..result import Status, worst
from ..runlog import RunLog
from ..runner import run_one
from . import plan
from .halts import make_halt
from .journal import ABORTED, ACTIVE, DONE, FAILED, FINISHED, SKIPPED, STARTED, Entry, Journal, Window, journal_dir
from .settings import Settings
from .switches import make_switch

log = logging.getLogger("smc_maint.emergency")
GROUP = "emergency"


class EmergencyError(SmcMaintError):
    """An emergency step failed; the message says which and what state the window is in."""


class _StepFailed(Exception):
    pass


@dataclass
class Outcome:
    """What a command did: the window, the steps it ran now, and the final word."""

    window: Window | None
    message: str
    status: Status = Status.OK
    steps: list[tuple[str, str, str]] = field(default_factory=list)  # (step, status, summary)

    def to_json(self) -> dict[str, Any]:
        return {"message": self.message, "status": self.status.value,
                "window": self.window.to_json() if self.window else None,
                "steps": [{"step": s, "status": st, "summary": m} for s, st, m in self.steps]}


def journal_for(cfg: LoadedConfig) -> Journal:
    return Journal(journal_dir(cfg.home))


def target_name(cfg: LoadedConfig) -> str:
    """What typed confirmation must name: the namespace on Kubernetes, else this host."""
    p = cfg.config.platform
    return p.namespace if p.kind == "kubernetes" else socket.gethostname()


class Machine:
    def __init__(self, cfg: LoadedConfig, settings: Settings, *, clock: Clock | None = None,
                 history: History | None = None, notifier: Notifier | None = None,
                 platform: Platform | None = None, after_step: Callable[[str], None] | None = None) -> None:
        self.cfg = cfg
        self.settings = settings
        self.clock = clock or SystemClock()
        self._history = history
        self.notifier = notifier or Notifier(cfg.config.alerts)
        self._platform = platform
        self.after_step = after_step
        self.journal = journal_for(cfg)
        self.host = socket.gethostname()

    # -- resources ----------------------------------------------------------------------------
    @property
    def history(self) -> History:
        if self._history is None:
            self._history = open_history(self.cfg)
        return self._history

    def _ctx(self, window_id: str) -> Context:
        return Context(cfg=self.cfg, history=self.history, run_id=window_id, group=GROUP, clock=self.clock,
                       log=logging.getLogger("smc_maint.procedures.emergency"), platform_override=self._platform)

    def platform(self) -> Platform:
        if self._platform is None:
            from ..adapters.platform import open_platform

            self._platform = open_platform(self.cfg)
        return self._platform

    def _settings_of(self, window: Window) -> Settings:
        """The configuration the window started with: restores use it even if the file changed since."""
        return Settings.model_validate(window.settings) if window.settings else self.settings

    # -- steps --------------------------------------------------------------------------------
    def _record(self, w: Window, step: str, status: Status, summary: str, started: datetime, seconds: float,
                details: dict[str, Any], figures: dict[str, float] | None = None) -> None:
        n = w.attempts(step)
        pid = f"{GROUP}.{step}" + (f".{n}" if n > 1 else "")
        try:
            self.history.add_result(w.id, pid, status.value, summary, started, seconds, details, figures or {})
        except Exception as exc:  # the journal is the truth; history is the record
            log.warning("window %s: step %s not recorded in history: %s", w.id, step,
                        redact(f"{type(exc).__name__}: {exc}"))

    def _step(self, w: Window, out: Outcome, step: str, fn: Callable[[], tuple[Status, str, dict[str, Any]]],
              *, before: Callable[[], dict[str, Any]] | None = None,
              figures: Callable[[dict[str, Any]], dict[str, float]] | None = None) -> dict[str, Any]:
        """Journal ``started`` (with ``before()``: the state to restore), act, journal ``done`` or ``failed``."""
        started = self.clock.now()
        t0 = time.monotonic()
        try:
            captured = before() if before is not None else {}
            w.entries.append(Entry(step, STARTED, started.isoformat(), captured))
            self.journal.save(w)
            log.info("window %s: %s started", w.id, step)
            status, summary, data = fn()
        except Exception as exc:
            reason = redact(f"{type(exc).__name__}: {exc}")[:500]
            w.entries.append(Entry(step, FAILED, self.clock.now().isoformat(), {"error": reason}))
            self.journal.save(w)
            self._record(w, step, Status.CRITICAL, f"{step} FAILED: {reason}", started, time.monotonic() - t0,
                         {"error": reason})
            log.error("window %s: %s FAILED: %s", w.id, step, reason)
            out.steps.append((step, Status.CRITICAL.value, reason))
            raise _StepFailed(f"{step}: {reason}") from None
        w.entries.append(Entry(step, DONE, self.clock.now().isoformat(), data))
        self.journal.save(w)
        self._record(w, step, status, summary, started, time.monotonic() - t0, data,
                     figures(data) if figures else None)
        log.info("window %s: %s %s: %s", w.id, step, status.value.upper(), summary)
        out.steps.append((step, status.value, summary))
        if self.after_step is not None:
            self.after_step(step)
        return data

    def _run_procedures(self, w: Window, ids: list[str], timeout: float, label: str) -> tuple[Status, str,
                                                                                              dict[str, Any]]:
        results: dict[str, Any] = {}
        statuses = [Status.OK]
        deadline = time.monotonic() + timeout
        for pid in ids:
            left = max(1.0, deadline - time.monotonic())
            # in a worker process group, stopped at the window's deadline like any run's procedure
            outcome, _ = run_one(self.cfg, self.history, self.clock, w.id, GROUP, pid, timeout=left)
            result = outcome.result
            statuses.append(result.status)
            results[pid] = {"status": result.status.value, "summary": result.summary}
            self._record(w, f"{label}.{pid}", result.status, result.summary, self.clock.now(), 0.0,
                         dict(result.details), dict(result.figures))
        text = "; ".join(f"{pid} {r['status'].upper()}: {r['summary']}" for pid, r in results.items()) or "nothing to run"
        return worst(statuses), text, {"procedures": results}

    def _alert(self, w: Window, text: str, status: Status) -> tuple[Status, str, dict[str, Any]]:
        delivery = self.notifier.send(self._settings_of(w).alert_channel, redact(text))
        try:
            self.history.add_alert(w.id, GROUP, self.clock.now(), delivery.channel, status.value,
                                   delivery.delivered, delivery.attempts, delivery.error)
        except Exception as exc:
            log.warning("alert not recorded: %s", redact(f"{type(exc).__name__}: {exc}"))
        if delivery.delivered:
            return Status.OK, f"alert delivered to {delivery.channel}", {"text": text}
        return Status.WARNING, f"alert NOT delivered: {delivery.error}", {"text": text, "error": delivery.error}

    # -- commands -----------------------------------------------------------------------------
    def start(self, reason: str, seconds: float) -> Outcome:
        plan.check_duration(seconds, self.settings)
        with group_lock(self.cfg.lock_dir, GROUP):
            bad = self.journal.unreadable()
            if bad:  # one of them may be an open window: a second would halt over it, and undo wrongly
                return Outcome(None, "unreadable emergency journal(s), any of which may be an open window: "
                               + "; ".join(bad) + " — inspect and repair or move them by hand; nothing done",
                               Status.CRITICAL)
            active = self.journal.active()
            if active is not None:
                return Outcome(active, f"window {active.id} is already active (deadline "
                               f"{active.deadline:%Y-%m-%d %H:%M:%S} UTC); nothing done — use status, finish "
                               "or abort", Status.WARNING)
            now = self.clock.now()
            wid = f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
            w = Window(wid, reason, now, now + timedelta(seconds=seconds), target=target_name(self.cfg),
                       settings=self.settings.model_dump(mode="json"))
            log_path = self.cfg.log_dir / f"{GROUP}_{wid}.log"
            # History first: if it is unreachable nothing is journaled (no phantom active window).
            self.history.begin_run(wid, GROUP, now, [GROUP], trigger="manual", log_path=str(log_path),
                                   pid=os.getpid(), host=self.host)
            self.journal.save(w)
            out = Outcome(w, "")
            with RunLog(log_path):
                log.info("window %s: emergency maintenance started: %s (deadline %s)", wid, reason,
                         w.deadline.isoformat())
                try:
                    self._forward(w, out)
                except Exception as exc:  # a failed step, or a seam that could not even be opened
                    out.status = Status.CRITICAL
                    step = str(exc).split(":", 1)[0] if isinstance(exc, _StepFailed) else ""
                    if step in (plan.WORK, plan.VERIFY):  # after the work the system may be half-changed
                        out.message = (f"window {wid}: {redact(str(exc))[:400]}; maintenance mode and the halt stay "
                                       "on: inspect, then `smc-maint emergency finish` or `abort`")
                        return out
                    exc_text = redact(str(exc))[:300]
                    log.error("window %s: %s; restoring the starting state", wid, exc_text)
                    try:
                        self._restore(w, out, ABORTED, f"start failed at {exc_text}")
                    except Exception as again:
                        out.message = (f"window {wid}: {exc_text}; restoring ALSO failed ({redact(str(again))[:300]}): "
                                       "the window stays active — fix, then `smc-maint emergency abort`")
                        return out
                    out.message = f"window {wid}: {exc_text}; the starting state was restored"
                    out.status = Status.CRITICAL
                    return out
            if w.state == ACTIVE:
                out.message = (f"window {wid} active until {w.deadline:%Y-%m-%d %H:%M:%S} UTC: do the work, then "
                               "`smc-maint emergency finish` (or `abort`)")
            return out

    def _forward(self, w: Window, out: Outcome) -> None:
        s = self._settings_of(w)
        ctx_connect = self._ctx(w.id).connect
        self._step(w, out, plan.ASSESS, lambda: self._run_procedures(w, ["health"], 300, "assess"))
        self._step(w, out, plan.ANNOUNCE, lambda: self._alert(
            w, f"[smc-maint] EMERGENCY maintenance on {w.target}: {w.reason}; planned end "
               f"{w.deadline:%Y-%m-%d %H:%M} UTC (window {w.id})", Status.CRITICAL))
        switch = make_switch(s.maintenance, self.platform)
        self._step(w, out, plan.MAINTENANCE_ON, lambda: (Status.OK, f"maintenance mode on ({s.maintenance.kind})",
                                                         switch.apply(self.clock.now(), w.deadline)),
                   before=switch.capture, figures=lambda d: {"maintenance_mode": 1.0})
        halt = make_halt(s.halt, self.platform, ctx_connect)
        self._step(w, out, plan.TRADING_HALT, lambda: (Status.OK, f"trading halted ({s.halt.kind})", halt.apply()),
                   before=halt.capture)
        if s.backup:
            self._step(w, out, plan.BACKUP, lambda: self._backup(w))
        else:
            w.entries.append(Entry(plan.BACKUP, SKIPPED, self.clock.now().isoformat(), {}))
            self.journal.save(w)
            if self.after_step is not None:
                self.after_step(plan.BACKUP)
        if s.work.commands or s.work.procedures:
            self._step(w, out, plan.WORK, lambda: self._work(w, s))
            self._finish_steps(w, out, force=False)
        else:
            w.entries.append(Entry(plan.WORK, STARTED, self.clock.now().isoformat(), {"mode": "wait for finish"}))
            self.journal.save(w)
            log.info("window %s: waiting for the operator's `smc-maint emergency finish`", w.id)
            if self.after_step is not None:
                self.after_step(plan.WORK)

    def _backup(self, w: Window) -> tuple[Status, str, dict[str, Any]]:
        from ..backups.catalog import verify_backup
        from ..backups.create import create_backup

        store = self._ctx(w.id).store()
        manifest = create_backup(self.cfg, store, emergency=True, clock=self.clock)
        problems = verify_backup(store, manifest)
        if problems:
            raise EmergencyError(f"emergency backup {manifest.backup_id} does not verify: {'; '.join(problems)}")
        return (Status.OK, f"emergency backup {manifest.backup_id} taken and verified ({manifest.size_bytes} bytes)",
                {"backup_id": manifest.backup_id, "size_bytes": manifest.size_bytes, "store": store.description})

    def _work(self, w: Window, s: Settings) -> tuple[Status, str, dict[str, Any]]:
        deadline = time.monotonic() + s.work.timeout_seconds
        done = []
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TZ")}
        env["SMC_MAINT_EMERGENCY_WINDOW"] = w.id
        for argv in s.work.commands:
            left = deadline - time.monotonic()
            if left <= 0:
                raise EmergencyError(f"work deadline ({s.work.timeout_seconds:g} s) passed before {argv[0]}")
            try:
                proc = subprocess.run(argv, capture_output=True, text=True, timeout=left, env=env,
                                      stdin=subprocess.DEVNULL, check=False, start_new_session=True)
            except subprocess.TimeoutExpired:
                raise EmergencyError(f"{argv[0]} passed the work deadline ({s.work.timeout_seconds:g} s)") from None
            except OSError as exc:
                raise EmergencyError(f"{argv[0]}: {exc.strerror or exc}") from None
            if proc.returncode != 0:
                raise EmergencyError(redact(f"{argv[0]} exited {proc.returncode}: {proc.stderr.strip()[-300:]}"))
            done.append(argv[0])
        status, text, data = (self._run_procedures(w, s.work.procedures, max(1.0, deadline - time.monotonic()),
                                                   "work") if s.work.procedures else (Status.OK, "", {}))
        if status.rank >= Status.CRITICAL.rank:
            raise EmergencyError(f"work procedures: {text}")
        return status, f"work done: {len(done)} command(s){'; ' + text if text else ''}", {"commands": done, **data}

    def _finish_steps(self, w: Window, out: Outcome, *, force: bool) -> None:
        s = self._settings_of(w)
        def verify() -> tuple[Status, str, dict[str, Any]]:
            status, text, data = self._run_procedures(w, s.verify_procedures, s.work.timeout_seconds, "verify")
            bad = [p for p, r in data.get("procedures", {}).items() if r["status"] == Status.CRITICAL.value]
            if bad and not force:
                # the consequence first: a long health text is cut when shown
                raise EmergencyError(f"{', '.join(bad)} CRITICAL; trading NOT resumed — fix, then finish again, "
                                     f"`finish --force`, or `abort` ({text})")
            return status, text, data

        if not w.is_done(plan.VERIFY):
            self._step(w, out, plan.VERIFY, verify)
        self._restore(w, out, FINISHED, "finished")

    def _restore(self, w: Window, out: Outcome, final: str, why: str) -> None:
        """Resume trading and switch maintenance off from the journaled state, then notify and close."""
        s = self._settings_of(w)
        todo = plan.to_restore(w)
        failed: list[str] = []
        # Each restore is tried even if the one before failed: a halt that cannot be resumed must
        # not also keep the API in maintenance mode (and the other way round).
        if plan.TRADING_RESUME in todo:
            captured = w.started_data(plan.TRADING_HALT) or {}
            try:
                halt = make_halt(s.halt, self.platform, self._ctx(w.id).connect)
                self._step(w, out, plan.TRADING_RESUME, lambda: (Status.OK, f"trading resumed ({s.halt.kind})",
                                                                 halt.restore(captured)))
            except Exception as exc:
                failed.append(redact(str(exc))[:300])
        if plan.MAINTENANCE_OFF in todo:
            captured = w.started_data(plan.MAINTENANCE_ON) or {}
            try:
                switch = make_switch(s.maintenance, self.platform)
                self._step(w, out, plan.MAINTENANCE_OFF, lambda: (Status.OK, f"maintenance mode off "
                                                                  f"({s.maintenance.kind})", switch.restore(captured)),
                           figures=lambda d: {"maintenance_mode": 0.0})
            except Exception as exc:
                failed.append(redact(str(exc))[:300])
        if failed:
            raise _StepFailed(f"restore incomplete: {'; '.join(failed)}")
        ended = self.clock.now()
        spans = plan.durations(w, ended)
        text = (f"[smc-maint] emergency maintenance on {w.target} {why}: {w.reason}; window "
                f"{spans['window_seconds'] / 60:.1f} min" +
                (f", maintenance mode {spans['maintenance_seconds'] / 60:.1f} min" if "maintenance_seconds" in spans
                 else "") + (f", trading halted {spans['halt_seconds'] / 60:.1f} min" if "halt_seconds" in spans
                             else ""))
        self._step(w, out, plan.NOTIFY, lambda: self._alert(w, text, Status.WARNING),
                   figures=lambda d: spans)
        w.state, w.ended_at = final, ended
        self.journal.save(w)
        status = worst([Status.WARNING if final == ABORTED else Status.OK,
                        *(Status(st) for _, st, _ in out.steps)])
        try:
            self.history.finish_run(w.id, status.value, ended, spans["window_seconds"], f"{final}: {why}")
        except Exception as exc:
            log.warning("window %s: history not closed: %s", w.id, redact(f"{type(exc).__name__}: {exc}"))
        log.info("window %s %s (%s)", w.id, final, why)

    def _close(self, verb: str, fn: Callable[[Window, Outcome], None]) -> Outcome:
        with group_lock(self.cfg.lock_dir, GROUP):
            w = self.journal.active()
            if w is None:
                return Outcome(None, f"no active emergency window; nothing to {verb}")
            out = Outcome(w, "")
            with RunLog(self.cfg.log_dir / f"{GROUP}_{w.id}.log"):
                try:
                    fn(w, out)
                except Exception as exc:  # a failed step, or a seam that could not be opened
                    out.status = Status.CRITICAL
                    out.message = f"window {w.id}: {redact(str(exc))[:400]}; the window stays active"
                    return out
            out.status = worst([Status.OK, *(Status(st) for _, st, _ in out.steps)])
            out.message = f"window {w.id} {w.state}"
            return out

    def finish(self, *, force: bool = False) -> Outcome:
        """The operator's work is done: verify, resume, maintenance off, notify (also after a crash)."""
        def go(w: Window, out: Outcome) -> None:
            last = w.last(plan.WORK)
            if last is not None and last.phase == STARTED:
                w.entries.append(Entry(plan.WORK, DONE, self.clock.now().isoformat(), {"by": "operator (finish)"}))
                self.journal.save(w)
                self._record(w, plan.WORK, Status.OK, "operator's work done (finish)",
                             datetime.fromisoformat(last.at), 0.0, {})
            self._finish_steps(w, out, force=force)
        return self._close("finish", go)

    def abort(self, why: str = "aborted") -> Outcome:
        """Restore the starting state from the journal, whatever step the window reached."""
        return self._close("abort", lambda w, out: self._restore(w, out, ABORTED, why))

    def restore_plan(self) -> list[str]:
        """What ``abort`` would do now, from the journal (for ``--dry-run``)."""
        w = self.journal.active()
        if w is None:
            return ["no active emergency window: nothing to restore"]
        s = self._settings_of(w)
        lines = [f"window {w.id} ({w.reason}), deadline {w.deadline:%Y-%m-%d %H:%M:%S} UTC"]
        todo = plan.to_restore(w)
        if plan.TRADING_RESUME in todo:
            lines.append(f"trading resume ({s.halt.kind}): back to {w.started_data(plan.TRADING_HALT)}")
        if plan.MAINTENANCE_OFF in todo:
            before = dict(w.started_data(plan.MAINTENANCE_ON) or {})
            before.pop("old_text", None)
            lines.append(f"maintenance off ({s.maintenance.kind}): back to the journaled state {before}")
        if not todo:
            lines.append("nothing was changed yet (or it is restored already): close the window")
        lines.append("notify with the window's durations")
        return lines

    def status(self) -> dict[str, Any]:
        now = self.clock.now()
        w = self.journal.active()
        bad = self.journal.unreadable()
        if w is None:
            windows = self.journal.windows()
            last = windows[-1] if windows else None
            return {"active": None if bad else False, "maintenance_mode": None if bad else False,
                    "unreadable_journals": bad, "last": last.to_json() if last else None}
        return {"active": True, "unreadable_journals": bad, "maintenance_mode": plan.MAINTENANCE_OFF in plan.to_restore(w),
                "trading_halted": plan.TRADING_RESUME in plan.to_restore(w), "window": w.id, "reason": w.reason,
                "started_at": w.started_at.isoformat(), "deadline": w.deadline.isoformat(),
                "seconds_left": round((w.deadline - now).total_seconds()), "past_deadline": now >= w.deadline,
                "steps": [e.to_json() for e in w.entries]}
