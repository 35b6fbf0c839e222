"""The history read queries reporting relies on, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from smc_maint.history import History

from . import test_history

history = test_history.history  # the same SQLite/PostgreSQL fixture

T0 = datetime(2026, 10, 1, 2, tzinfo=UTC)


def _record(history: History) -> None:
    for day, (status, up) in enumerate([("ok", 1.0), ("critical", 0.0), ("ok", 1.0)]):
        at = T0 + timedelta(days=day)
        run_id = f"q{day}"
        history.begin_run(run_id, "daily", at, ["health"])
        history.add_result(run_id, "health", status, "s", at, 1.0, {}, {"endpoint_up.api_1": up, "db_up": 1.0})
        history.finish_run(run_id, status, at + timedelta(seconds=5), 5.0)
    history.begin_run("dry", "daily", T0 + timedelta(days=5), ["health"], dry_run=True)
    history.add_result("dry", "health", "critical", "dry", T0 + timedelta(days=5), 1.0, {}, {"endpoint_up.api_1": 0.0})
    history.finish_run("dry", "critical", T0 + timedelta(days=5, seconds=5), 5.0)


def test_reporting_queries(history: History) -> None:
    _record(history)
    end = T0 + timedelta(days=10)
    assert [r.status for r in history.results_between(T0, end)] == ["ok", "critical", "ok"]  # dry run excluded
    figs = history.figures_between(T0, end, prefix="endpoint_up.")
    assert list(figs) == ["endpoint_up.api_1"] and [p.value for p in figs["endpoint_up.api_1"]] == [1.0, 0.0, 1.0]
    assert history.figures_between(T0, end, prefix="endpoint_up.apiX") == {}  # "_" is not a wildcard
    assert history.latest_figures()["endpoint_up.api_1"].run_id == "q2"
    assert history.latest_results()["health"].run_id == "q2"
    assert history.latest_results(statuses=["critical"])["health"].run_id == "q1"
    assert sorted(history.result_counts()) == [("health", "critical", 1), ("health", "ok", 2)]
    assert sorted(history.run_counts()) == [("daily", "critical", 1), ("daily", "ok", 2)]
    assert history.latest_runs_by_group()["daily"].id == "q2"
