"""The Role (namespaced) and ClusterRole (cluster-scoped) rules of the generated manifests.

Derived from the one permissions table (``adapters/platform/permissions.py``) for the procedures
that are registered, so the Role holds exactly the verbs the implemented procedures use. ``list``
on secrets is left out by default: even a metadata-only listing needs it, and the same verb lets
a caller read values. ``--secret-metadata`` adds it for the security audit's secret inventory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..adapters.platform import permissions
from ..registry import PROCEDURES


@dataclass(frozen=True)
class Rule:
    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    why: str
    cluster: bool = False

    def to_k8s(self) -> dict[str, Any]:
        return {"apiGroups": list(self.api_groups), "resources": list(self.resources), "verbs": list(self.verbs)}


def to_rules(perms: Iterable[permissions.Permission], procedure_ids: Iterable[str]) -> list[Rule]:
    """One rule per (group, resource), verbs sorted; ``why`` names the procedures that need it."""
    ids = list(procedure_ids)
    grouped: dict[tuple[str, str, bool], set[str]] = {}
    for p in perms:
        grouped.setdefault((p.api_group, p.resource, p.cluster), set()).add(p.verb)
    out = []
    for (group, resource, cluster), verbs in sorted(grouped.items()):
        users = sorted(pid for pid in ids if any(
            q.api_group == group and q.resource == resource
            for m in permissions.PROCEDURE_USES.get(pid, ()) for q in permissions.METHODS[m]))
        why = ", ".join(users) or "--secret-metadata: the security audit's secret inventory (metadata only)"
        out.append(Rule((group,), (resource,), tuple(sorted(verbs)), why, cluster))
    return out


def rules(*, secret_metadata: bool = False, procedure_ids: Iterable[str] | None = None) -> list[Rule]:
    """Every rule (namespaced and cluster-scoped) the registered procedures need."""
    ids = list(PROCEDURES if procedure_ids is None else procedure_ids)
    extra = [permissions.SECRET_METADATA] if secret_metadata else []
    return to_rules(permissions.for_procedures(ids, extra_methods=extra), ids)
