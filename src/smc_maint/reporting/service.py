"""Glue between configuration, history and the pure report model: build, render and write reports."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from ..config.loader import LoadedConfig
from ..history.store import History
from .dr_trend import drills
from .month import Month
from .monthly import MonthlyReport, build, gather
from .render import render
from .schedule import expected


def monthly_report(cfg: LoadedConfig, history: History, month: Month, now: datetime) -> MonthlyReport:
    rep = cfg.config.reporting
    exp = expected(cfg)
    facts = gather(history, month, now, groups=exp.members, schedule=exp.crons,
                   backup_procedures=rep.backup_procedures, zone=exp.zone, grace_minutes=exp.grace_minutes)
    report = build(facts)
    return dataclasses.replace(report, dr_drills=drills(history, min(month.end, now)))


def write_atomic(path: Path, text: str) -> None:
    """Write via a temp file and rename, so a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_reports(cfg: LoadedConfig, report: MonthlyReport, formats: Sequence[str], out_dir: Path) -> list[Path]:
    """Write ``maintenance_report_<YYYY-MM>.<fmt>`` for each format; returns the paths."""
    paths = []
    for kind in formats:
        path = out_dir / f"maintenance_report_{report.month}.{kind}"
        write_atomic(path, render(report, kind, dashboard_url=cfg.config.reporting.dashboard_url))
        paths.append(path)
    return paths
