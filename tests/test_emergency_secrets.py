"""Children of an emergency window get no secrets: nginx (-t, -s reload) runs with a minimal environment.

nginx runs as root or its own user and reads no password, webhook URL or token; the tool's environment
holds them, and a child that inherits it exposes them in /proc/PID/environ.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smc_maint.emergency.settings import NginxSwitch
from smc_maint.emergency.switches import NginxFlagSwitch

SECRET = "pw-" + "hunter2-emergency"


def test_nginx_child_gets_no_secret_from_the_tool_environment(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    dump = tmp_path / "environ"
    fake_nginx = tmp_path / "nginx"
    fake_nginx.write_text(f"#!/bin/sh\nenv >> {dump}\necho \"argv: $*\" >> {dump}\n")
    fake_nginx.chmod(0o755)
    monkeypatch.setenv("PGPASSWORD", SECRET)
    monkeypatch.setenv("SMC_MAINT_ALERT_WEBHOOK", "https://hooks.example/" + SECRET)
    switch = NginxFlagSwitch(NginxSwitch(snippet=tmp_path / "snippet.conf", page=tmp_path / "page.html",
                                         command=[str(fake_nginx)]), ["/health"])
    now = datetime(2026, 11, 3, 14, 0, tzinfo=UTC)
    captured = switch.capture()
    switch.apply(now, now + timedelta(minutes=10))
    switch.restore(captured)
    seen = dump.read_text()
    assert seen.count("argv: -t") == 2 and seen.count("argv: -s reload") == 2  # nginx really ran
    assert SECRET not in seen
    assert "PATH=" in seen
