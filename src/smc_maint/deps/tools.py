"""Run a dependency tool when it is configured and installed, and return its JSON output."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from ..adapters.child_env import NETWORK_TOOL, minimal_env
from ..redact import redact

COMMANDS: dict[str, list[str]] = {
    "pip-audit": ["pip-audit", "-f", "json"],
    "pip-outdated": ["python3", "-m", "pip", "list", "--outdated", "--format", "json"],
    "npm-outdated": ["npm", "outdated", "--json"],
    "npm-audit": ["npm", "audit", "--json"],
    "cargo-audit": ["cargo", "audit", "--json"],
}


class ToolUnavailable(Exception):
    """The tool is not installed or produced no JSON; the message says which and why."""


def run_tool(kind: str, cwd: Path, executable: str | None, extra_args: list[str], timeout: float) -> Any:
    """Run the tool of ``kind`` in ``cwd``. These tools exit non-zero when they find something, so the
    exit code is not an error; output that is not JSON is."""
    argv = list(COMMANDS[kind])
    if executable:
        argv[0] = executable
    found = shutil.which(argv[0])
    if found is None:
        raise ToolUnavailable(f"{argv[0]} is not installed (needed for {kind})")
    try:
        proc = subprocess.run([found, *argv[1:], *extra_args], cwd=cwd, capture_output=True, text=True,
                              timeout=timeout, check=False, env=minimal_env(keep=NETWORK_TOOL))
    except subprocess.TimeoutExpired:
        raise ToolUnavailable(f"{kind} did not finish within {timeout:g} s") from None
    except OSError as exc:
        raise ToolUnavailable(f"{kind} could not start: {exc.strerror or exc}") from None
    try:
        return json.loads(proc.stdout)
    except ValueError:
        tail = redact((proc.stderr or proc.stdout).strip().splitlines()[-1:][0] if (proc.stderr or proc.stdout).strip()
                      else "no output")
        raise ToolUnavailable(f"{kind} exited {proc.returncode} without JSON: {tail[:300]}") from None
