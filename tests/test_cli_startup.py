"""``smc-maint --help``/``--version`` stay fast: the root CLI imports no heavy library.

Checked on what is imported (in a fresh interpreter), not on time; bench/cli_bench.py prints the times.
"""

from __future__ import annotations

import json
import subprocess
import sys

import typer

from smc_maint.cli import lazy, main

HEAVY = ("psycopg", "httpx", "pydantic", "jinja2", "apprise", "kubernetes", "prometheus_client", "boto3", "s3fs")


def _imported_after(code: str) -> set[str]:
    probe = (f"import sys\n{code}\nimport json\n"
             f"print(json.dumps(sorted(m for m in {list(HEAVY)!r} if m in sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_importing_the_cli_imports_no_heavy_library() -> None:
    assert _imported_after("import smc_maint.cli.main") == set()


def test_help_and_version_import_no_heavy_library() -> None:
    for argv in (["--help"], ["--version"]):
        code = ("from smc_maint.cli.main import main\n"
                f"try:\n    main({argv!r})\nexcept SystemExit as e:\n    assert e.code == 0, e.code")
        assert _imported_after(code) == set(), argv


def test_a_lazy_command_still_runs_and_shows_its_own_help() -> None:
    proc = subprocess.run([sys.executable, "-m", "smc_maint", "metrics", "--help"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "rules" in proc.stdout and "push" in proc.stdout
    bad = subprocess.run([sys.executable, "-m", "smc_maint", "metrics", "nope"], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 64, bad.stderr


def test_the_registered_one_line_help_is_the_commands_own() -> None:
    assert main.app  # registration happened at import
    for spec in lazy.LazyGroup.LAZY.values():
        obj = spec.load()
        own = obj.info.help if isinstance(obj, typer.Typer) else (obj.__doc__ or "").strip().splitlines()[0]
        assert spec.help == own, spec.name
