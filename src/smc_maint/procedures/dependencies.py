"""``dependencies``: outdated and vulnerable packages of the platform's components (Python, Node,
Rust) from tool reports or by running the tools, and container image tags from manifests.
Major-version updates are called out; a source that cannot be read is ``unknown``, never ``ok``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from ..adapters.input_files import DEFAULT_MAX_BYTES, InputFileError, load_documents, unexpected
from ..adapters.platform import PlatformError
from ..config.model import Section
from ..context import Context
from ..deps import images, in_pods, reports, tools
from ..deps.in_pods import PodTool
from ..result import Result, Status, worst

ReportKind = Literal["pip-audit", "pip-outdated", "npm-outdated", "npm-audit", "cargo-audit"]


class ReportFile(Section):
    kind: ReportKind
    path: Path
    component: str = Field("", description="which platform component (e.g. trading-engine)")


class ToolRun(Section):
    kind: ReportKind
    cwd: Path = Field(description="project directory the tool runs in")
    component: str = ""
    executable: str | None = Field(None, description="e.g. the component's venv python for pip-outdated")
    extra_args: list[str] = Field(default_factory=list)


class Settings(Section):
    reports: list[ReportFile] = Field(default_factory=list)
    tools: list[ToolRun] = Field(default_factory=list, description="run only when the tool is installed")
    manifests: list[Path] = Field(default_factory=list, description="Kubernetes YAML files or directories")
    image_latest: dict[str, str] = Field(default_factory=dict, description="repository -> newest released tag")
    critical_severities: list[str] = Field(default_factory=lambda: ["critical"])
    warn_on_major_updates: bool = False
    tool_timeout_seconds: float = Field(300, gt=0)
    in_pods: list[PodTool] = Field(default_factory=list, description="pip/npm outdated run inside a running pod "
                                   "of each workload (a tool missing in the image is a reason, not a crash)")
    live_images: bool = Field(True, description="on platform.kind kubernetes, check the images the Deployments "
                              "and StatefulSets run now")
    max_file_bytes: int = Field(DEFAULT_MAX_BYTES, gt=0, description="larger report/manifest files are findings, "
                                "not parsed")


def collect(settings: Settings, pod_sources: list[tuple[str, str, Any]] | None = None
            ) -> tuple[reports.Parsed, list[str]]:
    """Every configured report and tool (and what ran in pods), parsed and merged (updates-review
    reads the majors too)."""
    merged = reports.Parsed()
    errors: list[str] = []
    sources: list[tuple[str, str, Any]] = list(pod_sources or [])
    for r in settings.reports:
        try:
            docs = load_documents(r.path, settings.max_file_bytes)
        except InputFileError as exc:
            errors.append(f"{r.path}: {exc}")
            continue
        if len(docs) != 1:
            errors.append(f"{r.path}: expected one report document, found {len(docs)}")
            continue
        sources.append((r.kind, r.component or r.path.stem, docs[0]))
    for t in settings.tools:
        try:
            sources.append((t.kind, t.component or t.cwd.name,
                            tools.run_tool(t.kind, t.cwd, t.executable, t.extra_args, settings.tool_timeout_seconds)))
        except tools.ToolUnavailable as exc:
            errors.append(f"{t.component or t.cwd.name}: {exc}")
    for kind, component, doc in sources:
        try:
            parsed = reports.parse(kind, doc, component)
        except reports.ReportError as exc:
            errors.append(f"{component} ({kind}): {exc}")
            continue
        except Exception as exc:  # hostile input (wrong types, deep nesting): this report is the finding
            errors.append(f"{component} ({kind}): {unexpected(exc)}")
            continue
        merged.outdated.extend(parsed.outdated)
        merged.vulnerable.extend(parsed.vulnerable)
        merged.notes.extend(parsed.notes)
    return merged, errors


def summarize(parsed: reports.Parsed, errors: list[str], image_refs: list[images.ImageRef],
              settings: Settings, platform_sources: int = 0) -> Result:
    """Pure: statuses and the summary from everything found."""
    statuses = [Status.OK]
    problems: list[str] = []
    headline: list[str] = []
    critical = [v for v in parsed.vulnerable if v.severity in settings.critical_severities]
    if critical:
        statuses.append(Status.CRITICAL)
    if parsed.vulnerable:
        statuses.append(Status.WARNING)
        for v in parsed.vulnerable:
            problems.append(f"{v.component}/{v.name} {v.version or ''} vulnerable ({v.severity}, {v.ids[0]}"
                            + (f", fixed in {', '.join(v.fixed_in)}" if v.fixed_in else ", no fix") + ")")
    by_severity = Counter(v.severity for v in parsed.vulnerable)
    named = [f"{v.component}/{v.name}" for v in parsed.vulnerable if v.severity in ("critical", "high")]
    if parsed.vulnerable:
        counts = ", ".join(f"{n} {sev}" for sev, n in sorted(by_severity.items()))
        headline.append(f"{len(parsed.vulnerable)} vulnerable ({counts})" + (f" incl. {', '.join(named)}" if named else ""))
    else:
        headline.append("0 vulnerable")
    majors = [o for o in parsed.outdated if o.major]
    headline.append(f"{len(parsed.outdated)} outdated" + (
        f" ({len(majors)} major: {', '.join(f'{o.name} {o.current} -> {o.latest}' for o in majors)})" if majors else ""))
    if majors and settings.warn_on_major_updates:
        statuses.append(Status.WARNING)
    image_rows = []
    for ref in image_refs:
        found = images.image_problems(ref, settings.image_latest)
        image_rows.append({**asdict(ref), "problems": found})
        if found:
            problems.append(f"image {ref.workload}/{ref.container} {ref.image}: {'; '.join(found)}")
    mutable = sorted({r["image"] for r in image_rows if any(p.startswith("mutable") for p in r["problems"])})
    behind = sorted({r["image"] for r in image_rows if any("available" in p for p in r["problems"])})
    if mutable:
        statuses.append(Status.WARNING)
    headline.append(f"{len(image_refs)} image reference(s)"
                    + (f", mutable tags: {', '.join(mutable)}" if mutable else "")
                    + (f", behind the newest release: {', '.join(behind)}" if behind else ""))
    if errors:
        statuses.append(Status.UNKNOWN)
        problems.extend(errors)
        headline.append("could not check: " + "; ".join(errors))
    checked = len(settings.reports) + len(settings.tools) + len(settings.manifests) + platform_sources
    if not checked:
        return Result(Status.SKIPPED, "no dependency reports, tools or manifests configured")
    summary = "; ".join(headline)
    details = {"outdated": [{**asdict(o), "major": o.major} for o in parsed.outdated],
               "vulnerable": [asdict(v) for v in parsed.vulnerable], "images": image_rows,
               "notes": parsed.notes, "errors": errors, "problems": problems}
    figures = {"dependencies_outdated": float(len(parsed.outdated)), "dependencies_major_updates": float(len(majors)),
               "dependencies_vulnerable": float(len(parsed.vulnerable)),
               "dependencies_vulnerable_critical": float(by_severity.get("critical", 0)),
               "images_mutable_tags": float(len(mutable))}
    return Result(worst(statuses), summary, details, figures)


def run(ctx: Context, settings: Settings) -> Result:
    use_live = settings.live_images and ctx.cfg.config.platform.kind == "kubernetes"
    pod_sources: list[tuple[str, str, Any]] = []
    platform_errors: list[str] = []
    live: list[images.ImageRef] = []
    if settings.in_pods or use_live:
        try:
            platform = ctx.platform()
            pod_sources, platform_errors = in_pods.collect(platform, settings.in_pods)
            if use_live:
                live = in_pods.live_images(platform)
        except PlatformError as exc:
            platform_errors.append(f"platform: {exc}")
    parsed, errors = collect(settings, pod_sources)
    errors = platform_errors + errors
    refs, notes = images.from_manifests(settings.manifests, settings.max_file_bytes)
    errors.extend(notes)
    return summarize(parsed, errors, live + refs, settings, len(settings.in_pods) + int(use_live))


def demo_settings(home: Path) -> dict[str, Any]:
    from ..deps.demo_reports import write_demo_reports

    return write_demo_reports(home / "deps")
