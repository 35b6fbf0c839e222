"""``smc-maint pitr``: restore to a moment, the engine's state; ``smc-maint recoverability``: the verdict."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..config.loader import LoadedConfig, load_config
from ..runner import run_group
from . import render

app = typer.Typer(help="Point-in-time recovery on pgBackRest: restore to a moment, proven.", no_args_is_help=True)
out = Console()

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="config file")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")]


def parse_moment(text: str) -> datetime:
    """An ISO moment with a time zone (a bare one is ambiguous: refused, never guessed)."""
    try:
        at = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO date-time (e.g. 2026-12-04T21:00:00Z)",
                                 param_hint="--to") from None
    if at.tzinfo is None:
        raise typer.BadParameter(f"{text!r} has no time zone; give one (e.g. Z or +01:00)", param_hint="--to")
    return at


def _with_target(cfg: LoadedConfig, target: datetime | None) -> LoadedConfig:
    if target is None:
        return cfg
    from ..procedures.pitr_restore_test import Settings

    current = cfg.procedure_settings.get("pitr-restore-test") or Settings()
    settings = dict(cfg.procedure_settings)
    settings["pitr-restore-test"] = current.model_copy(update={"target": target})
    return LoadedConfig(cfg.config, cfg.source, cfg.home, settings)


@app.command("restore-test")
def restore_test(
    to: Annotated[str | None, typer.Option("--to", help="the moment T (ISO, with zone); default: a fresh one")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the plan only")] = False,
    as_json: JsonOpt = False, config: ConfigOpt = None,
) -> None:
    """Restore into a scratch server to T; prove it with the markers and the server log (recorded)."""
    target = parse_moment(to) if to else None  # a bad moment is a usage error before anything else
    cfg = _with_target(load_config(config), target)
    outcome = run_group(cfg, "monthly", only=["pitr-restore-test"], dry_run=dry_run)
    if as_json:
        sys.stdout.write(json.dumps(outcome.to_json(), default=str) + "\n")
    else:
        out.print(render.run_outcome(outcome))
    raise typer.Exit(outcome.status.exit_code)


@app.command("backup")
def backup(as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """A pgBackRest full or differential backup now, with retention (as the daily physical-backup)."""
    outcome = run_group(load_config(config), "daily", only=["physical-backup"])
    if as_json:
        sys.stdout.write(json.dumps(outcome.to_json(), default=str) + "\n")
    else:
        out.print(render.run_outcome(outcome))
    raise typer.Exit(outcome.status.exit_code)


def recoverability_cmd(as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """One verdict: recoverable from A to B, last proven restore, RTO, RPO now, retention (recorded)."""
    outcome = run_group(load_config(config), "daily", only=["recoverability"])
    result = outcome.procedures[0].result if outcome.procedures else None
    if as_json:
        body = {"status": outcome.status.value, **(dict(result.details) if result else {})}
        sys.stdout.write(json.dumps(body, default=str) + "\n")
    elif result is not None:
        out.print(f"{result.status.value.upper()}: {result.summary}", markup=False, soft_wrap=True)
    raise typer.Exit(outcome.status.exit_code)
