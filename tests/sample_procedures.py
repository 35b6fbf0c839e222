"""Small procedures for runner tests: each behaves one way (ok, raises, hangs, leaks a secret)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from smc_maint.config.model import Section
from smc_maint.context import Context
from smc_maint.result import Result, Status


class Settings(Section):
    behaviour: str = "ok"
    sleep_seconds: float = 0.0
    marker: str | None = None  # "hang": written by its clean-up; "stubborn": its pids
    summary: str | None = None  # "critical": the summary to return


def run(ctx: Context, settings: Settings) -> Result:
    if settings.behaviour == "raise":
        password = ctx.cfg.config.database.password() or ""
        raise RuntimeError(f"connection to postgresql://postgres:{password}@db failed")
    if settings.behaviour == "hang":
        try:
            time.sleep(settings.sleep_seconds)
        finally:  # a clean-up: runs when the runner's SIGTERM unwinds the procedure
            if settings.marker:
                Path(settings.marker).write_text("cleaned up")
        return Result(Status.OK, "woke up")
    if settings.behaviour == "stubborn":  # ignores SIGTERM and leaves a child of its own
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        child = subprocess.Popen(["sleep", "120"])
        if settings.marker:
            Path(settings.marker).write_text(f"{os.getpid()} {child.pid}")
        time.sleep(settings.sleep_seconds)
        return Result(Status.OK, "woke up")
    if settings.behaviour == "db_sleep":  # a statement that would outlive the timeout
        with ctx.connect() as conn:
            if settings.marker:
                Path(settings.marker).write_text(str(os.getpid()))
            conn.execute("SELECT pg_sleep(%s)", (settings.sleep_seconds,))
        return Result(Status.OK, "slept in the database")
    if settings.behaviour == "drop_history":  # the history store goes away mid-run
        with ctx.connect(dbname="postgres") as conn:
            conn.execute(f'DROP DATABASE "{settings.summary}" WITH (FORCE)')
        return Result(Status.OK, "history dropped")
    if settings.behaviour == "log":
        ctx.log.info("token %s", settings.summary)
        time.sleep(settings.sleep_seconds)
        ctx.log.info("token %s again", settings.summary)
        return Result(Status.OK, "logged")
    if settings.behaviour == "clock":  # what time the procedure sees, and that its deadline is set
        return Result(Status.OK, ctx.clock.now().isoformat(), {"deadline_set": ctx.deadline is not None})
    if settings.behaviour == "critical":
        return Result(Status.CRITICAL, settings.summary or "something is broken", {"why": "test"})
    if settings.behaviour == "db":
        with ctx.connect() as conn:
            row: Any = conn.execute("SELECT count(*) FROM trades").fetchone()
        ctx.log.info("counted %s trades with password %s", row[0], os.environ.get("SMC_MAINT_DATABASE_PASSWORD"))
        return Result(Status.OK, f"{row[0]} trades", figures={"trades": float(row[0])})
    return Result(Status.OK, "fine")
