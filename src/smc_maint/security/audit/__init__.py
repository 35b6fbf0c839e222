"""The monthly security audit: pure checks over raw Kubernetes objects (API JSON shape).

Objects come from a ``kubectl get ... -o json`` dump or from the platform seam (``sources``);
each check family (``rbac``, ``network``, ``podsecurity``, ``secrets``, ``vulns``) turns them into
:class:`findings.Finding` values; ``engine`` runs them all, ``suppressions`` and ``diff`` apply the
config and last month's audit, ``report`` and ``sarif`` write the results. Secret values are never
read: a Secret is stripped to its metadata the moment it is loaded (``objects.strip_secret``).
"""
