"""Files that survive a crash: written whole or not at all, and the rename itself made durable.

The journals that let an interrupted change be undone (DR drill, emergency window) must never be
found half-written, nor lose their last step to a power cut after the rename; a reader of a
report or nginx of its maintenance snippet must never see half a file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes | str, *, mode: int = 0o600) -> None:
    """``path`` holding ``data`` with ``mode`` (default owner-only; 0644 for what another user, e.g.
    nginx, reads): temp file beside it, fsync, rename, fsync the directory. A missing parent is made
    owner-only when ``mode`` is, else as the umask says. Raises OSError; a failed write leaves the old file
    as it was and no temp file."""
    path.parent.mkdir(mode=0o777 if mode & 0o044 else 0o700, parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
