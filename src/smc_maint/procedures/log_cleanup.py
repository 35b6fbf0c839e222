"""``log-cleanup``: retention for application logs, rotated files included, safely.

The runbook's ``find /var/log -name "*.log" -mtime +7 -delete`` deletes the live log of a quiet
process and ignores rotated files. Here a file is deleted only when it matches a rule's pattern,
is older than the rule's age, is a regular file inside the rule's directory (symlinks are never
followed nor deleted), is not held open by any process, and is not a live ``*.log`` (unless
``keep_live: false``). When some processes cannot be inspected (not root, ``hidepid``), a file
owned by another user is kept as "holder unknown" and the result is a WARNING: its writer may be
one of the processes we cannot see. Every kept file that was old enough says why it was kept.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator

from ..adapters import open_files
from ..config.model import Section
from ..context import Context
from ..logs.pod_cleanup import PodRule, clean_pods
from ..result import Result, Status
from .log_cleanup_paths import DEFAULT_ALLOWED, outside, refusal

DAY = 86400.0
LISTED = 200  # at most this many entries per list in the details
HOLDER_UNKNOWN = "holder unknown"
_DATE_STAMP = re.compile(r"(?<!\d)(19|20)\d{2}-?(0[1-9]|1[0-2])-?(0[1-9]|[12]\d|3[01])(?!\d)")


class Rule(Section):
    path: Path = Field(description="directory to clean; nothing outside it is ever touched")
    patterns: list[str] = Field(default_factory=lambda: ["*.log", "*.log.[0-9]*", "*.gz"],
                                description="file-name globs (rotated *.log.N and *.gz included by default)")
    max_age_days: float = Field(7, gt=0, description="delete files whose mtime is older than this")
    keep_live: bool = Field(True, description="keep *.log files without rotation suffix or date stamp")
    recursive: bool = Field(True, description="descend into sub-directories (never through symlinks)")

    @field_validator("path")
    @classmethod
    def _not_a_system_directory(cls, value: Path) -> Path:
        why = refusal(value)
        if why:
            raise ValueError(f"refused: {why}")
        return value


class Settings(Section):
    rules: list[Rule] = Field(default_factory=list)
    pods: list[PodRule] = Field(default_factory=list, description="rules run inside the platform's pods "
                                "(workload, path, patterns, age): listed with find, then removed file by file")
    allowed_prefixes: list[Path] = Field(default_factory=lambda: [Path(p) for p in DEFAULT_ALLOWED],
                                         description="every rule's path must lie below one of these")

    @model_validator(mode="after")
    def _inside_allowed_prefixes(self) -> Settings:
        for index, rule in enumerate(self.rules):
            why = outside(rule.path, self.allowed_prefixes)
            if why:
                raise ValueError(f"rules.{index}.path: refused: {why}")
        return self


@dataclass(frozen=True)
class Candidate:
    """Facts about one file that matched a rule's pattern."""

    path: str
    size: int
    mtime: float
    is_symlink: bool
    is_regular: bool
    inside_root: bool
    open_by: tuple[int, ...] = ()
    ident: tuple[int, int] = (0, 0)
    holder_unknown: bool = False  # some processes were not inspectable and the file is not ours


@dataclass(frozen=True)
class Decision:
    candidate: Candidate
    delete: bool
    reason: str


@dataclass
class RuleOutcome:
    path: str
    removed: list[dict[str, Any]] = field(default_factory=list)
    planned: list[dict[str, Any]] = field(default_factory=list)
    kept: list[dict[str, Any]] = field(default_factory=list)
    recent: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)


def is_live_log(name: str) -> bool:
    """A file that is still written to: ``*.log`` with no rotation suffix and no date stamp."""
    return name.endswith(".log") and not _DATE_STAMP.search(name)


def decide(c: Candidate, rule: Rule, now: float) -> Decision:
    """Pure decision for one matched file; the order of checks is the order of safety."""
    age_days = (now - c.mtime) / DAY
    if c.is_symlink:
        return Decision(c, False, "symlink: never followed or deleted")
    if not c.inside_root:
        return Decision(c, False, "resolves outside the configured directory")
    if not c.is_regular:
        return Decision(c, False, "not a regular file")
    if age_days <= rule.max_age_days:
        return Decision(c, False, f"newer than {rule.max_age_days:g} days")
    if c.open_by:
        pids = ", ".join(str(p) for p in c.open_by[:5])
        return Decision(c, False, f"open by process {pids}")
    if c.holder_unknown:
        return Decision(c, False, HOLDER_UNKNOWN)
    if rule.keep_live and is_live_log(os.path.basename(c.path)):
        return Decision(c, False, "live log (no rotation suffix; keep_live is on)")
    return Decision(c, True, f"older than {rule.max_age_days:g} days ({age_days:.1f} days)")


def _within(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):
        return False


def scan_rule(rule: Rule, root: Path, held: open_files.OpenFiles, out: RuleOutcome) -> list[Candidate]:
    """Matched files under ``root`` (already resolved) with their facts; errors go to ``out``."""
    found: list[Candidate] = []

    def onerror(exc: OSError) -> None:
        out.errors.append({"path": str(exc.filename), "reason": exc.strerror or type(exc).__name__})

    uid = os.geteuid()
    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror, followlinks=False):
        if not rule.recursive:
            dirnames.clear()
        for name in filenames:
            if not any(fnmatch.fnmatchcase(name, pat) for pat in rule.patterns):
                continue
            path = Path(dirpath) / name
            try:
                st = path.lstat()
            except OSError as exc:
                out.errors.append({"path": str(path), "reason": exc.strerror or type(exc).__name__})
                continue
            link = stat.S_ISLNK(st.st_mode)
            ident = (st.st_dev, st.st_ino)
            found.append(Candidate(
                path=str(path), size=st.st_size, mtime=st.st_mtime, is_symlink=link,
                is_regular=stat.S_ISREG(st.st_mode), inside_root=not link and _within(path, root),
                open_by=tuple(sorted(held.pids_holding(ident))), ident=ident,
                holder_unknown=not held.complete and st.st_uid != uid))
    return found


