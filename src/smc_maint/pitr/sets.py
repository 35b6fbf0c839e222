"""What pgBackRest's ``info`` says: the backup sets and the archived WAL range. Pure parsing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


def lsn_value(text: str) -> int:
    """A WAL position ``'16/B374D848'`` as one comparable number (ValueError when malformed)."""
    high, sep, low = text.strip().partition("/")
    if not sep:
        raise ValueError(f"not a WAL position: {text!r}")
    return (int(high, 16) << 32) | int(low, 16)


@dataclass(frozen=True)
class BackupSet:
    label: str
    kind: str  # full, diff, incr
    started_at: datetime
    stopped_at: datetime  # the earliest moment this set restores to
    size_bytes: int
    repo_bytes: int
    stop_lsn: int | None = None  # the earliest WAL position it restores to (None: not reported)
    system_id: str | None = None  # the cluster it was taken of


def _stop_lsn(b: dict[str, Any]) -> int | None:
    try:
        return lsn_value(str(b["lsn"]["stop"]))
    except (KeyError, TypeError, ValueError):
        return None


def backup_sets(stanza_info: dict[str, Any]) -> list[BackupSet]:
    """The stanza's backup sets, oldest first."""
    clusters = {d.get("id"): str(d["system-id"]) for d in stanza_info.get("db", []) if "system-id" in d}
    sets = []
    for b in stanza_info.get("backup", []):
        ts = b.get("timestamp", {})
        info = b.get("info", {})
        sets.append(BackupSet(str(b["label"]), str(b.get("type", "")),
                              datetime.fromtimestamp(int(ts["start"]), UTC), datetime.fromtimestamp(int(ts["stop"]), UTC),
                              int(info.get("size", 0)), int(info.get("repository", {}).get("delta", 0)),
                              _stop_lsn(b), clusters.get(b.get("database", {}).get("id"))))
    return sorted(sets, key=lambda s: s.stopped_at)


def set_before_lsn(sets: list[BackupSet], lsn: int, system_id: str | None = None) -> BackupSet | None:
    """The newest set of the cluster that ends strictly before ``lsn``: recovery must reach a
    consistent state before it stops, and pgBackRest left to itself may pick one that ends after."""
    fitting = [s for s in sets if s.stop_lsn is not None and s.stop_lsn < lsn
               and (system_id is None or s.system_id in (None, system_id))]
    return max(fitting, key=lambda s: s.stop_lsn or 0) if fitting else None


def next_backup_type(sets: list[BackupSet], now: datetime, full_every_days: float) -> str:
    """``full`` when there is none or the newest full is too old, else ``diff``. Pure."""
    fulls = [s for s in sets if s.kind == "full"]
    if not fulls or (now - fulls[-1].stopped_at).total_seconds() > full_every_days * 86400:
        return "full"
    return "diff"


def status_message(stanza_info: dict[str, Any]) -> tuple[int, str]:
    st = stanza_info.get("status", {})
    return int(st.get("code", 99)), str(st.get("message", "unknown"))
