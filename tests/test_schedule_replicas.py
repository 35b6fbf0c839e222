"""Two schedulers (two processes, two machines' state dirs) against one history store run a slot once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from smc_maint.adapters.clock import parse_iso
from smc_maint.config.loader import LoadedConfig
from smc_maint.history import History, open_postgres, open_sqlite

from .conftest import wait_for


def waiting_on_lock(pg: Any, dbname: str) -> bool:
    with pg.connect() as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
                           (dbname,)).fetchone()
    return bool(row and row[0])


def hourly_config(make_config: Callable[..., LoadedConfig], tmp_path: Path, history: dict[str, Any]
                  ) -> list[Path]:
    """Two config files: separate homes (locks, logs) like two machines, one shared history store."""
    make_config({"history": history, "schedule": {"groups": {
        "daily": {"cron": "0 * * * *", "grace_minutes": 120, "only": ["trading-summary"]},
        "weekly": {"enabled": False}, "monthly": {"enabled": False}, "quarterly": {"enabled": False}}}})
    base = yaml.safe_load((tmp_path / "smc-maint.yaml").read_text())
    paths = []
    for name in ("replica-a", "replica-b"):
        data = {**base, "home": str(tmp_path / name)}
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data))
        paths.append(path)
    return paths


@pytest.fixture(params=["sqlite", "postgresql"])
def history_store(request: pytest.FixtureRequest, tmp_path: Path, pg: Any,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[dict[str, Any], Callable[[], History]]]:
    if request.param == "sqlite":
        path = tmp_path / "shared" / "history.sqlite3"
        yield {"backend": "sqlite", "path": str(path)}, lambda: open_sqlite(path)
        return
    name = "hist_" + uuid.uuid4().hex[:8]
    with pg.connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = f"host=127.0.0.1 port={pg.port} user=postgres password={pg.password} dbname={name}"
    monkeypatch.setenv("SMC_MAINT_HISTORY_DSN", dsn)
    yield {"backend": "postgresql"}, lambda: open_postgres(dsn)
    with pg.connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_two_replicas_run_the_slot_once(make_config: Callable[..., LoadedConfig], tmp_path: Path, pg: Any,
                                        trading_db: str,
                                        history_store: tuple[dict[str, Any], Callable[[], History]]) -> None:
    history_cfg, open_store = history_store
    configs = hourly_config(make_config, tmp_path, history_cfg)
    now = datetime.now(UTC)
    if now.minute == 59 and now.second > 50:  # both replicas must agree on the hour
        time.sleep(12)

    env = dict(os.environ)
    blocker = psycopg.connect(host="127.0.0.1", port=pg.port, user="postgres", password=pg.password,
                              dbname=trading_db)
    blocker.execute("LOCK TABLE trades IN ACCESS EXCLUSIVE MODE")  # the winning run waits here
    procs = [subprocess.Popen([sys.executable, "-m", "smc_maint", "schedule", "run", "daily", "--trigger",
                               "kubernetes", "--json", "--config", str(c)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for c in configs]
    try:
        # One replica claims the slot and blocks inside the run; the other finds the slot taken.
        wait_for(lambda: any(p.poll() is not None for p in procs), "one replica to finish")
        loser = next(p for p in procs if p.poll() is not None)
        winner = next(p for p in procs if p is not loser)
        out, errtext = loser.communicate(timeout=30)
        assert loser.returncode == 0, errtext
        taken = json.loads(out)["slots"]
        # Either it raced for the slot and lost, or it already saw the slot recorded: nothing ran.
        assert [s["state"] for s in taken] in (["taken"], [])
        assert winner.poll() is None
        wait_for(lambda: waiting_on_lock(pg, trading_db), "the winning run to wait on the table lock")
        # The losing replica must not have closed the live run of the other as "interrupted".
        assert [r.status for r in open_store().runs(group="daily", limit=50)] == ["running"]
    finally:
        blocker.rollback()
        blocker.close()
    out, errtext = winner.communicate(timeout=120)
    assert winner.returncode == 0, errtext
    ran = json.loads(out)["slots"]
    assert [(s["state"], s["trigger"], s["run"]["status"]) for s in ran] == [("ran", "kubernetes", "ok")]
    slot = ran[0]["slot"]
    assert all(s["slot"] == slot for s in taken)

    runs = open_store().runs(group="daily", limit=50)
    assert [(r.slot and parse_iso(r.slot).isoformat(), r.status) for r in runs] == [(slot, "ok")]
    # A later replica start (a restarted pod, a retried Job) runs nothing for the same hour.
    again = subprocess.run([sys.executable, "-m", "smc_maint", "schedule", "run", "daily", "--json", "--config",
                            str(configs[1])], capture_output=True, text=True, env=env, timeout=120)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["slots"] == []
    assert len(open_store().runs(group="daily", limit=50)) == 1
