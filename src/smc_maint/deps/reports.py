"""Parsers for the JSON the dependency tools emit; pure functions from a parsed document to findings.

Shapes: pip-audit ``-f json``, ``pip list --outdated --format json``, ``npm outdated --json``,
``npm audit --json`` (auditReportVersion 2), ``cargo audit --json``. See tests/fixtures/deps/README.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["pip-audit", "pip-outdated", "npm-outdated", "npm-audit", "cargo-audit"]
KINDS: tuple[str, ...] = ("pip-audit", "pip-outdated", "npm-outdated", "npm-audit", "cargo-audit")
_NUM = re.compile(r"^\D*(\d+)(?:\.(\d+))?")


class ReportError(ValueError):
    """The document is not the shape its kind promises; the message says what is missing."""


@dataclass(frozen=True)
class Outdated:
    ecosystem: str
    component: str
    name: str
    current: str | None
    latest: str
    wanted: str | None = None

    @property
    def major(self) -> bool:
        return is_major_update(self.current, self.latest)


@dataclass(frozen=True)
class Vulnerable:
    ecosystem: str
    component: str
    name: str
    version: str | None
    ids: tuple[str, ...]
    severity: str  # critical | high | medium | low | unknown
    fixed_in: tuple[str, ...] = ()
    title: str = ""
    fix_is_major: bool = False


@dataclass
class Parsed:
    outdated: list[Outdated] = field(default_factory=list)
    vulnerable: list[Vulnerable] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def is_major_update(current: str | None, latest: str | None) -> bool:
    """A change of the first version number, or of the second while it is 0.x (semver: 0.x minors break)."""
    if not current or not latest:
        return False
    a, b = _NUM.match(current), _NUM.match(latest)
    if not a or not b:
        return False
    if int(b.group(1)) != int(a.group(1)):
        return int(b.group(1)) > int(a.group(1))
    if int(a.group(1)) == 0 and a.group(2) is not None and b.group(2) is not None:
        return int(b.group(2)) > int(a.group(2))
    return False


def _severity(raw: Any) -> str:
    s = str(raw or "unknown").lower()
    return {"moderate": "medium", "info": "low"}.get(s, s if s in ("critical", "high", "medium", "low") else "unknown")


def _need(cond: bool, kind: str, what: str) -> None:
    if not cond:
        raise ReportError(f"not a {kind} report: {what}")


def parse(kind: str, doc: Any, component: str) -> Parsed:
    """Findings of one report; :class:`ReportError` when ``doc`` is not that kind of report."""
    out = Parsed()
    if kind == "pip-audit":
        deps = doc.get("dependencies") if isinstance(doc, dict) else doc
        if not isinstance(deps, list):
            raise ReportError(f"not a {kind} report: expected a 'dependencies' list")
        for d in deps:
            if d.get("skip_reason"):
                out.notes.append(f"{component}: {d['name']} not audited: {d['skip_reason']}")
            for v in d.get("vulns") or []:
                # pip-audit (PyPI advisory data) carries no severity: say so rather than guess
                out.vulnerable.append(Vulnerable("python", component, d["name"], d.get("version"),
                                                 (v["id"], *v.get("aliases", [])), "unknown",
                                                 tuple(v.get("fix_versions") or ()), (v.get("description") or "")[:200],
                                                 any(is_major_update(d.get("version"), f) for f in v.get("fix_versions") or ())))
    elif kind == "pip-outdated":
        _need(isinstance(doc, list), kind, "expected a list of packages")
        for d in doc:
            _need("latest_version" in d, kind, "entries need 'latest_version'")
            out.outdated.append(Outdated("python", component, d["name"], d.get("version"), d["latest_version"]))
    elif kind == "npm-outdated":
        _need(isinstance(doc, dict), kind, "expected an object keyed by package")
        for name, info in doc.items():
            for entry in info if isinstance(info, list) else [info]:  # workspaces: a list per package
                _need(isinstance(entry, dict) and "latest" in entry, kind, f"{name} has no 'latest'")
                if entry.get("current") is None:
                    out.notes.append(f"{component}: {name} is not installed (wanted {entry.get('wanted')})")
                out.outdated.append(Outdated("node", entry.get("dependent") or component, name, entry.get("current"),
                                             entry["latest"], entry.get("wanted")))
    elif kind == "npm-audit":
        _need(isinstance(doc, dict) and isinstance(doc.get("vulnerabilities"), dict), kind,
              "expected auditReportVersion 2 with a 'vulnerabilities' object (npm 7+)")
        for name, v in doc["vulnerabilities"].items():
            advisories = [x for x in v.get("via") or [] if isinstance(x, dict)]
            if not advisories:
                continue  # vulnerable only through another package, which has its own entry
            fix = v.get("fixAvailable")
            fixed = (f"{fix['name']}@{fix['version']}",) if isinstance(fix, dict) else ("npm audit fix",) if fix else ()
            ids = tuple(str(a.get("url") or a.get("source")).rsplit("/", 1)[-1] for a in advisories)
            out.vulnerable.append(Vulnerable("node", component, name, None, ids, _severity(v.get("severity")), fixed,
                                             str(advisories[0].get("title", ""))[:200],
                                             bool(isinstance(fix, dict) and fix.get("isSemVerMajor"))))
    elif kind == "cargo-audit":
        vulns = (doc.get("vulnerabilities") or {}) if isinstance(doc, dict) else None
        if not isinstance(vulns, dict) or not isinstance(vulns.get("list", []), list):
            raise ReportError(f"not a {kind} report: expected 'vulnerabilities.list'")
        for v in vulns.get("list", []):
            adv, pkg = v.get("advisory") or {}, v.get("package") or {}
            patched = tuple((v.get("versions") or {}).get("patched") or ())
            out.vulnerable.append(Vulnerable("rust", component, pkg.get("name", adv.get("package", "?")),
                                             pkg.get("version"), (adv.get("id", "?"), *adv.get("aliases", [])),
                                             "unknown", patched, str(adv.get("title", ""))[:200]))
        for kind_name, items in (doc.get("warnings") or {}).items():
            for w in items or []:
                pkg = w.get("package") or {}
                out.notes.append(f"{component}: {pkg.get('name')} {pkg.get('version')} is {kind_name} "
                                 f"({(w.get('advisory') or {}).get('id', '-')})")
    else:
        raise ReportError(f"unknown report kind {kind!r} (known: {', '.join(KINDS)})")
    return out
