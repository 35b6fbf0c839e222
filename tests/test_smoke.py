"""The command line exists and reports its version."""

from __future__ import annotations

import subprocess
import sys


def test_version_prints_package_version() -> None:
    from smc_maint import __version__

    out = subprocess.run([sys.executable, "-m", "smc_maint", "--version"], capture_output=True, text=True)
    assert out.returncode == 0
    assert out.stdout.strip() == f"smc-maint {__version__}"
