"""Where log-cleanup may delete: never a root or system directory, only below allowed prefixes.

Checked when the configuration is loaded, so ``path: /`` is a config error naming the rule and
its line, before anything is scanned.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

# Never a cleanup root itself (their sub-directories may be, e.g. /var/log/app).
SYSTEM_DIRS = frozenset(Path(p) for p in (
    "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/media", "/mnt",
    "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var", "/var/lib", "/var/cache",  # noqa: S108 - names to refuse, not temp files
    "/var/spool", "/var/tmp", "/var/mail", "/var/backups", "/snap",  # noqa: S108
))
# Never anything below these: operating-system trees, not application logs.
SYSTEM_TREES = tuple(Path(p) for p in ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32",
                                       "/proc", "/sbin", "/sys", "/usr"))
DEFAULT_ALLOWED = ["/var/log", "/srv", "/opt", "/data", "/tmp", "/var/tmp", "/var/lib/smc-maint"]  # noqa: S108


def normalized(path: Path) -> Path:
    """The absolute path with ``..`` removed and symlinks resolved (a link to / is /)."""
    return Path(os.path.realpath(os.path.normpath(path)))


def refusal(path: Path) -> str | None:
    """Why ``path`` may never be a cleanup root (None: it may, subject to the allowed prefixes)."""
    if not path.is_absolute():
        return f"{path} is not an absolute path"
    for candidate in {Path(os.path.normpath(path)), normalized(path)}:
        if candidate in SYSTEM_DIRS:
            return f"{path} is a system directory{' (' + str(candidate) + ')' if candidate != path else ''}; " \
                   "name the application's own log directory"
        tree = next((t for t in SYSTEM_TREES if candidate.is_relative_to(t)), None)
        if tree is not None:
            return f"{path} is inside the system directory {tree}"
    return None


def outside(path: Path, allowed: Sequence[Path]) -> str | None:
    """Why ``path`` is outside every allowed prefix (None when it is inside one)."""
    real = normalized(path)
    if any(real.is_relative_to(normalized(prefix)) for prefix in allowed):
        return None
    return f"{path} is outside the allowed prefixes ({', '.join(str(p) for p in allowed)}); add its parent to " \
           "allowed_prefixes"
