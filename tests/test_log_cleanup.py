"""log-cleanup on real files with real mtimes, symlinks out of the directory and a file held open."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from smc_maint.config.loader import LoadedConfig
from smc_maint.result import Status

from .procedure_run import run_one, stored_figure

DAY = 86400


def make_file(path: Path, age_days: float, size: int = 1000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    stamp = time.time() - age_days * DAY
    os.utime(path, (stamp, stamp))
    return path


def _cfg(make_config: Callable[..., LoadedConfig], *rules: dict[str, Any]) -> LoadedConfig:
    return make_config({"procedures": {"log-cleanup": {"rules": list(rules)}}})


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    make_file(root / "engine" / "engine.log", 0.1)            # live, recent
    make_file(root / "engine" / "engine.log.1", 3)            # rotated, recent
    make_file(root / "engine" / "engine.log.2.gz", 9, 2000)   # rotated, old
    make_file(root / "engine" / "engine.log.3", 30, 3000)     # rotated, old
    make_file(root / "engine" / "orders-2026-10-01.log", 40, 500)  # dated, old
    make_file(root / "api" / "error.log", 12)                 # live log of a quiet process
    make_file(root / "api" / "state.db", 90)                  # matches no pattern
    return root


def test_deletes_old_rotated_keeps_live_recent_and_unmatched(
        make_config: Callable[..., LoadedConfig], logs: Path) -> None:
    cfg = _cfg(make_config, {"path": str(logs), "max_age_days": 7})
    result, _ = run_one(cfg, "log-cleanup")
    assert result.status is Status.OK
    remaining = sorted(str(p.relative_to(logs)) for p in logs.rglob("*") if p.is_file())
    assert remaining == ["api/error.log", "api/state.db", "engine/engine.log", "engine/engine.log.1"]
    assert result.figures["files_removed"] == 3
    assert result.figures["bytes_removed"] == 2000 + 3000 + 500
    kept = {Path(k["path"]).name: k["reason"] for k in result.details["rules"][0]["kept"]}
    assert kept == {"error.log": "live log (no rotation suffix; keep_live is on)"}
    assert stored_figure(cfg, "bytes_removed") == [5500.0]


def test_keep_live_false_deletes_old_live_log(make_config: Callable[..., LoadedConfig], logs: Path) -> None:
    result, _ = run_one(_cfg(make_config, {"path": str(logs / "api"), "max_age_days": 7, "keep_live": False}),
                        "log-cleanup")
    assert not (logs / "api" / "error.log").exists()
    assert (logs / "api" / "state.db").exists()
    assert result.figures["files_removed"] == 1


def test_dry_run_lists_and_deletes_nothing(make_config: Callable[..., LoadedConfig], logs: Path) -> None:
    before = sorted(p for p in logs.rglob("*") if p.is_file())
    result, _ = run_one(_cfg(make_config, {"path": str(logs), "max_age_days": 7}), "log-cleanup", dry_run=True)
    assert sorted(p for p in logs.rglob("*") if p.is_file()) == before
    planned = sorted(Path(e["path"]).name for e in result.details["rules"][0]["would_remove"])
    assert planned == ["engine.log.2.gz", "engine.log.3", "orders-2026-10-01.log"]
    assert result.figures["files_to_remove"] == 3
    assert "would remove 3 files" in result.summary


def test_never_follows_symlinks_out_of_the_directory(make_config: Callable[..., LoadedConfig],
                                                     tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    precious = make_file(outside / "ledger.log.1", 60)
    precious_dir_file = make_file(outside / "archive" / "old.log.5.gz", 60)
    root = tmp_path / "logs"
    root.mkdir()
    (root / "ledger.log.1").symlink_to(precious)               # file link pointing out
    (root / "archive").symlink_to(outside / "archive")         # directory link pointing out
    link = root / "ledger.log.1"
    os.utime(link, (time.time() - 60 * DAY,) * 2, follow_symlinks=False)
    result, _ = run_one(_cfg(make_config, {"path": str(root), "max_age_days": 7}), "log-cleanup")
    assert precious.exists() and precious_dir_file.exists()
    assert link.is_symlink()
    assert result.figures["files_removed"] == 0
    kept = {Path(k["path"]).name: k["reason"] for k in result.details["rules"][0]["kept"]}
    assert kept["ledger.log.1"].startswith("symlink")


def test_file_held_open_by_a_process_is_kept(make_config: Callable[..., LoadedConfig], tmp_path: Path) -> None:
    root = tmp_path / "logs"
    held = make_file(root / "worker.log.1", 20)
    free = make_file(root / "worker.log.2", 20)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; f = open(sys.argv[1], 'a'); print('ready', flush=True); "
         "time.sleep(120)", str(held)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        os.utime(held, (time.time() - 20 * DAY,) * 2)
        result, _ = run_one(_cfg(make_config, {"path": str(root), "max_age_days": 7}), "log-cleanup")
    finally:
        holder.kill()
        holder.wait()
    assert held.exists()
    assert not free.exists()
    kept = {Path(k["path"]).name: k["reason"] for k in result.details["rules"][0]["kept"]}
    assert kept == {"worker.log.1": f"open by process {holder.pid}"}


@pytest.fixture
def undeletable(tmp_path: Path) -> Iterator[Path]:
    """An old rotated log that cannot be deleted: immutable for root, read-only directory otherwise."""
    root = tmp_path / "logs"
    path = make_file(root / "locked.log.4", 30)
    if os.geteuid() == 0:
        if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)]).returncode != 0:
            pytest.skip("chattr +i not supported here")
        yield path
        subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        root.chmod(0o555)
        yield path
        root.chmod(0o755)


def test_permission_error_is_a_detail_not_a_crash(make_config: Callable[..., LoadedConfig],
                                                   undeletable: Path) -> None:
    other = make_file(undeletable.parent / "sub" / "other.log.2", 30)
    result, _ = run_one(_cfg(make_config, {"path": str(undeletable.parent), "max_age_days": 7}), "log-cleanup")
    assert result.status is Status.WARNING
    assert undeletable.exists()
    errors = result.details["rules"][0]["errors"]
    assert errors[0]["path"] == str(undeletable)
    assert "not permitted" in errors[0]["reason"].lower() or "denied" in errors[0]["reason"].lower()
    assert not other.exists()  # one failure does not stop the rest


def test_missing_directory_and_no_rules(make_config: Callable[..., LoadedConfig], tmp_path: Path) -> None:
    result, _ = run_one(_cfg(make_config, {"path": str(tmp_path / "nope")}), "log-cleanup")
    assert result.status is Status.WARNING
    assert "not a directory" in result.summary
    result, _ = run_one(make_config(), "log-cleanup")
    assert result.status is Status.SKIPPED


def test_demo_log_layout_cleanup(make_config: Callable[..., LoadedConfig], tmp_path: Path) -> None:
    from smc_maint.embedded import demo_files
    from smc_maint.procedures import log_cleanup

    demo_files.lay_out_logs(tmp_path / "logs-app")
    cfg = make_config({"procedures": {"log-cleanup": log_cleanup.demo_settings(tmp_path)}})
    result, _ = run_one(cfg, "log-cleanup")
    assert result.status is Status.OK
    app = tmp_path / "logs-app"
    assert (app / "api-gateway" / "error.log").exists()           # the quiet live log survives
    assert not (app / "trading-engine" / "engine.log.3.gz").exists()
    assert not (app / "trading-engine" / "orders-2026-10-01.log").exists()
    assert (app / "trading-engine" / "engine.log.1").exists()
    assert result.figures["files_removed"] == 6
