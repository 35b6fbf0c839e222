"""The drill's journal: what it touched, written (fsync'd) BEFORE each change, so a killed drill
can be undone exactly by the next run or ``smc-maint dr-drill recover``.

One JSON file in the state directory. Production workloads are recorded with the replica count
they had; a DR namespace is recorded before it is created.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..durable import fsync_dir, write_atomic


class JournalError(Exception):
    """The journal cannot be read or written; the message names the file."""


@dataclass
class ScaledWorkload:
    kind: str
    name: str
    namespace: str
    replicas: int  # what it had before the drill touched it
    restored: bool = False


@dataclass
class Journal:
    drill_id: str
    pid: int
    started_at: str
    scaled: list[ScaledWorkload] = field(default_factory=list)
    dr_namespace: str | None = None  # recorded before it is created
    kept: bool = False  # --keep: left in place on purpose until the next drill or recover

    def pending_scale(self) -> list[ScaledWorkload]:
        return [w for w in self.scaled if not w.restored]

    @property
    def empty(self) -> bool:
        return not self.pending_scale() and self.dr_namespace is None


def path_in(home: Path) -> Path:
    return home / "dr" / "journal.json"


def save(path: Path, journal: Journal) -> None:
    """Write atomically and durably: temp file, fsync, rename, fsync the directory."""
    try:
        write_atomic(path, json.dumps(asdict(journal), indent=2).encode())
    except OSError as exc:
        raise JournalError(f"cannot write the drill journal {path}: {exc}") from None


def load(path: Path) -> Journal | None:
    """The journal, or None when there is none."""
    try:
        raw: dict[str, Any] = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise JournalError(f"cannot read the drill journal {path}: {exc}; fix or remove it by hand after "
                           "checking the production replica counts it lists") from None
    try:
        scaled = [ScaledWorkload(**w) for w in raw.get("scaled", [])]
        return Journal(drill_id=str(raw["drill_id"]), pid=int(raw["pid"]), started_at=str(raw["started_at"]),
                       scaled=scaled, dr_namespace=raw.get("dr_namespace"), kept=bool(raw.get("kept", False)))
    except (KeyError, TypeError, ValueError) as exc:
        raise JournalError(f"the drill journal {path} is malformed ({exc})") from None


def clear(path: Path) -> None:
    try:
        path.unlink()
        fsync_dir(path.parent)
    except FileNotFoundError:
        pass
