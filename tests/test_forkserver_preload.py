"""What the worker fork server imports before it forks (pure: no server is started here)."""

from __future__ import annotations

from smc_maint import registry
from smc_maint.forkserver import BASE, preload_for


def test_a_group_preloads_its_procedures_the_base_and_the_runners_own_modules() -> None:
    loaded = ["smc_maint", "smc_maint.cli.main", "typer", "smc_maint.runner", "json"]
    preload = preload_for(["health", "backup"], loaded)
    assert preload[:len(BASE)] == BASE
    assert "smc_maint.procedures.health" in preload and "smc_maint.procedures.backup" in preload
    assert "smc_maint.procedures.dr_drill" not in preload, "only the group's procedures"
    # the runner's main script (here the CLI) is re-run in each worker: what it imported comes along
    assert "smc_maint.cli.main" in preload
    assert "typer" not in preload and "json" not in preload, "foreign modules come with ours, never listed"
    assert len(preload) == len(set(preload))


def test_a_long_lived_runner_preloads_every_procedure_and_unknown_ids_are_ignored() -> None:
    preload = preload_for(None, [])
    assert set(registry.PROCEDURES.values()) <= set(preload)
    assert preload_for(["no-such-procedure"], []) == BASE
