"""Small procedures for runner tests: each behaves one way (ok, raises, hangs, leaks a secret)."""

from __future__ import annotations

import os
import time
from typing import Any

from smc_maint.config.model import Section
from smc_maint.context import Context
from smc_maint.result import Result, Status


class Settings(Section):
    behaviour: str = "ok"
    sleep_seconds: float = 0.0
    marker: str | None = None  # "hang": written when the sleep ends (its "clean-up" ran)
    summary: str | None = None  # "critical": the summary to return


def run(ctx: Context, settings: Settings) -> Result:
    if settings.behaviour == "raise":
        password = ctx.cfg.config.database.password() or ""
        raise RuntimeError(f"connection to postgresql://postgres:{password}@db failed")
    if settings.behaviour == "hang":
        time.sleep(settings.sleep_seconds)
        if settings.marker:
            with open(settings.marker, "w") as fh:
                fh.write("cleaned up")
        return Result(Status.OK, "woke up")
    if settings.behaviour == "critical":
        return Result(Status.CRITICAL, settings.summary or "something is broken", {"why": "test"})
    if settings.behaviour == "db":
        with ctx.connect() as conn:
            row: Any = conn.execute("SELECT count(*) FROM trades").fetchone()
        ctx.log.info("counted %s trades with password %s", row[0], os.environ.get("SMC_MAINT_DATABASE_PASSWORD"))
        return Result(Status.OK, f"{row[0]} trades", figures={"trades": float(row[0])})
    return Result(Status.OK, "fine")
