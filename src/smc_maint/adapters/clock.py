"""Time, injectable: procedures and the runner ask a Clock, so tests can pin 'now'."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class FixedClock:
    """A clock that stands still (or moves only when told): for tests of time-based decisions."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        self._mono = 0.0

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        from datetime import timedelta

        self.at += timedelta(seconds=seconds)
        self._mono += seconds


def iso(at: datetime) -> str:
    """Canonical text form for history: UTC, microseconds, sortable as text."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def parse_iso(text: str) -> datetime:
    """An ISO 8601 / RFC 3339 time (``Z`` or offset, optional fraction) as aware UTC.

    A time without offset is taken as UTC (history, Kubernetes and trivy all write UTC), never as
    the machine's local zone. Raises ValueError on garbage.
    """
    parsed = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
