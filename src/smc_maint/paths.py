"""Where the tool keeps its own state (history, locks, logs, embedded PostgreSQL)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "smc-maint"


def default_home() -> Path:
    """``SMC_MAINT_HOME``, else ``/var/lib/smc-maint`` for root, else the user data dir.

    Root gets a system path because the embedded PostgreSQL runs as an unprivileged user,
    which must be able to reach its data directory (it cannot traverse ``/root``).
    """
    env = os.environ.get("SMC_MAINT_HOME")
    if env:
        return Path(env).expanduser().resolve()
    if os.name == "posix" and os.geteuid() == 0:
        return Path("/var/lib/smc-maint")
    return Path(platformdirs.user_data_dir(APP))


def user_config_file() -> Path:
    return Path(platformdirs.user_config_dir(APP)) / "config.yaml"
