"""SMC Maintenance: the SMC Trading Agent maintenance runbook as tested software."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    """``__version__`` on first use: importlib.metadata costs ~0.1 s, too much for every ``--help``."""
    if name != "__version__":
        raise AttributeError(f"module 'smc_maint' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        value = version("smc-maint")
    except PackageNotFoundError:  # running from a source tree without install
        value = "0.0.0+unknown"
    globals()["__version__"] = value
    return value
