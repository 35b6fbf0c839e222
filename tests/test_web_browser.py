"""The dashboard in a real browser (headless Chromium via Playwright) over the demo environment."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright  # a test dependency: missing is an error, not a skip

from smc_maint import demo
from smc_maint.config.loader import LoadedConfig, load_config
from smc_maint.runner import RunOutcome, run_group
from smc_maint.web.app import DashboardApp
from smc_maint.web.server import start_in_thread

from .conftest import need

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture
def demo_env(base_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LoadedConfig, list[RunOutcome]]]:
    for var in ("SLACK_WEBHOOK_URL", "SLACK_SECURITY_WEBHOOK", "SMC_MAINT_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SMC_MAINT_SERVE_TOKEN", "browser-test-token-" + uuid.uuid4().hex)
    home = base_dir / f"demo-{uuid.uuid4().hex[:8]}"
    cfg = load_config(demo.prepare(home=home, kind="system"))
    try:
        runs = [run_group(cfg, "daily", trigger="demo"), run_group(cfg, "monthly", trigger="demo")]
        yield cfg, runs
    finally:
        demo.stop(home)
        shutil.rmtree(home, ignore_errors=True)


def test_dashboard_in_chromium(demo_env: tuple[LoadedConfig, list[RunOutcome]]) -> None:
    need(Path(CHROMIUM).exists(), "chromium (apt)")
    cfg, runs = demo_env
    server, url = start_in_thread(DashboardApp(cfg))
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url + "/")
            assert page.title() == "smc-maint dashboard"
            runs_table = page.locator("#runs")
            for outcome in runs:
                assert runs_table.get_by_text(outcome.run_id).is_visible()
            assert page.locator("#procedures tr[data-procedure='maintenance-report']").is_visible()
            assert page.locator("svg.status-grid").count() == 1

            # an unauthenticated trigger is refused, and nothing is started
            page.locator("#trigger button[type=submit]").click()
            result = page.locator("#trigger-result")
            result.filter(has_text="refused").wait_for()
            assert "refused (401)" in result.inner_text()

            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

            # a run's log opens
            daily = runs[0]
            page.get_by_role("link", name=daily.run_id).first.click()
            page.wait_for_url(f"**/runs/{daily.run_id}")
            log = page.locator("#log-text")
            assert not log.is_visible()
            page.get_by_text("Show the run log").click()
            assert log.is_visible()
            assert f"run {daily.run_id}: group daily started" in log.inner_text()
            page.screenshot(path=str(ARTIFACTS / "dashboard-run.png"), full_page=True)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000
