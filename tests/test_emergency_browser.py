"""The demo's API behind a real nginx, in a real browser: the maintenance page during an emergency
window, the API after it; ``demo stop`` stops the app and nginx."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import sync_playwright

from smc_maint import demo
from smc_maint.config.loader import load_config
from smc_maint.embedded import demo_api
from smc_maint.emergency.machine import Machine
from smc_maint.emergency.settings import Settings

from .conftest import need
from .test_web_browser import ARGS, ARTIFACTS, CHROMIUM


def test_maintenance_page_in_chromium_during_the_window_and_the_api_after(
        base_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    need(Path(CHROMIUM).exists(), "chromium (apt)")
    need(demo_api.nginx_binary() is not None, "nginx (apt)")
    for var in ("SLACK_WEBHOOK_URL", "SLACK_SECURITY_WEBHOOK", "SMC_MAINT_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    home = base_dir / f"demo-{uuid.uuid4().hex[:8]}"
    cfg = load_config(demo.prepare(home=home, kind="system"))
    state = json.loads((home / demo_api.STATE).read_text())
    try:
        assert state["nginx"], state.get("note")
        url = f"http://127.0.0.1:{state['front_port']}/api/trades"
        configured = cfg.procedure_settings["emergency"]
        assert isinstance(configured, Settings) and configured.maintenance.kind == "nginx"
        settings = configured.model_copy(update={"verify_procedures": ["backup-verify"]})
        ARTIFACTS.mkdir(exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page()
            before = page.goto(url)
            assert before is not None and before.status == 200 and "trades" in page.content()
            m = Machine(cfg, settings)
            out = m.start("demo: emergency drill", 600)
            assert out.window is not None and out.window.state == "active", out.message
            during = page.goto(url)
            assert during is not None and during.status == 503
            assert 0 < int(during.headers["retry-after"]) <= 600
            assert page.locator("h1").inner_text() == "Maintenance in progress"
            page.screenshot(path=str(ARTIFACTS / "emergency-maintenance-page.png"))
            with httpx.Client(timeout=5) as c:
                assert c.get(url.replace("/api/trades", "/health")).status_code == 200
            done = m.finish()
            assert "finished" in done.message, done.message
            # nginx's reload is graceful: old workers may answer a moment longer (bounded wait, 10 s)
            deadline = time.monotonic() + 10
            after = page.goto(url)
            while (after is None or after.status != 200) and time.monotonic() < deadline:
                time.sleep(0.2)
                after = page.goto(url)
            assert after is not None and after.status == 200
            assert len(json.loads(page.locator("body").inner_text())["trades"]) > 0
            page.screenshot(path=str(ARTIFACTS / "emergency-after.png"))
            browser.close()
    finally:
        demo.stop(home)
    with httpx.Client(timeout=2) as c, pytest.raises(httpx.ConnectError):
        c.get(f"http://127.0.0.1:{state['front_port']}/health")
    with httpx.Client(timeout=2) as c, pytest.raises(httpx.ConnectError):
        c.get(f"http://127.0.0.1:{state['app_port']}/health")
    shutil.rmtree(home, ignore_errors=True)


def test_demo_without_nginx_says_so_and_runs_the_api_without_its_front(
        base_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo_api, "nginx_binary", lambda: None)
    home = base_dir / f"demo-{uuid.uuid4().hex[:8]}"
    try:
        cfg = load_config(demo.prepare(home=home, kind="system"))
        state = json.loads((home / demo_api.STATE).read_text())
        assert state["nginx"] is None and "nginx is not installed" in state["note"]
        assert "nginx is not installed" in (demo_api.describe(home) or "")
        settings = cfg.procedure_settings["emergency"]
        assert isinstance(settings, Settings) and settings.maintenance.kind == "none"
        with httpx.Client(timeout=5) as c:
            assert c.get(f"http://127.0.0.1:{state['app_port']}/api/trades").status_code == 200
    finally:
        demo.stop(home)
        shutil.rmtree(home, ignore_errors=True)
