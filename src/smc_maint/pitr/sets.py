"""What pgBackRest's ``info`` says: the backup sets and the archived WAL range. Pure parsing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class BackupSet:
    label: str
    kind: str  # full, diff, incr
    started_at: datetime
    stopped_at: datetime  # the earliest moment this set restores to
    size_bytes: int
    repo_bytes: int


def backup_sets(stanza_info: dict[str, Any]) -> list[BackupSet]:
    """The stanza's backup sets, oldest first."""
    sets = []
    for b in stanza_info.get("backup", []):
        ts = b.get("timestamp", {})
        info = b.get("info", {})
        sets.append(BackupSet(str(b["label"]), str(b.get("type", "")),
                              datetime.fromtimestamp(int(ts["start"]), UTC), datetime.fromtimestamp(int(ts["stop"]), UTC),
                              int(info.get("size", 0)), int(info.get("repository", {}).get("delta", 0))))
    return sorted(sets, key=lambda s: s.stopped_at)


def next_backup_type(sets: list[BackupSet], now: datetime, full_every_days: float) -> str:
    """``full`` when there is none or the newest full is too old, else ``diff``. Pure."""
    fulls = [s for s in sets if s.kind == "full"]
    if not fulls or (now - fulls[-1].stopped_at).total_seconds() > full_every_days * 86400:
        return "full"
    return "diff"


def status_message(stanza_info: dict[str, Any]) -> tuple[int, str]:
    st = stanza_info.get("status", {})
    return int(st.get("code", 99)), str(st.get("message", "unknown"))
