"""The generated systemd service keeps the state directory (backups, history, logs) private."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from smc_maint.scheduling.config import ScheduleConfig
from smc_maint.scheduling.systemd import units

from .conftest import need


def _service(tmp_path: Path) -> str:
    sched = ScheduleConfig()
    text = units("daily", sched.groups["daily"], sched, executable="/bin/true", config=None, user="root")
    return text["smc-maint-daily.service"]


def _settings(service: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in service.splitlines() if "=" in line and not line.startswith("#"))
    return {key: value for key, value in pairs}


def test_state_directory_and_new_files_are_private(tmp_path: Path) -> None:
    settings = _settings(_service(tmp_path))
    assert settings["StateDirectory"] == "smc-maint"
    assert settings["StateDirectoryMode"] == "0700"  # systemd's default 0755 lets every user read backups
    assert settings["UMask"] == "0077"


def test_service_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    need(shutil.which("systemd-analyze") is not None, "systemd-analyze")
    unit = tmp_path / "smc-maint-daily.service"
    unit.write_text(_service(tmp_path))
    check = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)], capture_output=True, text=True)
    assert "Unknown key" not in check.stderr, check.stderr
