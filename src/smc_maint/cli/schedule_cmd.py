"""``smc-maint schedule explain|systemd|run|missed`` and ``smc-maint scheduler`` (the daemon)."""

from __future__ import annotations

import json
import logging
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ..config.loader import LoadedConfig, load_config
from ..history import open_history
from ..result import Status, worst
from ..scheduling import explain as explain_mod
from ..scheduling import systemd as systemd_mod
from ..scheduling.daemon import Scheduler, run_due, scheduled_groups
from ..scheduling.missed import missed_run_findings

app = typer.Typer(help="Schedules: explain them, write systemd units, run what is due, find missed runs.",
                  no_args_is_help=True)
out = Console()
err = Console(stderr=True)
log = logging.getLogger("smc_maint.scheduler")

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="config file")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")]


def _info_logging() -> None:
    """Daemon-like commands log each start and finish even without -v."""
    root = logging.getLogger("smc_maint")
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
        for handler in root.handlers:
            handler.setLevel(logging.INFO)


def _emit(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, default=str) + "\n")


@app.command("explain")
def explain(
    next_n: Annotated[int, typer.Option("--next", "-n", min=1, max=500, help="runs to show per group")] = 5,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """The next runs per group in UTC and local time; slots a DST change skips or doubles are flagged."""
    sched = load_config(config).config.schedule
    plans = explain_mod.explain(sched, datetime.now(UTC), next_n)
    if as_json:
        _emit(explain_mod.to_json(sched, plans))
        return
    zone = sched.zone()
    for plan in plans:
        state = "" if plan.enabled else " [disabled]"
        age = f", max age {plan.max_age_hours:g} h" if plan.max_age_hours else ""
        table = Table(title=f"{plan.group}: {plan.cron} ({sched.timezone}), catch-up {plan.catch_up}{age}{state}",
                      title_justify="left")
        table.add_column("UTC")
        table.add_column(f"local ({sched.timezone})")
        table.add_column("DST")
        for s in plan.upcoming:
            table.add_row(f"{s.utc:%a %Y-%m-%d %H:%M}", f"{s.local(zone):%a %Y-%m-%d %H:%M %Z}",
                          explain_mod.dst_note(s))
        out.print(table)
        for s in plan.dst_flags:
            if s not in plan.upcoming:
                out.print(f"  [yellow]within a year:[/yellow] {explain_mod.dst_note(s)} "
                          f"(UTC {s.utc:%Y-%m-%d %H:%M})")


@app.command("systemd")
def systemd(
    output_dir: Annotated[Path, typer.Option("--output-dir", "-o", help="where to write the units")] = Path("."),
    user: Annotated[str, typer.Option("--user", help="system user the service runs as")] = "smc-maint",
    executable: Annotated[str | None, typer.Option("--executable", help="path of smc-maint")] = None,
    config: ConfigOpt = None,
) -> None:
    """Write a systemd service + timer per scheduled group (enable with systemctl enable --now *.timer)."""
    cfg = load_config(config)
    exe = executable or shutil.which("smc-maint") or "/usr/local/bin/smc-maint"
    source = cfg.source.resolve() if cfg.source else None
    files = systemd_mod.all_units(cfg.config.schedule, scheduled_groups(cfg), executable=exe, config=source,
                                  user=user)
    output_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (output_dir / name).write_text(text, encoding="utf-8")
        out.print(f"wrote {output_dir / name}")
    timers = " ".join(n for n in files if n.endswith(".timer"))
    out.print(f"install: cp {output_dir}/smc-maint-* /etc/systemd/system/ && systemctl daemon-reload && "
              f"systemctl enable --now {timers}")


@app.command("run")
def run(
    group: Annotated[str | None, typer.Argument(help="group (default: every scheduled group)")] = None,
    trigger: Annotated[str, typer.Option("--trigger", help="recorded as the run's trigger")] = "cron",
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Run the slots due now under the catch-up policy; a slot that already ran is skipped (exit 0)."""
    _info_logging()
    cfg = load_config(config)
    if group is not None and group not in cfg.config.schedule.groups:
        raise typer.BadParameter(f"unknown group {group!r}", param_hint="GROUP")
    outcomes = run_due(cfg, source=trigger, group=group)
    statuses = [o.run.status for o in outcomes if o.run]
    if as_json:
        _emit({"slots": [o.to_json() for o in outcomes]})
    elif not outcomes:
        out.print("nothing due")
    else:
        for o in outcomes:
            status = o.run.status.value.upper() if o.run else o.state
            out.print(f"{o.group} slot {o.slot:%Y-%m-%d %H:%M} UTC ({o.trigger}): {status}")
    if any(o.state == "locked" for o in outcomes):
        statuses.append(Status.UNKNOWN)
    raise typer.Exit(worst(statuses).exit_code if statuses else 0)


@app.command("missed")
def missed(as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Scheduled slots that did not run or did not finish (exit 1 warning, 2 critical)."""
    cfg = load_config(config)
    findings = missed_run_findings(cfg, open_history(cfg), datetime.now(UTC))
    if as_json:
        _emit({"findings": [f.to_json() for f in findings]})
    elif not findings:
        out.print("no missed or failed scheduled runs")
    else:
        for f in findings:
            out.print(f"{f.severity.upper()}: {f.message}")
    codes = {"warning": Status.WARNING, "critical": Status.CRITICAL}
    raise typer.Exit(worst(codes[f.severity] for f in findings).exit_code if findings else 0)


@app.command("suggest")
def suggest_cmd(
    days: Annotated[int, typer.Option("--days", min=7, max=366, help="days of trades to learn from")] = 90,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Quiet windows for the heavy procedures, from the platform's own trading activity per hour of the week."""
    from .. import registry
    from ..adapters.postgres import DatabaseUnavailable, connect
    from ..scheduling import quiet
    from ..scheduling.activity import read_heat_map

    cfg = load_config(config)
    now = datetime.now(UTC)
    tz = cfg.config.zone()
    try:
        with connect(cfg.config.database) as conn:
            heat = read_heat_map(conn, now, days, tz)
    except DatabaseUnavailable as exc:
        err.print(f"database unreachable: {exc}", markup=False)
        raise typer.Exit(Status.CRITICAL.exit_code) from None
    hist = open_history(cfg)
    heavy = {pid: registry.group_of(pid) for pid in cfg.config.schedule.gate.procedures}
    groups = {pid: g for pid, g in heavy.items() if g}
    durations = {pid: [r.duration_seconds for r in hist.procedure_results(pid, limit=30)
                       if r.status in ("ok", "warning")] for pid in groups}
    found = quiet.suggest(heat, durations, groups, tz, cfg.config.schedule.zone(), now)
    if as_json:
        _emit({"days": days, "timezone": tz.key, "trades": round(heat.total_trades * days / 7),
               "heat_map": {"trades_per_hour": [list(heat.trades[d * 24:(d + 1) * 24]) for d in range(7)],
                            "notional_per_hour": [list(heat.notional[d * 24:(d + 1) * 24]) for d in range(7)]},
               "suggestions": [x.to_json() for x in found]})
        return
    out.print(f"trading activity over the last {days} days, mean trades per hour ({tz.key}):")
    table = Table("day", *[f"{h:02d}" for h in range(24)])
    for d, name in enumerate(quiet.DAY_NAMES):
        table.add_row(name, *[f"{heat.cell(d, h):.0f}" for h in range(24)])
    out.print(table)
    for x in found:
        best = x.windows[0].label if x.windows else "-"
        out.print(f"{x.procedure_id} ({x.group}, {x.duration_seconds / 60:.0f} min, {x.duration_basis}): quietest "
                  f"{best}; cron [bold]{x.cron or '-'}[/bold] in {x.zone}")


def scheduler(config: ConfigOpt = None) -> None:
    """Run scheduled groups in the foreground until SIGTERM/SIGINT (a run in progress is marked interrupted)."""
    _info_logging()
    cfg: LoadedConfig = load_config(config)
    daemon = Scheduler(cfg)
    try:
        daemon.serve()
    except KeyboardInterrupt:
        if daemon.busy:
            log.warning("scheduler stopped by signal during a run; the run is recorded as interrupted")
            raise typer.Exit(130) from None
        log.info("scheduler stopped by signal")
        raise typer.Exit(0) from None
