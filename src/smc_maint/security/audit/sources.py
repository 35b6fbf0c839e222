"""Where the audited objects come from: a directory of ``kubectl get -o json`` dumps, or the
platform seam. Both give an :class:`Inventory`; a source that cannot be read is an error entry
(path or API call, and why) and never hides the others.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from ...adapters.platform.base import Platform, PlatformError
from .objects import CLUSTER_SCOPED, CUSTOM, KINDS, Inventory

SUFFIXES = (".json", ".yaml", ".yml")


class DumpError(Exception):
    """One dump file that cannot be used (the message is the reason, never its content)."""


def parse_text(text: str) -> list[Any]:
    """JSON, else YAML (possibly several documents). Error messages name a line, not the content."""
    try:
        return [json.loads(text)]
    except ValueError:
        pass
    try:
        return [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise DumpError(f"malformed JSON/YAML{where}: {getattr(exc, 'problem', None) or 'syntax error'}") from None


def add_document(inv: Inventory, doc: Any, source: str) -> int:
    """Add a List (``kind: List`` or ``PodList``...) or a single object; returns how many were used."""
    if not isinstance(doc, dict):
        raise DumpError("not a JSON/YAML object (expected a List or a Kubernetes object)")
    kind = str(doc.get("kind") or "")
    if "items" in doc and (kind == "List" or kind.endswith("List")):
        items = doc.get("items")
        if not isinstance(items, list):
            raise DumpError(f"{kind} has no 'items' list")
        implied = kind[:-4] if kind.endswith("List") and kind != "List" else None
        used, bad = 0, []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                bad.append(index)
                continue
            used += inv.add(item, implied)
        if bad:
            inv.errors.append((source, f"items {', '.join(map(str, bad[:10]))} are not objects (skipped)"))
        return used
    if not kind:
        raise DumpError("object has no 'kind'")
    return int(inv.add(doc))


def load_file(inv: Inventory, path: Path, max_bytes: int) -> None:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DumpError(f"{size} bytes is over the {max_bytes}-byte limit (procedures.security-audit.max_file_mib)")
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise DumpError(f"grew over the {max_bytes}-byte limit while being read")
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DumpError("not UTF-8 text") from None
    except OSError as exc:
        raise DumpError(f"cannot read: {exc.strerror or type(exc).__name__}") from None
    docs = parse_text(text)
    if not docs:
        raise DumpError("empty file")
    for doc in docs:
        add_document(inv, doc, str(path))


def from_dump_dir(path: Path, *, max_bytes: int) -> Inventory:
    """Every ``*.json``/``*.yaml``/``*.yml`` under ``path`` (recursively, in name order)."""
    inv = Inventory(sources=[str(path)])
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
        if not files:
            inv.errors.append((str(path), "no *.json/*.yaml dump files in the directory"))
    else:
        inv.errors.append((str(path), "no such file or directory"))
        files = []
    for file in files:
        try:
            load_file(inv, file, max_bytes)
        except DumpError as exc:
            inv.errors.append((str(file), str(exc)))
    return inv


def from_platform(platform: Platform, namespaces: Sequence[str]) -> Inventory:
    """The same objects through ``Platform.list_objects`` / ``list_custom`` (404 on a CRD = not installed)."""
    inv = Inventory(sources=[f"{platform.kind}:{','.join(namespaces)}"])
    for kind in KINDS:
        for ns in ([None] if kind in CLUSTER_SCOPED else namespaces):
            where = f"{platform.kind}:{kind}" + (f" in {ns}" if ns else "")
            try:
                for obj in platform.list_objects(kind, ns):
                    inv.add(obj, kind)
            except PlatformError as exc:
                inv.errors.append((where, str(exc)))
    for kind, (group, version, plural) in CUSTOM.items():
        for ns in namespaces:
            try:
                for obj in platform.list_custom(group, version, plural, ns):
                    inv.add(obj, kind)
            except PlatformError as exc:
                if exc.status == 404:
                    inv.notes.append(f"{plural}.{group} is not installed: {kind} checks had nothing to read")
                    break
                inv.errors.append((f"{platform.kind}:{plural}.{group} in {ns}", str(exc)))
    return inv
