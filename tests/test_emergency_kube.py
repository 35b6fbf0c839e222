"""Emergency windows on Kubernetes: the Service selector swap and the scale-to-0 halt, observed in
the fake API server's stored objects and exactly restored — after a normal finish, and after the tool
died after each step in turn.

The platform is the real ``KubernetesPlatform`` against tests/fake_kube_api.py (the smc-trading
cluster of tests/kube_cluster.py plus a maintenance-page Deployment), under the RBAC that
``smc-maint k8s manifests --on-demand emergency`` grants; PostgreSQL (health, the emergency backup) is real.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from smc_maint.adapters.clock import FixedClock
from smc_maint.adapters.platform.kubernetes import KubernetesPlatform
from smc_maint.config.loader import LoadedConfig, load_config
from smc_maint.emergency import plan
from smc_maint.emergency.journal import ABORTED, FINISHED
from smc_maint.emergency.machine import Machine, journal_for
from smc_maint.emergency.settings import Settings
from smc_maint.history import open_history
from smc_maint.k8s import manifests
from smc_maint.result import Status

from .kube_cluster import NS, Cluster, add_maintenance_page

T0 = datetime(2026, 11, 3, 14, 0, tzinfo=UTC)
SERVICE, ENGINE = "api-gateway", "trading-engine"
API = {"app.kubernetes.io/name": SERVICE, "app.kubernetes.io/part-of": "smc-trading"}
PAGE = {"app.kubernetes.io/name": "maintenance-page", "app.kubernetes.io/part-of": "smc-trading"}
REPLICAS = 2


class Crash(BaseException):
    """The tool dying: not an Exception, so nothing in the machine catches or cleans up after it."""


def _settings(**extra: object) -> Settings:
    base: dict[str, object] = {
        "production": False, "backup": False, "verify_procedures": ["backup-verify"],
        "maintenance": {"kind": "kubernetes", "kubernetes": {"service": SERVICE, "maintenance_selector": PAGE}},
        "halt": {"kind": "scale", "scale": {"kind": "Deployment", "name": ENGINE}},
    }
    base.update(extra)
    return Settings.model_validate(base)


def granted_rules(*, on_demand: tuple[str, ...] = ("emergency",), groups: tuple[str, ...] = ("daily",)
                  ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The Role and ClusterRole rules of `k8s manifests --on-demand emergency` (with the daily group,
    whose health and backup-verify the window runs)."""
    sched = load_config(None)
    objects = manifests.build(sched.config.schedule, manifests.Options(
        store_kind="s3", groups=list(groups), on_demand=list(on_demand)))
    return ([r for o in objects if o["kind"] == "Role" for r in o["rules"]],
            [r for o in objects if o["kind"] == "ClusterRole" for r in o["rules"]])


class Kube:
    """The fake cluster's stored objects as the test reads them, and the platform the machine uses."""

    def __init__(self, cluster: Cluster, platform: KubernetesPlatform) -> None:
        self.api = cluster.api
        self.p = platform

    @property
    def selector(self) -> dict[str, str]:
        svc = self.api.get("Service", SERVICE, NS)
        assert svc is not None
        return dict(svc["spec"]["selector"])

    @property
    def replicas(self) -> int:
        dep = self.api.get("Deployment", ENGINE, NS)
        assert dep is not None
        return int(dep["spec"]["replicas"])

    def versions(self) -> tuple[str, str]:
        svc, dep = self.api.get("Service", SERVICE, NS), self.api.get("Deployment", ENGINE, NS)
        assert svc is not None and dep is not None
        return svc["metadata"]["resourceVersion"], dep["metadata"]["resourceVersion"]

    def revoke(self, resource: str, verb: str) -> list[dict[str, Any]]:
        """Take one verb on one resource away (a 403 from then on); returns the rules to give back."""
        before = list(self.api.rbac or [])
        self.api.rbac = [{**r, "verbs": [v for v in r["verbs"] if not (resource in r["resources"] and v == verb)]}
                         for r in before]
        return before


@pytest.fixture
def cfg(make_config: Callable[..., LoadedConfig], fake_cluster: Cluster, tmp_path: Path) -> LoadedConfig:
    return make_config({"platform": {"kind": "kubernetes", "namespace": NS,
                                     "kubeconfig": str(fake_cluster.kubeconfig(tmp_path / "kubeconfig"))},
                        "procedures": {"health": {"endpoints": [], "check_schedule": False, "cpu_sample_seconds": 0.1,
                                                  "cpu_percent": {"warning": 101, "critical": 101}}}})


