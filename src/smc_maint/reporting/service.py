"""Glue between configuration, history and the pure report model: build, render and write reports."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from .. import durable
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
    """A report, written whole or not at all (readable by others: dashboards and mail pick it up)."""
    durable.write_atomic(path, text, mode=0o644)


def write_reports(cfg: LoadedConfig, report: MonthlyReport, formats: Sequence[str], out_dir: Path) -> list[Path]:
    """Write ``maintenance_report_<YYYY-MM>.<fmt>`` for each format; returns the paths."""
    paths = []
    for kind in formats:
        path = out_dir / f"maintenance_report_{report.month}.{kind}"
        write_atomic(path, render(report, kind, dashboard_url=cfg.config.reporting.dashboard_url))
        paths.append(path)
    return paths
