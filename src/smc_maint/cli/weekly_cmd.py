"""``smc-maint db-maintenance``: the weekly database maintenance on demand, with ``--all`` for the
runbook's blanket VACUUM (ANALYZE) of its four tables. Runs through the runner (lock, history, alerts)."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..config.loader import LoadedConfig, load_config
from ..procedures import db_maintenance
from . import render
from .progress import run_with_progress

out = Console()


def with_all_tables(cfg: LoadedConfig) -> LoadedConfig:
    """The same configuration with db-maintenance switched to the runbook's blanket mode."""
    current = cfg.procedure_settings.get("db-maintenance") or db_maintenance.Settings()
    blanket = current.model_copy(update={"all_tables": True})
    return dataclasses.replace(cfg, procedure_settings={**cfg.procedure_settings, "db-maintenance": blanket})


def db_maintenance_cmd(
    all_tables: Annotated[bool, typer.Option("--all", help="VACUUM (ANALYZE) the runbook's tables whether "
                                             "they need it or not")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the plan; vacuum nothing")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")] = False,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="config file")] = None,
) -> None:
    """Targeted VACUUM/ANALYZE and database checks now; --all for the runbook's blanket vacuum.

    Exit code = its status (0 ok, 1 warning, 2 critical, 3 unknown).
    """
    cfg = load_config(config)
    if all_tables:
        cfg = with_all_tables(cfg)
    outcome = run_with_progress(cfg, "weekly", as_json=as_json, only=["db-maintenance"], dry_run=dry_run)
    if as_json:
        sys.stdout.write(json.dumps(outcome.to_json(), default=str) + "\n")
    else:
        out.print(render.run_outcome(outcome))
    raise typer.Exit(outcome.status.exit_code)
