"""Emergency windows on Kubernetes: the Service selector swap and the scale-to-0 halt, recorded and
exactly restored — after a normal finish, and after the tool died after each step in turn.

The platform is ``RecordingPlatform`` (tests/recording_platform.py) until issue 12's fake-API-backed
KubernetesPlatform is merged; PostgreSQL (health, the emergency backup) is real.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smc_maint.adapters.clock import FixedClock
from smc_maint.config.loader import LoadedConfig
from smc_maint.emergency import plan
from smc_maint.emergency.journal import ABORTED, FINISHED
from smc_maint.emergency.machine import Machine, journal_for
from smc_maint.emergency.settings import Settings
from smc_maint.history import open_history
from smc_maint.result import Status

from .recording_platform import RecordingPlatform

T0 = datetime(2026, 11, 3, 14, 0, tzinfo=UTC)
API = {"app": "smc-api", "tier": "web"}
PAGE = {"app": "smc-maintenance-page"}


class Crash(BaseException):
    """The tool dying: not an Exception, so nothing in the machine catches or cleans up after it."""


def _settings(**extra: object) -> Settings:
    base: dict[str, object] = {
        "production": False, "backup": False, "verify_procedures": ["backup-verify"],
        "maintenance": {"kind": "kubernetes", "kubernetes": {"service": "smc-api", "maintenance_selector": PAGE}},
        "halt": {"kind": "scale", "scale": {"kind": "Deployment", "name": "engine"}},
    }
    base.update(extra)
    return Settings.model_validate(base)


def _platform() -> RecordingPlatform:
    return RecordingPlatform(scales={"Deployment/engine": 3}, selectors={"smc-api": API})


@pytest.fixture
def cfg(make_config: Callable[..., LoadedConfig]) -> LoadedConfig:
    return make_config({"platform": {"kind": "kubernetes", "namespace": "smc-trading"},
                        "procedures": {"health": {"endpoints": [], "check_schedule": False, "cpu_sample_seconds": 0.1,
                                                  "cpu_percent": {"warning": 101, "critical": 101}}}})


def test_window_swaps_selector_scales_to_zero_and_restores_exactly(cfg: LoadedConfig) -> None:
    p = _platform()
    clock = FixedClock(T0)
    m = Machine(cfg, _settings(backup=True), clock=clock, platform=p)
    out = m.start("db disk full", 600)
    assert out.status is not Status.CRITICAL, out.message
    assert p.selectors["smc-api"] == PAGE and p.scales["Deployment/engine"] == 0
    w = journal_for(cfg).active()
    assert w is not None and w.deadline == T0 + timedelta(seconds=600)
    assert w.started_data(plan.MAINTENANCE_ON) == {"service": "smc-api", "selector": API}
    assert w.started_data(plan.TRADING_HALT) == {"kind": "Deployment", "name": "engine", "replicas": 3}
    assert m.start("again", 600).message.startswith(f"window {w.id} is already active")  # idempotent
    assert len(p.writes()) == 2
    clock.advance(300)
    done = m.finish()
    assert p.selectors["smc-api"] == API and p.scales["Deployment/engine"] == 3
    assert p.writes() == [("set_service_selector", "smc-api", PAGE), ("scale", "Deployment", "engine", 0),
                          ("scale", "Deployment", "engine", 3), ("set_service_selector", "smc-api", API)]
    assert journal_for(cfg).load(w.id).state == FINISHED, done.message
    run = open_history(cfg).run(w.id)
    assert run is not None and run.group == "emergency" and run.duration_seconds == 300
    steps = {r.procedure_id for r in open_history(cfg).results(w.id)}
    assert {f"emergency.{s}" for s in plan.STEPS} <= steps


@pytest.mark.parametrize("step", [*plan.START_STEPS])
def test_abort_after_a_crash_after_each_step_restores_the_start(cfg: LoadedConfig, step: str) -> None:
    p = _platform()

    def die(done: str) -> None:
        if done == step:
            raise Crash(done)

    with pytest.raises(Crash):
        Machine(cfg, _settings(), clock=FixedClock(T0), platform=p, after_step=die).start("crash test", 600)
    later = Machine(cfg, _settings(), clock=FixedClock(T0 + timedelta(minutes=2)), platform=p)
    out = later.abort()
    assert p.selectors["smc-api"] == API and p.scales["Deployment/engine"] == 3, out.message
    w = out.window
    assert w is not None and journal_for(cfg).load(w.id).state == ABORTED
    assert journal_for(cfg).active() is None
    assert later.abort().message == "no active emergency window; nothing to abort"  # repeatable


def test_crash_inside_the_halt_is_restored_from_the_journaled_count(cfg: LoadedConfig) -> None:
    """Killed after the scale call but before `done` was journaled: the count from `started` wins."""
    p = _platform()
    real_scale = p.scale

    def scale_then_die(kind: str, name: str, replicas: int, namespace: str | None = None) -> int:
        real_scale(kind, name, replicas)
        raise Crash("killed mid-step")

    p.scale = scale_then_die  # type: ignore[method-assign]
    with pytest.raises(Crash):
        Machine(cfg, _settings(), clock=FixedClock(T0), platform=p).start("crash test", 600)
    assert p.scales["Deployment/engine"] == 0
    p.scale = real_scale  # type: ignore[method-assign]
    Machine(cfg, _settings(), clock=FixedClock(T0), platform=p).abort()
    assert p.scales["Deployment/engine"] == 3 and p.selectors["smc-api"] == API


def test_finish_after_a_crash_finishes_the_same_window(cfg: LoadedConfig) -> None:
    p = _platform()

    def die(done: str) -> None:
        if done == plan.WORK:
            raise Crash(done)

    with pytest.raises(Crash):
        Machine(cfg, _settings(), clock=FixedClock(T0), platform=p, after_step=die).start("crash", 600)
    first = journal_for(cfg).active()
    out = Machine(cfg, _settings(), clock=FixedClock(T0), platform=p).finish()
    assert out.window is not None and first is not None and out.window.id == first.id
    assert journal_for(cfg).load(first.id).state == FINISHED
    assert p.scales["Deployment/engine"] == 3 and p.selectors["smc-api"] == API


def test_a_failing_halt_rolls_the_maintenance_switch_back(cfg: LoadedConfig) -> None:
    p = _platform()
    p.fail_once.add("scale")
    out = Machine(cfg, _settings(), clock=FixedClock(T0), platform=p).start("halt fails", 600)
    assert out.status is Status.CRITICAL and "restored" in out.message
    assert p.selectors["smc-api"] == API and p.scales["Deployment/engine"] == 3
    assert journal_for(cfg).active() is None


def test_a_restore_that_fails_keeps_the_window_open_and_still_switches_maintenance_off(cfg: LoadedConfig) -> None:
    p = _platform()
    m = Machine(cfg, _settings(), clock=FixedClock(T0), platform=p)
    m.start("x", 600)
    p.fail_once.add("scale")
    out = m.abort()
    assert out.status is Status.CRITICAL and "stays active" in out.message
    assert p.selectors["smc-api"] == API and p.scales["Deployment/engine"] == 0
    assert journal_for(cfg).active() is not None
    assert m.abort().window is not None and p.scales["Deployment/engine"] == 3  # the second abort completes
    assert journal_for(cfg).active() is None


def test_refuses_a_service_that_already_selects_the_maintenance_page(cfg: LoadedConfig) -> None:
    p = RecordingPlatform(scales={"Deployment/engine": 3}, selectors={"smc-api": PAGE})
    out = Machine(cfg, _settings(), clock=FixedClock(T0), platform=p).start("x", 600)
    assert out.status is Status.CRITICAL and "already selects the maintenance pods" in out.message
    assert p.writes() == []


def test_health_alerts_past_the_deadline_and_auto_off_restores(cfg: LoadedConfig) -> None:
    from smc_maint.context import Context
    from smc_maint.emergency.watch import enforce

    p = _platform()
    Machine(cfg, _settings(auto_off_at_deadline=False), clock=FixedClock(T0), platform=p).start("x", 600)
    hist = open_history(cfg)

    def ctx(at: datetime) -> Context:
        return Context(cfg=cfg, history=hist, run_id="health-run", group="daily", clock=FixedClock(at),
                       platform_override=p)

    [(status, text)] = enforce(ctx(T0 + timedelta(minutes=5)), _settings())
    assert status is Status.WARNING and "5 min to its deadline" in text
    [(status, text)] = enforce(ctx(T0 + timedelta(minutes=25)), _settings())
    assert status is Status.CRITICAL and "15 min PAST its deadline" in text
    assert p.scales["Deployment/engine"] == 0  # the window's own setting: alert only
    journal = journal_for(cfg)
    w = journal.active()
    assert w is not None
    w.settings["auto_off_at_deadline"] = True
    journal.save(w)
    found = enforce(ctx(T0 + timedelta(minutes=25)), _settings())
    assert any("has been switched off" in t for _, t in found)
    assert p.scales["Deployment/engine"] == 3 and p.selectors["smc-api"] == API
    assert journal.active() is None


def test_maintenance_metric_follows_the_window(cfg: LoadedConfig) -> None:
    from smc_maint.reporting.metric_facts import gather
    from smc_maint.reporting.metrics import families

    def mode(at: datetime) -> float:
        fams = families(gather(open_history(cfg), at, window_days=30, backup_procedures=("backup",)))
        fam = next(f for f in fams if f.name == "smc_maint_maintenance_mode")
        return float(fam.samples[0].value)

    p = _platform()
    m = Machine(cfg, _settings(), clock=FixedClock(T0), platform=p)
    assert mode(T0) == 0.0
    m.start("x", 600)
    assert mode(T0 + timedelta(minutes=1)) == 1.0
    m.abort()
    assert mode(T0 + timedelta(minutes=2)) == 0.0


def test_monthly_report_lists_the_window_with_its_duration(cfg: LoadedConfig) -> None:
    from smc_maint.reporting.month import Month
    from smc_maint.reporting.service import monthly_report

    p = _platform()
    clock = FixedClock(T0)
    m = Machine(cfg, _settings(), clock=clock, platform=p)
    m.start("x", 600)
    clock.advance(420)
    m.finish()
    rep = monthly_report(cfg, open_history(cfg), Month(2026, 11), T0 + timedelta(days=30))
    [w] = [e for e in rep.emergencies if e.group == "emergency"]
    assert w.duration_seconds == 420


def test_scheduler_pass_alerts_once_at_the_deadline_then_auto_off_restores(
        cfg: LoadedConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    from smc_maint.alerts import Delivery
    from smc_maint.emergency.watch import deadline_pass

    sent: list[str] = []

    class Notes:
        def send(self, channel: str, text: str) -> Delivery:
            sent.append(text)
            return Delivery(channel, True, 1)

    p = _platform()
    Machine(cfg, _settings(), clock=FixedClock(T0), platform=p).start("x", 600)
    hist = open_history(cfg)
    notes = Notes()
    assert deadline_pass(cfg, hist, FixedClock(T0 + timedelta(minutes=9)), notes) is None  # type: ignore[arg-type]
    assert sent == []
    assert "PAST its deadline" in (deadline_pass(cfg, hist, FixedClock(T0 + timedelta(minutes=11)),
                                                 notes) or "")  # type: ignore[arg-type]
    assert deadline_pass(cfg, hist, FixedClock(T0 + timedelta(minutes=12)), notes) is None  # type: ignore[arg-type]
    assert len(sent) == 1 and "PAST its deadline" in sent[0]
    assert p.scales["Deployment/engine"] == 0  # alert only: auto_off_at_deadline is off
    journal = journal_for(cfg)
    w = journal.active()
    assert w is not None
    w.settings["auto_off_at_deadline"] = True
    journal.save(w)
    import smc_maint.emergency.watch as watch

    real = watch.Machine
    monkeypatch.setattr(watch, "Machine", lambda *a, **k: real(*a, **{**k, "platform": p}))
    note = deadline_pass(cfg, hist, FixedClock(T0 + timedelta(minutes=13)), notes)  # type: ignore[arg-type]
    assert note is not None and "aborted" in note
    assert p.scales["Deployment/engine"] == 3 and p.selectors["smc-api"] == API and journal.active() is None


def test_exported_maintenance_metric_reads_the_journal(cfg: LoadedConfig) -> None:
    """The exported gauge follows the journal even where history disagrees (a row left running)."""
    from smc_maint.reporting.publish import registry_from_config

    def mode() -> float | None:
        return registry_from_config(cfg, FixedClock(T0 + timedelta(minutes=1))).get_sample_value(
            "smc_maint_maintenance_mode")

    p = _platform()
    m = Machine(cfg, _settings(), clock=FixedClock(T0), platform=p)
    m.start("x", 600)
    assert mode() == 1.0
    m.abort()
    open_history(cfg).begin_run("stale-emergency-row", "emergency", T0, ["emergency"])  # history says running
    assert mode() == 0.0


def test_configured_work_runs_with_a_deadline_and_the_window_finishes_itself(cfg: LoadedConfig,
                                                                              tmp_path: Path) -> None:
    marker = tmp_path / "work-done"
    p = _platform()
    s = _settings(work={"commands": [["sh", "-c", f'echo "$SMC_MAINT_EMERGENCY_WINDOW" > {marker}']],
                        "timeout_seconds": 30})
    out = Machine(cfg, s, clock=FixedClock(T0), platform=p).start("scripted fix", 600)
    assert out.window is not None and marker.read_text().strip() == out.window.id
    assert journal_for(cfg).load(out.window.id).state == FINISHED, out.message
    assert p.scales["Deployment/engine"] == 3 and p.selectors["smc-api"] == API


def test_work_past_its_deadline_keeps_the_window_open(cfg: LoadedConfig) -> None:
    p = _platform()
    s = _settings(work={"commands": [["sleep", "30"]], "timeout_seconds": 0.5})
    out = Machine(cfg, s, clock=FixedClock(T0), platform=p).start("slow fix", 600)
    assert out.status is Status.CRITICAL and "passed the work deadline" in out.message, out.message
    assert journal_for(cfg).active() is not None and p.scales["Deployment/engine"] == 0  # still halted
    Machine(cfg, s, clock=FixedClock(T0), platform=p).abort()
    assert p.scales["Deployment/engine"] == 3


def test_critical_verification_after_scripted_work_does_not_resume_trading(cfg: LoadedConfig) -> None:
    p = _platform()
    # health is CRITICAL with a database that cannot be reached; the window's own step sees that.
    s = _settings(work={"commands": [["true"]]}, verify_procedures=["health"])
    broken = cfg.config.model_copy(update={"database": cfg.config.database.model_copy(update={"port": 1})})
    import dataclasses

    m = Machine(cfg, s, clock=FixedClock(T0), platform=p)
    m.start("x", 600)  # assess is not blocking: the window opens and the work runs...
    assert journal_for(cfg).active() is None  # ...and with a healthy database it finishes itself
    m2 = Machine(dataclasses.replace(cfg, config=broken), s, clock=FixedClock(T0), platform=p)
    out = m2.start("y", 600)
    assert out.status is Status.CRITICAL and "trading NOT resumed" in out.message, out.message
    assert p.scales["Deployment/engine"] == 0 and journal_for(cfg).active() is not None
