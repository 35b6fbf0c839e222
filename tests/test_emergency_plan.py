"""Pure decisions of the emergency window: durations, Retry-After, what a restore must undo, the
deadline watch, the nginx snippet; and the HTTP halt against a real HTTP server (secrets from env)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smc_maint.emergency import plan
from smc_maint.emergency.halts import HaltError, HttpCalls
from smc_maint.emergency.journal import DONE, FAILED, STARTED, Entry, Journal, Window
from smc_maint.emergency.settings import HttpHalt, Settings
from smc_maint.emergency.watch import assess_window
from smc_maint.result import Status

from .conftest import Receiver

T0 = datetime(2026, 11, 3, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("10m", 600), ("10", 600), ("1.5h", 5400)])
def test_parse_duration(text: str, seconds: float) -> None:
    assert plan.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "ten minutes", "-5m", "0m", "5d"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        plan.parse_duration(text)


def test_retry_after_is_whole_seconds_rounded_up_and_never_zero() -> None:
    assert plan.retry_after_seconds(T0, T0 + timedelta(seconds=600)) == 600
    assert plan.retry_after_seconds(T0, T0 + timedelta(seconds=599.2)) == 600
    assert plan.retry_after_seconds(T0, T0 - timedelta(seconds=30)) == 1


def _window(*entries: tuple[str, str]) -> Window:
    w = Window("w1", "r", T0, T0 + timedelta(minutes=10))
    w.entries = [Entry(step, phase, T0.isoformat(), {"old": 1} if phase == STARTED else {}) for step, phase in entries]
    return w


def test_to_restore_follows_the_journal() -> None:
    assert plan.to_restore(_window((plan.ASSESS, STARTED), (plan.ASSESS, DONE))) == []
    started_only = _window((plan.MAINTENANCE_ON, STARTED))  # died mid-step: its old state is journaled
    assert plan.to_restore(started_only) == [plan.MAINTENANCE_OFF]
    both = _window((plan.MAINTENANCE_ON, STARTED), (plan.MAINTENANCE_ON, DONE), (plan.TRADING_HALT, STARTED),
                   (plan.TRADING_HALT, FAILED))
    assert plan.to_restore(both) == [plan.TRADING_RESUME, plan.MAINTENANCE_OFF]
    resumed = _window((plan.TRADING_HALT, STARTED), (plan.TRADING_RESUME, STARTED), (plan.TRADING_RESUME, DONE))
    assert plan.to_restore(resumed) == []


def test_deadline_watch() -> None:
    w = _window((plan.MAINTENANCE_ON, STARTED), (plan.MAINTENANCE_ON, DONE))
    assert assess_window(None, T0) is None
    status, text = assess_window(w, T0 + timedelta(minutes=4)) or (None, "")
    assert status is Status.WARNING and "maintenance mode ON" in text and "6 min to its deadline" in text
    status, text = assess_window(w, T0 + timedelta(minutes=40)) or (None, "")
    assert status is Status.CRITICAL and "30 min PAST its deadline" in text


def test_durations_from_the_journal() -> None:
    w = Window("w1", "r", T0, T0 + timedelta(minutes=10))
    w.entries = [Entry(plan.MAINTENANCE_ON, STARTED, (T0 + timedelta(seconds=10)).isoformat()),
                 Entry(plan.TRADING_HALT, STARTED, (T0 + timedelta(seconds=20)).isoformat()),
                 Entry(plan.TRADING_RESUME, DONE, (T0 + timedelta(seconds=320)).isoformat()),
                 Entry(plan.MAINTENANCE_OFF, DONE, (T0 + timedelta(seconds=330)).isoformat())]
    assert plan.durations(w, T0 + timedelta(seconds=340)) == {
        "window_seconds": 340, "maintenance_seconds": 320, "halt_seconds": 300}


def test_nginx_snippet_keeps_open_paths_and_sets_retry_after() -> None:
    text = plan.nginx_snippet(["/health", "/ready/"], Path("/srv/page/m.html"), 600)
    assert 'if ($uri ~ "^(/health|/ready|/smc\\-maintenance\\.html)(/.*)?$")' in text
    assert "add_header Retry-After 600 always;" in text and "return 503;" in text
    assert "root /srv/page;" in text


def test_settings_reject_unsafe_open_paths() -> None:
    with pytest.raises(ValueError, match="open_paths"):
        Settings.model_validate({"maintenance": {"open_paths": ['/x"; return 200; #']}})
    with pytest.raises(ValueError, match=r"needs maintenance\.nginx"):
        Settings.model_validate({"maintenance": {"kind": "nginx"}})


def test_journal_is_owner_only_and_round_trips(tmp_path: Path) -> None:
    j = Journal(tmp_path / "emergency")
    w = _window((plan.ASSESS, STARTED))
    j.save(w)
    assert (j.dir.stat().st_mode & 0o777) == 0o700
    assert j.load("w1").to_json() == w.to_json() and j.active() is not None
    (j.dir / "broken.json").write_text("{")
    assert [x.id for x in j.windows()] == ["w1"]
    assert len(j.unreadable()) == 1 and "broken.json" in j.unreadable()[0], "skipped, never hidden"


def test_http_halt_posts_with_the_token_and_never_journals_secrets(webhook: Receiver,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALT_URL", webhook.url + "/halt")
    monkeypatch.setenv("RESUME_URL", webhook.url + "/resume")
    monkeypatch.setenv("HALT_TOKEN", "tok-" + "s3cr3t")
    halt = HttpCalls(HttpHalt(halt_url_env="HALT_URL", resume_url_env="RESUME_URL", token_env="HALT_TOKEN",
                              timeout_seconds=5))
    captured = halt.capture()
    done = halt.apply()
    back = halt.restore(captured)
    assert [r["path"].rsplit("/", 1)[-1] for r in webhook.requests] == ["halt", "resume"]
    assert webhook.requests[0]["headers"]["Authorization"] == "Bearer tok-s3cr3t"
    blob = json.dumps([captured, done, back])
    assert "s3cr3t" not in blob and "127.0.0.1" not in blob


def test_http_halt_gives_up_at_its_deadline(webhook: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    webhook.status = 503
    monkeypatch.setenv("HALT_URL", webhook.url)
    halt = HttpCalls(HttpHalt(halt_url_env="HALT_URL", timeout_seconds=1.5))
    with pytest.raises(HaltError, match="HTTP 503") as exc:
        halt.apply()
    assert webhook.url not in str(exc.value)
    monkeypatch.delenv("HALT_URL")
    with pytest.raises(HaltError, match="export HALT_URL"):
        halt.apply()


@pytest.mark.parametrize("text", ["[]", '{"id": "x", "reason": "r", "started_at": 5, "deadline": 5}',
                                  '{"id": "x", "reason": "r", "started_at": "2026-11-03T15:00:00", '
                                  '"deadline": "2026-11-03T16:00:00"}',
                                  '{"id": "x", "reason": "r", "started_at": "2026-11-03T15:00:00+00:00", '
                                  '"deadline": "2026-11-03T16:00:00+00:00", "entries": [5]}'])
def test_journal_of_the_wrong_shape_is_skipped_not_a_traceback(tmp_path: Path, text: str) -> None:
    """A hand-edited or foreign window file (wrong types, a naive time) must not break `emergency status`."""
    j = Journal(tmp_path / "emergency")
    j.save(_window((plan.ASSESS, STARTED)))
    (j.dir / "other.json").write_text(text)
    assert [x.id for x in j.windows()] == ["w1"]
    assert j.active() is not None
    assert [u.split(":")[0] for u in j.unreadable()] == [str(j.dir / "other.json")]