def _open_dir_nofollow(root: Path, rel: Path) -> int:
    """A descriptor of ``root/rel`` reached one component at a time, never through a symlink."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        for part in rel.parts:
            child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _delete(c: Candidate, root: Path) -> str | None:
    """Unlink ``c`` if it is still the same regular file inside ``root``; the error text otherwise.

    The directory is opened without following symlinks and the name is unlinked relative to that
    descriptor, so a directory swapped for a symlink after the scan cannot redirect the delete.
    """
    path = Path(c.path)
    try:
        rel = path.parent.relative_to(root)
    except ValueError:
        return "parent directory now resolves outside the configured directory"
    try:
        fd = _open_dir_nofollow(root, rel)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            return "parent directory is now a symlink or not a directory; left alone"
        return exc.strerror or type(exc).__name__
    try:
        st = os.stat(path.name, dir_fd=fd, follow_symlinks=False)
        if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != c.ident:
            return "file changed since it was examined; left alone"
        os.unlink(path.name, dir_fd=fd)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    finally:
        os.close(fd)
    return None


def apply_rule(rule: Rule, held: open_files.OpenFiles, now: float, dry_run: bool) -> RuleOutcome:
    out = RuleOutcome(str(rule.path))
    if not rule.path.is_dir():
        out.errors.append({"path": str(rule.path), "reason": "not a directory (or does not exist)"})
        return out
    root = rule.path.resolve()
    for c in scan_rule(rule, root, held, out):
        d = decide(c, rule, now)
        entry = {"path": c.path, "bytes": c.size, "age_days": round((now - c.mtime) / DAY, 1)}
        if not d.delete:
            if d.reason.startswith("newer than"):
                out.recent += 1
            else:
                out.kept.append({**entry, "reason": d.reason})
        elif dry_run:
            out.planned.append(entry)
        else:
            error = _delete(c, root)
            if error:
                out.errors.append({"path": c.path, "reason": error})
            else:
                out.removed.append(entry)
    return out


def summarize(outcomes: list[RuleOutcome], dry_run: bool, held: open_files.OpenFiles) -> Result:
    """Pure: totals, figures and status from the per-rule outcomes."""
    done = [e for o in outcomes for e in (o.planned if dry_run else o.removed)]
    files, size = len(done), sum(int(e["bytes"]) for e in done)
    kept = sum(len(o.kept) for o in outcomes)
    errors = [e for o in outcomes for e in o.errors]
    details: dict[str, Any] = {
        "dry_run": dry_run,
        "rules": [{"path": o.path, "would_remove" if dry_run else "removed": (o.planned if dry_run else o.removed)[:LISTED],
                   "kept": o.kept[:LISTED], "recent_files": o.recent, "errors": o.errors[:LISTED]} for o in outcomes],
        "open_file_scan": {"processes_scanned": held.processes_scanned, "processes_unreadable": held.unreadable,
                           "processes_hidden": held.hidden},
    }
    verb = "would remove" if dry_run else "removed"
    figures = {"files_to_remove" if dry_run else "files_removed": float(files),
               "bytes_to_remove" if dry_run else "bytes_removed": float(size), "files_kept": float(kept)}
    summary = f"{verb} {files} files ({size / 2**20:.1f} MiB) in {len(outcomes)} directories; kept {kept} old files"
    if held.unreadable:
        summary += f"; {held.unreadable} processes could not be checked for open files"
    unknown = sum(1 for o in outcomes for k in o.kept if k["reason"] == HOLDER_UNKNOWN)
    if unknown:
        summary += (f"; {unknown} old files of other users kept: their writer may be a process that could not "
                    "be inspected (run as root to clean them)")
    if errors:
        first = errors[0]
        return Result(Status.WARNING, f"{summary}; {len(errors)} errors (first: {first['path']}: {first['reason']})",
                      details, figures)
    return Result(Status.WARNING if unknown else Status.OK, summary, details, figures)


def run(ctx: Context, settings: Settings) -> Result:
    if settings.pods:
        return clean_pods(ctx, settings.pods, run_host if settings.rules else None, settings)
    return run_host(ctx, settings)


def run_host(ctx: Context, settings: Settings) -> Result:
    if not settings.rules:
        return Result(Status.SKIPPED, "no log-cleanup rules configured")
    held = open_files.scan()
    now = ctx.clock.now().timestamp()
    outcomes = [apply_rule(rule, held, now, ctx.dry_run) for rule in settings.rules]
    for o in outcomes:
        for e in o.removed:
            ctx.log.info("log-cleanup removed %s (%d bytes)", e["path"], e["bytes"])
    return summarize(outcomes, ctx.dry_run, held)


def demo_settings(home: Path) -> dict[str, Any]:
    return {"rules": [{"path": str(home / "logs-app"), "max_age_days": 7}], "allowed_prefixes": [str(home)]}
