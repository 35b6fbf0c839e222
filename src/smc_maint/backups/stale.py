"""Reap what a killed run (SIGKILL, power loss) left in the work directory.

Every staging, download and scratch-server directory carries the pid of its owner; one whose
owner is gone is removed (a scratch server in it is stopped first) at the start of the next
backup or restore test. A directory without our ``owner.pid`` is never touched: the work
directory may be shared (``work_dir: /tmp``) and a matching name proves nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
from pathlib import Path

import psutil

from ..embedded.postgres import Binaries, EmbeddedPostgres

OWNER = "owner.pid"
log = logging.getLogger("smc_maint.backups.stale")


def claim(directory: Path) -> None:
    (directory / OWNER).write_text(str(os.getpid()))


def _abandoned(directory: Path) -> bool:
    """True only for a real directory of ours (owner.pid: a regular file of our uid) whose owner is gone."""
    owner = directory / OWNER
    try:
        if directory.is_symlink() or not stat.S_ISDIR(directory.lstat().st_mode):
            return False
        info = owner.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
            return False
        pid = int(owner.read_text().strip())
    except (OSError, ValueError):
        return False
    return pid != os.getpid() and not psutil.pid_exists(pid)


def reap(work: Path) -> list[str]:
    """Remove abandoned directories below ``work``; returns what was removed."""
    removed: list[str] = []
    # pitr-*: a point-in-time restore's scratch directory (its server's data directory is data/)
    candidates = [*work.glob("create-*"), *work.glob("restore-*"), *work.glob("scratch/run-*"), *work.glob("pitr-*")]
    for directory in candidates:
        if not _abandoned(directory):
            continue
        for data_dir in [*directory.glob("scratch-pg-*/data"), *directory.glob("data")]:
            if not (data_dir / "postmaster.pid").is_file():
                continue
            with contextlib.suppress(Exception):
                EmbeddedPostgres(data_dir, 0, _binaries_of(data_dir)).stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)
        removed.append(str(directory))
        log.warning("removed %s left behind by a run that was killed", directory)
    return removed


def _binaries_of(data_dir: Path) -> Binaries:
    """The server binaries recorded in postmaster.opts (what started that server)."""
    opts = (data_dir / "postmaster.opts").read_text().split()[0].strip("'\"")
    bin_dir = Path(opts).parent
    return Binaries(bin_dir, 0, "path")
