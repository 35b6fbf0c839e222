"""``smc-maint dashboard export``: an importable Grafana dashboard over our metrics."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..reporting.grafana import dashboard
from ..reporting.service import write_atomic

app = typer.Typer(help="Grafana dashboard for the metrics smc-maint exports.", no_args_is_help=True)
err = Console(stderr=True)


@app.command("export")
def export(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write here instead of stdout")] = None,
    title: Annotated[str, typer.Option("--title", help="dashboard title")] =
        "SMC Trading Agent - Maintenance Dashboard",
) -> None:
    """Write the dashboard JSON (Grafana: Dashboards > New > Import; pick your Prometheus datasource)."""
    text = json.dumps(dashboard(title), indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        write_atomic(output, text)
        err.print(f"Grafana dashboard written to {output}")
