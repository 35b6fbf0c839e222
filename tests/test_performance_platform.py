"""performance-review's Prometheus half against a real Prometheus holding 30 days of backfilled samples.

The OpenMetrics file is generated here with timestamps relative to an injected NOW and turned
into TSDB blocks by ``promtool tsdb create-blocks-from openmetrics``; every query runs at NOW.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from smc_maint.adapters.clock import FixedClock
from smc_maint.config.loader import LoadedConfig
from smc_maint.runner import run_group

from .prom_support import PROMTOOL, free_port, need_binary, prometheus

NOW = datetime(2026, 10, 31, 12, 0, tzinfo=UTC)
STEP = 300  # one sample every 5 minutes for 31 days
CORES = {"api": 0.5, "trading-agent": 1.25}
MEMORY = {"api": 512 * 2**20, "trading-agent": 3 * 2**30}
# per 5 minutes: cumulative request counts per bucket -> p95 = 0.1 + (950-900)/(960-900) * 0.15 = 0.225 s
BUCKETS = {"0.05": 500, "0.1": 900, "0.25": 960, "0.5": 990, "1.0": 1000, "+Inf": 1000}


def openmetrics(now: datetime) -> str:
    start = int((now - timedelta(days=31)).timestamp())
    end = int(now.timestamp())
    times = range(start, end + 1, STEP)
    lines = ["# TYPE container_cpu_usage_seconds counter"]
    for name, cores in CORES.items():
        lines += [f'container_cpu_usage_seconds_total{{namespace="smc-trading",container="{name}"}} '
                  f"{cores * (t - start):.1f} {t}" for t in times]
    lines.append("# TYPE container_memory_working_set_bytes gauge")
    for name, mem in MEMORY.items():
        lines += [f'container_memory_working_set_bytes{{namespace="smc-trading",container="{name}"}} {mem} {t}'
                  for t in times]
    lines.append("# TYPE http_request_duration_seconds histogram")
    for i, t in enumerate(times):
        for le, n in BUCKETS.items():
            lines.append(f'http_request_duration_seconds_bucket{{job="smc-api",le="{le}"}} {n * i} {t}')
        lines.append(f'http_request_duration_seconds_count{{job="smc-api"}} {1000 * i} {t}')
        lines.append(f'http_request_duration_seconds_sum{{job="smc-api"}} {100.0 * i} {t}')
    # OpenMetrics wants each series' samples together: regroup the histogram lines by series
    head, hist = lines[: lines.index("# TYPE http_request_duration_seconds histogram") + 1], \
        lines[lines.index("# TYPE http_request_duration_seconds histogram") + 1:]
    hist.sort(key=lambda ln: (ln.rsplit(" ", 2)[0], int(ln.rsplit(" ", 1)[1])))
    return "\n".join(head + hist) + "\n# EOF\n"


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    promtool = need_binary(PROMTOOL, "prometheus")
    work = tmp_path_factory.mktemp("backfill")
    (work / "data.om").write_text(openmetrics(NOW))
    data = work / "tsdb"
    # a few large blocks instead of 2-hour ones: seconds instead of minutes on two cores
    proc = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=800h",
                           str(work / "data.om"), str(data)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with prometheus(work / "prom", storage=data, extra=["--storage.tsdb.retention.time=3650d"]) as url:
        yield url


def _review(make_config: Callable[..., LoadedConfig], settings: dict[str, object]) -> tuple[str, str, dict]:
    cfg = make_config({"procedures": {"performance-review": settings}})
    (res,) = run_group(cfg, "monthly", only=["performance-review"], clock=FixedClock(NOW)).procedures
    return res.result.status.value, res.result.summary, dict(res.result.details)


def test_cpu_memory_and_p95_latency_over_30_days(backfilled: str, make_config: Callable[..., LoadedConfig]) -> None:
    _, _, details = _review(make_config, {"prometheus_url": backfilled, "rate_window": "15m"})
    platform = details["platform"]
    assert "error" not in platform, platform
    assert set(platform["containers"]) == set(CORES)
    for name, cores in CORES.items():
        assert platform["containers"][name]["cpu_cores_avg"] == pytest.approx(cores, rel=1e-3)
        assert platform["containers"][name]["memory_bytes_max"] == MEMORY[name]
    assert platform["api_p95_latency_seconds"] == pytest.approx(0.225, rel=1e-3)
    assert "total_trades" in details  # the trading half is still there, in its own section


def test_without_a_url_the_review_says_why(make_config: Callable[..., LoadedConfig]) -> None:
    _, _, details = _review(make_config, {})
    assert "no prometheus_url" in details["platform"]["skipped"]


def test_an_unreachable_prometheus_is_a_reason_not_a_crash(make_config: Callable[..., LoadedConfig]) -> None:
    status, summary, details = _review(make_config, {"prometheus_url": f"http://127.0.0.1:{free_port()}",
                                                      "prometheus_timeout_seconds": 3})
    assert status in ("warning", "critical") and "Prometheus" in summary
    assert details["platform"]["error"]
