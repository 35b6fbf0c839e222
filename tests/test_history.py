"""The history store on SQLite (default) and on PostgreSQL (fleet): same behaviour on both."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smc_maint.history import History, SlotTaken, open_postgres, open_sqlite

from .conftest import PgServer


@pytest.fixture(params=["sqlite", "postgresql"])
def history(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[History]:
    if request.param == "sqlite":
        yield open_sqlite(tmp_path / "h.sqlite3")
        return
    pg: PgServer = request.getfixturevalue("pg")
    name = "hist_" + uuid.uuid4().hex[:8]
    with pg.connect() as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield open_postgres(f"host=127.0.0.1 port={pg.port} user=postgres password={pg.password} dbname={name}")
    with pg.connect() as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)


def test_run_lifecycle_results_and_figures(history: History) -> None:
    history.begin_run("r1", "daily", T0, ["health", "trading-summary"], pid=1, host="h")
    history.add_result("r1", "health", "ok", "fine", T0, 0.5, {"latency": 0.01}, {"db_latency_seconds": 0.01})
    history.add_result("r1", "trading-summary", "warning", "no trades", T0 + timedelta(seconds=1), 0.2, {}, {})
    history.finish_run("r1", "warning", T0 + timedelta(seconds=2), 2.0)
    run = history.run("r1")
    assert run is not None and run.status == "warning" and run.duration_seconds == 2.0
    assert [r.procedure_id for r in history.results("r1")] == ["health", "trading-summary"]
    assert history.results("r1")[0].details == {"latency": 0.01}
    (point,) = history.figure_series("db_latency_seconds")
    assert point.value == 0.01 and point.at == T0


def test_a_slot_runs_at_most_once(history: History) -> None:
    slot = T0.replace(hour=2)
    history.begin_run("a", "daily", T0, [], slot=slot, trigger="scheduled")
    with pytest.raises(SlotTaken):
        history.begin_run("b", "daily", T0, [], slot=slot, trigger="scheduled")
    history.begin_run("c", "weekly", T0, [], slot=slot, trigger="scheduled")  # other group, same slot: fine
    history.begin_run("d", "daily", T0, [])  # manual runs have no slot and never collide
    history.begin_run("e", "daily", T0, [])


def test_interrupted_runs_are_closed(history: History) -> None:
    history.begin_run("old", "daily", T0, ["health"])
    assert history.mark_interrupted("daily", T0 + timedelta(hours=1)) == ["old"]
    run = history.run("old")
    assert run is not None and run.status == "interrupted" and run.note


def test_secrets_in_summaries_are_redacted(history: History) -> None:
    history.begin_run("r", "daily", T0, [])
    history.add_result("r", "health", "critical", "postgresql://app:hunter22@db/x failed", T0, 1, {
        "url": "postgresql://app:hunter22@db/x"}, {})
    (row,) = history.results("r")
    assert "hunter22" not in row.summary and "hunter22" not in str(row.details)


def test_embedded_server_starts_in_a_deep_directory(base_dir: Path) -> None:
    """A data directory too deep for a Unix socket path (107 bytes) still starts: TCP only."""
    from smc_maint.embedded.postgres import EmbeddedPostgres, find_binaries, free_port

    deep = base_dir / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    for p in (deep.parent, deep):
        p.chmod(0o755)
    server = EmbeddedPostgres(deep / "data", free_port(), find_binaries("auto"))
    try:
        server.init("deep-password")
        server.start()
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=server.port, user="postgres", password="deep-password",
                             dbname="postgres") as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        server.destroy()


def test_runs_opening_a_fresh_sqlite_history_at_once_all_get_it(tmp_path: Path) -> None:
    """Two web-triggered runs open a history file nobody made yet: SQLite's switch to WAL answered
    "database is locked" at once (no busy wait) and one run died before it started (seen in CI)."""
    import threading

    failures: list[str] = []

    def open_it(path: Path, start: threading.Barrier) -> None:
        try:
            start.wait()
            open_sqlite(path).runs(limit=1)
        except Exception as exc:  # the test collects what any opener hit
            failures.append(f"{type(exc).__name__}: {exc}")

    for attempt in range(60):
        path = tmp_path / f"h{attempt}" / "history.sqlite3"
        start = threading.Barrier(3)
        threads = [threading.Thread(target=open_it, args=(path, start)) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert failures == []
