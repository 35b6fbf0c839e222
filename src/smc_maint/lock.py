"""Advisory file locks, released by the kernel if we die: one run per group, one backup per store."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from .errors import LockHeld


@contextlib.contextmanager
def file_lock(path: Path, what: str) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (it records our pid); :class:`LockHeld` names the holder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise LockHeld(f"{what} holds the lock (pid {holder}); {path}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def group_lock(lock_dir: Path, group: str) -> Iterator[None]:
    with file_lock(lock_dir / f"{group}.lock", f"another '{group}' run"):
        yield


def store_lock_path(lock_dir: Path, store_description: str) -> Path:
    """The lock every backup of one store takes (any process on this host)."""
    digest = hashlib.sha256(store_description.encode()).hexdigest()[:16]
    return lock_dir / f"store-{digest}.lock"


def store_lock(lock_dir: Path, store_description: str) -> contextlib.AbstractContextManager[None]:
    return file_lock(store_lock_path(lock_dir, store_description), f"another backup of {store_description}")


def backup_running(lock_dir: Path, store_description: str) -> str | None:
    """Why a backup of the store cannot start now ('another backup of X is running (pid N)'), or None."""
    path = store_lock_path(lock_dir, store_description)
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            return f"another backup of {store_description} is running (pid {holder})"
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
