"""The emergency window's journal: one JSON file per window in the state directory, fsync'd.

Every step is written before it acts (with what it is about to change: the old selector, the
replica count, the flag row's value) and after. A process that dies mid-way leaves a journal
from which ``abort`` or ``finish`` restores the starting state exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..durable import write_atomic

ACTIVE = "active"
FINISHED = "finished"
ABORTED = "aborted"

STARTED = "started"
DONE = "done"
FAILED = "failed"
SKIPPED = "skipped"


@dataclass
class Entry:
    step: str
    phase: str  # started | done | failed | skipped
    at: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "phase": self.phase, "at": self.at, "data": self.data}


def _aware(value: str) -> datetime:
    """A journaled time; one without a zone cannot be compared with the clock's, so it is malformed."""
    at = datetime.fromisoformat(value)
    if at.tzinfo is None:
        raise ValueError(f"time without a zone: {value!r}")
    return at


@dataclass
class Window:
    """One emergency window as the journal holds it."""

    id: str
    reason: str
    started_at: datetime
    deadline: datetime
    state: str = ACTIVE
    ended_at: datetime | None = None
    target: str = ""
    settings: dict[str, Any] = field(default_factory=dict)  # the switch/halt configuration it started with
    entries: list[Entry] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "reason": self.reason, "started_at": self.started_at.isoformat(),
                "deadline": self.deadline.isoformat(), "state": self.state,
                "ended_at": self.ended_at.isoformat() if self.ended_at else None, "target": self.target,
                "settings": self.settings, "entries": [e.to_json() for e in self.entries]}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Window:
        """Raises ValueError for anything but a window this tool wrote (wrong types, naive times)."""
        if not isinstance(raw, dict):
            raise ValueError(f"a window is a JSON object, not {type(raw).__name__}")
        try:
            return cls._from_json(raw)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a window journal ({type(exc).__name__}: {exc})") from None

    @classmethod
    def _from_json(cls, raw: dict[str, Any]) -> Window:
        return cls(raw["id"], raw["reason"], _aware(raw["started_at"]),
                   _aware(raw["deadline"]), raw.get("state", ACTIVE),
                   _aware(raw["ended_at"]) if raw.get("ended_at") else None,
                   raw.get("target", ""), dict(raw.get("settings") or {}),
                   [Entry(e["step"], e["phase"], e["at"], dict(e.get("data") or {})) for e in raw.get("entries", [])])

    # -- questions the machine asks ------------------------------------------------------------
    def last(self, step: str) -> Entry | None:
        """The latest entry of ``step`` (None if it never started)."""
        return next((e for e in reversed(self.entries) if e.step == step), None)

    def started_data(self, step: str) -> dict[str, Any] | None:
        """What ``step`` journaled before it acted (the state to restore), from its first start."""
        return next((e.data for e in self.entries if e.step == step and e.phase == STARTED), None)

    def is_done(self, step: str) -> bool:
        last = self.last(step)
        return last is not None and last.phase in (DONE, SKIPPED)

    def attempts(self, step: str) -> int:
        return sum(1 for e in self.entries if e.step == step and e.phase == STARTED)


class Journal:
    """The journal directory: ``<home>/emergency/<window id>.json``, owner-only."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory

    def path(self, window_id: str) -> Path:
        return self.dir / f"{window_id}.json"

    def save(self, window: Window) -> None:
        """Write atomically and durably: temp file, fsync, rename, fsync the directory."""
        write_atomic(self.path(window.id), json.dumps(window.to_json(), indent=1, default=str).encode())

    def load(self, window_id: str) -> Window:
        return Window.from_json(json.loads(self.path(window_id).read_text(encoding="utf-8")))

    def windows(self) -> list[Window]:
        """Every readable journaled window, oldest first (see :meth:`unreadable` for the others)."""
        return self._read()[0]

    def unreadable(self) -> list[str]:
        """Journal files that cannot be read, each with why: any of them may be an open window
        whose changes (maintenance on, trading halted) only it can undo. Never ours to guess."""
        return self._read()[1]

    def _read(self) -> tuple[list[Window], list[str]]:
        if not self.dir.is_dir():
            return [], []
        out, bad = [], []
        for p in sorted(self.dir.glob("*.json")):
            try:
                out.append(Window.from_json(json.loads(p.read_text(encoding="utf-8"))))
            except (OSError, ValueError, KeyError) as exc:
                bad.append(f"{p}: {type(exc).__name__}: {str(exc)[:200]}")
        return sorted(out, key=lambda w: w.started_at), bad

    def active(self) -> Window | None:
        """The window not yet finished or aborted (there is at most one: ``start`` refuses a second)."""
        return next((w for w in reversed(self.windows()) if w.state == ACTIVE), None)


def journal_dir(home: Path) -> Path:
    return home / "emergency"


def live_mode(home: Path) -> bool:
    """For ``smc_maint_maintenance_mode``: an emergency window is open in the journal."""
    return Journal(journal_dir(home)).active() is not None


def live_state(home: Path) -> tuple[bool, datetime | None]:
    """Whether a window is open in the journal, and its deadline (the metrics' live state)."""
    active = Journal(journal_dir(home)).active()
    return (active is not None, active.deadline if active is not None else None)
