"""``smc-maint k8s manifests``: CronJobs, RBAC and ConfigMap for a cluster, on stdout or in a file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console

from .. import __version__, registry
from ..config.loader import LoadedConfig, load_config
from ..k8s import manifests
from ..scheduling.daemon import scheduled_groups

app = typer.Typer(help="Kubernetes: CronJobs per group with least-privilege RBAC.", no_args_is_help=True)
err = Console(stderr=True)

# State paths of the machine the config was written on mean nothing in a pod.
_MACHINE_KEYS = ("home",)


def config_for_cluster(cfg: LoadedConfig) -> str:
    """The configuration file for the ConfigMap (names of secrets only, never values)."""
    data: dict[str, Any] = {}
    if cfg.source is not None:
        data = yaml.safe_load(cfg.source.read_text(encoding="utf-8")) or {}
    for key in _MACHINE_KEYS:
        data.pop(key, None)
    return yaml.safe_dump(data, sort_keys=False)


def longest_run_seconds(cfg: LoadedConfig, group: str) -> float:
    return cfg.config.longest_run_seconds(registry.GROUPS.get(group, []))


@app.command("manifests")
def manifests_cmd(
    namespace: Annotated[str, typer.Option("--namespace", help="namespace of the platform")] = "smc-trading",
    image: Annotated[str, typer.Option("--image", help="image pinned by version tag or @sha256 digest")] =
        f"smc-trading/smc-maint:{__version__}",
    secret_name: Annotated[str, typer.Option("--secret-name", help="Secret holding the env secrets")] =
        manifests.DEFAULT_SECRET,
    secret_metadata: Annotated[bool, typer.Option("--secret-metadata", help="allow listing secrets (metadata "
                                                  "inventory of security-audit)")] = False,
    on_demand: Annotated[list[str] | None, typer.Option("--on-demand", help="also grant what this on-demand "
                                                        "procedure needs (e.g. emergency); repeatable")] = None,
    store_pvc: Annotated[str | None, typer.Option("--store-pvc", help="PersistentVolumeClaim for a local store "
                                                  "(required unless store.kind is s3)")] = None,
    work_size: Annotated[str, typer.Option("--work-size", help="work directory size (generic ephemeral volume), "
                                           "e.g. 3x the database dump")] = "20Gi",
    work_storage_class: Annotated[str | None, typer.Option("--work-storage-class",
                                                           help="storage class of the work volume")] = None,
    work_pvc: Annotated[str | None, typer.Option("--work-pvc", help="use this PersistentVolumeClaim as the work "
                                                 "directory instead")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write here instead of stdout")] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="config file")] = None,
) -> None:
    """Write ServiceAccount, Role, RoleBinding, ConfigMap and one CronJob per scheduled group."""
    cfg = load_config(config)
    groups = scheduled_groups(cfg)
    opts = manifests.Options(
        namespace=namespace, image=image, secret_name=secret_name, config_yaml=config_for_cluster(cfg),
        groups=groups, timeouts_seconds={g: longest_run_seconds(cfg, g) for g in groups},
        secret_metadata=secret_metadata, on_demand=tuple(on_demand or ()), store_kind=cfg.config.store.kind,
        store_pvc=store_pvc,
        work_size=work_size, work_storage_class=work_storage_class, work_pvc=work_pvc,
    )
    text = manifests.to_yaml(manifests.build(cfg.config.schedule, opts), secret_name)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output} ({len(groups)} CronJobs)")
