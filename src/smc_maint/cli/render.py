"""Pure formatting of run outcomes and history for people (Rich) — no I/O decisions here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..history import ResultRow, RunRow
from ..redact import redact
from ..runner import RunOutcome

STYLE = {"ok": "green", "warning": "yellow", "critical": "bold red", "unknown": "magenta",
         "skipped": "dim", "running": "cyan", "interrupted": "bold magenta"}


def status_text(status: str) -> Text:
    return Text(status.upper(), style=STYLE.get(status, ""))


def detail_table(title: str, table: Mapping[str, Any]) -> Table:
    """Render a result's ``details['table']`` ({"columns": [...], "rows": [[...]]})."""
    out = Table(title=title, title_justify="left")
    for col in table.get("columns", []):
        out.add_column(str(col), justify="right" if col not in ("date", "name", "symbol") else "left")
    for row in table.get("rows", []):
        out.add_row(*(Text("" if v is None else str(v)) for v in row))
    return out


def run_outcome(outcome: RunOutcome) -> RenderableType:
    table = Table(title=f"smc-maint {outcome.group} run {outcome.run_id}", title_justify="left")
    table.add_column("procedure")
    table.add_column("status")
    table.add_column("seconds", justify="right")
    table.add_column("summary", overflow="fold")
    for p in outcome.procedures:
        # Text, not a str: Rich would parse a summary as markup ("[/...]" in a path raises MarkupError).
        table.add_row(p.procedure_id, status_text(p.result.status.value), f"{p.duration_seconds:.2f}",
                      Text(redact(p.result.summary)))
    parts: list[RenderableType] = [table]
    for p in outcome.procedures:
        extra = p.result.details.get("table")
        if isinstance(extra, Mapping):
            parts.append(detail_table(f"{p.procedure_id}", extra))
    footer = Text.assemble("overall: ", status_text(outcome.status.value),
                           f"  ({outcome.duration_seconds:.1f} s; log: {outcome.log_path})")
    parts.append(footer)
    if outcome.alerts:
        sent = sum(1 for a in outcome.alerts if a.delivered)
        line = f"alerts: {sent} delivered"
        failed = [a for a in outcome.alerts if not a.delivered]
        if failed:
            reasons = sorted({a.error or "unknown reason" for a in failed})
            line += f", {len(failed)} NOT delivered ({'; '.join(reasons)})"
        parts.append(Text(line, style="yellow" if failed else "green"))
    return Group(*parts)


def history_table(runs: Iterable[RunRow], results: Mapping[str, list[ResultRow]]) -> Table:
    table = Table(title="smc-maint history", title_justify="left")
    table.add_column("run", no_wrap=True)
    for col in ("group", "trigger", "started (UTC)", "status", "seconds", "procedures"):
        table.add_column(col)
    for run in runs:
        rs = results.get(run.id, [])
        procs = ", ".join(f"{r.procedure_id}={r.status}" for r in rs) or "-"
        table.add_row(run.id, Text(run.group + (" [dry-run]" if run.dry_run else "")), run.trigger,
                      f"{run.started_at:%Y-%m-%d %H:%M:%S}", status_text(run.status),
                      f"{run.duration_seconds:.1f}" if run.duration_seconds is not None else "-", procs)
    return table
