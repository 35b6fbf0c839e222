"""``smc-maint demo``: the embedded environment, end to end, with one command."""

from __future__ import annotations

import json
import shlex
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from .. import demo as demo_env
from ..config.loader import find_config_file, load_config
from . import render
from .progress import run_with_progress

app = typer.Typer(help="Run the daily group against an embedded PostgreSQL with demo data.",
                  invoke_without_command=True)
out = Console()
err = Console(stderr=True)


@app.callback()
def demo(
    ctx: typer.Context,
    reset: Annotated[bool, typer.Option("--reset", help="delete the demo environment and start over")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")] = False,
    group: Annotated[str, typer.Option("--group", help="which group to run")] = "daily",
) -> None:
    """Bring up the embedded environment and run the daily group against it (exit = worst status)."""
    if ctx.invoked_subcommand is not None:
        return
    if not as_json:
        err.print("[dim]starting the embedded PostgreSQL and demo data...[/dim]")
    path = demo_env.prepare(reset=reset, **_embedded())
    cfg = load_config(path)
    outcome = run_with_progress(cfg, group, as_json=as_json, trigger="demo")
    if as_json:
        sys.stdout.write(json.dumps(outcome.to_json(), default=str) + "\n")
    else:
        out.print(render.run_outcome(outcome))
        from ..embedded import demo_api

        api = demo_api.describe(path.parent)
        if api:
            out.print(api, markup=False, highlight=False)
        out.print("\nPoint other commands at this environment with:  eval \"$(smc-maint demo env)\"")
    raise typer.Exit(outcome.status.exit_code)


def _embedded() -> dict[str, Any]:
    """``embedded.*`` from the usual config lookup and SMC_MAINT_EMBEDDED__* (the demo's own config
    file is regenerated, so it cannot be the place to set them)."""
    source = find_config_file(None)
    own = source is not None and source.resolve() == demo_env.config_path().resolve()
    embedded = (load_config(text="") if own else load_config()).config.embedded
    explicit = "port" in embedded.model_fields_set
    return {"kind": embedded.postgres, "port": embedded.port if explicit else None}


@app.command("env")
def env() -> None:
    """Print shell exports that point every command at the demo environment."""
    path = demo_env.config_path()
    if not path.is_file():
        path = demo_env.prepare(**_embedded())
    sys.stdout.write(f"export SMC_MAINT_CONFIG={shlex.quote(str(path))}\n")


@app.command("stop")
def stop() -> None:
    """Stop the demo PostgreSQL server (data is kept)."""
    demo_env.stop()
    out.print("demo PostgreSQL, API and nginx stopped")
