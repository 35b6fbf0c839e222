"""Runs a group of procedures: lock, history, per-run log, timeouts, alerts, worst status.

One procedure failing, raising or hanging never stops the others; each becomes a result. Each
procedure runs in its own worker process (:mod:`supervise`), so a timed-out one is stopped with
everything it started; ``isolation="thread"`` keeps the old in-thread way (benchmarks, and test
procedures that exist only in memory). A history write that fails costs that record, never the
alert or the remaining procedures.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from . import registry
from .adapters import postgres
from .adapters.clock import Clock, SystemClock
from .alerts import Delivery, Notifier, format_alert
from .config.loader import LoadedConfig
from .context import Context
from .errors import UsageError
from .forkserver import warm
from .history import History, open_history
from .history.liveness import HEARTBEAT_SECONDS, process_started
from .history.store import INTERRUPTED
from .lock import group_lock
from .redact import redact, redact_obj
from .result import Result, Status, worst
from .runlog import RunLog
from .scheduling.gate_run import gated, wait_before, with_gate
from .supervise import run_in_worker
from .worker import spec_for

Isolation = Literal["process", "thread"]

log = logging.getLogger("smc_maint.runner")


@dataclass(frozen=True)
class ProcedureOutcome:
    procedure_id: str
    result: Result
    started_at: datetime
    duration_seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.procedure_id,
            "status": self.result.status.value,
            "summary": redact(self.result.summary),
            "duration_seconds": round(self.duration_seconds, 3),
            "details": redact_obj(dict(self.result.details)),
        }


@dataclass(frozen=True)
class RunOutcome:
    run_id: str
    group: str
    status: Status
    started_at: datetime
    duration_seconds: float
    log_path: Path | None
    procedures: list[ProcedureOutcome] = field(default_factory=list)
    alerts: list[Delivery] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # lost log file, history writes that failed

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "group": self.group,
            "status": self.status.value,
            "started_at": self.started_at.isoformat(),
            "duration_seconds": round(self.duration_seconds, 3),
            "log_path": str(self.log_path) if self.log_path else None,
            "procedures": [p.to_json() for p in self.procedures],
            "alerts": [{"channel": a.channel, "delivered": a.delivered, "attempts": a.attempts, "error": a.error}
                       for a in self.alerts],
            "warnings": [redact(w) for w in self.warnings],
        }


def resolve_ids(group: str, only: Sequence[str] | None) -> list[str]:
    """The procedures a run executes, in group order; ``only`` must name members of the group."""
    if group not in registry.GROUPS:
        raise UsageError(f"unknown group {group!r} (known: {', '.join(registry.GROUPS)})")
    ids = registry.GROUPS[group]
    if not only:
        return list(ids)
    unknown = [p for p in only if p not in ids]
    if unknown:
        raise UsageError(f"not in group {group}: {', '.join(unknown)} (members: {', '.join(ids)})")
    return [p for p in ids if p in only]


def _call_with_timeout(fn: Callable[[], Result], timeout: float, beat: Callable[[], None] = lambda: None
                       ) -> tuple[Result, threading.Thread | None]:
    """Run ``fn`` in a worker thread; a timeout becomes a CRITICAL result, an exception UNKNOWN.

    On a timeout the still-running worker is returned too: Python cannot kill a thread, so the
    caller keeps the group lock until it has exited (its clean-up may still be running).
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # a procedure bug must become a result, not a crash
            box["error"] = exc

    worker = threading.Thread(target=target, name="procedure", daemon=True)
    worker.start()
    end = time.monotonic() + timeout
    while worker.is_alive() and time.monotonic() < end:
        worker.join(min(HEARTBEAT_SECONDS, max(0.0, end - time.monotonic())))
        if worker.is_alive():
            beat()
    if worker.is_alive():
        return Result(Status.CRITICAL, f"timed out after {timeout:g} s; the procedure did not finish",
                      {"error": "timeout", "timeout_seconds": timeout}), worker
    if "error" in box:
        exc = box["error"]
        log.error("procedure raised", exc_info=exc)
        return Result(Status.UNKNOWN, f"failed: {type(exc).__name__}: {redact(str(exc))}"[:500],
                      {"error": type(exc).__name__, "message": redact(str(exc))}), None
    result = box.get("result")
    if not isinstance(result, Result):
        return Result(Status.UNKNOWN, "procedure returned no result", {"error": "no result"}), None
    return result, None


