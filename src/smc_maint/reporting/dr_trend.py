"""RTO and RPO of every recorded DR drill, oldest first, each with its change against the drill before:
the trend a quarterly drill only shows across quarters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..history.store import History

DRILL = "dr-drill"


@dataclass(frozen=True)
class Drill:
    run_id: str
    at: str
    status: str
    rto_seconds: float | None
    rpo_seconds: float | None
    rto_change_percent: float | None  # against the previous drill
    rpo_change_percent: float | None


def _change(value: float | None, before: float | None) -> float | None:
    if value is None or before is None or before == 0:
        return None
    return round((value - before) / before * 100, 1)


def drills(history: History, until: datetime, limit: int = 12) -> list[Drill]:
    """The last ``limit`` drills started before ``until``."""
    results = [r for r in history.procedure_results(DRILL, limit=limit * 4) if r.started_at < until][:limit]
    figs = {name: {p.run_id: p.value for p in history.figure_series(name, procedure_id=DRILL)}
            for name in ("rto_seconds", "rpo_seconds")}
    out: list[Drill] = []
    prev_rto: float | None = None
    prev_rpo: float | None = None
    for r in reversed(results):
        rto, rpo = figs["rto_seconds"].get(r.run_id), figs["rpo_seconds"].get(r.run_id)
        out.append(Drill(r.run_id, r.started_at.strftime("%Y-%m-%d %H:%M"), r.status, rto, rpo,
                         _change(rto, prev_rto), _change(rpo, prev_rpo)))
        prev_rto, prev_rpo = (rto, rpo) if rto is not None else (prev_rto, prev_rpo)
    return out


def chart_series(found: list[Drill]) -> dict[str, list[tuple[str, float]]]:
    """RTO and RPO per drill for a line chart (ISO-ish time, seconds)."""
    return {"RTO": [(d.at.replace(" ", "T") + ":00Z", d.rto_seconds) for d in found if d.rto_seconds is not None],
            "RPO": [(d.at.replace(" ", "T") + ":00Z", d.rpo_seconds) for d in found if d.rpo_seconds is not None]}
