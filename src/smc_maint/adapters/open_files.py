"""Which files are held open by some process, identified by (device, inode).

Identity by inode rather than path: a log opened through another path, a hard link or a
renamed file is still recognised. Reads ``/proc/<pid>/fd`` on Linux, psutil elsewhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import psutil

FileId = tuple[int, int]


@dataclass(frozen=True)
class OpenFiles:
    """Open regular files by (st_dev, st_ino) -> pids; ``unreadable`` processes could not be inspected."""

    holders: dict[FileId, set[int]] = field(default_factory=dict)
    processes_scanned: int = 0
    unreadable: int = 0

    def pids_holding(self, ident: FileId) -> set[int]:
        return self.holders.get(ident, set())


def _scan_proc(proc_root: Path) -> OpenFiles:
    holders: dict[FileId, set[int]] = {}
    scanned = unreadable = 0
    for entry in os.scandir(proc_root):
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        fd_dir = Path(entry.path) / "fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            unreadable += 1
            continue
        scanned += 1
        for fd in fds:
            try:
                st = os.stat(fd_dir / fd)  # follows the magic link to the open file itself
            except OSError:
                continue
            holders.setdefault((st.st_dev, st.st_ino), set()).add(pid)
    return OpenFiles(holders, scanned, unreadable)


def _scan_psutil() -> OpenFiles:
    holders: dict[FileId, set[int]] = {}
    scanned = unreadable = 0
    for proc in psutil.process_iter():
        try:
            files = proc.open_files()
        except psutil.Error:
            unreadable += 1
            continue
        scanned += 1
        for f in files:
            try:
                st = os.stat(f.path)
            except OSError:
                continue
            holders.setdefault((st.st_dev, st.st_ino), set()).add(proc.pid)
    return OpenFiles(holders, scanned, unreadable)


def scan(proc_root: Path = Path("/proc")) -> OpenFiles:
    """Every open file of every process this user may inspect."""
    if (proc_root / "self" / "fd").is_dir():
        return _scan_proc(proc_root)
    return _scan_psutil()
