"""metrics-snapshot against the real PostgreSQL: figures match the database, and an outage is not ok."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from smc_maint.config.loader import LoadedConfig
from smc_maint.embedded.postgres import free_port
from smc_maint.result import Status

from .conftest import PgServer
from .procedure_run import run_one, stored_figure


def test_figures_match_the_database(make_config: Callable[..., LoadedConfig], pg: PgServer, trading_db: str,
                                    tmp_path: Path) -> None:
    cfg = make_config({"procedures": {"metrics-snapshot": {"disk_paths": [str(tmp_path)], "top_tables": 3}}})
    result, _ = run_one(cfg, "metrics-snapshot")
    assert result.status is Status.OK, result.summary
    with pg.connect(trading_db) as conn:
        trades = conn.execute("SELECT count(*) FROM trades").fetchone()[0]
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        biggest = conn.execute("SELECT pg_total_relation_size('public.trades')").fetchone()[0]
    f = result.figures
    assert f["trades_rows"] == trades > 0
    assert abs(f["db_size_bytes"] - size) / size < 0.05
    assert f["db_connections"] >= 1
    table_figures = [k for k in f if k.startswith("table_bytes.")]
    assert len(table_figures) == 3
    assert f["table_bytes.trades"] == biggest
    assert 0 < f["disk_used_bytes"] <= f["disk_total_bytes"]
    assert 0 <= f["cpu_percent"] <= 100 and 0 < f["memory_percent"] <= 100
    assert "load1" in f
    assert stored_figure(cfg, "trades_rows") == [float(trades)]
    assert result.details["database"]["largest_tables"][0]["table"] == "trades"


def test_unreachable_database_still_records_host_figures(make_config: Callable[..., LoadedConfig]) -> None:
    cfg = make_config({"database": {"port": free_port(), "connect_timeout_seconds": 2}})
    result, _ = run_one(cfg, "metrics-snapshot")
    assert result.status is Status.CRITICAL
    assert "database unreachable" in result.summary
    assert "db_size_bytes" not in result.figures
    assert stored_figure(cfg, "cpu_percent") and stored_figure(cfg, "disk_percent")
    assert stored_figure(cfg, "db_size_bytes") == []


def test_missing_disk_path_and_trades_table_warn(make_config: Callable[..., LoadedConfig], tmp_path: Path) -> None:
    cfg = make_config({"procedures": {"metrics-snapshot": {
        "disk_paths": [str(tmp_path / "gone")], "trades_table": "no_such_table"}}})
    result, _ = run_one(cfg, "metrics-snapshot")
    assert result.status is Status.WARNING
    assert "gone" in result.summary and "no_such_table" in result.summary
    assert "trades_rows" not in result.figures
