"""Run ONE procedure in a worker process and hand back its Result.

Workers are forked from a fork server (a single-threaded process that imported the procedures
once: no interpreter start-up per procedure, no fork of the threaded runner). Each worker makes
its own session (process group) and gets a spec: the
validated configuration (names of secrets only, never their values; those come from the
inherited environment as in the parent), the procedure's settings, the run facts, the clock
and the deadline. The Result goes back as JSON in the file the spec names. SIGTERM becomes an
exception in the procedure, so its ``finally`` clean-ups run; if the runner dies the worker
stops its whole group (PR_SET_PDEATHSIG and a watch on the parent).
"""

from __future__ import annotations

import ctypes
import importlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .result import Result

PR_SET_PDEATHSIG = 1


class Terminated(BaseException):
    """SIGTERM from the runner: unwinds the procedure through its clean-ups (not an Exception)."""


def spec_for(*, module: str, procedure_id: str, run_id: str, group: str, cfg: Any, settings: Any,
             clock: Any, timeout: float, grace: float, dry_run: bool, interactive: bool,
             history: dict[str, str], log_path: str | None, result_path: str) -> dict[str, Any]:
    """The JSON the worker reads (no secret values: the config holds only their names)."""
    from .adapters.clock import FixedClock, iso

    clock_spec = {"fixed_at": iso(clock.now())} if isinstance(clock, FixedClock) else None
    return {
        "module": module, "procedure_id": procedure_id, "run_id": run_id, "group": group,
        # exclude_unset: what the operator wrote, so fields_set (e.g. `endpoints: []`) survives the trip
        "config": cfg.config.model_dump(mode="json", exclude_unset=True),
        "source": str(cfg.source) if cfg.source else None, "home": str(cfg.home),
        "settings": settings.model_dump(mode="json", exclude_unset=True), "clock": clock_spec,
        "timeout": timeout, "grace": grace, "dry_run": dry_run, "interactive": interactive,
        "history": history, "log_path": log_path, "result_path": result_path, "parent_pid": os.getpid(),
        "sys_path": [p for p in sys.path if p], "cwd": os.getcwd(),
        # The runner's environment as it is now (the fork server's is from when it started).
        # It travels over a private pipe, never argv; child tools get minimal ones of their own.
        "env": dict(os.environ),
    }


