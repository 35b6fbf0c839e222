"""``smc-maint serve``: dashboard, /metrics and a token-protected trigger, until interrupted."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..config.loader import load_config
from ..web.app import DashboardApp
from ..web.server import make

err = Console(stderr=True)


def serve(
    host: Annotated[str | None, typer.Option("--host", help="bind address (default serve.host, 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option("--port", help="port (default serve.port, 9184)")] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="config file")] = None,
) -> None:
    """Serve the web dashboard and Prometheus /metrics computed from the history store."""
    cfg = load_config(config)
    app = DashboardApp(cfg)
    bind = host or cfg.config.serve.host
    server = make(app, bind, cfg.config.serve.port if port is None else port)
    if cfg.config.serve.token():
        from ..forkserver import warm

        warm()  # runs triggered from the web fork their workers from one server with every procedure
    trigger = "enabled (bearer token)" if cfg.config.serve.token() else (
        f"disabled (set {cfg.config.serve.token_env} to enable)")
    err.print(f"smc-maint dashboard on http://{bind}:{server.server_address[1]}/  metrics at /metrics; "
              f"run trigger {trigger}", soft_wrap=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