@pytest.fixture
def kube(fake_cluster: Cluster, cfg: LoadedConfig) -> Iterator[Kube]:
    assert add_maintenance_page(fake_cluster.api) == PAGE
    fake_cluster.api.rbac, fake_cluster.api.cluster_rbac = granted_rules()
    p = KubernetesPlatform(cfg.config.platform)
    try:
        yield Kube(fake_cluster, p)
    finally:
        p.close()


def test_window_swaps_selector_scales_to_zero_and_restores_exactly(cfg: LoadedConfig, kube: Kube) -> None:
    p = kube.p
    clock = FixedClock(T0)
    m = Machine(cfg, _settings(backup=True), clock=clock, platform=p)
    out = m.start("db disk full", 600)
    assert out.status is not Status.CRITICAL, out.message
    assert kube.selector == PAGE and kube.replicas == 0
    w = journal_for(cfg).active()
    assert w is not None and w.deadline == T0 + timedelta(seconds=600)
    assert w.started_data(plan.MAINTENANCE_ON) == {"service": SERVICE, "selector": API}
    assert w.started_data(plan.TRADING_HALT) == {"kind": "Deployment", "name": ENGINE, "replicas": REPLICAS}
    during = kube.versions()
    assert m.start("again", 600).message.startswith(f"window {w.id} is already active")  # idempotent
    assert kube.versions() == during  # nothing written again
    clock.advance(300)
    done = m.finish()
    assert kube.selector == API and kube.replicas == REPLICAS
    assert journal_for(cfg).load(w.id).state == FINISHED, done.message
    run = open_history(cfg).run(w.id)
    assert run is not None and run.group == "emergency" and run.duration_seconds == 300
    steps = {r.procedure_id for r in open_history(cfg).results(w.id)}
    assert {f"emergency.{s}" for s in plan.STEPS} <= steps


@pytest.mark.parametrize("step", [*plan.START_STEPS])
def test_abort_after_a_crash_after_each_step_restores_the_start(cfg: LoadedConfig, kube: Kube, step: str) -> None:
    p = kube.p

    def die(done: str) -> None:
        if done == step:
            raise Crash(done)

    with pytest.raises(Crash):
        Machine(cfg, _settings(), clock=FixedClock(T0), platform=p, after_step=die).start("crash test", 600)
    later = Machine(cfg, _settings(), clock=FixedClock(T0 + timedelta(minutes=2)), platform=p)
    out = later.abort()
    assert kube.selector == API and kube.replicas == REPLICAS, out.message
    w = out.window
    assert w is not None and journal_for(cfg).load(w.id).state == ABORTED
    assert journal_for(cfg).active() is None
    assert later.abort().message == "no active emergency window; nothing to abort"  # repeatable


def test_crash_inside_the_halt_is_restored_from_the_journaled_count(cfg: LoadedConfig, kube: Kube) -> None:
    """Killed after the scale call but before `done` was journaled: the count from `started` wins."""
    p = kube.p
    real_scale = p.scale

    def scale_then_die(kind: str, name: str, replicas: int, namespace: str | None = None) -> int:
        real_scale(kind, name, replicas)
        raise Crash("killed mid-step")

    p.scale = scale_then_die  # type: ignore[method-assign]
    with pytest.raises(Crash):
        Machine(cfg, _settings(), clock=FixedClock(T0), platform=p).start("crash test", 600)
    assert kube.replicas == 0
    p.scale = real_scale  # type: ignore[method-assign]
    Machine(cfg, _settings(), clock=FixedClock(T0), platform=p).abort()
    assert kube.replicas == REPLICAS and kube.selector == API


def test_finish_after_a_crash_finishes_the_same_window(cfg: LoadedConfig, kube: Kube) -> None:
    p = kube.p

    def die(done: str) -> None:
        if done == plan.WORK:
            raise Crash(done)

    with pytest.raises(Crash):
        Machine(cfg, _settings(), clock=FixedClock(T0), platform=p, after_step=die).start("crash", 600)
    first = journal_for(cfg).active()
    out = Machine(cfg, _settings(), clock=FixedClock(T0), platform=p).finish()
    assert out.window is not None and first is not None and out.window.id == first.id
    assert journal_for(cfg).load(first.id).state == FINISHED
    assert kube.replicas == REPLICAS and kube.selector == API


