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

    hidden: bool = False  # /proc is mounted hidepid=1|2: other users' processes may not even be listed

    def pids_holding(self, ident: FileId) -> set[int]:
        return self.holders.get(ident, set())

    @property
    def complete(self) -> bool:
        """Whether every process was seen: otherwise a file not listed may still be held open."""
        return self.unreadable == 0 and not self.hidden


def _hidepid(proc_root: Path) -> bool:
    """Whether ``proc_root`` is mounted with ``hidepid`` (1/2/invisible/noaccess) and we are not root."""
    if os.geteuid() == 0:
        return False
    try:
        lines = (proc_root / "self" / "mountinfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        return True  # cannot tell: assume processes may be hidden
    for line in lines:
        fields = line.split()
        if len(fields) > 4 and fields[4] == str(proc_root) and " - proc " in line:
            opts = line.rsplit(" ", 1)[-1].split(",")
            return any(o.startswith("hidepid=") and o not in ("hidepid=0", "hidepid=off") for o in opts)
    return False


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
    return OpenFiles(holders, scanned, unreadable, _hidepid(proc_root))


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
