"""``smc-maint metrics``: print, write (node_exporter textfile) or push (Pushgateway) the metrics."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from prometheus_client import generate_latest
from rich.console import Console

from ..config.loader import load_config
from ..errors import SmcMaintError
from ..redact import redact
from ..reporting.publish import push as push_metrics
from ..reporting.publish import registry_from_config, write_textfile

app = typer.Typer(help="Prometheus metrics computed from the run history.", no_args_is_help=True)
err = Console(stderr=True)
ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="config file")]


@app.command("show")
def show(config: ConfigOpt = None) -> None:
    """Print the metrics in the Prometheus text format."""
    sys.stdout.write(generate_latest(registry_from_config(load_config(config))).decode())


@app.command("write")
def write(
    path: Annotated[Path | None, typer.Argument(help="*.prom file (default reporting.textfile)")] = None,
    config: ConfigOpt = None,
) -> None:
    """Write the node_exporter textfile atomically."""
    cfg = load_config(config)
    target = path or cfg.config.reporting.textfile
    if target is None:
        raise SmcMaintError("no path given and reporting.textfile is not set")
    try:
        write_textfile(registry_from_config(cfg), target)
    except (OSError, ValueError) as exc:
        raise SmcMaintError(f"cannot write {target}: {exc}") from None
    err.print(f"metrics written to {target}")


@app.command("push")
def push(config: ConfigOpt = None) -> None:
    """Push-add the metrics to reporting.pushgateway.url (replaces only our metric names in the job)."""
    cfg = load_config(config)
    gw = cfg.config.reporting.pushgateway
    if not gw.url:
        raise SmcMaintError("reporting.pushgateway.url is not set")
    try:
        push_metrics(registry_from_config(cfg), gw)
    except Exception as exc:
        raise SmcMaintError(redact(f"push to the Pushgateway failed: {type(exc).__name__}: {exc}")) from None
    err.print(f"metrics pushed to the Pushgateway (job {gw.job})")
