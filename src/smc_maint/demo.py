"""The embedded demo environment: a real PostgreSQL with the trading database and demo data,
a backup store, log directories and security reports, plus a config file pointing at them.

Idempotent: a re-run reuses the running server and the data; ``reset`` starts from scratch.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import secrets
import shutil
from pathlib import Path
from typing import Any

import yaml

from . import registry
from .embedded import demo_data
from .embedded.postgres import Binaries, EmbeddedPostgres, find_binaries, free_port
from .paths import default_home
from .pitr import demo_engine

log = logging.getLogger("smc_maint.demo")

DEFAULT_PORT = 54329


def demo_home() -> Path:
    return default_home() / "demo"


def config_path(home: Path | None = None) -> Path:
    return (home or demo_home()) / "smc-maint.yaml"


def _state(home: Path) -> dict[str, Any]:
    path = home / "state.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _server(home: Path, binaries: Binaries, port: int) -> EmbeddedPostgres:
    settings = {"max_connections": "50"}
    if binaries.has_pg_stat_statements:
        settings["shared_preload_libraries"] = "pg_stat_statements"
    settings.update(demo_engine.prepare(home, port, _pg_data(home, binaries)))  # WAL archiving (issue 16)
    return EmbeddedPostgres(_pg_data(home, binaries), port, binaries, settings=settings)


def _pg_data(home: Path, binaries: Binaries) -> Path:
    return home / "postgres" / f"pg{binaries.major}"


def _port_free(port: int) -> bool:
    import socket

    with contextlib.closing(socket.socket()) as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _start_demo_api(home: Path, port: int, pw_file: Path) -> None:
    """The platform API stand-in behind nginx (embedded/demo_api); the demo goes on without it."""
    from .embedded import demo_api

    try:
        demo_api.start(home, port, pw_file)
    except Exception as exc:  # the API front is a demo extra: never the reason the demo fails
        (home / demo_api.STATE).write_text(json.dumps({"note": f"demo API not started: {type(exc).__name__}: {exc}"}))


def stop(home: Path | None = None) -> None:
    home = home or demo_home()
    from .embedded import demo_api

    demo_api.stop(home)
    state = _state(home)
    if not state:
        return
    binaries = Binaries(Path(state["bin_dir"]), int(state["major"]), state["source"])
    _server(home, binaries, int(state["port"])).stop()


def demo_platform(data_dir: Path) -> dict[str, Any]:
    """The demo's platform is this machine: its one workload is the embedded PostgreSQL postmaster."""
    return {"kind": "local", "local": {"workloads": [
        {"name": "postgres", "process": rf"postgres -D {re.escape(str(data_dir))}(\s|$)", "replicas": 1}]}}


def prepare(*, reset: bool = False, home: Path | None = None, kind: str = "auto",
            port: int | None = None) -> Path:
    """Bring the demo environment up and return the path of its config file.

    ``port`` (``embedded.port``) is honoured exactly: a server running on another port is
    restarted on it. Without it the default port is used when free, else any free port.
    """
    home = home or demo_home()
    if reset and home.exists():
        with contextlib.suppress(Exception):
            stop(home)
        shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o755)
    state = _state(home)
    binaries = find_binaries(kind)  # type: ignore[arg-type]
    same_server = state.get("major") == binaries.major and state.get("bin_dir") == str(binaries.bin_dir)
    if port is not None:
        if same_server and int(state["port"]) != port:
            _server(home, binaries, int(state["port"])).stop()
    elif same_server:
        port = int(state["port"])
    else:
        port = DEFAULT_PORT if _port_free(DEFAULT_PORT) else free_port()

    secret_dir = home / "secrets"
    secret_dir.mkdir(mode=0o700, exist_ok=True)
    pw_file = secret_dir / "db-password"
    if not pw_file.exists():
        pw_file.write_text(secrets.token_urlsafe(18) + "\n")
        pw_file.chmod(0o600)
    password = pw_file.read_text().strip()

    server = _server(home, binaries, port)
    server.init(password)
    server.start()
    (home / "state.json").write_text(json.dumps(
        {"port": port, "bin_dir": str(binaries.bin_dir), "major": binaries.major, "source": binaries.source}))

    import psycopg

    def conn(dbname: str) -> psycopg.Connection[Any]:
        return psycopg.connect(host="127.0.0.1", port=port, user="postgres", password=password,
                               dbname=dbname, autocommit=True)

    with conn("postgres") as c:
        if c.execute("SELECT 1 FROM pg_database WHERE datname = 'smc_trading'").fetchone() is None:
            c.execute("CREATE DATABASE smc_trading")
    with conn("smc_trading") as c:
        if c.execute("SELECT to_regclass('public.trades')").fetchone() == (None,):
            demo_data.create_schema(c)
            demo_data.populate(c)
        if binaries.has_pg_stat_statements:
            c.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")

    from .embedded import demo_files

    demo_files.lay_out(home)
    _start_demo_api(home, port, pw_file)

    cfg: dict[str, Any] = {
        "home": str(home),
        "database": {"host": "127.0.0.1", "port": port, "dbname": "smc_trading", "user": "postgres",
                     "password_file": str(pw_file), "bin_dir": str(binaries.bin_dir)},
        "store": {"kind": "local", "path": str(home / "backups")},
        "platform": demo_platform(server.data_dir),
        "embedded": {"postgres": kind, "port": port},
        "procedures": {},
    }
    if demo_engine.available():
        cfg["backup"] = {"engine": demo_engine.section(home, port, _pg_data(home, binaries))}
    for pid in registry.PROCEDURES:
        with contextlib.suppress(ImportError):
            module = registry.load(pid)
            hook = getattr(module, "demo_settings", None)
            if hook is not None:
                cfg["procedures"][pid] = hook(home)
    from .logs.pod_cleanup import demo_pod_rules

    cfg["procedures"].setdefault("log-cleanup", {})["pods"] = demo_pod_rules(home)  # the local platform's workload
    path = config_path(home)
    header = "# Written by `smc-maint demo`: the embedded demo environment. Regenerated on every demo run.\n"
    path.write_text(header + yaml.safe_dump(cfg, sort_keys=False))
    if "backup" in cfg:
        problem = demo_engine.make_ready(path)
        if problem:
            log.warning("demo: WAL archiving is not ready: %s", problem)
    return path
