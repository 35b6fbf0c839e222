"""pgBackRest for the demo server: WAL archiving on, a local repository in the demo home.

Without pgbackrest installed the demo runs as before (no engine section, the PITR steps skip).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..config.engine import EngineConfig
from ..embedded.postgres import archiving_settings
from . import engine

ARCHIVE_TIMEOUT_SECONDS = 60


def available() -> bool:
    return shutil.which(engine.BINARY) is not None


def socket_dir(home: Path, port: int) -> Path:
    """A Unix socket directory whose socket path fits in 107 bytes."""
    own = home / "sock"
    if len(f"{own}/.s.PGSQL.{port}") < 100:
        return own
    return Path(tempfile.gettempdir()) / f"smc-maint-demo-sock-{port}"


def section(home: Path, port: int, pg_data: Path) -> dict[str, Any]:
    """``backup.engine`` of the demo config."""
    return {"kind": "pgbackrest", "stanza": "demo", "pg_data": str(pg_data), "socket_path": str(socket_dir(home, port)),
            "os_user": _os_user(), "config_dir": str(home / "pgbackrest"), "repo": {"kind": "local"},
            "rpo_target_seconds": 2 * ARCHIVE_TIMEOUT_SECONDS, "retention_target_days": 1}


def _os_user() -> str:
    import os
    import pwd

    from ..embedded.postgres import _run_user

    user = _run_user()
    return user.pw_name if user is not None else pwd.getpwuid(os.geteuid()).pw_name


def prepare(home: Path, port: int, pg_data: Path, db_user: str = "postgres") -> dict[str, str]:
    """Write the engine's files; the server options that archive to it."""
    if not available():
        return {}
    data = section(home, port, pg_data)
    cfg = EngineConfig.model_validate(data)
    lay = engine.Layout(cfg, home / "pgbackrest", str(home / "pgbackrest" / "repo"), pg_data, port, db_user)
    engine.write_config(lay)
    sock = socket_dir(home, port)
    sock.mkdir(parents=True, exist_ok=True)
    if _is_root():
        shutil.chown(sock, data["os_user"])
    return archiving_settings(engine.archive_command(lay), archive_timeout_seconds=ARCHIVE_TIMEOUT_SECONDS,
                              socket_dir=sock)


def _is_root() -> bool:
    import os

    return os.geteuid() == 0


def make_ready(cfg_path: Path) -> str | None:
    """The demo's stanza exists and a WAL segment has been archived before anything checks archiving:
    until the stanza exists every archive_command fails, and backup-verify rightly calls that CRITICAL.
    Returns why it could not be made ready (the demo goes on and says so), None when ready or unused."""
    from ..config.loader import load_config
    from . import engine
    from .sets import status_message

    cfg = load_config(cfg_path)
    if cfg.config.backup.engine.kind == "none":
        return None
    try:
        lay = engine.layout(cfg)
        engine.write_config(lay)
        if status_message(engine.info(lay))[0] != 0:
            engine.check_ok(engine.run(lay, "stanza-create", timeout=300), "stanza-create")
        engine.check_ok(engine.run(lay, "check", timeout=180), "check")  # switches WAL, waits for it to archive
    except engine.EngineError as exc:
        return str(exc)
    return None
