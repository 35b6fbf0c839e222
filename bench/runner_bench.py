"""Runner overhead: the daily demo group in worker processes vs the old in-thread way (prints; asserts nothing).

    .venv/bin/python bench/runner_bench.py [rounds]

Two shapes of use, both measured:
- one-shot: a fresh process per run, as `smc-maint run daily` from cron, systemd or a CronJob.
  The process-mode child does what the CLI does (start the fork server first, then load the config);
  the thread-mode child runs the same group in threads. Figures are the child's wall time for
  config load plus run, so the interpreter start both pay is left out.
- long-lived: many runs in one process (scheduler, web server), the fork server already up.
Goal (issue 10): under 0.5 s of overhead for the whole daily group.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from smc_maint import demo
from smc_maint.config.loader import load_config
from smc_maint.runner import Isolation, run_group

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
MODES: tuple[Isolation, ...] = ("thread", "process")

ONE_SHOT = """
import json, sys, time
from pathlib import Path
from smc_maint.forkserver import warm
from smc_maint.registry import GROUPS

def main():
    t0 = time.perf_counter()
    if sys.argv[2] == "process":  # as the CLI's `run` does, before anything heavy is imported
        warm(GROUPS["daily"])
    from smc_maint.config.loader import load_config
    from smc_maint.runner import run_group
    cfg = load_config(Path(sys.argv[1]))
    outcome = run_group(cfg, "daily", trigger="bench", isolation=sys.argv[2])
    failed = [p.procedure_id for p in outcome.procedures if p.result.details.get("error") in ("worker", "startup")]
    print(json.dumps({"wall": time.perf_counter() - t0, "failed": failed,
                      "procedures": {p.procedure_id: p.duration_seconds for p in outcome.procedures}}))

if __name__ == "__main__":  # a worker re-runs this script as __mp_main__: nothing at top level
    main()
"""


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _report(title: str, walls: dict[str, list[float]], per: dict[str, dict[str, list[float]]]) -> None:
    print(f"== {title}")
    for mode in MODES:
        values = walls[mode]
        print(f"daily group, {mode:7s}: median {_median(values):.2f} s over {len(values)} runs "
              f"({', '.join(f'{v:.2f}' for v in values)})")
    overhead = _median(walls["process"]) - _median(walls["thread"])
    count = len(per["process"])
    print(f"overhead of worker processes: {overhead:+.2f} s for {count} procedures "
          f"({overhead / max(1, count):+.3f} s each; goal < 0.5 s for the group)")
    for pid in per["process"]:
        t, p = _median(per["thread"][pid]), _median(per["process"][pid])
        print(f"  {pid:22s} thread {t:6.2f} s  process {p:6.2f} s  ({p - t:+.2f})")


def one_shot(config: Path, script: Path) -> None:
    walls: dict[str, list[float]] = {m: [] for m in MODES}
    per: dict[str, dict[str, list[float]]] = {m: {} for m in MODES}
    for _ in range(ROUNDS):
        for mode in MODES:
            proc = subprocess.run([sys.executable, str(script), str(config), mode], capture_output=True,
                                  text=True, timeout=600)
            if proc.returncode != 0:
                raise SystemExit(f"{mode} run failed: {proc.stderr[-2000:]}")
            data = json.loads(proc.stdout.strip().splitlines()[-1])
            if data["failed"]:
                raise SystemExit(f"{mode} run: workers failed: {data['failed']}")
            walls[mode].append(float(data["wall"]))
            for pid, seconds in data["procedures"].items():
                per[mode].setdefault(pid, []).append(float(seconds))
    _report("one-shot (a fresh process per run: config load + run)", walls, per)


def long_lived(config: Path) -> None:
    cfg = load_config(config)
    walls: dict[str, list[float]] = {m: [] for m in MODES}
    per: dict[str, dict[str, list[float]]] = {m: {} for m in MODES}
    run_group(cfg, "daily", trigger="bench", isolation="process")  # the fork server up, as in a scheduler
    for _ in range(ROUNDS):
        for mode in MODES:
            outcome = run_group(cfg, "daily", trigger="bench", isolation=mode)
            walls[mode].append(outcome.duration_seconds)
            for p in outcome.procedures:
                per[mode].setdefault(p.procedure_id, []).append(p.duration_seconds)
    _report("long-lived (scheduler / web server: one process, many runs)", walls, per)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="smc-maint-runner-bench-") as tmp:
        home = Path(tmp)
        try:
            config = demo.prepare(home=home)
            run_group(load_config(config), "daily", trigger="bench", isolation="thread")  # first backup, caches
            script = home / "one_shot.py"
            script.write_text(ONE_SHOT, encoding="utf-8")
            one_shot(config, script)
            long_lived(config)
        finally:
            demo.stop(home)


if __name__ == "__main__":
    main()
