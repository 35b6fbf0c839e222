"""SMC Maintenance: the SMC Trading Agent maintenance runbook as tested software."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("smc-maint")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"
