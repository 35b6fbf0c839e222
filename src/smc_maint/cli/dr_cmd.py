"""``smc-maint dr-drill``: the disaster-recovery drill now (through the runner: lock, history,
alerts), and ``dr-drill recover`` to undo what a killed drill left (replica counts, DR namespace)."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..config.loader import LoadedConfig, load_config
from ..context import Context
from ..dr import drill
from ..dr.settings import DrDrillSettings
from ..errors import SafetyRefusal
from ..history import open_history
from ..lock import group_lock
from ..procedures import dr_drill
from . import render
from .progress import run_with_progress

app = typer.Typer(help="Disaster-recovery drill: recover into an isolated target, measure RTO/RPO, undo.",
                  invoke_without_command=True)
out = Console()
err = Console(stderr=True)


def with_flags(cfg: LoadedConfig, **update: object) -> LoadedConfig:
    """The same configuration with dr-drill settings changed for this run."""
    current = cfg.procedure_settings.get("dr-drill") or dr_drill.Settings()
    return dataclasses.replace(cfg, procedure_settings={**cfg.procedure_settings,
                                                        "dr-drill": current.model_copy(update=update)})


def _confirm(cfg: LoadedConfig, given: str | None) -> str | None:
    if given is not None or not sys.stdin.isatty():
        return given
    ns = cfg.config.platform.namespace
    err.print(f"--simulate-outage scales production workloads in namespace [bold]{ns}[/bold] to 0 "
              "(and back to exactly what they had). Type the namespace to go on:")
    return input("> ").strip() or None


@app.callback()
def dr_drill_cmd(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the plan; change nothing")] = False,
    keep: Annotated[bool, typer.Option("--keep", help="leave the DR namespace for inspection")] = False,
    simulate_outage: Annotated[bool, typer.Option("--simulate-outage", help="scale the configured production "
                                                  "workloads to 0 during the drill")] = False,
    yes_namespace: Annotated[str | None, typer.Option("--yes-namespace", metavar="NS", help="confirm the "
                                                      "production namespace for --simulate-outage")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")] = False,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="config file")] = None,
) -> None:
    """Run the DR drill now; exit code = its status (0 ok, 1 warning, 2 critical, 3 unknown)."""
    if ctx.invoked_subcommand is not None:
        return
    cfg = load_config(config)
    update: dict[str, object] = {}
    if keep:
        update["keep"] = True
    if simulate_outage:
        update["simulate_outage"] = True
        if not dry_run:
            update["confirmed_namespace"] = _confirm(cfg, yes_namespace)
    if update:
        cfg = with_flags(cfg, **update)
    outcome = run_with_progress(cfg, "quarterly", as_json=as_json, only=["dr-drill"], dry_run=dry_run)
    if as_json:
        sys.stdout.write(json.dumps(outcome.to_json(), default=str) + "\n")
    else:
        out.print(render.run_outcome(outcome))
    raise typer.Exit(outcome.status.exit_code)


def recover_now(cfg: LoadedConfig, context: Context | None = None) -> list[str]:
    """Undo a killed drill under the quarterly lock (no drill can be running meanwhile)."""
    ctx = context or Context(cfg=cfg, history=open_history(cfg), run_id="dr-recover", group="quarterly")
    with group_lock(cfg.lock_dir, "quarterly"):
        return drill.recover(cfg, ctx.platform)


@app.command("recover")
def recover_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")] = False,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="config file")] = None,
) -> None:
    """Put production back to the replica counts a killed drill journaled; delete its DR namespace."""
    cfg = load_config(config)
    try:
        done = recover_now(cfg)
    except SafetyRefusal:
        raise
    if as_json:
        sys.stdout.write(json.dumps({"done": done}) + "\n")
    elif done:
        for line in done:
            out.print(line, markup=False)
    else:
        out.print("nothing to recover: no drill journal and no leftovers")


__all__ = ["DrDrillSettings", "app"]
