"""Placeholder until the platform-seam issue lands: every call is a PlatformError with the reason."""

from __future__ import annotations

from typing import Any

from ...config.model import PlatformConfig
from .base import PlatformError


class LocalPlatform:
    """Not implemented yet (issue 12)."""

    def __init__(self, config: PlatformConfig) -> None:
        self.config = config

    def __getattr__(self, name: str) -> Any:
        raise PlatformError(f"platform.kind {self.config.kind}: '{name}' is not implemented yet")
