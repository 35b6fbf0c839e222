"""log-cleanup on real files with real mtimes, symlinks out of the directory and a file held open."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from smc_maint.config.loader import LoadedConfig
from smc_maint.result import Status

from .conftest import need
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
        need(shutil.which("chattr") is not None, "chattr (e2fsprogs)")
        need(subprocess.run(["chattr", "+i", str(path)]).returncode == 0, "chattr +i on the test filesystem")
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


_SCAN_AND_CLEAN = """
import json, sys, time
from pathlib import Path
from smc_maint.adapters import open_files
from smc_maint.procedures import log_cleanup
held = open_files.scan()
out = log_cleanup.apply_rule(log_cleanup.Rule(path=Path(sys.argv[1]), max_age_days=7), held, time.time(), False)
result = log_cleanup.summarize([out], False, held)
print(json.dumps({"status": result.status.value, "summary": result.summary, "kept": out.kept,
                  "unreadable": held.unreadable}))
"""


def test_unknown_holders_keep_other_users_files_with_a_warning() -> None:
    """Not root: other users' processes cannot be inspected, so their old files may still be written to."""
    base = Path(tempfile.mkdtemp(prefix="smc-log-cleanup-"))
    try:
        base.chmod(0o777)  # the unprivileged scanner may unlink anything in here: only the check protects
        foreign = make_file(base / "engine.log.3", 30)
        mine = make_file(base / "mine.log.3", 30)
        prefix: list[str] = []
        if os.geteuid() == 0:
            need(shutil.which("setpriv") is not None, "setpriv (util-linux) to scan as an unprivileged user")
            os.chown(mine, 65534, 65534)  # foreign stays root's: the unprivileged run cannot see root's fds
            prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
        else:
            need(False, "root, to own a file as another user than the unprivileged scanner")
        proc = subprocess.run([*prefix, sys.executable, "-c", _SCAN_AND_CLEAN, str(base)], capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
        assert out["unreadable"] > 0  # root's processes, at least
        assert foreign.exists() and not mine.exists()
        assert out["kept"] == [{"path": str(foreign), "bytes": 1000, "age_days": 30.0, "reason": "holder unknown"}]
        assert out["status"] == "warning" and "could not be inspected" in out["summary"]
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_delete_never_goes_through_a_directory_swapped_for_a_symlink(tmp_path: Path) -> None:
    """Between scan and delete a directory becomes a symlink: the unlink must not follow it."""
    from smc_maint.adapters.open_files import OpenFiles
    from smc_maint.procedures import log_cleanup

    root = tmp_path / "logs"
    victim = make_file(root / "sub" / "app.log.2", 30)
    rule = log_cleanup.Rule(path=root, max_age_days=7)
    out = log_cleanup.RuleOutcome(str(root))
    (candidate,) = log_cleanup.scan_rule(rule, root.resolve(), OpenFiles(), out)
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    os.link(victim, elsewhere / "app.log.2")  # same inode, so an identity check alone would pass
    (root / "sub").rename(root / "moved")
    (root / "sub").symlink_to(elsewhere)
    error = log_cleanup._delete(candidate, root.resolve())
    assert error is not None and "symlink" in error
    assert (elsewhere / "app.log.2").exists()
