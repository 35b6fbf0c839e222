"""``updates-review`` (quarterly): what runs, how old it is, what to plan.

The runbook calls ``kubectl version --short`` (removed from kubectl). This review reads the versions
actually running (Kubernetes ``/version`` through the platform seam, PostgreSQL
``server_version_num``, pgbouncer ``SHOW VERSION``, workload images, configured runtimes), weighs
them against a dated endoflife.date snapshot, computes the next PostgreSQL minor release, looks
for newer image tags and records the quarter's performance baseline.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pydantic import Field

from ..adapters import pgbouncer as pgb
from ..adapters import postgres
from ..adapters.platform.base import PlatformError
from ..config.model import Section, read_secret
from ..context import Context
from ..registry import GROUPS
from ..result import Result, Status, worst
from ..updates import baseline, eol, pg_release, tags
from .dependencies import Settings as DependenciesSettings
from .dependencies import collect as collect_dependencies
from .pgbouncer import Settings as PgbouncerSettings


class Registry(Section):
    url: str = Field(pattern=r"^https?://", description="base URL of the registry's API, e.g. http://127.0.0.1:5000")


class Settings(Section):
    warn_days_before_eol: int = Field(180, ge=0, description="WARNING this many days before end of life")
    eol_data_max_age_days: int = Field(365, ge=1, description="WARNING when the EOL data is older than this "
                                       "(refresh with `smc-maint updates refresh-eol`)")
    runtimes: dict[str, str] = Field(default_factory=dict, description="versions the platform runs that cannot be "
                                     "asked, e.g. {python: '3.11.9', nodejs: '20.11.0'}")
    images: list[str] = Field(default_factory=list, description="images to check besides the workloads' images")
    registries: dict[str, Registry] = Field(default_factory=dict, description="registry host -> API URL "
                                            "(default https://<host>)")
    tags_file: Path | None = Field(None, description="offline fallback: JSON {repository: [tags]}")
    query_registries: bool = Field(True, description="ask registries for tags (else only tags_file)")
    registry_deadline_seconds: float = Field(30, gt=0, description="total time for all tag look-ups")
    pgbouncer_version: bool = Field(True, description="SHOW VERSION on procedures.pgbouncer's admin console")


def pg_version_text(num: int) -> str:
    return f"{num // 10000}.{num % 10000}" if num >= 100000 else f"{num // 10000}.{num // 100 % 100}.{num % 100}"


def _versions(ctx: Context, settings: Settings, notes: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    try:
        with ctx.connect() as conn:
            found["postgresql"] = pg_version_text(postgres.server_version_num(conn))
    except Exception as exc:
        notes.append(f"PostgreSQL version: {exc}")
    if ctx.platform_override is not None or ctx.cfg.config.platform.kind == "kubernetes":
        try:
            v = ctx.platform().server_version()
            found["kubernetes"] = v.git_version.lstrip("v").split("+")[0].split("-")[0]
        except PlatformError as exc:
            notes.append(f"Kubernetes version: {exc}")
    bouncer = ctx.cfg.procedure_settings.get("pgbouncer")
    if settings.pgbouncer_version and isinstance(bouncer, PgbouncerSettings) and bouncer.host:
        try:
            rows = pgb.show(bouncer.host, bouncer.port, bouncer.user,
                            read_secret(bouncer.password_env, bouncer.password_file), ["VERSION"],
                            bouncer.connect_timeout_seconds)
            text = str(next(iter(rows["VERSION"][0].values()))) if rows["VERSION"] else ""
            found["pgbouncer"] = text.split()[-1] if text else ""
        except pgb.PgbouncerUnavailable as exc:
            notes.append(f"pgbouncer version: {exc}")
    for product, version in settings.runtimes.items():
        found[product] = version
    return {k: v for k, v in found.items() if v}


def judge_eol(verdicts: list[eol.Verdict], warn_days: int) -> tuple[Status, list[str]]:
    """Pure: CRITICAL past end of life, WARNING within ``warn_days`` of it."""
    statuses, lines = [Status.OK], []
    for v in verdicts:
        if v.note and v.cycle is None:
            statuses.append(Status.UNKNOWN)
            lines.append(v.note)
            continue
        if v.days_to_eol is not None and v.days_to_eol < 0:
            statuses.append(Status.CRITICAL)
            lines.append(f"{v.product} {v.version}: end of life since {v.eol} ({-v.days_to_eol} days)")
        elif v.days_to_eol is not None and v.days_to_eol <= warn_days:
            statuses.append(Status.WARNING)
            lines.append(f"{v.product} {v.version}: end of life in {v.days_to_eol} days ({v.eol})")
        elif v.note:
            statuses.append(Status.CRITICAL)
            lines.append(f"{v.product} {v.version}: {v.note}")
    return worst(statuses), lines


def _images(ctx: Context, settings: Settings, notes: list[str]) -> list[str]:
    found = list(settings.images)
    if ctx.platform_override is not None or ctx.cfg.config.platform.kind == "kubernetes":
        try:
            for w in ctx.platform().list_workloads():
                found.extend(w.images)
        except PlatformError as exc:
            notes.append(f"workload images: {exc}")
    return sorted(set(found))


def _image_updates(images: list[str], settings: Settings, notes: list[str]) -> list[dict[str, Any]]:
    offline: dict[str, list[str]] = {}
    if settings.tags_file is not None:
        try:
            offline = {str(k): [str(t) for t in v] for k, v in json.loads(settings.tags_file.read_text()).items()}
        except (OSError, ValueError, AttributeError) as exc:
            notes.append(f"tags_file {settings.tags_file}: {exc}")
    end = time.monotonic() + settings.registry_deadline_seconds
    rows: list[dict[str, Any]] = []
    for image in images:
        name = tags.parse_image(image)
        if name.tag is None:
            rows.append({"image": image, "source": None, "note": "no tag (mutable latest)"})
            continue
        source, found = None, None
        if settings.query_registries:
            left = end - time.monotonic()
            reg = settings.registries.get(name.registry)
            try:
                if left <= 0:
                    raise tags.TagsUnavailable("registry deadline used up")
                found = tags.list_tags(name, base_url=reg.url if reg else None, deadline_seconds=left)
                source = "registry"
            except tags.TagsUnavailable as exc:
                notes.append(f"tags of {name.ref}: {exc}")
        if found is None:
            for key in (image.rsplit(":", 1)[0], name.ref, name.repository):
                if key in offline:
                    found, source = offline[key], "tags_file"
                    break
        if found is None:
            rows.append({"image": image, "source": None, "note": "no tag list (registry unreachable, not in "
                         "tags_file)"})
            continue
        newer = tags.classify(name.tag, found)
        rows.append({"image": image, "source": source, "newer": asdict(newer) if newer else None,
                     "note": "" if newer else f"tag {name.tag} is not a version"})
    return rows


def dependency_majors(ctx: Context, notes: list[str]) -> list[dict[str, Any]]:
    """Major updates among the platform's packages, from the dependencies procedure's reports and tools."""
    deps = ctx.cfg.procedure_settings.get("dependencies")
    if not isinstance(deps, DependenciesSettings) or not (deps.reports or deps.tools):
        return []
    parsed, errors = collect_dependencies(deps)
    notes.extend(f"dependencies: {e}" for e in errors)
    return [asdict(o) for o in parsed.outdated if o.major]


def run(ctx: Context, settings: Settings) -> Result:
    now = ctx.clock.now()
    today = now.date()
    notes: list[str] = []
    try:
        snapshot = eol.load(ctx.cfg.home)
    except eol.EolDataError as exc:
        return Result(Status.UNKNOWN, f"EOL data unusable: {exc}", {"error": str(exc)})
    versions = _versions(ctx, settings, notes)
    verdicts = [eol.evaluate(snapshot, p, v, today) for p, v in sorted(versions.items()) if p in eol.PRODUCTS]
    status, lines = judge_eol(verdicts, settings.warn_days_before_eol)
    statuses = [status]
    age = (today - snapshot.snapshot_date).days
    if age > settings.eol_data_max_age_days:
        statuses.append(Status.WARNING)
        lines.append(f"EOL data from {snapshot.snapshot_date} is {age} days old: refresh it "
                     "(`smc-maint updates refresh-eol FILE`)")
    next_pg = pg_release.next_minor_release(today)
    image_rows = _image_updates(_images(ctx, settings, notes), settings, notes)
    majors = [r["image"] for r in image_rows if r.get("newer") and r["newer"]["major"]]
    dep_majors = dependency_majors(ctx, notes)
    changes = baseline.compute(ctx.history, now, [g for g in GROUPS if GROUPS[g]])
    figures: dict[str, float] = {f"{baseline.PREFIX}{c.key}": round(c.value, 3) for c in changes}
    for v in verdicts:
        if v.days_to_eol is not None:
            figures[f"eol_days.{v.product}"] = float(v.days_to_eol)
    figures["images_with_major_update"] = float(len(majors))
    figures["dependency_major_updates"] = float(len(dep_majors))
    details: dict[str, Any] = {
        "versions": versions, "eol_snapshot_date": snapshot.snapshot_date.isoformat(), "eol_source": snapshot.source,
        "eol": [{**asdict(v), "eol": v.eol.isoformat() if v.eol else None} for v in verdicts],
        "next_postgresql_minor_release": next_pg.isoformat(), "images": image_rows,
        "dependency_majors": dep_majors,
        "baseline": [{"key": c.key, "value": c.value, "previous": c.previous,
                      "change_percent": round(c.percent, 1) if c.percent is not None else None} for c in changes],
        "problems": lines, "notes": notes,
        "table": {"columns": ["product", "running", "cycle", "eol", "days to eol", "latest", "behind"],
                  "rows": [[v.product, v.version, v.cycle, v.eol.isoformat() if v.eol else "-", v.days_to_eol,
                            v.latest_in_cycle, v.minors_behind] for v in verdicts]},
    }
    parts = [", ".join(f"{p} {v}" for p, v in sorted(versions.items())) or "no versions read"]
    parts += lines
    parts.append(f"next PostgreSQL minor release {next_pg}")
    if majors:
        parts.append(f"major image updates: {', '.join(majors)}")
    if dep_majors:
        parts.append(f"{len(dep_majors)} dependency major update(s): " +
                     ", ".join(f"{d['name']} {d['current']} -> {d['latest']}" for d in dep_majors[:5]))
    if not versions:
        statuses.append(Status.UNKNOWN)
    return Result(worst(statuses), "; ".join(parts), details, figures)


def demo_settings(home: Path) -> dict[str, Any]:
    return {"query_registries": False}