def _await_stragglers(stragglers: Sequence[tuple[str, threading.Thread]], grace: float) -> str | None:
    """Wait (at most ``grace`` seconds in all) for timed-out procedures to exit; the run note says how it went.

    Called with the group lock held, so the next run of the group cannot overlap a procedure that
    is still working (a restore test still dropping its scratch database, a dump still uploading).
    """
    if not stragglers:
        return None
    deadline = time.monotonic() + grace
    waited = time.monotonic()
    for pid, worker in stragglers:
        log.warning("%s timed out but is still running; keeping the group lock until it exits (at most %.0f s)",
                    pid, max(0.0, deadline - time.monotonic()))
        worker.join(max(0.0, deadline - time.monotonic()))
    alive = [pid for pid, worker in stragglers if worker.is_alive()]
    exited = [pid for pid, worker in stragglers if not worker.is_alive()]
    parts = []
    if exited:
        parts.append(f"timed out, exited {time.monotonic() - waited:.0f} s after the run: {', '.join(exited)}")
    if alive:
        parts.append(f"timed out and STILL RUNNING after a {grace:g} s grace (lock released; its clean-up may "
                     f"not have run): {', '.join(alive)}")
        log.error("%s still running after the grace period; releasing the group lock", ", ".join(alive))
    return "; ".join(parts)


