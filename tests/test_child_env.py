"""Children get a minimal environment: no secret reaches another user's /proc/PID/environ (issue 11, item 5)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from smc_maint.adapters import postgres
from smc_maint.backups.pipeline import pipeline
from smc_maint.config.loader import LoadedConfig
from smc_maint.embedded.postgres import find_binaries, scratch_server

SECRETS = {"SMC_TEST_DB_PASSWORD": "db-pass-7f3a9c", "SLACK_WEBHOOK_URL": "https://hooks.example/T0/B0/sekrit-91",
           "SMC_MAINT_SERVE_TOKEN": "serve-token-5521", "AWS_SECRET_ACCESS_KEY": "aws-secret-0042"}


def _environ(pid: int) -> str:
    return Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")


def test_a_postgresql_server_we_start_sees_no_secret(base_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    with scratch_server(base_dir / "scratch", find_binaries("system"), "scratch-pw") as server:
        pid = int((server.data_dir / "postmaster.pid").read_text().split()[0])
        environ = _environ(pid)
        assert "PATH=" in environ
        for name, value in SECRETS.items():
            assert value not in environ and name not in environ, name
        children = psutil.Process(pid).children()
        assert children, "the postmaster's own children (checkpointer, ...) are checked too"
        for child in children:
            try:
                seen = _environ(child.pid)
            except (ProcessLookupError, FileNotFoundError):  # a short-lived worker that already exited
                continue
            assert all(value not in seen for value in SECRETS.values())


def test_pg_tools_get_the_minimum_and_a_private_passfile(make_config: Callable[..., LoadedConfig],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    cfg = make_config()
    with postgres.libpq_env(cfg.config.database, secret_dir=cfg.secret_dir) as env, \
            pipeline([("env", ["env", "-0"])], env=env) as pipe:
        seen = pipe.stdout.read().decode()
        pipe.check()
        passfile = Path(env["PGPASSFILE"])
        assert passfile.parent == cfg.secret_dir and not str(passfile).startswith("/tmp/smc-maint-pgpass")
        assert oct(cfg.secret_dir.stat().st_mode & 0o777) == "0o700"
        assert oct(passfile.stat().st_mode & 0o777) == "0o600"
    assert "PGPASSFILE=" in seen and "PGHOST=" in seen
    assert os.environ["SMC_MAINT_DATABASE_PASSWORD"] not in seen  # the real one: only in the 0600 file
    for name, value in SECRETS.items():
        assert value not in seen and name not in seen, name
    with pipeline([("env", ["env", "-0"])]) as pipe:  # no env given: still the minimum
        assert all(value not in pipe.stdout.read().decode() for value in SECRETS.values())
    assert not passfile.exists()


def test_a_passfile_left_by_a_killed_run_is_swept(make_config: Callable[..., LoadedConfig]) -> None:
    cfg = make_config()
    script = textwrap.dedent(f"""
        import os, sys, time
        from pathlib import Path
        from smc_maint.adapters import postgres
        from smc_maint.config.loader import load_config
        cfg = load_config(Path({str(cfg.source)!r}))
        with postgres.libpq_env(cfg.config.database, secret_dir=cfg.secret_dir) as env:
            print(env["PGPASSFILE"], flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "SMC_TEST_PW": "x"})
    assert proc.stdout is not None
    left = Path(proc.stdout.readline().strip())
    assert left.is_file()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert left.is_file()  # kill -9: no finally ran
    with postgres.libpq_env(cfg.config.database, secret_dir=cfg.secret_dir):
        assert not left.exists()
