"""``maintenance-report``: the monthly maintenance report from recorded history, plus a summary alert.

Runs last in the monthly group: by default it reports on the previous calendar month (UTC).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from ..config.model import Section
from ..context import Context
from ..reporting.month import Month
from ..reporting.monthly import MonthlyReport
from ..reporting.service import monthly_report, write_reports
from ..result import Result, Status

Format = Literal["md", "html", "json"]
ALL_FORMATS: tuple[Format, ...] = ("md", "html", "json")


class Settings(Section):
    month: str = Field("previous", description="'previous', 'current' or YYYY-MM")
    formats: list[Format] = Field(default_factory=lambda: list(ALL_FORMATS))
    output_dir: Path | None = Field(None, description="default <report_dir>/monthly")

    @field_validator("month")
    @classmethod
    def _month(cls, value: str) -> str:
        if value not in ("previous", "current"):
            Month.parse(value)
        return value


def which_month(setting: str, ctx_now: Any) -> Month:
    current = Month.of(ctx_now)
    if setting == "previous":
        return current.previous()
    if setting == "current":
        return current
    return Month.parse(setting)


def summarize(report: MonthlyReport, paths: list[Path]) -> Result:
    """Pure: the one-line summary that goes into the alert, and the figures stored in history."""
    backup = "no backup checks" if report.backups.ratio is None else f"backups {report.backups.ratio:.0%} ok"
    open_issues = len(report.open_issues)
    summary = (f"{report.month}: {report.completed_total}/{report.scheduled_total} scheduled runs completed, "
               f"{backup}, {len(report.restore_tests)} restore test(s), {len(report.emergencies)} emergency, "
               f"{open_issues} open issue(s)")
    missed = report.scheduled_total - report.completed_total
    # A month without a backup check or a restore test proves nothing about recoverability.
    unproven = [what for what, none in (("no backup checks", report.backups.attempts == 0),
                                        ("no restore test", not report.restore_tests)) if none]
    if unproven:
        summary += f"; WARNING: {' and '.join(unproven)} recorded"
    status = Status.WARNING if open_issues or missed or unproven else Status.OK
    details: dict[str, Any] = {"month": report.month, "reports": [str(p) for p in paths],
                               "recommendations": report.recommendations, "focus": report.focus}
    figures = {"report_runs_scheduled": float(report.scheduled_total),
               "report_runs_completed": float(report.completed_total),
               "report_open_issues": float(open_issues)}
    if report.backups.ratio is not None:
        figures["report_backup_success_ratio"] = report.backups.ratio
    return Result(status, summary, details, figures, tuple(str(p) for p in paths), force_alert=True)


def run(ctx: Context, settings: Settings) -> Result:
    now = ctx.clock.now()
    month = which_month(settings.month, now)
    report = monthly_report(ctx.cfg, ctx.history, month, now)
    out_dir = settings.output_dir or ctx.report_dir / "monthly"
    if ctx.dry_run:
        planned = [out_dir / f"maintenance_report_{month}.{k}" for k in settings.formats]
        result = summarize(report, [])
        return Result(result.status, "dry run: would write " + ", ".join(map(str, planned)) + "; " + result.summary,
                      {**result.details, "planned": [str(p) for p in planned]}, result.figures)
    paths = write_reports(ctx.cfg, report, settings.formats, out_dir)
    ctx.log.info("monthly report for %s written: %s", month, ", ".join(map(str, paths)))
    return summarize(report, paths)


def demo_settings(home: Path) -> dict[str, Any]:
    return {"month": "current"}
