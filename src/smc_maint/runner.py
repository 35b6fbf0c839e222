"""Runs a group of procedures: lock, history, per-run log, timeouts, alerts, worst status.

One procedure failing, raising or hanging never stops the others; each becomes a result.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from . import registry
from .adapters.clock import Clock, SystemClock
from .alerts import Delivery, Notifier, format_alert
from .config.loader import LoadedConfig
from .context import Context
from .errors import UsageError
from .history import History, open_history
from .history.store import INTERRUPTED
from .lock import group_lock
from .redact import RedactingFilter, redact, redact_obj
from .result import Result, Status, worst

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


def _call_with_timeout(fn: Callable[[], Result], timeout: float) -> tuple[Result, threading.Thread | None]:
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
    worker.join(timeout)
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


class _RunLog:
    """Attach a per-run log file (redacted) to the package logger for the run's duration."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Logs hold hostnames, query texts and paths: owner-only, whatever the caller's umask.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        os.chmod(path, 0o600)
        self.path = path
        self.handler = logging.FileHandler(path, encoding="utf-8")
        self.handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self.handler.addFilter(RedactingFilter())
        self.logger = logging.getLogger("smc_maint")

    def __enter__(self) -> _RunLog:
        self.logger.addHandler(self.handler)
        if self.logger.level == logging.NOTSET or self.logger.level > logging.INFO:
            self._old_level = self.logger.level
            self.logger.setLevel(logging.INFO)
        else:
            self._old_level = self.logger.level
        return self

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self.handler)
        self.logger.setLevel(self._old_level)
        self.handler.close()


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
) -> RunOutcome:
    """Run ``group`` (or ``only`` some of its procedures) and record everything.

    Raises :class:`LockHeld` when another run of the group is active, and
    :class:`history.SlotTaken` when ``slot`` already ran.
    """
    ids = resolve_ids(group, only)
    clock = clock or SystemClock()
    notifier = notifier or Notifier(cfg.config.alerts)
    host = socket.gethostname()
    with group_lock(cfg.lock_dir, group):
        hist = history or open_history(cfg)
        started = clock.now()
        t0 = time.monotonic()
        run_id = f"{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
        log_path = cfg.log_dir / f"{group}_{started:%Y%m%d_%H%M%S}_{run_id[-8:]}.log"
        stale = hist.mark_interrupted(group, started, keep=_maybe_alive(cfg, ids, host, started))
        hist.begin_run(run_id, group, started, ids, trigger=trigger, slot=slot, dry_run=dry_run,
                       log_path=str(log_path), pid=os.getpid(), host=host)
        if on_start:
            try:
                on_start(run_id)
            except Exception as exc:  # a dead-man ping or progress display must not stop the run
                log.warning("run %s: start hook failed: %s", run_id, redact(f"{type(exc).__name__}: {exc}"))
        outcomes: list[ProcedureOutcome] = []
        deliveries: list[Delivery] = []
        stragglers: list[tuple[str, threading.Thread]] = []
        with _RunLog(log_path):
            log.info("run %s: group %s%s started (%s)", run_id, group, " [dry-run]" if dry_run else "",
                     ", ".join(ids))
            for old in stale:
                log.warning("run %s of group %s was interrupted (marked in history)", old, group)
            try:
                for pid in ids:
                    outcome, straggler = _run_one(cfg, hist, clock, run_id, group, pid, dry_run, interactive)
                    if straggler is not None:
                        stragglers.append((pid, straggler))
                    outcomes.append(outcome)
                    hist.add_result(
                        run_id, pid, outcome.result.status.value, outcome.result.summary, outcome.started_at,
                        outcome.duration_seconds, dict(outcome.result.details), dict(outcome.result.figures),
                        outcome.result.artifacts,
                    )
                    log.info("%s: %s: %s (%.2f s)", pid, outcome.result.status.value.upper(),
                             outcome.result.summary, outcome.duration_seconds)
                    delivery = _maybe_alert(cfg, hist, notifier, clock, run_id, group, host, outcome, dry_run)
                    if delivery is not None:
                        deliveries.append(delivery)
                    if on_result:
                        on_result(outcome)
            except (KeyboardInterrupt, SystemExit):
                duration = time.monotonic() - t0
                hist.finish_run(run_id, INTERRUPTED, clock.now(), duration, "stopped by signal")
                log.warning("run %s interrupted after %.1f s", run_id, duration)
                raise
            except Exception as exc:  # e.g. history lost mid-run: close the row if we can, then report
                duration = time.monotonic() - t0
                with contextlib.suppress(Exception):
                    hist.finish_run(run_id, Status.UNKNOWN.value, clock.now(), duration,
                                    f"runner error: {type(exc).__name__}: {exc}"[:500])
                raise
            note = _await_stragglers(stragglers, cfg.config.runner.timeout_grace_seconds)
            status = worst(o.result.status for o in outcomes)
            duration = time.monotonic() - t0
            hist.finish_run(run_id, status.value, clock.now(), duration, note)
            log.info("run %s finished: %s in %.2f s", run_id, status.value.upper(), duration)
    if not dry_run:
        _publish_metrics(cfg, clock)
    return RunOutcome(run_id, group, status, started, duration, log_path, outcomes, deliveries)


def _publish_metrics(cfg: LoadedConfig, clock: Clock) -> None:
    """Every finished run (CLI, scheduler, web, demo) refreshes the textfile / Pushgateway, as configured."""
    try:
        from .reporting.publish import publish_configured

        publish_configured(cfg, clock)
    except Exception as exc:  # metrics export must never change a run's outcome
        log.warning("metrics not published: %s", redact(f"{type(exc).__name__}: {exc}"))


def _maybe_alive(cfg: LoadedConfig, ids: Sequence[str], host: str, now: datetime
                 ) -> Callable[[str, int, datetime], bool]:
    """Whether a run marked running may still be alive: ours if its pid lives, another host's
    (a replica sharing the history store) until it has outlived every procedure's timeout."""
    longest = cfg.config.runner.longest_run_seconds(ids)

    def keep(run_host: str, pid: int, started_at: datetime) -> bool:
        if run_host != host:
            return (now - started_at).total_seconds() < longest
        if pid <= 0 or pid == os.getpid():
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    return keep


def _run_one(cfg: LoadedConfig, hist: History, clock: Clock, run_id: str, group: str, pid: str,
             dry_run: bool, interactive: bool) -> tuple[ProcedureOutcome, threading.Thread | None]:
    """One procedure's outcome, and its worker thread if it timed out and is still running."""
    started = clock.now()
    t0 = time.monotonic()
    ctx = Context(cfg=cfg, history=hist, run_id=run_id, group=group, clock=clock,
                  log=logging.getLogger(f"smc_maint.procedures.{pid}"), dry_run=dry_run,
                  interactive=interactive)
    try:
        module = registry.load(pid)
        settings = cfg.procedure_settings.get(pid) or module.Settings()
    except Exception as exc:
        result, straggler = Result(Status.UNKNOWN, f"cannot load procedure: {type(exc).__name__}: "
                                   f"{redact(str(exc))}"), None
    else:
        timeout = cfg.config.runner.timeout_for(pid)
        result, straggler = _call_with_timeout(lambda: module.run(ctx, settings), timeout)
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
