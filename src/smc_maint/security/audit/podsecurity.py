"""Pod Security Standards (kubernetes.io/docs/concepts/security/pod-security-standards), per workload.

``evaluate`` returns the fields that break Baseline and those that break Restricted, as the
standard lists them (HostProcess, host namespaces, privileged, capabilities, hostPath, host ports,
AppArmor, SELinux, /proc mount, seccomp, sysctls, probe/lifecycle hosts; then volume types,
privilege escalation, runAsNonRoot, runAsUser, seccomp, capabilities). The level is the highest
one with no violation. ``readOnlyRootFilesystem`` is not part of the standard: reported apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .findings import Finding, finding
from .objects import seq
from .workloads import PodSource

BASELINE_CAPS = frozenset({"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                           "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})
# Safe sysctls as of Kubernetes 1.32 (the last five were added in 1.27 and 1.29).
SAFE_SYSCTLS = frozenset({"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
                          "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                          "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                          "net.ipv4.tcp_keepalive_probes"})
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
RESTRICTED_VOLUMES = frozenset({"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                                "projected", "secret"})
SECCOMP_OK = frozenset({"RuntimeDefault", "Localhost"})
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
LEVELS = ("privileged", "baseline", "restricted")


@dataclass(frozen=True)
class Assessment:
    level: str
    baseline: tuple[str, ...]  # violations that keep it from Baseline
    restricted: tuple[str, ...]  # violations that keep it from Restricted
    writable_root: tuple[str, ...]  # containers without readOnlyRootFilesystem: true


def _m(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _containers(spec: Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in seq(spec.get(key)):
            if isinstance(c, Mapping):
                yield f"spec.{key}[{c.get('name', '?')}]", c


def _baseline(spec: Mapping[str, Any], annotations: Mapping[str, str]) -> list[str]:
    out: list[str] = []
    psc = _m(spec.get("securityContext"))
    if _m(psc.get("windowsOptions")).get("hostProcess"):
        out.append("spec.securityContext.windowsOptions.hostProcess=true")
    out += [f"spec.{k}=true" for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k) is True]
    for v in seq(spec.get("volumes")):
        if isinstance(v, Mapping) and "hostPath" in v:
            out.append(f"spec.volumes[{v.get('name', '?')}].hostPath")
    out += _selinux("spec.securityContext", psc)
    if _m(psc.get("seccompProfile")).get("type") == "Unconfined":
        out.append("spec.securityContext.seccompProfile.type=Unconfined")
    if _m(psc.get("appArmorProfile")).get("type") == "Unconfined":
        out.append("spec.securityContext.appArmorProfile.type=Unconfined")
    for s in seq(psc.get("sysctls")):
        name = str(_m(s).get("name"))
        if name not in SAFE_SYSCTLS:
            out.append(f"spec.securityContext.sysctls[{name}] (not in the safe set)")
    for key, value in annotations.items():
        if key.startswith(APPARMOR_ANNOTATION) and value != "runtime/default" and not value.startswith("localhost/"):
            out.append(f"metadata.annotations[{key}]={value}")
    for where, c in _containers(spec):
        sc = _m(c.get("securityContext"))
        if sc.get("privileged") is True:
            out.append(f"{where}.securityContext.privileged=true")
        if _m(sc.get("windowsOptions")).get("hostProcess"):
            out.append(f"{where}.securityContext.windowsOptions.hostProcess=true")
        added = sorted({str(a) for a in seq(_m(sc.get("capabilities")).get("add"))} - BASELINE_CAPS)
        if added:
            out.append(f"{where}.securityContext.capabilities.add={','.join(added)}")
        for p in seq(c.get("ports")):
            if _m(p).get("hostPort"):
                out.append(f"{where}.ports.hostPort={_m(p)['hostPort']}")
        if sc.get("procMount") not in (None, "Default"):
            out.append(f"{where}.securityContext.procMount={sc['procMount']}")
        out += _selinux(f"{where}.securityContext", sc)
        if _m(sc.get("seccompProfile")).get("type") == "Unconfined":
            out.append(f"{where}.securityContext.seccompProfile.type=Unconfined")
        if _m(sc.get("appArmorProfile")).get("type") == "Unconfined":
            out.append(f"{where}.securityContext.appArmorProfile.type=Unconfined")
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            out += _hosts(f"{where}.{probe}", _m(c.get(probe)))
        for hook in ("postStart", "preStop"):
            out += _hosts(f"{where}.lifecycle.{hook}", _m(_m(c.get("lifecycle")).get(hook)))
    return out


def _selinux(where: str, sc: Mapping[str, Any]) -> list[str]:
    opts = _m(sc.get("seLinuxOptions"))
    out = []
    if str(opts.get("type") or "") not in SELINUX_TYPES:
        out.append(f"{where}.seLinuxOptions.type={opts['type']}")
    out += [f"{where}.seLinuxOptions.{k} set" for k in ("user", "role") if opts.get(k)]
    return out


def _hosts(where: str, handler: Mapping[str, Any]) -> list[str]:
    return [f"{where}.{k}.host={_m(handler.get(k))['host']}" for k in ("httpGet", "tcpSocket")
            if _m(handler.get(k)).get("host")]


def _restricted(spec: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    psc = _m(spec.get("securityContext"))
    for v in seq(spec.get("volumes")):
        if isinstance(v, Mapping):
            kinds = sorted(set(v) - {"name"} - RESTRICTED_VOLUMES - {"hostPath"})  # hostPath: already Baseline
            out += [f"spec.volumes[{v.get('name', '?')}].{k} (volume type not allowed)" for k in kinds]
    pod_nonroot = psc.get("runAsNonRoot") is True
    if psc.get("runAsNonRoot") is False:
        out.append("spec.securityContext.runAsNonRoot=false")
    if psc.get("runAsUser") == 0:
        out.append("spec.securityContext.runAsUser=0")
    pod_seccomp = _m(psc.get("seccompProfile")).get("type") in SECCOMP_OK
    for where, c in _containers(spec):
        sc = _m(c.get("securityContext"))
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append(f"{where}.securityContext.allowPrivilegeEscalation is not false")
        nonroot = sc.get("runAsNonRoot")
        if nonroot is False or (nonroot is None and not pod_nonroot):
            out.append(f"{where}.securityContext.runAsNonRoot is not true (nor the pod's)")
        if sc.get("runAsUser") == 0:
            out.append(f"{where}.securityContext.runAsUser=0")
        kind = _m(sc.get("seccompProfile")).get("type")
        if kind is None and not pod_seccomp:
            out.append(f"{where}.securityContext.seccompProfile is not RuntimeDefault/Localhost (nor the pod's)")
        elif kind is not None and kind not in SECCOMP_OK and kind != "Unconfined":  # Unconfined: Baseline
            out.append(f"{where}.securityContext.seccompProfile.type={kind}")
        caps = _m(sc.get("capabilities"))
        if "ALL" not in {str(d) for d in seq(caps.get("drop"))}:
            out.append(f"{where}.securityContext.capabilities.drop does not include ALL")
        # Capabilities beyond Baseline's set are a Baseline violation already; the rest break Restricted.
        extra = sorted(({str(a) for a in seq(caps.get("add"))} & BASELINE_CAPS) - {"NET_BIND_SERVICE"})
        if extra:
            out.append(f"{where}.securityContext.capabilities.add={','.join(extra)} (only NET_BIND_SERVICE)")
    return out


def evaluate(spec: Mapping[str, Any], annotations: Mapping[str, str]) -> Assessment:
    base, restr = _baseline(spec, annotations), _restricted(spec)
    level = "privileged" if base else "baseline" if restr else "restricted"
    writable = tuple(where for where, c in _containers(spec) if not where.startswith("spec.ephemeral")
                     and _m(c.get("securityContext")).get("readOnlyRootFilesystem") is not True)
    return Assessment(level, tuple(base), tuple(restr), writable)


def check(pods: list[PodSource]) -> tuple[list[Finding], dict[str, dict[str, Any]]]:
    """Findings, and every workload's level with its blocking fields (for the report's table)."""
    found: list[Finding] = []
    table: dict[str, dict[str, Any]] = {}
    for pod in pods:
        a = evaluate(pod.spec, pod.annotations)
        table[pod.ref] = {"level": a.level, "baseline_violations": list(a.baseline),
                          "restricted_violations": list(a.restricted), "writable_root": list(a.writable_root)}
        if a.baseline:
            found.append(finding("PSS-001", pod.ref, f"level privileged: {'; '.join(a.baseline)}",
                                 namespace=pod.namespace, level=a.level, fields=list(a.baseline),
                                 restricted_fields=list(a.restricted)))
        elif a.restricted:
            found.append(finding("PSS-002", pod.ref, f"level baseline: {'; '.join(a.restricted)}",
                                 namespace=pod.namespace, level=a.level, fields=list(a.restricted)))
        if a.writable_root:
            found.append(finding("PSS-003", pod.ref, "readOnlyRootFilesystem is not true in "
                                 + ", ".join(a.writable_root), namespace=pod.namespace, containers=list(a.writable_root)))
    return found, table
