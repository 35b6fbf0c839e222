"""Publishing metrics for clusters without ``smc-maint serve``: node_exporter textfile and Pushgateway."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import generate_latest, pushadd_to_gateway
from prometheus_client.registry import CollectorRegistry

from ..adapters import http
from ..adapters.clock import Clock, SystemClock
from ..config.loader import LoadedConfig
from ..config.observability import PushgatewayConfig
from ..emergency.journal import live_state
from ..errors import ConfigError
from ..history import open_history
from ..redact import redact
from .metrics import registry_for
from .schedule import expected

log = logging.getLogger("smc_maint.reporting.publish")


def registry_from_config(cfg: LoadedConfig, clock: Clock | None = None) -> CollectorRegistry:
    clock = clock or SystemClock()
    rep = cfg.config.reporting
    return registry_for(lambda: open_history(cfg), clock.now, window_days=rep.window_days,
                        backup_procedures=rep.backup_procedures, maintenance_mode=lambda: live_state(cfg.home),
                        schedule=expected(cfg))


def _make_dirs(directory: Path, mode: int) -> None:
    """Create missing directories with ``mode`` exactly (the CLI's umask 077 would make them 0700)."""
    missing = []
    d = directory
    while not d.exists():
        missing.append(d)
        d = d.parent
    for d in reversed(missing):
        d.mkdir(exist_ok=True)
        d.chmod(mode)


def write_textfile(registry: CollectorRegistry, path: Path, *, mode: int = 0o644, dir_mode: int = 0o755) -> None:
    """Write the exposition atomically (temp file + rename): node_exporter never reads half a file.

    The file gets ``mode`` (0644: node_exporter runs as its own user) whatever the umask.
    """
    if path.suffix != ".prom":
        raise ValueError(f"{path}: node_exporter's textfile collector reads only *.prom files")
    _make_dirs(path.parent, dir_mode)
    data = generate_latest(registry)
    # node_exporter ignores files not ending in .prom, so the temp file is never read half-written.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), mode)
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def push(registry: CollectorRegistry, gw: PushgatewayConfig) -> None:
    """POST (push-add): replaces only our metric names in the job's group, keeps the others."""
    if not gw.url:
        raise ConfigError("reporting.pushgateway.url is not set (metrics push needs the Pushgateway's URL)")
    creds = gw.credentials()

    def handler(url: str, method: str, timeout: float | None, headers: list[tuple[str, str]],
                data: bytes) -> Callable[[], None]:
        """prometheus_client's urllib handler times out per read; this one in total (adapters/http)."""
        def send() -> None:
            resp = http.request(method, url, deadline=timeout or gw.timeout_seconds, content=data,
                                headers=dict(headers), auth=creds)
            if resp.status_code >= 400:
                raise OSError(f"error talking to pushgateway: {resp.status_code} {resp.reason_phrase}")
        return send

    pushadd_to_gateway(gw.url, job=gw.job, registry=registry, grouping_key=dict(gw.grouping_key) or None,
                       timeout=gw.timeout_seconds, handler=handler)


@dataclass(frozen=True)
class Published:
    textfile: Path | None = None
    pushed: bool = False
    errors: tuple[str, ...] = ()


def publish_configured(cfg: LoadedConfig, clock: Clock | None = None) -> Published:
    """After a run: write the textfile and push, as configured; failures are reported, never raised."""
    rep = cfg.config.reporting
    if rep.textfile is None and not rep.pushgateway.url:
        return Published()
    registry = registry_from_config(cfg, clock)
    errors: list[str] = []
    written: Path | None = None
    if rep.textfile is not None:
        try:
            write_textfile(registry, rep.textfile, mode=rep.textfile_mode, dir_mode=rep.textfile_dir_mode)
            written = rep.textfile
        except (OSError, ValueError) as exc:
            errors.append(redact(f"textfile {rep.textfile}: {exc}"))
    pushed = False
    if rep.pushgateway.url:
        try:
            push(registry, rep.pushgateway)
            pushed = True
        except Exception as exc:  # urllib raises URLError/HTTPError/OSError; none may stop the run
            errors.append(redact(f"pushgateway: {type(exc).__name__}: {exc}"))
    for message in errors:
        log.warning("metrics not published: %s", message)
    return Published(written, pushed, tuple(errors))


def publish_after_run(cfg: LoadedConfig, clock: Clock | None = None) -> Callable[[object], None]:
    """The post-run hook callers (cli, scheduler, web, demo) give the runner: refresh the metrics."""

    def hook(_outcome: object) -> None:
        publish_configured(cfg, clock)

    return hook
