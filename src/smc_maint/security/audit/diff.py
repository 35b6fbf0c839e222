"""Month over month: which findings are new, fixed or still open since the last audit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .findings import Finding


@dataclass(frozen=True)
class Previous:
    """What the last audit left in history: when, and fingerprint -> severity of its open findings."""

    at: str
    run_id: str
    fingerprints: Mapping[str, str]


@dataclass(frozen=True)
class Diff:
    previous: Previous | None
    new: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    still_open: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        prev = None if self.previous is None else {"at": self.previous.at, "run_id": self.previous.run_id}
        return {"previous": prev, "new": self.new, "fixed": self.fixed, "still_open": self.still_open}

    def state(self, fingerprint: str) -> str:
        """``new`` or ``unchanged`` (SARIF baselineState words); ``new`` for a first audit too."""
        return "unchanged" if self.previous is not None and fingerprint in self.previous.fingerprints else "new"


def compare(current: Sequence[Finding], previous: Previous | None) -> Diff:
    now = {f.fingerprint for f in current}
    if previous is None:
        return Diff(None, sorted(now))
    before = set(previous.fingerprints)
    return Diff(previous, sorted(now - before), sorted(before - now), sorted(now & before))


def previous_from_details(details: Mapping[str, Any], at: str, run_id: str) -> Previous | None:
    prints = details.get("fingerprints")
    if not isinstance(prints, Mapping):
        return None
    return Previous(at, run_id, {str(k): str(v) for k, v in prints.items()})
