"""Configuration: errors name the key path and line; env overrides; secrets never in the YAML."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from smc_maint.config.loader import load_config
from smc_maint.errors import EXIT_CONFIG_ERROR, ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "smc-maint.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("database:\n  host: db\n  prot: 5433\n", ["line 3", "database.prot", "unknown key"]),
        ("alerts:\n  attempts: 3\ndatabase:\n  port: not-a-port\n", ["line 4", "database.port"]),
        ("database:\n  host: db\n   port: [1\n", ["malformed YAML", "line 3"]),
        ("procedures:\n  trading-sumary: {}\n", ["procedures.trading-sumary", "line 2", "unknown procedure"]),
        ("procedures:\n  trading-summary:\n    days: 0\n", ["procedures.trading-summary.days", "line 3"]),
        ("- just\n- a list\n", ["top level must be a mapping"]),
    ],
    ids=["unknown-key", "bad-value", "malformed-yaml", "unknown-procedure", "procedure-setting", "not-a-mapping"],
)
def test_config_errors_name_key_path_and_line(tmp_path: Path, text: str, expected: list[str]) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(write(tmp_path, text), environ={})
    for fragment in expected:
        assert fragment in str(exc.value)


def test_environment_overrides_file_and_is_named_in_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "database:\n  host: from-file\n")
    cfg = load_config(path, environ={"SMC_MAINT_DATABASE__HOST": "from-env",
                                     "SMC_MAINT_PROCEDURES__TRADING_SUMMARY__DAYS": "14"})
    assert cfg.config.database.host == "from-env"
    assert cfg.settings_for("trading-summary").days == 14  # type: ignore[attr-defined]
    with pytest.raises(ConfigError) as exc:
        load_config(path, environ={"SMC_MAINT_DATABASE__PORT": "abc"})
    assert "SMC_MAINT_DATABASE__PORT" in str(exc.value)


def test_password_comes_from_env_or_file_never_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "database:\n  password: hunter2\n")
    with pytest.raises(ConfigError):
        load_config(path, environ={})
    secret = tmp_path / "pw"
    secret.write_text("s3cret-from-file\n")
    cfg = load_config(write(tmp_path, f"database:\n  password_file: {secret}\n"), environ={})
    assert cfg.config.database.password() == "s3cret-from-file"


def test_lookup_order_prefers_env_var_then_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = tmp_path / "a.yaml"
    a.write_text("database:\n  host: a\n")
    (tmp_path / "smc-maint.yaml").write_text("database:\n  host: cwd\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SMC_MAINT_CONFIG", raising=False)
    assert load_config().config.database.host == "cwd"
    monkeypatch.setenv("SMC_MAINT_CONFIG", str(a))
    assert load_config().config.database.host == "a"


def test_cli_config_check_exit_code_and_no_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, "runner:\n  timeout_secs: 5\n")
    proc = subprocess.run([sys.executable, "-m", "smc_maint", "config", "check", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == EXIT_CONFIG_ERROR
    assert "runner.timeout_secs" in proc.stderr and "line 2" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_config_init_writes_a_valid_commented_default(tmp_path: Path) -> None:
    target = tmp_path / "new.yaml"
    proc = subprocess.run([sys.executable, "-m", "smc_maint", "config", "init", str(target)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "#" in target.read_text()
    load_config(target, environ={})