class _Recorder:
    """History writes that must not end the run: a failure is logged and kept as a warning."""

    def __init__(self, hist: History) -> None:
        self.hist = hist
        self.problems: list[str] = []

    def call(self, what: str, fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except Exception as exc:
            problem = redact(f"history: {what} not recorded: {type(exc).__name__}: {exc}")[:300]
            log.error("%s", problem)
            if problem not in self.problems:
                self.problems.append(problem)


def _wall_now() -> datetime:
    """Real time for heartbeats (liveness is about this machine's processes, not the run's clock)."""
    from datetime import UTC

    return datetime.now(UTC)


def run_group(
    cfg: LoadedConfig,
    group: str,
    *,
    only: Sequence[str] | None = None,
    dry_run: bool = False,
    trigger: str = "manual",
    slot: datetime | None = None,
    clock: Clock | None = None,
    notifier: Notifier | None = None,
    history: History | None = None,
    interactive: bool = False,
    on_result: Callable[[ProcedureOutcome], None] | None = None,
    on_start: Callable[[str], None] | None = None,
    after_run: Callable[[RunOutcome], None] | None = None,
    isolation: Isolation = "process",
    sleep: Callable[[float], None] = time.sleep,
) -> RunOutcome:
    """Run ``group`` (or ``only`` some of its procedures) and record everything.

    Raises :class:`LockHeld` when another run of the group is active, and
    :class:`history.SlotTaken` when ``slot`` already ran. ``after_run`` (e.g. publishing metrics)
    is given the outcome once the group lock is released; its failure is only logged.
    """
    ids = resolve_ids(group, only)
    if isolation == "process":
        warm(ids)  # the fork server imports them on another core while this run gets going
    clock = clock or SystemClock()
    notifier = notifier or Notifier(cfg.config.alerts)
    host = socket.gethostname()
    with group_lock(cfg.lock_dir, group):
        hist = history or open_history(cfg)
        started = clock.now()
        t0 = time.monotonic()
        run_id = f"{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
        log_path = cfg.log_dir / f"{group}_{started:%Y%m%d_%H%M%S}_{run_id[-8:]}.log"
        stale = hist.sweep_dead(here=host)
        hist.begin_run(run_id, group, started, ids, trigger=trigger, slot=slot, dry_run=dry_run,
                       log_path=str(log_path), pid=os.getpid(), host=host)
        rec = _Recorder(hist)
        rec.call("liveness", hist.record_liveness, run_id, host, os.getpid(), process_started(os.getpid()),
                 _wall_now())
        if on_start:
            try:
                on_start(run_id)
            except Exception as exc:  # a dead-man ping or progress display must not stop the run
                log.warning("run %s: start hook failed: %s", run_id, redact(f"{type(exc).__name__}: {exc}"))
        outcomes: list[ProcedureOutcome] = []
        deliveries: list[Delivery] = []
        stragglers: list[tuple[str, threading.Thread]] = []
        runlog = RunLog(log_path)
        with runlog:
            log.info("run %s: group %s%s started (%s)", run_id, group, " [dry-run]" if dry_run else "",
                     ", ".join(ids))
            for old in stale:
                log.warning("run %s was interrupted (its process is gone; marked in history)", old)

            def beat() -> None:
                rec.call("heartbeat", hist.heartbeat, run_id, _wall_now())

            try:
                for pid in ids:
                    outcome, straggler = run_one(cfg, hist, clock, run_id, group, pid, dry_run, interactive,
                                                  isolation, beat, runlog.path, sleep=sleep)
                    if straggler is not None:
                        stragglers.append((pid, straggler))
                        runlog.adopt(straggler)
                    outcomes.append(outcome)
                    rec.call(f"{pid} result", hist.add_result,
                             run_id, pid, outcome.result.status.value, outcome.result.summary, outcome.started_at,
                             outcome.duration_seconds, dict(outcome.result.details), dict(outcome.result.figures),
                             outcome.result.artifacts)
                    log.info("%s: %s: %s (%.2f s)", pid, outcome.result.status.value.upper(),
                             outcome.result.summary, outcome.duration_seconds)
                    delivery = _maybe_alert(cfg, hist, notifier, clock, run_id, group, host, outcome, dry_run)
                    if delivery is not None:
                        deliveries.append(delivery)
                    if on_result:
                        on_result(outcome)
            except (KeyboardInterrupt, SystemExit):
                duration = time.monotonic() - t0
                rec.call("finish", hist.finish_run, run_id, INTERRUPTED, clock.now(), duration, "stopped by signal")
                log.warning("run %s interrupted after %.1f s", run_id, duration)
                raise
            except Exception as exc:  # a bug in a hook: close the row if we can, then report
                duration = time.monotonic() - t0
                with contextlib.suppress(Exception):
                    hist.finish_run(run_id, Status.UNKNOWN.value, clock.now(), duration,
                                    f"runner error: {type(exc).__name__}: {exc}"[:500])
                raise
            note = _await_stragglers(stragglers, cfg.config.runner.timeout_grace_seconds)
            status = worst(o.result.status for o in outcomes)
            duration = time.monotonic() - t0
            warnings = [*runlog.warnings, *rec.problems]
            rec.call("finish", hist.finish_run, run_id, status.value, clock.now(), duration,
                     "; ".join([*([note] if note else []), *warnings]) or None)
            log.info("run %s finished: %s in %.2f s", run_id, status.value.upper(), duration)
    for warning in warnings:
        print(f"smc-maint: warning: {warning}", file=sys.stderr)
    run_outcome = RunOutcome(run_id, group, status, started, duration, runlog.path, outcomes, deliveries, warnings)
    if after_run is not None:
        try:
            after_run(run_outcome)
        except Exception as exc:  # e.g. metrics export: must never change a run's outcome
            log.warning("run %s: after-run hook failed: %s", run_id, redact(f"{type(exc).__name__}: {exc}"))
    return run_outcome


def run_one(cfg: LoadedConfig, hist: History, clock: Clock, run_id: str, group: str, pid: str,
            dry_run: bool = False, interactive: bool = False, isolation: Isolation = "process",
            beat: Callable[[], None] = lambda: None, log_path: Path | None = None, *,
            timeout: float | None = None, sleep: Callable[[float], None] = time.sleep,
            ) -> tuple[ProcedureOutcome, threading.Thread | None]:
    """One procedure's outcome, and (in-thread only) its worker thread if it timed out and still runs.

    The one way any caller (a run, an emergency window's work and checks) runs a procedure:
    in a worker process group that is stopped at ``timeout`` (default: the runner's for ``pid``).
    A gated procedure first waits for a quiet moment (``sleep`` between looks); the wait is not
    taken from its timeout."""
    gate_outcome = None
    if gated(cfg.config, pid, dry_run):
        gate_outcome = wait_before(cfg.config, pid, clock.now, sleep, log.info)
        if gate_outcome.summary():
            log.info("%s: %s", pid, gate_outcome.summary())
    started = clock.now()
    t0 = time.monotonic()
    timeout = cfg.config.runner.timeout_for(pid) if timeout is None else timeout
    grace = cfg.config.runner.timeout_grace_seconds
    deadline = t0 + timeout
    straggler: threading.Thread | None = None
    try:
        module = registry.load(pid)
        settings = cfg.procedure_settings.get(pid) or module.Settings()
    except Exception as exc:
        result = Result(Status.UNKNOWN, f"cannot load procedure: {type(exc).__name__}: {redact(str(exc))}")
    else:
        if isolation == "process":
            app_name = postgres.application_name(run_id, pid)
            spec = spec_for(module=registry.PROCEDURES[pid], procedure_id=pid, run_id=run_id, group=group, cfg=cfg,
                            settings=settings, clock=clock, timeout=timeout, grace=grace, dry_run=dry_run,
                            interactive=interactive, history=hist.locator or open_history(cfg).locator,
                            log_path=str(log_path) if log_path else None, result_path="")
            result = run_in_worker(spec, timeout=timeout, grace=grace, db=cfg.config.database, app_name=app_name,
                                   tick=beat, tick_seconds=HEARTBEAT_SECONDS)
        else:
            ctx = Context(cfg=cfg, history=hist, run_id=run_id, group=group, clock=clock,
                          log=logging.getLogger(f"smc_maint.procedures.{pid}"), dry_run=dry_run,
                          interactive=interactive, deadline=deadline)
            result, straggler = _call_with_timeout(lambda: module.run(ctx, settings), timeout, beat)
    if gate_outcome is not None:
        result = with_gate(result, gate_outcome)
    return ProcedureOutcome(pid, result, started, time.monotonic() - t0), straggler


def _maybe_alert(cfg: LoadedConfig, hist: History, notifier: Notifier, clock: Clock, run_id: str, group: str,
                 host: str, outcome: ProcedureOutcome, dry_run: bool) -> Delivery | None:
    """Send and record an alert when the result warrants one (never in a dry run).

    Never raises: an alert that cannot be sent is a Delivery with the reason, and the run goes on
    to the remaining procedures and closes its history row.
    """
    result = outcome.result
    if dry_run or result.status is Status.SKIPPED:
        return None
    if not (result.force_alert or result.status.rank >= cfg.config.alerts.min_status.rank):
        return None
    try:
        delivery = notifier.send(result.alert_channel, format_alert(group, outcome.procedure_id, result, host))
    except Exception as exc:
        delivery = Delivery(result.alert_channel, False, 0, redact(f"alert failed: {type(exc).__name__}: {exc}"))
    try:
        _record_alert(hist, clock, run_id, outcome.procedure_id, result.status, delivery)
    except Exception as exc:
        log.warning("%s: alert not recorded in history: %s", outcome.procedure_id,
                    redact(f"{type(exc).__name__}: {exc}"))
    return delivery


def _record_alert(hist: History, clock: Clock, run_id: str, procedure_id: str, status: Status,
                  delivery: Delivery) -> None:
    hist.add_alert(run_id, procedure_id, clock.now(), delivery.channel, status.value,
                   delivery.delivered, delivery.attempts, delivery.error)
    if delivery.delivered:
        log.info("%s: alert delivered to %s", procedure_id, delivery.channel)
    elif delivery.attempts == 0:  # nothing configured: said once in the run summary, not per alert
        log.info("%s: alert not sent: %s", procedure_id, delivery.error)
    else:
        log.warning("%s: alert NOT delivered to %s: %s", procedure_id, delivery.channel, delivery.error)
