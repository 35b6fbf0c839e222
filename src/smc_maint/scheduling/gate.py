"""The activity gate: a heavy procedure waits while the platform trades unusually hard.

``judge`` is the pure decision over one reading; ``wait_for_quiet`` re-reads until the gate opens
or the maximum deferral is reached, then the work runs anyway and says so. A gate never turns
into a skipped run, and a gate that cannot read ``trades`` opens (the work matters more) with
the reason. The outcome is recorded with the procedure's result (details ``gate``, figures
``gate_deferred_seconds`` and ``gate_deferrals``), so history, the run output and metrics show it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .activity import hour_of_week, occurrences
from .config import GateConfig


@dataclass(frozen=True)
class Reading:
    """Trades in the last ``window_minutes``, and the usual count for such a window at this hour."""

    at: datetime
    recent: int
    window_minutes: float
    usual: float | None  # mean trades per such window at this hour of the week; None without a baseline


@dataclass(frozen=True)
class Verdict:
    open: bool
    reason: str


def judge(reading: Reading, gate: GateConfig) -> Verdict:
    """Open unless the activity now is over the absolute limit or the configured multiple of usual."""
    rate = reading.recent / reading.window_minutes
    if reading.recent < gate.min_trades:
        return Verdict(True, f"{reading.recent} trades in {reading.window_minutes:g} min: quiet enough")
    if gate.max_trades_per_minute is not None and rate > gate.max_trades_per_minute:
        return Verdict(False, f"{rate:.1f} trades/min over the limit of {gate.max_trades_per_minute:g}/min")
    if gate.max_multiple_of_usual is not None and reading.usual is not None and reading.usual > 0:
        multiple = reading.recent / reading.usual
        if multiple > gate.max_multiple_of_usual:
            return Verdict(False, f"{reading.recent} trades in {reading.window_minutes:g} min, {multiple:.1f}x the "
                           f"usual {reading.usual:.0f} for this hour of the week (limit {gate.max_multiple_of_usual:g}x)")
    usual = f" (usual {reading.usual:.0f})" if reading.usual is not None else ""
    return Verdict(True, f"{reading.recent} trades in {reading.window_minutes:g} min{usual}: within limits")


def usual_for(at: datetime, hour_counts: list[float], baseline_start: datetime, tz: ZoneInfo,
              window_minutes: float) -> float | None:
    """The usual number of trades in a ``window_minutes`` window at ``at``'s hour of the week, from
    per-hour-of-week totals since ``baseline_start``; None when that hour never occurred."""
    seen = occurrences(baseline_start, at, tz)[hour_of_week(at, tz)]
    if not seen:
        return None
    return hour_counts[hour_of_week(at, tz)] / seen * window_minutes / 60


@dataclass
class GateOutcome:
    procedure_id: str
    deferred_seconds: float = 0.0
    checks: int = 0
    forced: bool = False  # ran at the maximum deferral, still busy
    error: str | None = None  # trades could not be read: the gate opened
    reasons: list[str] = field(default_factory=list)

    @property
    def deferred(self) -> bool:
        return self.deferred_seconds > 0

    def summary(self) -> str:
        if self.error:
            return f"activity gate open: trades could not be read ({self.error})"
        if self.forced:
            return (f"deferred {self.deferred_seconds / 60:.0f} min for trading activity, then ran anyway at the "
                    f"maximum deferral ({self.reasons[-1] if self.reasons else 'still busy'})")
        if self.deferred and self.reasons:
            return f"deferred {self.deferred_seconds / 60:.0f} min for trading activity ({self.reasons[0]})"
        return ""

    def to_json(self) -> dict[str, Any]:
        return {"deferred_seconds": round(self.deferred_seconds, 1), "checks": self.checks, "forced": self.forced,
                "error": self.error, "reasons": self.reasons[-5:]}

    def figures(self) -> dict[str, float]:
        return {"gate_deferred_seconds": self.deferred_seconds, "gate_deferrals": 1.0 if self.deferred else 0.0}


def wait_for_quiet(procedure_id: str, gate: GateConfig, read: Callable[[datetime], Reading],
                   now: Callable[[], datetime], sleep: Callable[[float], None],
                   log: Callable[[str], None] = lambda _m: None) -> GateOutcome:
    """Defer until ``judge`` opens or ``gate.max_deferral_minutes`` pass. ``read`` raising any
    exception opens the gate with the reason (the work runs)."""
    outcome = GateOutcome(procedure_id)
    started = now()
    limit = timedelta(minutes=gate.max_deferral_minutes)
    while True:
        outcome.checks += 1
        try:
            verdict = judge(read(now()), gate)
        except Exception as exc:  # a gate must never stop the work it guards
            outcome.error = f"{type(exc).__name__}: {exc}"[:300]
            break
        waited = now() - started
        if verdict.open:
            # only time spent waiting on a closed gate is a deferral (not the reading itself)
            outcome.deferred_seconds = waited.total_seconds() if outcome.reasons else 0.0
            break
        outcome.deferred_seconds = waited.total_seconds()
        outcome.reasons.append(verdict.reason)
        if waited >= limit:
            outcome.forced = True
            break
        pause = min(gate.recheck_seconds, (limit - waited).total_seconds())
        log(f"{procedure_id}: deferred: {verdict.reason}; next look in {pause:.0f} s")
        sleep(max(pause, 0.0))
    return outcome


def database_reader(connect: Callable[[], Any], gate: GateConfig, tz: ZoneInfo) -> Callable[[datetime], Reading]:
    """Readings from ``trades`` through ``connect`` (the database seam), each under the gate's own
    statement timeout; the baseline per hour of the week is read once and reused."""
    from .activity import hourly, read_recent

    cache: dict[str, Any] = {}
    timeout_ms = int(gate.statement_timeout_seconds * 1000)

    def read(at: datetime) -> Reading:
        with connect() as conn:
            conn.execute(f"SET statement_timeout = {timeout_ms}")
            if "counts" not in cache:
                start = at - timedelta(days=gate.baseline_days)
                counts = [0.0] * 168
                for bucket, count, _ in hourly(conn, start, at, tz):
                    counts[hour_of_week(bucket, tz)] += count
                cache.update(counts=counts, start=start)
            recent = read_recent(conn, at, gate.window_minutes)
        return Reading(at, recent, gate.window_minutes,
                       usual_for(at, cache["counts"], cache["start"], tz, gate.window_minutes))

    return read
