"""``smc-maint report``: the monthly maintenance report from recorded history."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..adapters.clock import SystemClock
from ..config.loader import load_config
from ..errors import SmcMaintError
from ..history import open_history
from ..reporting.month import Month
from ..reporting.render import FORMATS, render
from ..reporting.service import monthly_report, write_atomic

err = Console(stderr=True)


def report(
    month: Annotated[str | None, typer.Option("--month", "-m", help="YYYY-MM (default: the previous month)")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="md, html or json")] = "md",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write here instead of stdout")] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="config file")] = None,
) -> None:
    """Write the monthly maintenance report; every number comes from recorded runs."""
    if fmt not in FORMATS:
        raise typer.BadParameter(f"must be one of {', '.join(FORMATS)}, got {fmt!r}", param_hint="--format")
    cfg = load_config(config)
    now = SystemClock().now()
    try:
        which = Month.parse(month) if month else Month.of(now).previous()
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--month") from None
    if which.start > now:
        raise SmcMaintError(f"{which} has not started yet: nothing is recorded for it")
    text = render(monthly_report(cfg, open_history(cfg), which, now), fmt,
                  dashboard_url=cfg.config.reporting.dashboard_url)
    if output is None:
        sys.stdout.write(text)
    else:
        write_atomic(output, text)
        err.print(f"report for {which} written to {output}")
