"""The outcome of one procedure: status, one-line summary, structured details, figures."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """Nagios-style status; ``skipped`` means the procedure had nothing to check."""

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    UNKNOWN = "unknown"
    SKIPPED = "skipped"

    @property
    def exit_code(self) -> int:
        return _EXIT[self]

    @property
    def rank(self) -> int:
        """Order used to find the worst status: critical beats unknown beats warning."""
        return _RANK[self]


_EXIT = {Status.OK: 0, Status.SKIPPED: 0, Status.WARNING: 1, Status.CRITICAL: 2, Status.UNKNOWN: 3}
_RANK = {Status.SKIPPED: 0, Status.OK: 1, Status.WARNING: 2, Status.UNKNOWN: 3, Status.CRITICAL: 4}


def worst(statuses: Iterable[Status]) -> Status:
    """The worst of ``statuses``; an empty run is ``unknown`` (nothing proved it fine)."""
    items = list(statuses)
    if not items:
        return Status.UNKNOWN
    return max(items, key=lambda s: s.rank)


@dataclass(frozen=True)
class Result:
    """What a procedure returns. ``alert_channel`` routes alerts (``default`` or ``security``)."""

    status: Status
    summary: str
    details: Mapping[str, Any] = field(default_factory=dict)
    figures: Mapping[str, float] = field(default_factory=dict)
    artifacts: tuple[str, ...] = ()
    alert_channel: str = "default"
    force_alert: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "summary": self.summary,
            "details": dict(self.details),
            "figures": dict(self.figures),
            "artifacts": list(self.artifacts),
        }
