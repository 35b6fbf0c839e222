"""Config values that would silently do the wrong thing are config errors (issue 11, item 10)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import yaml

from smc_maint.config.loader import load_config
from smc_maint.embedded.postgres import free_port
from smc_maint.errors import EXIT_CONFIG_ERROR, ConfigError


@pytest.mark.parametrize(("timeouts", "expected"), [
    ({"backup": -5}, "runner.timeouts: Value error, backup: the timeout must be more than 0 seconds, not -5"),
    ({"health": 0}, "the timeout must be more than 0 seconds, not 0"),
    ({"bakup": 60}, "'bakup' is not a procedure"),
])
def test_runner_timeouts_are_checked(tmp_path: Path, timeouts: dict[str, float], expected: str) -> None:
    path = tmp_path / "smc-maint.yaml"
    path.write_text(yaml.safe_dump({"home": str(tmp_path), "runner": {"timeouts": timeouts}}))
    with pytest.raises(ConfigError) as err:
        load_config(path, environ={})
    assert expected in str(err.value)
    assert f"{path} line 3" in str(err.value)
    proc = subprocess.run([sys.executable, "-m", "smc_maint", "config", "check", "--config", str(path)],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "SMC_MAINT_CONFIG": ""})
    assert proc.returncode == EXIT_CONFIG_ERROR, proc.stderr
    assert "runner.timeouts" in proc.stderr and "Traceback" not in proc.stderr


def test_demo_honours_embedded_port(base_dir: Path) -> None:
    home = base_dir / "demo-port"
    port = free_port()
    env = {**os.environ, "SMC_MAINT_HOME": str(home), "SMC_MAINT_CONFIG": "",
           "SMC_MAINT_EMBEDDED__PORT": str(port)}
    try:
        proc = subprocess.run([sys.executable, "-m", "smc_maint", "demo", "env"], capture_output=True, text=True,
                              env=env, timeout=600, cwd=base_dir)
        assert proc.returncode == 0, proc.stderr
        config_file = Path(proc.stdout.strip().split("=", 1)[1].strip("'"))
        written = yaml.safe_load(config_file.read_text())
        assert written["database"]["port"] == port and written["embedded"]["port"] == port
        password = Path(written["database"]["password_file"]).read_text().strip()
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", password=password,
                             dbname="smc_trading", connect_timeout=10) as conn:
            assert conn.execute("SELECT count(*) > 0 FROM trades").fetchone() == (True,)
    finally:
        subprocess.run([sys.executable, "-m", "smc_maint", "demo", "stop"], capture_output=True, env=env,
                       timeout=120, cwd=base_dir)
