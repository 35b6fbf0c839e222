"""``updates-review``: running versions against dated EOL data, PostgreSQL's release calendar, image
tags from a real OCI tags endpoint (paged, token, deadline), the performance baseline, refresh-eol."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from smc_maint.adapters.clock import FixedClock
from smc_maint.cli.main import main
from smc_maint.config.loader import LoadedConfig
from smc_maint.context import Context
from smc_maint.history import open_history
from smc_maint.procedures import updates_review
from smc_maint.result import Status
from smc_maint.updates import eol, tags
from smc_maint.updates.pg_release import next_minor_release

from .kube_cluster import DEPLOYMENTS, NS, STATEFULSETS, Cluster
from .oci_registry import oci_registry

API_TAGS = ["1.2.3", "1.2.4", "1.2.10", "1.3.0", "1.10.1", "2.0.0", "2.1.0", "3.0.0-rc1", "latest", "1.2.5-alpine",
            "v9.9"]


@pytest.mark.parametrize(("today", "expected"), [
    (date(2026, 12, 4), date(2027, 2, 11)),
    (date(2025, 11, 13), date(2025, 11, 13)),  # the release day itself
    (date(2025, 11, 14), date(2026, 2, 12)),
    (date(2024, 8, 1), date(2024, 8, 8)),
    (date(2026, 5, 15), date(2026, 8, 13)),
])
def test_next_postgresql_minor_is_the_second_thursday(today: date, expected: date) -> None:
    assert next_minor_release(today) == expected


def test_eol_verdict_days_and_minors_behind() -> None:
    snap = eol.packaged()
    v = eol.evaluate(snap, "postgresql", "15.4", date(2027, 6, 1))
    assert (v.cycle, v.eol, v.days_to_eol, v.latest_in_cycle, v.minors_behind) == \
        ("15", date(2027, 11, 11), 163, "15.13", 9)
    k = eol.evaluate(snap, "kubernetes", "1.29.4", date(2026, 12, 4))
    assert k.cycle == "1.29" and k.days_to_eol is not None and k.days_to_eol < 0 and k.minors_behind == 11
    assert eol.evaluate(snap, "postgresql", "7.4", date(2026, 1, 1)).cycle is None


def test_eol_judgement_warning_within_180_days_critical_past() -> None:
    snap = eol.packaged()
    ok = eol.evaluate(snap, "python", "3.13.3", date(2026, 12, 4))
    soon = eol.evaluate(snap, "postgresql", "15.13", date(2027, 6, 1))
    past = eol.evaluate(snap, "nodejs", "18.20.8", date(2026, 12, 4))
    assert updates_review.judge_eol([ok], 180)[0] is Status.OK
    assert updates_review.judge_eol([ok, soon], 180)[0] is Status.WARNING
    status, lines = updates_review.judge_eol([ok, soon, past], 180)
    assert status is Status.CRITICAL and any("nodejs 18.20.8: end of life since 2025-04-30" in x for x in lines)


def test_tags_list_follows_link_pages_and_classifies() -> None:
    with oci_registry({"smc/api": API_TAGS}, page_size=3) as reg:
        found = tags.list_tags(tags.parse_image("127.0.0.1:1/smc/api:1.2.3"), base_url=reg.url)
    assert sorted(found) == sorted(API_TAGS)
    assert len(reg.requests) == 4  # 11 tags, 3 a page
    newer = tags.classify("1.2.3", found)
    assert newer is not None
    assert (newer.major, newer.minor, newer.patch, newer.majors) == ("2.1.0", "1.10.1", "1.2.10", ["2"])


def test_tags_list_gets_an_anonymous_token() -> None:
    with oci_registry({"library/postgres": ["15.4", "15.8", "16.2"]}, require_token=True) as reg:
        found = tags.list_tags(tags.parse_image("postgres:15.4"), base_url=reg.url)
    assert sorted(found) == ["15.4", "15.8", "16.2"]
    assert any(r.startswith("/token") for r in reg.requests)


def test_tags_list_keeps_its_total_deadline() -> None:
    with oci_registry({"smc/api": API_TAGS}, page_size=1, delay_seconds=0.4) as reg:
        t0 = time.monotonic()
        with pytest.raises(tags.TagsUnavailable):
            tags.list_tags(tags.parse_image("x.io/smc/api:1.0"), base_url=reg.url, deadline_seconds=1.0)
        assert time.monotonic() - t0 < 3


def test_parse_image_names() -> None:
    assert tags.parse_image("postgres:15") == tags.ImageName("docker.io", "library/postgres", "15")
    assert tags.parse_image("ghcr.io/org/app:v1.2.0") == tags.ImageName("ghcr.io", "org/app", "v1.2.0")
    assert tags.parse_image("localhost:5000/a/b@sha256:00") == tags.ImageName("localhost:5000", "a/b", None)


def _ctx(cfg: LoadedConfig, at: datetime) -> Context:
    return Context(cfg=cfg, history=open_history(cfg), run_id="ur-test", group="quarterly", clock=FixedClock(at),
                   log=logging.getLogger("smc_maint.test"))


def test_review_reads_running_versions_and_newer_image_tags(make_config: Callable[..., LoadedConfig],
                                                            fake_cluster: Cluster, tmp_path: Path) -> None:
    fake_cluster.api.version = {"major": "1", "minor": "29", "gitVersion": "v1.29.4", "platform": "linux/amd64"}
    with oci_registry({"smc/api": API_TAGS}) as reg:
        host = reg.url.removeprefix("http://")
        cfg = make_config({"platform": {"kind": "kubernetes", "namespace": NS,
                                        "kubeconfig": str(fake_cluster.kubeconfig(tmp_path / "kubeconfig"))},
                           "procedures": {"updates-review": {
            "runtimes": {"python": "3.9.18"}, "images": [f"{host}/smc/api:1.2.3", "other.io/smc/web:2.0.0"],
            "registries": {host: {"url": reg.url}}, "registry_deadline_seconds": 5,
            "eol_data_max_age_days": 3650}}})
        settings = cfg.settings_for("updates-review")
        assert isinstance(settings, updates_review.Settings)
        tags_file = tmp_path / "tags.json"
        tags_file.write_text(json.dumps({"other.io/smc/web": ["2.0.0", "2.0.1", "2.1.0"]}))
        settings = settings.model_copy(update={"tags_file": tags_file, "registry_deadline_seconds": 3})
        result = updates_review.run(_ctx(cfg, datetime(2026, 12, 4, 5, tzinfo=UTC)), settings)
    v = result.details["versions"]
    assert v["postgresql"].startswith("15.") and v["kubernetes"] == "1.29.4" and v["python"] == "3.9.18"
    assert result.status is Status.CRITICAL  # python 3.9 and kubernetes 1.29 are past end of life
    assert "python 3.9.18: end of life since 2025-10-31" in result.summary
    assert result.details["next_postgresql_minor_release"] == "2027-02-11"
    images = {r["image"]: r for r in result.details["images"]}
    api = images[f"{host}/smc/api:1.2.3"]
    assert api["source"] == "registry" and api["newer"]["major"] == "2.1.0" and api["newer"]["patch"] == "1.2.10"
    web = images["other.io/smc/web:2.0.0"]  # unreachable registry: the configured file answers
    assert web["source"] == "tags_file" and web["newer"]["minor"] == "2.1.0" and web["newer"]["major"] is None
    assert result.figures["images_with_major_update"] == 1
    assert result.figures["eol_days.postgresql"] == (date(2027, 11, 11) - date(2026, 12, 4)).days
    # the live workloads' images, read from the API server, are reviewed beside the configured ones
    live = {i for i, *_ in DEPLOYMENTS.values()} | {i for i, _ in STATEFULSETS.values()}
    assert live <= set(images)
    assert ("GET", "/version") in fake_cluster.api.requests


def test_stale_eol_data_warns(make_config: Callable[..., LoadedConfig]) -> None:
    cfg = make_config({"procedures": {"updates-review": {"query_registries": False}}})
    settings = cfg.settings_for("updates-review")
    assert isinstance(settings, updates_review.Settings)
    result = updates_review.run(_ctx(cfg, datetime(2026, 12, 4, tzinfo=UTC)), settings)
    assert result.status is Status.WARNING  # PostgreSQL 15 is fine until 2027; the packaged data is old
    assert "is 551 days old" in result.summary


def test_baseline_records_the_quarter_and_the_change(make_config: Callable[..., LoadedConfig]) -> None:
    cfg = make_config({"procedures": {"updates-review": {"query_registries": False}}})
    hist = open_history(cfg)

    def record(run_id: str, at: datetime, proc: str, figures: dict[str, float]) -> None:
        hist.begin_run(run_id, "monthly", at, [proc])
        hist.add_result(run_id, proc, "ok", "x", at, 1.0, {}, figures)
        hist.finish_run(run_id, "ok", at, 100.0)

    record("r1", datetime(2026, 9, 1, tzinfo=UTC), "restore-test", {"restore_seconds": 10.0})
    record("r2", datetime(2026, 10, 1, tzinfo=UTC), "restore-test", {"restore_seconds": 30.0})
    record("r3", datetime(2026, 11, 1, tzinfo=UTC), "restore-test", {"restore_seconds": 14.0})
    record("b0", datetime(2026, 7, 1, tzinfo=UTC), "updates-review", {"baseline.restore_seconds": 7.0})
    settings = cfg.settings_for("updates-review")
    assert isinstance(settings, updates_review.Settings)
    result = updates_review.run(_ctx(cfg, datetime(2026, 12, 1, tzinfo=UTC)), settings)
    assert result.figures["baseline.restore_seconds"] == 14.0  # median of the quarter
    row = next(b for b in result.details["baseline"] if b["key"] == "restore_seconds")
    assert row["previous"] == 7.0 and row["change_percent"] == 100.0
    assert result.figures["baseline.run_seconds.monthly"] == 100.0


def test_refresh_eol_validates_and_replaces(make_config: Callable[..., LoadedConfig], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    cfg = make_config()
    assert cfg.source is not None
    api = tmp_path / "postgresql.json"
    api.write_text(json.dumps([{"cycle": "18", "releaseDate": "2025-09-25", "eol": "2030-11-14", "latest": "18.1",
                                "latestReleaseDate": "2025-11-13", "lts": False},
                               {"cycle": "15", "releaseDate": "2022-10-13", "eol": "2027-11-11", "latest": "15.15"}]))
    with pytest.raises(SystemExit) as done:
        main(["updates", "refresh-eol", str(api), "--product", "postgresql", "--snapshot-date", "2026-12-01",
              "-c", str(cfg.source)])
    assert done.value.code == 0
    snap = eol.load(cfg.home)
    assert snap.snapshot_date == date(2026, 12, 1)
    assert [c.cycle for c in snap.products["postgresql"]] == ["18", "15"]
    assert snap.products["kubernetes"] == eol.packaged().products["kubernetes"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"cycle": "19", "eol": "someday", "latest": "19.0"}]))
    with pytest.raises(SystemExit) as done:
        main(["updates", "refresh-eol", str(bad), "--product", "postgresql", "-c", str(cfg.source)])
    assert done.value.code == 78
    assert "eol" in capsys.readouterr().err
    assert eol.load(cfg.home).snapshot_date == date(2026, 12, 1)  # the good data stays


def test_review_lists_dependency_majors_from_the_dependencies_reports(make_config: Callable[..., LoadedConfig],
                                                                      tmp_path: Path) -> None:
    report = tmp_path / "pip-outdated.json"
    report.write_text(json.dumps([{"name": "fastapi", "version": "0.110.0", "latest_version": "0.110.3"},
                                  {"name": "pandas", "version": "1.5.3", "latest_version": "2.2.3"}]))
    cfg = make_config({"procedures": {
        "updates-review": {"query_registries": False, "eol_data_max_age_days": 3650},
        "dependencies": {"reports": [{"kind": "pip-outdated", "path": str(report), "component": "trading-engine"}]}}})
    settings = cfg.settings_for("updates-review")
    assert isinstance(settings, updates_review.Settings)
    result = updates_review.run(_ctx(cfg, datetime(2026, 12, 4, tzinfo=UTC)), settings)
    assert [(d["name"], d["current"], d["latest"]) for d in result.details["dependency_majors"]] == \
        [("pandas", "1.5.3", "2.2.3")]
    assert "1 dependency major update(s): pandas 1.5.3 -> 2.2.3" in result.summary
    assert result.figures["dependency_major_updates"] == 1


@pytest.mark.parametrize("body", [b"[1, 2]", b'{"tags": 5}', b'"tags"'])
def test_tags_list_of_the_wrong_shape_is_unavailable_not_a_traceback(body: bytes) -> None:
    """A registry (or a proxy in front of it) answering valid JSON of the wrong shape."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        with pytest.raises(tags.TagsUnavailable, match="not a tags list"):
            tags.list_tags(tags.parse_image("x.io/smc/api:1.0"), base_url=f"http://127.0.0.1:{srv.server_port}",
                           deadline_seconds=5)
    finally:
        srv.shutdown()
        srv.server_close()
