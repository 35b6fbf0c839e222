"""pgbouncer procedure against a real pgbouncer in front of the test PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from smc_maint.adapters import pgbouncer as admin
from smc_maint.config.loader import LoadedConfig
from smc_maint.procedures.pgbouncer import Settings, assess
from smc_maint.result import Status
from smc_maint.runner import run_group

from .pgbouncer_fixture import Bouncer, bouncer  # noqa: F401 - fixture


def _cfg(make_config: Callable[..., LoadedConfig], b: Bouncer, monkeypatch: pytest.MonkeyPatch,
         **extra: Any) -> LoadedConfig:
    monkeypatch.setenv("SMC_MAINT_PGBOUNCER_PASSWORD", b.admin_password)
    return make_config({"procedures": {"pgbouncer": {"host": "127.0.0.1", "port": b.port, "user": b.admin_user,
                                                     **extra}}})


def _client(b: Bouncer, db: str) -> psycopg.Connection[Any]:
    return psycopg.connect(host="127.0.0.1", port=b.port, user="postgres", password=b.db_password, dbname=db,
                           autocommit=True, application_name="trading-engine")


def test_idle_pool_is_ok_and_read_by_column_name(bouncer: Bouncer, trading_db: str,  # noqa: F811
                                                 make_config: Callable[..., LoadedConfig],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    with _client(bouncer, trading_db) as c:
        assert c.execute("SELECT count(*) FROM users").fetchone() == (20,)
        result = run_group(_cfg(make_config, bouncer, monkeypatch), "weekly", only=["pgbouncer"]).procedures[0].result
    assert result.status is Status.OK, result.summary
    pools = {p["pool"]: p for p in result.details["pools"]}
    assert pools[f"{trading_db}/postgres"]["cl_active"] == 1
    assert result.figures["pgbouncer_clients_waiting"] == 0
    assert bouncer.admin_password not in repr(result.details) + result.summary


def test_waiting_clients_warn_and_are_listed(bouncer: Bouncer, trading_db: str,  # noqa: F811
                                             make_config: Callable[..., LoadedConfig],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    holder = _client(bouncer, trading_db)  # session pooling, pool size 1: this client owns the only server
    holder.execute("SELECT 1")
    done = threading.Event()

    def waiter() -> None:
        with _client(bouncer, trading_db) as c:
            c.execute("SELECT 1")
        done.set()

    thread = threading.Thread(target=waiter, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while True:  # wait until pgbouncer itself reports the queued client
        pools = admin.show("127.0.0.1", bouncer.port, bouncer.admin_user, bouncer.admin_password, ["POOLS"])["POOLS"]
        if any(int(p["cl_waiting"]) >= 1 for p in pools):
            break
        assert time.monotonic() < deadline, pools
        time.sleep(0.05)
    cfg = _cfg(make_config, bouncer, monkeypatch, waiting_clients_warning=1, max_wait_critical_seconds=3600)
    result = run_group(cfg, "weekly", only=["pgbouncer"]).procedures[0].result
    holder.close()
    thread.join(15)
    assert done.is_set()
    assert result.status is Status.WARNING
    assert f"pool {trading_db}/postgres: 1 client(s) waiting" in result.summary
    assert [w["application_name"] for w in result.details["waiting_clients"]] == ["trading-engine"]
    assert result.figures["pgbouncer_clients_waiting"] == 1


def test_wrong_admin_password_is_critical_and_redacted(bouncer: Bouncer, trading_db: str,  # noqa: F811
                                                       make_config: Callable[..., LoadedConfig],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _cfg(make_config, bouncer, monkeypatch)
    monkeypatch.setenv("SMC_MAINT_PGBOUNCER_PASSWORD", "wrong-password-123")
    result = run_group(cfg, "weekly", only=["pgbouncer"]).procedures[0].result
    assert result.status is Status.CRITICAL and "unreachable" in result.summary
    assert "wrong-password-123" not in result.summary


def test_not_configured_is_skipped_with_reason(make_config: Callable[..., LoadedConfig]) -> None:
    result = run_group(make_config(), "weekly", only=["pgbouncer"]).procedures[0].result
    assert result.status is Status.SKIPPED and "no pgbouncer configured" in result.summary


def test_old_and_new_column_names_and_max_wait_thresholds() -> None:
    old = {"database": "smc", "user": "app", "cl_active": 3, "cl_waiting": 0, "cl_cancel_req": 0, "sv_active": 3,
           "sv_idle": 0, "sv_used": 0, "maxwait": 12, "maxwait_us": 500000, "pool_mode": "transaction"}
    admin_pool = {"database": "pgbouncer", "user": "pgbouncer", "cl_waiting": 9, "maxwait": 99}
    result = assess([old, admin_pool], [], Settings())
    assert result.status is Status.CRITICAL
    assert result.details["pools"][0]["max_wait_seconds"] == 12.5
    assert len(result.details["pools"]) == 1  # the admin console's pseudo-pool is not judged
