"""log-cleanup refuses roots, system directories and paths outside its allowed prefixes (issue 11, item 9)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from smc_maint.config.loader import load_config
from smc_maint.errors import EXIT_CONFIG_ERROR, ConfigError


def _write(tmp_path: Path, settings: dict[str, object]) -> Path:
    path = tmp_path / "smc-maint.yaml"
    path.write_text(yaml.safe_dump({"home": str(tmp_path / "home"), "procedures": {"log-cleanup": settings}},
                                   sort_keys=False))
    return path


@pytest.mark.parametrize("bad", ["/", "/etc", "/usr", "/var", "/home", "/proc", "/etc/nginx", "/var/log/../..",
                                 "/boot/", "logs"])
def test_system_directories_and_relative_paths_are_config_errors(tmp_path: Path, bad: str) -> None:
    path = _write(tmp_path, {"rules": [{"path": "/var/log/app"}, {"path": bad}]})
    with pytest.raises(ConfigError) as err:
        load_config(path, environ={})
    message = str(err.value)
    assert "procedures.log-cleanup.rules.1.path" in message and "refused" in message
    assert f"{path} line 6" in message  # the line of the offending rule (- path: ...)


def test_a_symlink_to_the_root_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "innocent-logs"
    link.symlink_to("/")
    path = _write(tmp_path, {"rules": [{"path": str(link)}]})
    with pytest.raises(ConfigError, match="system directory"):
        load_config(path, environ={})


def test_paths_outside_the_allowed_prefixes_are_refused(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    ok = _write(tmp_path, {"allowed_prefixes": [str(tmp_path)], "rules": [{"path": str(tmp_path / "logs")}]})
    load_config(ok, environ={})
    bad = _write(tmp_path, {"allowed_prefixes": [str(tmp_path / "logs")], "rules": [{"path": "/var/log/app"}]})
    with pytest.raises(ConfigError) as err:
        load_config(bad, environ={})
    assert "rules.0.path: refused: /var/log/app is outside the allowed prefixes" in str(err.value)


def test_the_cli_exits_78_before_scanning_anything(tmp_path: Path) -> None:
    path = _write(tmp_path, {"rules": [{"path": "/"}]})
    proc = subprocess.run([sys.executable, "-m", "smc_maint", "run", "daily", "--only", "log-cleanup", "--dry-run",
                           "--config", str(path)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "SMC_MAINT_CONFIG": "", "COLUMNS": "500"})
    assert proc.returncode == EXIT_CONFIG_ERROR, proc.stdout + proc.stderr
    assert "rules.0.path" in proc.stderr and "/ is a system directory" in proc.stderr
    assert "Traceback" not in proc.stderr
