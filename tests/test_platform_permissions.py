"""The one permissions table: complete for the seam, consistent with the procedures."""

from __future__ import annotations

import inspect

from smc_maint.adapters.platform import Platform, permissions
from smc_maint.k8s.rbac import rules
from smc_maint.registry import PROCEDURES


def test_every_seam_method_has_permissions_and_every_procedure_entry_is_known() -> None:
    seam = {n for n, _ in inspect.getmembers(Platform, inspect.isfunction) if not n.startswith("_")}
    keyed = {k.split(":")[0] for k in permissions.METHODS}
    assert seam <= keyed, seam - keyed
    for pid, methods in permissions.PROCEDURE_USES.items():
        assert pid in PROCEDURES, pid
        assert all(m in permissions.METHODS for m in methods), (pid, methods)


def test_rules_cover_exactly_the_registered_procedures() -> None:
    only_certs = rules(procedure_ids=["certificates"])
    assert [(r.api_groups, r.resources, r.verbs, r.cluster) for r in only_certs] == [
        (("cert-manager.io",), ("certificates",), ("list",), False)]
    assert rules(procedure_ids=["backup", "trading-summary"]) == []  # no platform calls, no grants
    everything = rules()
    dr = {"deployments", "statefulsets", "services", "configmaps"}  # the DR drill's namespace (docs/quarterly.md)
    assert all(not r.cluster for r in everything
               if r.resources not in (("nodes",), ("clusterroles",), ("clusterrolebindings",), ("namespaces",))
               and not set(r.resources) <= dr)
    assert not any(r.resources == ("secrets",) for r in everything)
