"""``smc-maint dr-drill`` on the command line: the plan, the refusal of an unconfirmed outage, recover."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from .backup_support import backup_config

__all__ = ["backup_config"]  # a fixture

from smc_maint.backups.create import create_backup
from smc_maint.config.loader import LoadedConfig
from smc_maint.stores.factory import open_store

ROOT = Path(__file__).resolve().parent.parent


def cli(cfg: LoadedConfig, *args: str) -> subprocess.CompletedProcess[str]:
    assert cfg.source is not None
    return subprocess.run([sys.executable, "-m", "smc_maint", *args, "-c", str(cfg.source)], capture_output=True,
                          text=True, cwd=ROOT, env=os.environ.copy(), timeout=300, stdin=subprocess.DEVNULL)


def test_dry_run_prints_the_plan(backup_config: Callable[..., LoadedConfig]) -> None:
    cfg = backup_config({"procedures": {"dr-drill": {"production_workloads": [{"name": "api-gateway"}]}}})
    manifest = create_backup(cfg, open_store(cfg))
    result = cli(cfg, "dr-drill", "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    proc = json.loads(result.stdout)["procedures"][0]
    assert proc["id"] == "dr-drill" and proc["details"]["plan"]["backup"] == manifest.backup_id
    assert proc["details"]["plan"]["production_touched"][0].startswith("one row in smc_maint.recovery_markers")


def test_unconfirmed_outage_is_refused_without_a_terminal(backup_config: Callable[..., LoadedConfig]) -> None:
    cfg = backup_config({"procedures": {"dr-drill": {"production_workloads": [{"name": "api-gateway"}]}}})
    create_backup(cfg, open_store(cfg))
    result = cli(cfg, "dr-drill", "--simulate-outage", "--json")
    assert result.returncode == 2, result.stderr
    proc = json.loads(result.stdout)["procedures"][0]
    assert proc["status"] == "critical"
    assert "refused" in proc["summary"] and "--yes-namespace smc-trading" in proc["summary"]


def test_recover_with_nothing_left_says_so(backup_config: Callable[..., LoadedConfig]) -> None:
    cfg = backup_config()
    result = cli(cfg, "dr-drill", "recover")
    assert result.returncode == 0, result.stderr
    assert "nothing to recover" in result.stdout
