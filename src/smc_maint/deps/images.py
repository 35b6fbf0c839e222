"""Container images referenced by Kubernetes manifests, and what is wrong with their tags."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..adapters.input_files import (
    DEFAULT_MAX_BYTES,
    YAML_SUFFIXES,
    InputFileError,
    load_documents,
    parse_text,
    read_limited,
    unexpected,
)
from .reports import is_major_update


@dataclass(frozen=True)
class ImageRef:
    manifest: str
    workload: str
    container: str
    image: str
    repository: str
    tag: str | None
    digest: str | None


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """``registry:5000/repo:tag@sha256:...`` -> (repository, tag, digest)."""
    rest, _, digest = image.partition("@")
    last = rest.rsplit("/", 1)[-1]
    if ":" in last:
        repo, tag = rest.rsplit(":", 1)
        return repo, tag, digest or None
    return rest, None, digest or None


def _pod_spec(doc: Mapping[str, Any]) -> Mapping[str, Any] | None:
    kind = doc.get("kind")
    spec = doc.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec") or {})
    template = spec.get("template") or {}
    return template.get("spec") if isinstance(template, dict) else None


def from_manifests(paths: Iterable[Path], max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[list[ImageRef], list[str]]:
    """Images of every container and init container; unreadable files become notes, not errors."""
    refs: list[ImageRef] = []
    notes: list[str] = []
    files: list[Path] = []
    for p in paths:
        files.extend(sorted(f for f in p.rglob("*") if f.suffix in (".yaml", ".yml")) if p.is_dir() else [p])
    for f in files:
        try:
            docs = load_documents(f, max_bytes) if f.suffix in YAML_SUFFIXES else \
                parse_text(read_limited(f, max_bytes).decode("utf-8", "replace"), ".yaml")
        except InputFileError as exc:
            notes.append(f"{f}: cannot read manifest: {exc}")
            continue
        try:
            refs.extend(_images(docs, f))
        except Exception as exc:  # wrong types in a hostile manifest: a note, the other files still count
            notes.append(f"{f}: cannot read manifest: {unexpected(exc)}")
    return refs, notes


def _images(docs: list[Any], f: Path) -> list[ImageRef]:
    refs: list[ImageRef] = []
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        items = doc.get("items") if doc.get("kind") == "List" else [doc]
        for item in items or []:
            pod = _pod_spec(item) if isinstance(item, dict) else None
            if not pod:
                continue
            workload = f"{item.get('kind')}/{(item.get('metadata') or {}).get('name', '?')}"
            for c in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
                image = str(c.get("image", ""))
                repo, tag, digest = split_image(image)
                refs.append(ImageRef(str(f), workload, str(c.get("name", "?")), image, repo, tag, digest))
    return refs


def image_problems(ref: ImageRef, latest: Mapping[str, str]) -> list[str]:
    """Mutable tags (none or ``latest``) and known newer releases (``latest`` maps repository -> tag)."""
    problems = []
    if ref.digest is None and (ref.tag is None or ref.tag == "latest"):
        problems.append(f"mutable tag '{ref.tag or '(none)'}': pin a version (and ideally a digest)")
    newest = latest.get(ref.repository)
    if newest and ref.tag and newest != ref.tag and ref.tag != "latest":
        kind = "major update" if is_major_update(ref.tag, newest) else "update"
        problems.append(f"{kind} available: {ref.tag} -> {newest}")
    return problems