def test_a_failing_halt_rolls_the_maintenance_switch_back(cfg: LoadedConfig, kube: Kube) -> None:
    p = kube.p
    rules = kube.revoke("deployments/scale", "patch")  # a 403 from the API server, every time
    out = Machine(cfg, _settings(), clock=FixedClock(T0), platform=p).start("halt fails", 600)
    # the resume hits the same 403: maintenance is switched off, the window stays open to finish later
    assert out.status is Status.CRITICAL and "stays active" in out.message, out.message
    assert "forbidden" in out.message
    assert kube.selector == API and kube.replicas == REPLICAS
    kube.api.rbac = rules
    assert Machine(cfg, _settings(), clock=FixedClock(T0), platform=p).abort().window is not None
    assert journal_for(cfg).active() is None and kube.replicas == REPLICAS


def test_a_restore_that_fails_keeps_the_window_open_and_still_switches_maintenance_off(cfg: LoadedConfig, kube: Kube) -> None:
    p = kube.p
    m = Machine(cfg, _settings(), clock=FixedClock(T0), platform=p)
    m.start("x", 600)
    rules = kube.revoke("deployments/scale", "patch")
    out = m.abort()
    assert out.status is Status.CRITICAL and "stays active" in out.message
    assert kube.selector == API and kube.replicas == 0
    assert journal_for(cfg).active() is not None
    kube.api.rbac = rules  # the permission is given back
    assert m.abort().window is not None and kube.replicas == REPLICAS  # the second abort completes
    assert journal_for(cfg).active() is None


def test_refuses_a_service_that_already_selects_the_maintenance_page(cfg: LoadedConfig, kube: Kube) -> None:
    kube.p.set_service_selector(SERVICE, PAGE)
    before = kube.versions()
    out = Machine(cfg, _settings(), clock=FixedClock(T0), platform=kube.p).start("x", 600)
    assert out.status is Status.CRITICAL and "already selects the maintenance pods" in out.message
    assert kube.versions() == before and kube.replicas == REPLICAS  # nothing written


