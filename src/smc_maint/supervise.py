"""Run one procedure in a worker process and stop it, with everything it started, on timeout.

Modelled on Patroni's CancellableSubprocess: the worker gets its own session (process group),
so one ``killpg`` reaches it and its pg_dump / pg_restore / psql children. On timeout: SIGTERM
(the worker unwinds through its clean-ups), cancel then terminate its database sessions (found
by their application_name), SIGKILL the group after the grace. A timed-out result is final.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from .adapters import postgres
from .config.model import DatabaseConfig
from .forkserver import context, warm
from .redact import redact
from .result import Result, Status
from .worker import result_from_json, serve

log = logging.getLogger("smc_maint.runner")
SESSION_SWEEP_SECONDS = 5.0  # how long we keep terminating a stopped worker's sessions
STARTUP_SECONDS = 60.0  # a worker that is not ready by then (imports, config) is stopped


@dataclass(frozen=True)
class Stopped:
    """How a timed-out worker was stopped (for the result and the log)."""

    signal: str  # "SIGTERM" (it exited within the grace) or "SIGKILL"
    sessions_cancelled: int
    sessions_terminated: int
    sessions_left: int


def sessions(db: DatabaseConfig, app_name: str, action: str) -> int:
    """Apply ``action`` (pg_cancel_backend, pg_terminate_backend, or count) to the sessions named
    ``app_name``; how many there were. Never raises: a database that is gone has no sessions to stop."""
    fn = {"cancel": "pg_cancel_backend(pid)", "terminate": "pg_terminate_backend(pid)", "count": "true"}[action]
    try:
        with postgres.connect(db, application_name="smc-maint/supervisor") as conn:
            rows = conn.execute(f"SELECT {fn} FROM pg_stat_activity WHERE application_name = %s "
                                "AND pid <> pg_backend_pid()", (app_name,)).fetchall()
    except (postgres.DatabaseUnavailable, psycopg.Error) as exc:
        log.warning("could not %s sessions %s: %s", action, app_name, redact(str(exc)))
        return 0
    return len(rows)


def _killpg(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


def _group_alive(pgid: int) -> bool:
    return _killpg(pgid, 0)


def _stop(proc: _Worker, db: DatabaseConfig, app_name: str, grace: float) -> Stopped:
    """SIGTERM the group, cancel then terminate its sessions, SIGKILL after ``grace``."""
    pgid = proc.pid
    _killpg(pgid, signal.SIGTERM)
    cancelled = sessions(db, app_name, "cancel")
    end = time.monotonic() + grace
    terminated = 0
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(min(grace, 1.0))
    if proc.poll() is None or cancelled:
        terminated = sessions(db, app_name, "terminate")
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(max(0.0, end - time.monotonic()))
    how = "SIGTERM"
    if proc.poll() is None or _group_alive(pgid):
        how = "SIGKILL" if proc.poll() is None else how
        _killpg(pgid, signal.SIGKILL)
        proc.wait()
    # A backend waiting on a lock does not notice its client died: terminate until none is left.
    sweep_end = time.monotonic() + SESSION_SWEEP_SECONDS
    left = sessions(db, app_name, "count")
    while left and time.monotonic() < sweep_end:
        terminated += sessions(db, app_name, "terminate")
        time.sleep(0.1)
        left = sessions(db, app_name, "count")
    return Stopped(how, cancelled, terminated, left)


class _Worker:
    """A forked worker with the bits of Popen that :func:`_stop` uses."""

    def __init__(self, spec: dict[str, Any]) -> None:
        warm()  # normally already running (the runner started it with its group's procedures)
        ctx = context()
        self._ready, child_end = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=serve, args=(spec, child_end), name=f"smc-maint-{spec['procedure_id']}")
        self._proc.start()
        child_end.close()
        assert self._proc.pid is not None
        self.pid = self._proc.pid

    @property
    def returncode(self) -> int | None:
        code: int | None = self._proc.exitcode
        return code

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        self._proc.join(timeout)
        code = self.returncode
        if code is None:
            raise subprocess.TimeoutExpired("smc-maint worker", timeout or 0)
        return code

    def await_ready(self) -> float | None:
        """The deadline the worker announces once it is ready, or None (it died or never got ready)."""
        try:
            if not self._ready.poll(STARTUP_SECONDS):
                return None
            word, value = self._ready.recv()
        except (EOFError, OSError):
            return None
        return float(value) if word == "ready" else None


def run_in_worker(spec: dict[str, Any], *, timeout: float, grace: float, db: DatabaseConfig, app_name: str,
                  tick: Callable[[], None], tick_seconds: float) -> Result:
    """The procedure's Result from a worker process; a timeout or a crash becomes a result too.

    ``tick`` runs every ``tick_seconds`` while the worker works (the run's heartbeat).
    """
    tmp = Path(tempfile.mkdtemp(prefix="smc-maint-worker-"))
    result_path = tmp / "result.json"
    spec = {**spec, "result_path": str(result_path)}
    proc = _Worker(spec)
    try:
        deadline = proc.await_ready()
        if deadline is None:  # it closed the pipe: give it a moment to exit with its code
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(1)
        if deadline is None and proc.poll() is None:
            _stop(proc, db, app_name, grace)
            return Result(Status.CRITICAL, f"worker did not start within {STARTUP_SECONDS:g} s; stopped",
                          {"error": "startup", "startup_seconds": STARTUP_SECONDS})
        deadline = deadline or time.monotonic()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                proc.wait(min(left, tick_seconds))
                break
            except subprocess.TimeoutExpired:
                with contextlib.suppress(Exception):
                    tick()
        if proc.poll() is None:
            stopped = _stop(proc, db, app_name, grace)
            log.error("%s timed out after %g s: stopped with %s; %d session(s) cancelled, %d terminated, %d left",
                      spec["procedure_id"], timeout, stopped.signal, stopped.sessions_cancelled,
                      stopped.sessions_terminated, stopped.sessions_left)
            how = "exited after SIGTERM" if stopped.signal == "SIGTERM" else f"killed after a {grace:g} s grace"
            return Result(Status.CRITICAL, f"timed out after {timeout:g} s; stopped ({how}); nothing after the "
                          f"timeout counts", {"error": "timeout", "timeout_seconds": timeout, "stopped": stopped.signal,
                                              "sessions_cancelled": stopped.sessions_cancelled,
                                              "sessions_terminated": stopped.sessions_terminated,
                                              "sessions_left": stopped.sessions_left})
        _killpg(proc.pid, signal.SIGKILL)  # anything the worker left behind in its group
        if not result_path.is_file():
            return Result(Status.UNKNOWN, f"worker exited with code {proc.returncode} and no result",
                          {"error": "worker", "exit_code": proc.returncode})
        return result_from_json(json.loads(result_path.read_text(encoding="utf-8")))
    finally:
        if proc.poll() is None:  # the runner itself is being stopped (signal): take the worker with it
            _stop(proc, db, app_name, min(grace, 2.0))
        shutil.rmtree(tmp, ignore_errors=True)
