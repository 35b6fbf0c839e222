"""Run one daily procedure through the real runner (history, per-run log, alerts) for a test."""

from __future__ import annotations

from smc_maint.config.loader import LoadedConfig
from smc_maint.history import open_history
from smc_maint.result import Result
from smc_maint.runner import RunOutcome, run_group


def run_one(cfg: LoadedConfig, procedure_id: str, *, dry_run: bool = False) -> tuple[Result, RunOutcome]:
    outcome = run_group(cfg, "daily", only=[procedure_id], dry_run=dry_run)
    assert [p.procedure_id for p in outcome.procedures] == [procedure_id]
    return outcome.procedures[0].result, outcome


def stored_figure(cfg: LoadedConfig, name: str) -> list[float]:
    return [p.value for p in open_history(cfg).figure_series(name)]