def test_emergency_needs_exactly_what_on_demand_emergency_grants(cfg: LoadedConfig, kube: Kube) -> None:
    """Under the generated RBAC nothing is denied, and every permission emergency's platform calls
    declare is used by a window; without --on-demand emergency the window is refused before any change."""
    from smc_maint.adapters.platform import permissions

    daily_role, daily_cluster = granted_rules(on_demand=())
    full_role, full_cluster = granted_rules()
    extra = {(g, r, v) for rule in full_role + full_cluster for g in rule["apiGroups"] for r in rule["resources"]
             for v in rule["verbs"]} - {(g, r, v) for rule in daily_role + daily_cluster
                                        for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    declared = {(p.api_group, p.resource, p.verb) for p in permissions.for_procedures(["emergency"])}
    assert extra and extra <= declared  # what --on-demand emergency adds is emergency's own calls
    kube.api.used.clear()
    m = Machine(cfg, _settings(), clock=FixedClock(T0), platform=kube.p)
    assert m.start("x", 600).status is not Status.CRITICAL
    assert m.abort().window is not None
    assert kube.api.denied == []
    # every permission the option adds was used (a StatefulSet halt would use the statefulsets/scale ones)
    assert {t for t in extra if not t[1].startswith("statefulsets/")} <= kube.api.used
    kube.api.rbac, kube.api.cluster_rbac = daily_role, daily_cluster  # deployed without --on-demand
    out = Machine(cfg, _settings(), clock=FixedClock(T0), platform=kube.p).start("y", 600)
    assert out.status is Status.CRITICAL and kube.api.denied, out.message
    assert kube.selector == API and kube.replicas == REPLICAS and journal_for(cfg).active() is None


def test_health_alerts_past_the_deadline_and_auto_off_restores(cfg: LoadedConfig, kube: Kube) -> None:
    from smc_maint.context import Context
    from smc_maint.emergency.watch import enforce

    p = kube.p
    Machine(cfg, _settings(auto_off_at_deadline=False), clock=FixedClock(T0), platform=p).start("x", 600)
    hist = open_history(cfg)

    def ctx(at: datetime) -> Context:
        return Context(cfg=cfg, history=hist, run_id="health-run", group="daily", clock=FixedClock(at),
                       platform_override=p)

    [(status, text)] = enforce(ctx(T0 + timedelta(minutes=5)), _settings())
    assert status is Status.WARNING and "5 min to its deadline" in text
    [(status, text)] = enforce(ctx(T0 + timedelta(minutes=25)), _settings())
    assert status is Status.CRITICAL and "15 min PAST its deadline" in text
    assert kube.replicas == 0  # the window's own setting: alert only
    journal = journal_for(cfg)
    w = journal.active()
    assert w is not None
    w.settings["auto_off_at_deadline"] = True
    journal.save(w)
    found = enforce(ctx(T0 + timedelta(minutes=25)), _settings())
    assert any("has been switched off" in t for _, t in found)
    assert kube.replicas == REPLICAS and kube.selector == API
    assert journal.active() is None


def test_maintenance_metric_follows_the_window(cfg: LoadedConfig, kube: Kube) -> None:
    from smc_maint.reporting.metric_facts import gather
    from smc_maint.reporting.metrics import families

    def mode(at: datetime) -> float:
        fams = families(gather(open_history(cfg), at, window_days=30, backup_procedures=("backup",)))
        fam = next(f for f in fams if f.name == "smc_maint_maintenance_mode")
        return float(fam.samples[0].value)

    p = kube.p
    m = Machine(cfg, _settings(), clock=FixedClock(T0), platform=p)
    assert mode(T0) == 0.0
    m.start("x", 600)
    assert mode(T0 + timedelta(minutes=1)) == 1.0
    m.abort()
    assert mode(T0 + timedelta(minutes=2)) == 0.0


def test_monthly_report_lists_the_window_with_its_duration(cfg: LoadedConfig, kube: Kube) -> None:
    from smc_maint.reporting.month import Month
    from smc_maint.reporting.service import monthly_report

    p = kube.p
    clock = FixedClock(T0)
    m = Machine(cfg, _settings(), clock=clock, platform=p)
    m.start("x", 600)
    clock.advance(420)
    m.finish()
    rep = monthly_report(cfg, open_history(cfg), Month(2026, 11), T0 + timedelta(days=30))
    [w] = [e for e in rep.emergencies if e.group == "emergency"]
    assert w.duration_seconds == 420


def test_scheduler_pass_alerts_once_at_the_deadline_then_auto_off_restores(
        cfg: LoadedConfig, kube: Kube, monkeypatch: pytest.MonkeyPatch) -> None:
    from smc_maint.alerts import Delivery
    from smc_maint.emergency.watch import deadline_pass

    sent: list[str] = []

    class Notes:
        def send(self, channel: str, text: str) -> Delivery:
            sent.append(text)
            return Delivery(channel, True, 1)

    p = kube.p
    Machine(cfg, _settings(), clock=FixedClock(T0), platform=p).start("x", 600)
    hist = open_history(cfg)
    notes = Notes()
    assert deadline_pass(cfg, hist, FixedClock(T0 + timedelta(minutes=9)), notes) is None  # type: ignore[arg-type]
    assert sent == []
    assert "PAST its deadline" in (deadline_pass(cfg, hist, FixedClock(T0 + timedelta(minutes=11)),
                                                 notes) or "")  # type: ignore[arg-type]
    assert deadline_pass(cfg, hist, FixedClock(T0 + timedelta(minutes=12)), notes) is None  # type: ignore[arg-type]
    assert len(sent) == 1 and "PAST its deadline" in sent[0]
    assert kube.replicas == 0  # alert only: auto_off_at_deadline is off
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
    assert kube.replicas == REPLICAS and kube.selector == API and journal.active() is None


def test_exported_maintenance_metric_reads_the_journal(cfg: LoadedConfig, kube: Kube) -> None:
    """The exported gauge follows the journal even where history disagrees (a row left running)."""
    from smc_maint.reporting.publish import registry_from_config

    def mode() -> float | None:
        return registry_from_config(cfg, FixedClock(T0 + timedelta(minutes=1))).get_sample_value(
            "smc_maint_maintenance_mode")

    p = kube.p
    m = Machine(cfg, _settings(), clock=FixedClock(T0), platform=p)
    m.start("x", 600)
    assert mode() == 1.0
    m.abort()
    open_history(cfg).begin_run("stale-emergency-row", "emergency", T0, ["emergency"])  # history says running
    assert mode() == 0.0


def test_configured_work_runs_with_a_deadline_and_the_window_finishes_itself(cfg: LoadedConfig, kube: Kube,
                                                                              tmp_path: Path) -> None:
    marker = tmp_path / "work-done"
    p = kube.p
    s = _settings(work={"commands": [["sh", "-c", f'echo "$SMC_MAINT_EMERGENCY_WINDOW" > {marker}']],
                        "timeout_seconds": 30})
    out = Machine(cfg, s, clock=FixedClock(T0), platform=p).start("scripted fix", 600)
    assert out.window is not None and marker.read_text().strip() == out.window.id
    assert journal_for(cfg).load(out.window.id).state == FINISHED, out.message
    assert kube.replicas == REPLICAS and kube.selector == API


def test_work_past_its_deadline_keeps_the_window_open(cfg: LoadedConfig, kube: Kube) -> None:
    p = kube.p
    s = _settings(work={"commands": [["sleep", "30"]], "timeout_seconds": 0.5})
    out = Machine(cfg, s, clock=FixedClock(T0), platform=p).start("slow fix", 600)
    assert out.status is Status.CRITICAL and "passed the work deadline" in out.message, out.message
    assert journal_for(cfg).active() is not None and kube.replicas == 0  # still halted
    Machine(cfg, s, clock=FixedClock(T0), platform=p).abort()
    assert kube.replicas == REPLICAS


def test_critical_verification_after_scripted_work_does_not_resume_trading(cfg: LoadedConfig, kube: Kube) -> None:
    p = kube.p
    # health is CRITICAL with a database that cannot be reached; the window's own step sees that.
    s = _settings(work={"commands": [["true"]]}, verify_procedures=["health"])
    broken = cfg.config.model_copy(update={"database": cfg.config.database.model_copy(update={"port": 1})})
    import dataclasses

    ee = kube.api.get("Deployment", "execution-engine", NS)
    assert ee is not None
    kube.api.put({**ee, "metadata": {**ee["metadata"], "annotations": {}}})  # the crash loop fixed: health OK
    for key in [k for k in kube.api.store if k[1] == "pods" and k[3].startswith("execution-engine-")]:
        del kube.api.store[key]
    kube.api.put(kube.api.get("Deployment", "execution-engine", NS) or {})  # the controller makes healthy pods
    m = Machine(cfg, s, clock=FixedClock(T0), platform=p)
    m.start("x", 600)  # assess is not blocking: the window opens and the work runs...
    assert journal_for(cfg).active() is None  # ...and with a healthy database it finishes itself
    m2 = Machine(dataclasses.replace(cfg, config=broken), s, clock=FixedClock(T0), platform=p)
    out = m2.start("y", 600)
    assert out.status is Status.CRITICAL and "trading NOT resumed" in out.message, out.message
    assert kube.replicas == 0 and journal_for(cfg).active() is not None


def test_an_unreadable_journal_blocks_a_new_window_and_health_says_so(cfg: LoadedConfig, kube: Kube) -> None:
    """A journal cut short (disk full, a bad hand edit) may be the open window that alone can undo a
    halt: skipping it, the tool would start a second window and later "restore" the halted state."""
    from smc_maint.emergency.watch import enforce

    from .backup_support import make_ctx

    directory = journal_for(cfg).dir
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    (directory / "20261103T130000Z-abcdef.json").write_text('{"id": "20261103T130000Z-abcdef", "reason": "disk')
    machine = Machine(cfg, _settings(), clock=FixedClock(T0), platform=kube.p)
    out = machine.start("db disk full", 600)
    assert out.status is Status.CRITICAL and "unreadable emergency journal" in out.message
    assert kube.selector == API and kube.replicas == REPLICAS, "nothing touched"
    assert journal_for(cfg).windows() == []
    status = machine.status()
    assert status["active"] is None and "20261103T130000Z-abcdef.json" in status["unreadable_journals"][0]
    findings = enforce(make_ctx(cfg, clock=FixedClock(T0)), _settings())
    assert [s for s, _ in findings] == [Status.CRITICAL] and "may be an open window" in findings[0][1]
