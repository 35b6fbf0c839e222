"""``LocalPlatform``: the platform as this one machine (a single-server install, the demo).

Workloads are the configured ``platform.local.workloads``: processes found by a regular
expression on their command line (each process a "pod" named ``WORKLOAD-PID``), or systemd
units (``systemctl show``). Exec runs a local command with a total deadline and a minimal
environment; usage is psutil per process. What has no meaning on one machine (scaling, Service
selectors, namespaces, custom resources) raises PlatformError.
"""

from __future__ import annotations

import contextlib
import os
import platform as pyplatform
import re
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import psutil

from ...config.model import LocalWorkload, PlatformConfig
from .base import Container, ExecResult, PlatformError, Pod, ServerVersion, Usage, Workload

NOT_SUPPORTED = "not supported on the local platform"
MINIMAL_ENV_KEYS = ("PATH", "LANG", "LC_ALL", "HOME", "TZ")
MAX_OUTPUT = 4 * 2**20


def minimal_env() -> dict[str, str]:
    """PATH and locale only: a command run for a procedure gets none of the tool's secrets."""
    env = {k: os.environ[k] for k in MINIMAL_ENV_KEYS if k in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.setdefault("LANG", "C.UTF-8")
    return env


def run_command(argv: Sequence[str], timeout_seconds: float, cwd: str | None = None) -> ExecResult:
    """Run ``argv`` with a total deadline; a missing program is no exit code and a reason."""
    if not argv:
        raise PlatformError("exec: no command given")
    try:
        proc = subprocess.run(list(argv), capture_output=True, timeout=timeout_seconds, env=minimal_env(),
                              cwd=cwd, stdin=subprocess.DEVNULL, check=False)
    except FileNotFoundError:
        return ExecResult("", f'exec: "{argv[0]}": executable file not found in $PATH', None)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode("utf-8", "replace") if isinstance(exc.stdout, bytes) else ""
        return ExecResult(out[:MAX_OUTPUT], f"timed out after {timeout_seconds:g} s", None, timed_out=True)
    except OSError as exc:
        return ExecResult("", f"exec {argv[0]}: {exc.strerror or exc}", None)
    return ExecResult(proc.stdout[:MAX_OUTPUT].decode("utf-8", "replace"),
                      proc.stderr[:MAX_OUTPUT].decode("utf-8", "replace"), proc.returncode)


class LocalPlatform:
    """This machine as the platform."""

    kind = "local"

    def __init__(self, config: PlatformConfig) -> None:
        self.config = config
        self._patterns: dict[str, re.Pattern[str]] = {}
        for w in config.local.workloads:
            if w.process is not None:
                try:
                    self._patterns[w.name] = re.compile(w.process)
                except re.error as exc:
                    raise PlatformError(f"platform.local.workloads {w.name}: process pattern: {exc}") from None

    @property
    def namespace(self) -> str:
        return self.config.namespace

    # -- facts ----------------------------------------------------------------------------
    def _processes(self, w: LocalWorkload) -> list[psutil.Process]:
        pattern = self._patterns[w.name]
        me = os.getpid()
        found = []
        for proc in psutil.process_iter(["pid", "name", "cmdline"]):
            try:
                cmdline = " ".join(proc.info.get("cmdline") or []) or str(proc.info.get("name") or "")
            except (psutil.Error, OSError):
                continue
            if proc.pid != me and pattern.search(cmdline):
                found.append(proc)
        return found

    def _unit(self, unit: str) -> dict[str, str]:
        systemctl = shutil.which("systemctl")
        if systemctl is None:
            raise PlatformError(f"unit {unit}: systemctl is not available on this machine")
        res = run_command([systemctl, "show", unit, "--property=ActiveState,SubState,MainPID,NRestarts,LoadState"],
                          15)
        if res.exit_code != 0:
            raise PlatformError(f"unit {unit}: systemctl show failed: {(res.stderr or res.stdout).strip()[:300]}")
        return dict(line.split("=", 1) for line in res.stdout.splitlines() if "=" in line)

    def _pods_of(self, w: LocalWorkload) -> list[Pod]:
        if w.unit is not None:
            props = self._unit(w.unit)
            active = props.get("ActiveState") == "active"
            if props.get("LoadState") == "not-found":
                return []
            reasons = () if active else (props.get("SubState") or props.get("ActiveState") or "inactive",)
            return [Pod(w.unit, self.namespace, "Running" if active else "Failed", active,
                        int(props.get("NRestarts") or 0), reasons, w.name)]
        pods = []
        for proc in self._processes(w):
            try:
                started = datetime.fromtimestamp(proc.create_time(), UTC)
                status = proc.status()
            except (psutil.Error, OSError):
                continue
            running = status not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD, psutil.STATUS_STOPPED)
            pods.append(Pod(f"{w.name}-{proc.pid}", self.namespace, "Running" if running else "Failed", running, 0,
                            () if running else (status,), w.name, pyplatform.node(),
                            (Container(w.name, proc.info.get("name") or ""),), {"workload": w.name}, started))
        return pods

    # -- reading --------------------------------------------------------------------------
    def server_version(self) -> ServerVersion:
        return ServerVersion("", "", pyplatform.platform(), f"{pyplatform.system().lower()}/{pyplatform.machine()}")

    def list_workloads(self, namespace: str | None = None) -> list[Workload]:
        out = []
        for w in self.config.local.workloads:
            pods = self._pods_of(w)
            ready = sum(p.ready for p in pods)
            kind = "SystemdUnit" if w.unit else "Process"
            desired = 1 if w.unit else w.replicas
            out.append(Workload(kind, w.name, self.namespace, desired, ready, ready,
                                selector={"workload": w.name}, labels={"workload": w.name}))
        return out

    def list_pods(self, namespace: str | None = None, selector: Mapping[str, str] | None = None) -> list[Pod]:
        wanted = (selector or {}).get("workload")
        return [p for w in self.config.local.workloads if wanted in (None, w.name) for p in self._pods_of(w)]

    def node_usage(self) -> list[Usage]:
        vm = psutil.virtual_memory()
        cores = psutil.cpu_count() or 1
        return [Usage(pyplatform.node(), psutil.cpu_percent(interval=0.2) / 100 * cores, int(vm.used))]

    def pod_usage(self, namespace: str | None = None) -> list[Usage]:
        procs = [(w.name, proc) for w in self.config.local.workloads if w.unit is None
                 for proc in self._processes(w)]
        for _name, proc in procs:
            with contextlib.suppress(psutil.Error, OSError):
                proc.cpu_percent(None)  # starts the sampling window
        time.sleep(0.2)
        out = []
        for name, proc in procs:
            try:
                with proc.oneshot():
                    cpu = proc.cpu_percent(None) / 100
                    rss = proc.memory_info().rss
            except (psutil.Error, OSError):
                continue
            out.append(Usage(f"{name}-{proc.pid}", cpu, int(rss), self.namespace, name))
        return out

    def list_objects(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        raise PlatformError(f"list_objects {kind}: {NOT_SUPPORTED}")

    def list_custom(self, group: str, version: str, plural: str, namespace: str | None = None
                    ) -> list[dict[str, Any]]:
        raise PlatformError(f"custom resources ({plural}.{group}): {NOT_SUPPORTED}")

    # -- acting ---------------------------------------------------------------------------
    def exec(self, pod: str, argv: Sequence[str], *, container: str | None = None,
             namespace: str | None = None, timeout_seconds: float = 60) -> ExecResult:
        """Every "pod" of this machine shares its filesystem: the command runs here."""
        return run_command(argv, timeout_seconds)

    def get_scale(self, kind: str, name: str, namespace: str | None = None) -> int:
        raise PlatformError(f"scale: {NOT_SUPPORTED}")

    def scale(self, kind: str, name: str, replicas: int, namespace: str | None = None) -> int:
        raise PlatformError(f"scale: {NOT_SUPPORTED}")

    def get_service_selector(self, name: str, namespace: str | None = None) -> dict[str, str]:
        raise PlatformError(f"service selectors: {NOT_SUPPORTED}")

    def set_service_selector(self, name: str, selector: Mapping[str, str], namespace: str | None = None
                             ) -> dict[str, str]:
        raise PlatformError(f"service selectors: {NOT_SUPPORTED}")

    def namespace_exists(self, name: str) -> bool:
        raise PlatformError(f"namespaces: {NOT_SUPPORTED}")

    def create_namespace(self, name: str, labels: Mapping[str, str] | None = None) -> None:
        raise PlatformError(f"namespaces: {NOT_SUPPORTED}")

    def delete_namespace(self, name: str) -> None:
        raise PlatformError(f"namespaces: {NOT_SUPPORTED}")

    def apply(self, manifests: Sequence[Mapping[str, Any]], namespace: str) -> list[str]:
        raise PlatformError(f"apply: {NOT_SUPPORTED}")