def _die_with_runner(runner_pid: int) -> None:
    """If the runner is SIGKILLed, take this process group down too (pg_dump, psql...).

    The runner is not our parent (the fork server is; PR_SET_PDEATHSIG covers its death), so a
    thread watches the runner's pid and start time: SIGTERM first, the group's SIGKILL 5 s later.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the watch thread below still covers it
        pass
    import psutil

    try:
        runner = psutil.Process(runner_pid)
    except psutil.NoSuchProcess:
        runner = None

    def alive() -> bool:
        return runner is not None and runner.is_running() and runner.status() != psutil.STATUS_ZOMBIE

    def watch() -> None:
        while alive():
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
        os.killpg(os.getpgid(0), signal.SIGKILL)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _on_term(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one unwind; the runner SIGKILLs after the grace
    raise Terminated("stopped by the runner (timeout)")


def _result_json(result: Any) -> dict[str, Any]:
    from .redact import redact_obj

    return {"status": result.status.value, "summary": result.summary,
            "details": redact_obj(dict(result.details)), "figures": {k: float(v) for k, v in result.figures.items()},
            "artifacts": list(result.artifacts), "alert_channel": result.alert_channel,
            "force_alert": result.force_alert}


def result_from_json(data: dict[str, Any]) -> Result:
    from .result import Result, Status

    return Result(Status(data["status"]), str(data["summary"]), dict(data.get("details") or {}),
                  {k: float(v) for k, v in (data.get("figures") or {}).items()},
                  tuple(data.get("artifacts") or ()), str(data.get("alert_channel") or "default"),
                  bool(data.get("force_alert")))


def _log_handler(path: str | None) -> logging.Handler | None:
    from .runlog import open_handler

    handler, problem = open_handler(Path(path)) if path else (None, None)
    if problem:
        print(f"smc-maint: warning: {problem}", file=sys.stderr)
    return handler


def _run(spec: dict[str, Any], ready: Callable[[float], None]) -> dict[str, Any]:
    for entry in reversed(spec["sys_path"]):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    from .adapters import postgres
    from .adapters.clock import Clock, FixedClock, SystemClock, parse_iso
    from .config.loader import LoadedConfig
    from .config.model import Config
    from .context import Context
    from .history import UnavailableHistory, open_postgres_from_env, open_sqlite
    from .redact import redact
    from .result import Result, Status

    module = importlib.import_module(spec["module"])
    config = Config.model_validate(spec["config"])
    settings = module.Settings.model_validate(spec["settings"])
    pid = spec["procedure_id"]
    cfg = LoadedConfig(config=config, source=Path(spec["source"]) if spec["source"] else None,
                       home=Path(spec["home"]), procedure_settings={pid: settings})
    clock: Clock = FixedClock(parse_iso(spec["clock"]["fixed_at"])) if spec["clock"] else SystemClock()
    # The procedure's time starts now that the worker is ready (start-up is bounded by the runner).
    deadline = time.monotonic() + float(spec["timeout"])
    postgres.set_identity(postgres.Identity(postgres.application_name(spec["run_id"], pid), deadline,
                                            spec["grace"], config.backup.lock_wait_seconds))
    hist_spec = spec["history"]
    try:
        history = (open_sqlite(Path(hist_spec["sqlite"]), init_schema=False) if "sqlite" in hist_spec
                   else open_postgres_from_env(hist_spec["postgresql"]))
    except Exception as exc:  # the procedure still runs; what it asks of history fails with the reason
        history = UnavailableHistory(redact(f"history unavailable: {type(exc).__name__}: {exc}"))
    history.longest = config.longest_run_seconds  # the liveness rule, as open_history sets it
    logger = logging.getLogger("smc_maint")
    logger.setLevel(logging.INFO)
    handler = _log_handler(spec["log_path"])
    if handler is not None:
        logger.addHandler(handler)
    ctx = Context(cfg=cfg, history=history, run_id=spec["run_id"], group=spec["group"], clock=clock,
                  log=logging.getLogger(f"smc_maint.procedures.{pid}"), dry_run=spec["dry_run"],
                  interactive=spec["interactive"], deadline=deadline)
    ready(deadline)  # the runner's clock for this procedure starts here
    try:
        result = module.run(ctx, settings)
    except Terminated:
        raise
    except Exception as exc:  # a procedure bug must become a result, not a crash
        ctx.log.error("procedure raised", exc_info=exc)
        result = Result(Status.UNKNOWN, f"failed: {type(exc).__name__}: {redact(str(exc))}"[:500],
                        {"error": type(exc).__name__, "message": redact(str(exc))})
    if not isinstance(result, Result):
        result = Result(Status.UNKNOWN, "procedure returned no result", {"error": "no result"})
    return _result_json(result)


def serve(spec: dict[str, Any], ready: Connection) -> None:
    """Process target (forked from the fork server): own session, the runner's environment, run."""
    os.setsid()  # its own process group: the runner stops it and everything it starts with one killpg
    os.environ.clear()
    os.environ.update(spec["env"])
    os.chdir(spec["cwd"])
    signal.signal(signal.SIGTERM, _on_term)
    _die_with_runner(int(spec["parent_pid"]))
    started = datetime.now(UTC).isoformat()  # an aware UTC stamp, not the process zone's wall time

    def announce(deadline: float) -> None:
        ready.send(("ready", deadline))
        ready.close()

    try:
        out = _run(spec, announce)
    except Terminated:
        sys.exit(143)
    tmp = Path(spec["result_path"] + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({**out, "worker_started": started}, fh, default=str)
    os.replace(tmp, spec["result_path"])
