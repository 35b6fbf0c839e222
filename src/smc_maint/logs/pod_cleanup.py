"""Log retention inside pods: the runbook's ``kubectl exec ... find /var/log -name "*.log" -mtime +7
-delete``, done safely.

Per rule (a workload, a directory, patterns, an age): list first with ``find`` in each pod of the
workload, judge every listed path here (inside the rule's directory after normalising, matching a
pattern, not a live ``*.log`` unless ``keep_live: false``), then delete exactly the judged paths
with ``rm -f --``; never ``find -delete``, which would also take files that aged in between or
that the listing did not show. ``--dry-run`` lists only.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import Field, field_validator

from ..adapters.platform import Platform, PlatformError
from ..config.model import Section
from ..result import Result, Status, worst

if TYPE_CHECKING:
    from ..context import Context

S = TypeVar("S")

LIVE_SUFFIX = re.compile(r"\.log$")
_DATE_STAMP = re.compile(r"(?<!\d)(19|20)\d{2}-?(0[1-9]|1[0-2])-?(0[1-9]|[12]\d|3[01])(?!\d)")
RM_BATCH = 100  # paths per rm invocation (argv stays far below ARG_MAX)


class PodRule(Section):
    workload: str = Field(min_length=1, description="Deployment/StatefulSet (or local workload) whose pods to clean")
    container: str | None = Field(None, description="container to exec in; default the pod's first")
    path: str = Field(description="absolute directory inside the container; nothing outside it is touched")
    patterns: list[str] = Field(default_factory=lambda: ["*.log", "*.log.[0-9]*", "*.gz"])
    max_age_days: int = Field(7, ge=1, description="find -mtime +N: files older than N whole days")
    keep_live: bool = Field(True, description="keep *.log files without rotation suffix or date stamp")
    timeout_seconds: float = Field(120, gt=0, description="bound of each find/rm in a pod")

    @field_validator("path")
    @classmethod
    def _absolute_dir(cls, v: str) -> str:
        norm = posixpath.normpath(v)
        if not v.startswith("/") or norm in ("/", "//") or ".." in v.split("/"):
            raise ValueError(f"{v!r}: give an absolute directory below / (no '..')")
        return norm


@dataclass
class PodOutcome:
    workload: str
    pod: str
    path: str
    removed: list[str] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)
    kept: list[dict[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def find_argv(rule: PodRule) -> list[str]:
    names: list[str] = []
    for i, pattern in enumerate(rule.patterns):
        names += (["-o"] if i else []) + ["-name", pattern]
    return ["find", rule.path, "-xdev", "-type", "f", "(", *names, ")", "-mtime", f"+{rule.max_age_days}", "-print"]


def judge(path: str, rule: PodRule) -> str | None:
    """Why a listed path must be kept (None: delete it). Pure."""
    norm = posixpath.normpath(path)
    if norm != path or not norm.startswith(rule.path.rstrip("/") + "/"):
        return "outside the rule's directory"
    base = posixpath.basename(norm)
    if not any(fnmatch.fnmatchcase(base, p) for p in rule.patterns):
        return "matches no pattern"
    if rule.keep_live and LIVE_SUFFIX.search(base) and not _DATE_STAMP.search(base):
        return "live log (no rotation suffix or date stamp)"
    return None


def clean_pod(platform: Platform, rule: PodRule, pod: str, dry_run: bool) -> PodOutcome:
    out = PodOutcome(rule.workload, pod, rule.path)
    try:
        listed = platform.exec(pod, find_argv(rule), container=rule.container, timeout_seconds=rule.timeout_seconds)
    except PlatformError as exc:
        out.errors.append(str(exc))
        return out
    if not listed.ok:
        out.errors.append(f"find: {(listed.stderr or 'timed out' if listed.timed_out else listed.stderr).strip()[:300]}"
                          f" (exit {listed.exit_code})")
        return out
    doomed = []
    for line in listed.stdout.splitlines():
        if not line:
            continue
        reason = judge(line, rule)
        if reason:
            out.kept.append({"path": line, "reason": reason})
        else:
            doomed.append(line)
    if dry_run:
        out.planned = doomed
        return out
    for i in range(0, len(doomed), RM_BATCH):
        batch = doomed[i:i + RM_BATCH]
        try:
            res = platform.exec(pod, ["rm", "-f", "--", *batch], container=rule.container,
                                timeout_seconds=rule.timeout_seconds)
        except PlatformError as exc:
            out.errors.append(str(exc))
            break
        if res.ok:
            out.removed += batch
        else:
            out.errors.append(f"rm: {res.stderr.strip()[:300]} (exit {res.exit_code})")
    return out


def clean(platform: Platform, rules: list[PodRule], dry_run: bool) -> list[PodOutcome]:
    """Every pod of each rule's workload; a workload without pods is an error, not silence."""
    outcomes: list[PodOutcome] = []
    try:
        workloads = {w.name: w for w in platform.list_workloads()}
    except PlatformError as exc:
        return [PodOutcome(r.workload, "", r.path, errors=[str(exc)]) for r in rules]
    for rule in rules:
        w = workloads.get(rule.workload)
        if w is None:
            outcomes.append(PodOutcome(rule.workload, "", rule.path, errors=[f"workload {rule.workload} not found"]))
            continue
        try:
            pods = [p for p in platform.list_pods(selector=w.selector or None) if p.owner in (None, w.name)]
        except PlatformError as exc:
            outcomes.append(PodOutcome(rule.workload, "", rule.path, errors=[str(exc)]))
            continue
        running = [p for p in pods if p.phase == "Running"]
        if platform.kind == "local":
            running = running[:1]  # one machine: every "pod" sees the same filesystem
        if not running:
            outcomes.append(PodOutcome(rule.workload, "", rule.path, errors=[f"workload {rule.workload}: no running pod"]))
        outcomes += [clean_pod(platform, rule, p.name, dry_run) for p in running]
    return outcomes


