"""Settings of ``procedures.dr-drill`` (every field defaulted)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from ..backups.restore_test import RestoreTestSettings
from ..config.model import Section
from ..health.endpoints import Endpoint


class WorkloadRef(Section):
    kind: Literal["Deployment", "StatefulSet", "Process", "SystemdUnit"] = "Deployment"
    name: str = Field(min_length=1)


class DrDrillSettings(RestoreTestSettings):
    """The DR database is restored as restore-test does (``target``: local scratch server, or a
    scratch database on ``scratch_server``), or with point-in-time recovery to the end of the archived
    WAL (``source``); on Kubernetes the DR workloads run in ``dr_namespace``."""

    source: Literal["auto", "logical", "pitr"] = Field(
        "auto", description="where the DR database comes from: pitr (pgBackRest, to the end of the archived "
        "WAL), logical (the newest pg_dump backup), auto (pitr when backup.engine is pgbackrest and target "
        "is local)")
    pitr_timeout_seconds: float = Field(3600, gt=0, description="pitr: the restore, start and promotion of "
                                        "the DR database must end within this")

    rto_target_seconds: float = Field(3600, gt=0, description="recovery time objective")
    rpo_target_seconds: float = Field(86400, gt=0, description="recovery point objective (daily backups: 24 h)")
    critical_factor: float = Field(2.0, ge=1, description="this many times a target is CRITICAL, above it WARNING")
    health_urls: list[Endpoint] = Field(default_factory=list, description="DR health endpoints that must answer")
    health_deadline_seconds: float = Field(300, gt=0, description="total time the DR target has to turn healthy")
    manifests_dir: Path | None = Field(None, description="Kubernetes: YAML manifests of the DR workloads, "
                                       "applied into dr_namespace")
    dr_namespace: str = Field("smc-trading-dr", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63,
                              description="Kubernetes: the DR namespace the drill creates and deletes")
    simulate_outage: bool = Field(False, description="scale production_workloads to 0 during the drill")
    allow_scheduled_outage: bool = Field(False, description="let a scheduled (unattended) drill simulate the "
                                         "outage without typed confirmation of the namespace")
    production_workloads: list[WorkloadRef] = Field(default_factory=list, description="the only workloads an "
                                                    "outage simulation scales (in platform.namespace)")
    confirmed_namespace: str | None = Field(None, description="set by `dr-drill --yes-namespace NS`")
    keep: bool = Field(False, description="leave the DR namespace for inspection (removed by the next drill "
                       "or `dr-drill recover`)")
