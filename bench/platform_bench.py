"""Figures for the platform seam against the fake API server (prints them; asserts nothing).

    .venv/bin/python bench/platform_bench.py

- list_pods over 2,000 pods in pages of 500 (the API's default page size here);
- exec round trips over the websocket (find in a pod);
- the pod log-cleanup of 50 pods with 40 old files each.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fake_kube_api import FakeKubeApi, VirtualFile
from tests.kube_cluster import TOKEN, Cluster, _deployment, populate

from smc_maint.adapters.platform.kubernetes import KubernetesPlatform
from smc_maint.config.model import PlatformConfig
from smc_maint.logs.pod_cleanup import PodRule, clean


def main() -> None:
    api = FakeKubeApi(token=TOKEN, max_page=500).start()
    try:
        cluster: Cluster = populate(api)
        api.put(_deployment("load", "ghcr.io/smc/load:1.0.0", 2000))
        with tempfile.TemporaryDirectory() as tmp:
            p = KubernetesPlatform(PlatformConfig(kind="kubernetes", kubeconfig=api.kubeconfig(Path(tmp) / "kc")))
            t0 = time.perf_counter()
            pods = p.list_pods()
            print(f"list_pods: {len(pods)} pods in {time.perf_counter() - t0:.2f} s "
                  f"({len(api.page_size_seen)} pages)")
            pod = cluster.pods_of("trading-engine")[0]
            n = 50
            t0 = time.perf_counter()
            for _ in range(n):
                p.exec(pod, ["find", "/var/log/app", "-type", "f"])
            print(f"exec round trip: {(time.perf_counter() - t0) / n * 1000:.1f} ms mean over {n}")
            api.put({**_deployment("many", "ghcr.io/smc/many:1.0.0", 50)})
            now = api.now.timestamp()
            for name in cluster.pods_of("many"):
                files = cluster.files_of(name)
                for i in range(40):
                    files[f"/var/log/app/app.log.{i}"] = VirtualFile(now - 10 * 86400)
            t0 = time.perf_counter()
            out = clean(p, [PodRule(workload="many", path="/var/log/app")], dry_run=False)
            removed = sum(len(o.removed) for o in out)
            print(f"pod log-cleanup: {removed} files in {len(out)} pods in {time.perf_counter() - t0:.2f} s")

    finally:
        api.stop()


if __name__ == "__main__":
    main()
