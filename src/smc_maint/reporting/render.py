"""Render a :class:`MonthlyReport` as Markdown, HTML (with inline SVG charts) or JSON."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from . import charts, fmt
from .audit_trend import trend_series
from .monthly import MonthlyReport

FORMATS = ("md", "html", "json")


def environment(package: str = "smc_maint.reporting") -> Environment:
    """Jinja2 environment for report and dashboard templates; HTML is autoescaped, undefined is an error."""
    env = Environment(loader=PackageLoader(package, "templates"),
                      autoescape=select_autoescape(["html", "html.j2"]), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update({"bytes": fmt.bytes_, "seconds": fmt.seconds, "ratio": fmt.ratio, "money": fmt.money,
                        "number": fmt.number, "day_ranges": fmt.day_ranges})
    env.globals.update(line_chart=charts.line_chart, status_grid=charts.status_grid, heat_map=charts.heat_map, audit_series=trend_series)
    return env


def to_json(report: MonthlyReport) -> dict[str, Any]:
    data = dataclasses.asdict(report)
    data["totals"] = {"scheduled": report.scheduled_total, "completed": report.completed_total,
                      "open_issues": len(report.open_issues), "backup_success_ratio": report.backups.ratio}
    return data


def render(report: MonthlyReport, kind: str, *, dashboard_url: str | None = None) -> str:
    if kind == "json":
        return json.dumps(to_json(report), indent=2, default=str) + "\n"
    if kind not in FORMATS:
        raise ValueError(f"unknown report format {kind!r} (use {', '.join(FORMATS)})")
    template = environment().get_template(f"report.{kind}.j2")
    base = (dashboard_url or "").rstrip("/")
    return template.render(r=report, run_link=(lambda run_id: f"{base}/runs/{run_id}" if base else None))
