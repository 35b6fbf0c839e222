"""``smc-maint emergency start | status | finish | abort``: the emergency maintenance window."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..config.loader import LoadedConfig, load_config
from ..emergency import plan
from ..emergency.machine import Machine, Outcome, journal_for, target_name
from ..emergency.settings import Settings
from ..errors import ConfigError, SafetyRefusal

app = typer.Typer(help="Emergency maintenance: maintenance mode, trading halt, backup, work, restore.",
                  no_args_is_help=True)
out = Console()
err = Console(stderr=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="config file")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")]
# A test hook: SIGKILL ourselves right after this step (the journal must carry the window on).
KILL_AFTER_ENV = "SMC_MAINT_EMERGENCY_KILL_AFTER"


def _settings(cfg: LoadedConfig) -> Settings:
    s = cfg.procedure_settings.get("emergency")
    return s if isinstance(s, Settings) else Settings()


def _kill_hook() -> object:
    step = os.environ.get(KILL_AFTER_ENV)
    if not step:
        return None

    def hook(done: str) -> None:
        if done == step:
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


def _machine(cfg: LoadedConfig) -> Machine:
    return Machine(cfg, _settings(cfg), after_step=_kill_hook())  # type: ignore[arg-type]


def _confirm(cfg: LoadedConfig, settings: Settings, yes: str | None) -> None:
    """Production is touched: the operator types the namespace (Kubernetes) or host name."""
    if not settings.production:
        return
    target = target_name(cfg)
    if yes is not None:
        if yes != target:
            raise SafetyRefusal(f"--yes {yes!r} does not name the target {target!r}")
        return
    if not sys.stdin.isatty():
        raise SafetyRefusal(f"emergency start touches production {target!r}: confirm with --yes {target}")
    typed = typer.prompt(f"This puts {target} into maintenance mode and halts trading. Type {target!r} to go on")
    if typed.strip() != target:
        raise SafetyRefusal("confirmation did not match; nothing done")


def _print(outcome: Outcome, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(outcome.to_json(), default=str) + "\n")
        return
    for step, status, summary in outcome.steps:
        out.print(f"  {step:<16} {status.upper():<8} {summary}", markup=False, highlight=False)
    out.print(outcome.message, markup=False, highlight=False)


@app.command("start")
def start(
    reason: Annotated[str, typer.Option("--reason", help="why (goes into the alerts and the journal)")],
    duration: Annotated[str | None, typer.Option("--duration", help="planned length, e.g. 10m, 1h "
                                                 "(default procedures.emergency.default_duration_minutes)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the plan; change nothing")] = False,
    yes: Annotated[str | None, typer.Option("--yes", help="confirm by naming the namespace/host")] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Open an emergency window: maintenance mode on, trading halted, emergency backup, then your work."""
    cfg = load_config(config)
    settings = _settings(cfg)
    try:
        seconds = plan.parse_duration(duration) if duration else settings.default_duration_minutes * 60
        plan.check_duration(seconds, settings)
    except ValueError as exc:
        raise ConfigError(f"--duration: {exc}") from None
    if not reason.strip():
        raise ConfigError("--reason must not be empty")
    if dry_run:
        active = journal_for(cfg).active()
        lines = plan.describe(settings, seconds, target_name(cfg))
        if as_json:
            sys.stdout.write(json.dumps({"dry_run": True, "plan": lines,
                                         "active_window": active.id if active else None}) + "\n")
            return
        out.print("[bold]emergency start (dry run): nothing is changed[/bold]")
        for line in lines:
            out.print(f"  - {line}", markup=False, highlight=False)
        if active:
            out.print(f"note: window {active.id} is already active; a real start would do nothing")
        return
    _confirm(cfg, settings, yes)
    outcome = _machine(cfg).start(reason.strip(), seconds)
    _print(outcome, as_json)
    raise typer.Exit(outcome.status.exit_code)


@app.command("status")
def status(as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """The open window (reason, deadline, time left, steps), or the last one."""
    cfg = load_config(config)
    st = _machine(cfg).status()
    if as_json:
        sys.stdout.write(json.dumps(st, default=str) + "\n")
        raise typer.Exit(2 if st["unreadable_journals"] else 0)
    for bad in st["unreadable_journals"]:
        out.print(f"UNREADABLE emergency journal (it may be an open window only it can undo): {bad}",
                  markup=False, highlight=False)
    if st["active"] is None:
        out.print("whether a window is open cannot be told: inspect the file(s) above by hand", markup=False)
        raise typer.Exit(2)
    if not st["active"]:
        last = st.get("last")
        out.print("no emergency window open" + (f" (last: {last['id']}, {last['state']})" if last else ""),
                  markup=False)
        return
    late = " — PAST THE DEADLINE" if st["past_deadline"] else f" ({st['seconds_left'] // 60} min left)"
    out.print(f"window {st['window']}: {st['reason']}\n  started {st['started_at']}\n  deadline {st['deadline']}"
              f"{late}\n  maintenance mode {'ON' if st['maintenance_mode'] else 'off'}, trading "
              f"{'HALTED' if st['trading_halted'] else 'not halted'}", markup=False, highlight=False)
    for e in st["steps"]:
        out.print(f"  {e['at']}  {e['step']:<16} {e['phase']}", markup=False, highlight=False)
    raise typer.Exit(2 if st["past_deadline"] else 1)


@app.command("finish")
def finish(
    force: Annotated[bool, typer.Option("--force", help="resume even if verification is critical")] = False,
    as_json: JsonOpt = False, config: ConfigOpt = None,
) -> None:
    """The work is done: verify, resume trading, maintenance off, notify (also completes a crashed window)."""
    outcome = _machine(load_config(config)).finish(force=force)
    _print(outcome, as_json)
    raise typer.Exit(outcome.status.exit_code)


@app.command("abort")
def abort(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print what would be restored; change nothing")] = False,
    as_json: JsonOpt = False, config: ConfigOpt = None,
) -> None:
    """Restore the starting state from the journal (resume trading, maintenance off), whatever step it reached."""
    machine = _machine(load_config(config))
    if dry_run:
        lines = machine.restore_plan()
        if as_json:
            sys.stdout.write(json.dumps({"dry_run": True, "plan": lines}) + "\n")
        else:
            out.print("[bold]emergency abort (dry run): nothing is changed[/bold]")
            for line in lines:
                out.print(f"  - {line}", markup=False, highlight=False)
        return
    outcome = machine.abort()
    _print(outcome, as_json)
    raise typer.Exit(outcome.status.exit_code)
