"""The activity gate as the runner uses it: wait before a gated procedure, then fold the outcome into
its result (details ``gate``, figures, summary) so history, the run output and metrics show it."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..adapters import postgres
from ..config.model import Config
from ..result import Result
from .gate import GateOutcome, database_reader, wait_for_quiet


def gated(config: Config, procedure_id: str, dry_run: bool) -> bool:
    """Only real runs of listed procedures wait, and only with the gate enabled."""
    gate = config.schedule.gate
    return gate.enabled and not dry_run and procedure_id in gate.procedures


def wait_before(config: Config, procedure_id: str, now: Callable[[], datetime],
                sleep: Callable[[float], None] = time.sleep,
                log: Callable[[str], None] = lambda _m: None) -> GateOutcome:
    """Read ``trades`` through the production database seam, each query under the gate's own timeout."""
    gate = config.schedule.gate
    timeout = gate.statement_timeout_seconds
    db = config.database

    def connect() -> Any:
        return postgres.connect(db, connect_timeout=max(1, int(timeout)))

    read = database_reader(connect, gate, config.schedule.zone())
    return wait_for_quiet(procedure_id, gate, read, now, sleep, log)


def with_gate(result: Result, outcome: GateOutcome) -> Result:
    """The procedure's result with the gate's record; the summary says a deferral (or a blind gate)."""
    note = outcome.summary()
    summary = f"{result.summary} ({note})" if note else result.summary
    return dataclasses.replace(result, summary=summary, details={**result.details, "gate": outcome.to_json()},
                               figures={**result.figures, **outcome.figures()})

