"""``smc-maint updates``: refresh the end-of-life data from a file the user downloaded."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..config.loader import load_config
from ..errors import ConfigError
from ..updates import eol

app = typer.Typer(help="End-of-life data for updates-review.", no_args_is_help=True)
out = Console()


@app.command("refresh-eol")
def refresh_eol(
    file: Annotated[Path, typer.Argument(help="a snapshot in smc-maint's format, or (with --product) "
                                         "endoflife.date's /api/<product>.json")],
    product: Annotated[str | None, typer.Option("--product", help=f"one of {', '.join(eol.PRODUCTS)}")] = None,
    snapshot_date: Annotated[str | None, typer.Option("--snapshot-date", help="when FILE was downloaded "
                                                      "(YYYY-MM-DD; default today, UTC)")] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="config file")] = None,
) -> None:
    """Validate FILE and make it the EOL data (in the state directory); the old data stays on error."""
    cfg = load_config(config)
    try:
        when = date.fromisoformat(snapshot_date) if snapshot_date else datetime.now(UTC).date()
    except ValueError:
        raise typer.BadParameter(f"--snapshot-date {snapshot_date!r}: use YYYY-MM-DD") from None
    try:
        snap = eol.refresh(cfg.home, file, product=product, snapshot_date=when)
    except eol.EolDataError as exc:
        raise ConfigError(f"refresh-eol: {exc}") from None
    counts = ", ".join(f"{p} {len(c)} cycles" for p, c in sorted(snap.products.items()))
    out.print(f"EOL data of {snap.snapshot_date} in use ({counts}): {eol.user_copy(cfg.home)}", markup=False)
