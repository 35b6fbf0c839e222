"""The drill's journal: what it touched, written (fsync'd) BEFORE each change, so a killed drill
can be undone exactly by the next run or ``smc-maint dr-drill recover``.

One JSON file in the state directory. Production workloads are recorded with the replica count
they had; a DR namespace is recorded before it is created.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


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


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save(path: Path, journal: Journal) -> None:
    """Write atomically and durably: temp file, fsync, rename, fsync the directory."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    data = json.dumps(asdict(journal), indent=2).encode()
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
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
        _fsync_dir(path.parent)
    except FileNotFoundError:
        pass
