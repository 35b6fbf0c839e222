"""Which backups can be trusted: one definition shared by backup-verify, restore-test, retention and metrics.

A backup whose manifest says it was created ahead of now (beyond a small clock skew) was taken
under a wrong clock: it is a finding in itself, and it must never count as "newest", or it would
hide every real backup taken after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from .catalog import BackupInfo, Catalog

DEFAULT_SKEW_SECONDS = 300.0


def ahead_seconds(created_at: datetime, now: datetime) -> float:
    """How far ``created_at`` lies in the future (0 when it does not)."""
    return max(0.0, (created_at - now).total_seconds())


def is_future(created_at: datetime, now: datetime, skew_seconds: float = DEFAULT_SKEW_SECONDS) -> bool:
    return ahead_seconds(created_at, now) > skew_seconds


def future_dated(backups: Sequence[BackupInfo], now: datetime,
                 skew_seconds: float = DEFAULT_SKEW_SECONDS) -> list[BackupInfo]:
    return [b for b in backups if is_future(b.created_at, now, skew_seconds)]


def future_problem(info: BackupInfo, now: datetime) -> str:
    hours = ahead_seconds(info.created_at, now) / 3600
    return (f"backup {info.id} claims to be created {hours:.1f} h in the future ({info.created_at:%Y-%m-%d %H:%M} "
            f"UTC): taken under a wrong clock, not trusted as newest")


def trusted(catalog: Catalog, now: datetime, skew_seconds: float = DEFAULT_SKEW_SECONDS) -> list[BackupInfo]:
    """Backups whose creation time is not ahead of now, newest first."""
    return [b for b in catalog.backups if not is_future(b.created_at, now, skew_seconds)]


def newest_trusted(catalog: Catalog, now: datetime,
                   skew_seconds: float = DEFAULT_SKEW_SECONDS) -> BackupInfo | None:
    """The newest backup not dated in the future: what backup-verify checks and restore-test restores."""
    found = trusted(catalog, now, skew_seconds)
    return found[0] if found else None
