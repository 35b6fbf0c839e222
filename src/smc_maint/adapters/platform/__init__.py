"""The platform seam (see ``base``): Kubernetes or this machine, one interface."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Container, ExecResult, Platform, PlatformError, Pod, ServerVersion, Usage, Workload

if TYPE_CHECKING:
    from ...config.loader import LoadedConfig

__all__ = ["Container", "ExecResult", "Platform", "PlatformError", "Pod", "ServerVersion", "Usage", "Workload", "open_platform"]


def open_platform(cfg: LoadedConfig) -> Platform:
    """The configured platform: ``platform.kind`` kubernetes (official client) or local (this machine)."""
    kind = cfg.config.platform.kind
    if kind == "kubernetes":
        from .kubernetes import KubernetesPlatform

        return KubernetesPlatform(cfg.config.platform)
    from .local import LocalPlatform

    return LocalPlatform(cfg.config.platform)
