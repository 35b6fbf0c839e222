"""``smc-maint metrics``: print, write (node_exporter textfile) or push (Pushgateway) the metrics, or the rules.

Heavy imports (pydantic config, prometheus_client, the history store) happen inside the commands,
so ``smc-maint --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Prometheus metrics computed from the run history.", no_args_is_help=True)
ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="config file")]


def _say(message: str) -> None:
    from rich.console import Console

    Console(stderr=True).print(message)


@app.command("show")
def show(config: ConfigOpt = None) -> None:
    """Print the metrics in the Prometheus text format."""
    from prometheus_client import generate_latest

    from ..config.loader import load_config
    from ..reporting.publish import registry_from_config

    sys.stdout.write(generate_latest(registry_from_config(load_config(config))).decode())


@app.command("write")
def write(
    path: Annotated[Path | None, typer.Argument(help="*.prom file (default reporting.textfile)")] = None,
    config: ConfigOpt = None,
) -> None:
    """Write the node_exporter textfile atomically, readable by node_exporter (reporting.textfile_mode)."""
    from ..config.loader import load_config
    from ..errors import ConfigError, SmcMaintError
    from ..reporting.publish import registry_from_config, write_textfile

    cfg = load_config(config)
    rep = cfg.config.reporting
    target = path or rep.textfile
    if target is None:
        raise ConfigError("no path given and reporting.textfile is not set")
    try:
        write_textfile(registry_from_config(cfg), target, mode=rep.textfile_mode, dir_mode=rep.textfile_dir_mode)
    except (OSError, ValueError) as exc:
        raise SmcMaintError(f"cannot write {target}: {exc}") from None
    _say(f"metrics written to {target}")


@app.command("push")
def push(config: ConfigOpt = None) -> None:
    """Push-add the metrics to reporting.pushgateway.url (replaces only our metric names in the group)."""
    from ..config.loader import load_config
    from ..errors import ConfigError, SmcMaintError
    from ..redact import redact
    from ..reporting.publish import push as push_metrics
    from ..reporting.publish import registry_from_config

    cfg = load_config(config)
    gw = cfg.config.reporting.pushgateway
    if not gw.url:
        raise ConfigError("reporting.pushgateway.url is not set (metrics push needs the Pushgateway's URL)")
    try:
        push_metrics(registry_from_config(cfg), gw)
    except Exception as exc:
        raise SmcMaintError(redact(f"push to the Pushgateway failed: {type(exc).__name__}: {exc}")) from None
    key = "".join(f" {k}={v}" for k, v in sorted(gw.grouping_key.items()))
    _say(f"metrics pushed to the Pushgateway (job {gw.job}{key})")


@app.command("rules")
def rules() -> None:
    """Print the Prometheus alerting rules (save as a rule file; promtool check rules FILE)."""
    from ..reporting.rules import rules_text

    sys.stdout.write(rules_text())
