"""The user's DR manifests: read, and confined to the DR namespace before anything is applied."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

# Kinds without a namespace: applying one from a DR directory would change the whole cluster.
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass",
                  "CustomResourceDefinition", "Node", "PriorityClass", "ValidatingWebhookConfiguration",
                  "MutatingWebhookConfiguration", "APIService"}


class ManifestProblem(Exception):
    """A DR manifest cannot be applied; the message names the file and object."""


def check(obj: Any, where: str, namespace: str) -> dict[str, Any]:
    """One object, validated: a mapping with kind and metadata.name, namespaced, and either without a
    namespace or in the DR namespace. Pure."""
    if not isinstance(obj, dict):
        raise ManifestProblem(f"{where}: not a Kubernetes object (a mapping with kind and metadata)")
    kind, meta = obj.get("kind"), obj.get("metadata")
    if not isinstance(kind, str) or not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        raise ManifestProblem(f"{where}: needs kind and metadata.name")
    if kind in CLUSTER_SCOPED:
        raise ManifestProblem(f"{where}: {kind}/{meta['name']} is cluster-scoped; a DR drill only creates "
                              f"objects inside its namespace {namespace}")
    other = meta.get("namespace")
    if other not in (None, namespace):
        raise ManifestProblem(f"{where}: {kind}/{meta['name']} names namespace {other!r}; DR manifests may only "
                              f"target the DR namespace {namespace}")
    return {**obj, "metadata": {**meta, "namespace": namespace}}


def load(directory: Path, namespace: str) -> list[dict[str, Any]]:
    """Every object of every *.yaml / *.yml file in ``directory`` (sorted by name)."""
    if not directory.is_dir():
        raise ManifestProblem(f"procedures.dr-drill.manifests_dir {directory} is not a directory")
    out: list[dict[str, Any]] = []
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        try:
            docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        except (OSError, yaml.YAMLError) as exc:
            raise ManifestProblem(f"{path}: cannot read YAML ({str(exc).splitlines()[0]})") from None
        for i, doc in enumerate(docs):
            if doc is None:
                continue
            out.append(check(doc, f"{path} (document {i + 1})", namespace))
    return out