def to_details(outcomes: list[PodOutcome], dry_run: bool) -> list[dict[str, Any]]:
    return [{"workload": o.workload, "pod": o.pod, "path": o.path,
             "would_remove" if dry_run else "removed": o.planned if dry_run else o.removed,
             "kept": o.kept, "errors": o.errors} for o in outcomes]


def merge(host: Result | None, outcomes: list[PodOutcome], dry_run: bool) -> Result:
    """The host rules' result with the pods' outcomes added (figures summed, errors a WARNING)."""
    done = [p for o in outcomes for p in (o.planned if dry_run else o.removed)]
    errors = [f"{o.workload}/{o.pod or '-'}: {e}" for o in outcomes for e in o.errors]
    kept = sum(len(o.kept) for o in outcomes)
    verb = "would remove" if dry_run else "removed"
    pods = len({o.pod for o in outcomes if o.pod})
    text = f"pods: {verb} {len(done)} files in {pods} pods, kept {kept} old files"
    if errors:
        text += f"; {len(errors)} errors (first: {errors[0]})"
    key = "files_to_remove" if dry_run else "files_removed"
    figures = dict(host.figures) if host else {}
    figures[key] = figures.get(key, 0.0) + len(done)
    figures["pod_files_kept"] = float(kept)
    details: dict[str, Any] = dict(host.details) if host else {"dry_run": dry_run}
    details["pods"] = to_details(outcomes, dry_run)
    statuses = [host.status] if host else [Status.OK]
    if errors:
        statuses.append(Status.WARNING)
    summary = f"{host.summary}; {text}" if host else text
    return Result(worst(statuses), summary, details, figures, host.artifacts if host else ())


def clean_pods(ctx: Context, rules: list[PodRule], host: Callable[[Context, S], Result] | None, settings: S
               ) -> Result:
    """log-cleanup with pod rules: the host rules (if any) first, then each pod rule."""
    host_result = host(ctx, settings) if host else None
    try:
        platform = ctx.platform()
    except PlatformError as exc:
        outcomes = [PodOutcome(r.workload, "", r.path, errors=[str(exc)]) for r in rules]
    else:
        outcomes = clean(platform, rules, ctx.dry_run)
    for o in outcomes:
        for path in o.removed:
            ctx.log.info("log-cleanup removed %s in pod %s", path, o.pod)
    return merge(host_result, outcomes, ctx.dry_run)


def demo_pod_rules(home: Path) -> list[dict[str, Any]]:
    """The demo's pod rule: the embedded PostgreSQL "workload" with a log directory of aged files."""
    logs = home / "logs-platform"
    logs.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for name, age_days in (("postgres.log", 12), ("postgres.log.1", 9), ("postgres.log.2.gz", 20),
                           ("postgres.log.0", 1)):
        f = logs / name
        if not f.exists():
            f.write_text("demo log line\n")
        os.utime(f, (now - age_days * 86400, now - age_days * 86400))
    return [{"workload": "postgres", "path": str(logs), "max_age_days": 7}]
