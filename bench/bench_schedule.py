"""Figures for the scheduler: slot arithmetic, the daemon's idle tick, missed-run detection.

Run: .venv/bin/python bench/bench_schedule.py
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from smc_maint.adapters.clock import FixedClock
from smc_maint.config.loader import load_config
from smc_maint.history import open_sqlite
from smc_maint.scheduling.daemon import run_due
from smc_maint.scheduling.missed import missed_run_findings
from smc_maint.scheduling.slots import slots_between


def timed(label: str, fn: object, repeat: int = 5) -> None:
    best = float("inf")
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - t0)
    size = len(result) if hasattr(result, "__len__") else "-"  # type: ignore[arg-type]
    print(f"{label:<62} {best * 1000:9.2f} ms  (items: {size})")


def main() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    warsaw = ZoneInfo("Europe/Warsaw")
    timed("slots_between daily, 1 year, Europe/Warsaw", lambda: slots_between("0 2 * * *", warsaw, start,
                                                                               start + timedelta(days=365)))
    timed("slots_between every 5 min, 1 year, Europe/Warsaw",
          lambda: slots_between("*/5 * * * *", warsaw, start, start + timedelta(days=365)), repeat=1)

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        cfg = load_config(text=f"home: {home}\nschedule:\n  groups:\n    daily:\n      only: [trading-summary]\n")
        hist = open_sqlite(home / "history.sqlite3")
        for day in range(365):  # a year of daily runs, a few missing
            slot = start + timedelta(days=day, hours=2)
            if day % 50 == 49:
                continue
            run_id = f"run-{day}"
            hist.begin_run(run_id, "daily", slot + timedelta(seconds=3), ["trading-summary"], trigger="scheduler",
                           slot=slot)
            hist.finish_run(run_id, "ok", slot + timedelta(seconds=30), 27.0)
        now = start + timedelta(days=364, hours=12)
        timed("missed_run_findings, 365 runs in SQLite history", lambda: missed_run_findings(cfg, hist, now))
        timed("daemon tick with nothing due (run_due), SQLite history",
              lambda: run_due(cfg, source="scheduler", clock=FixedClock(now)))


if __name__ == "__main__":
    main()
