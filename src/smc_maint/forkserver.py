"""The fork server that worker processes are forked from, and starting it early.

A light module (no psycopg, no pydantic): the CLI starts the server before it imports the rest, so
the server's interpreter start and imports (~0.5 s) run on another core while the runner loads
its configuration and history, instead of in front of the first procedure.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import sys
import threading
from collections.abc import Sequence

from . import registry

# What every worker needs besides its procedure (psutil: its watch on the runner), and the runner:
# a script that drives it through the API is re-run in each worker (see preload_for).
BASE = ["smc_maint.worker", "smc_maint.context", "smc_maint.config.loader", "smc_maint.history",
        "psycopg", "pydantic", "httpx", "psutil", "smc_maint.runner"]

_lock = threading.Lock()
_preload_fixed: list[str] = []


def context() -> multiprocessing.context.ForkServerContext:
    ctx = multiprocessing.get_context("forkserver")
    assert isinstance(ctx, multiprocessing.context.ForkServerContext)
    return ctx


def preload_for(procedure_ids: Sequence[str] | None, loaded: Sequence[str]) -> list[str]:
    """What the server imports before forking: the base, the procedures (``None``: all of them, for
    a long-lived scheduler or web server) and our modules already ``loaded`` here.

    The last because Python 3.11's fork server never preloads "__main__" (a key mismatch in
    multiprocessing): every worker re-runs the runner's main script (the CLI's imports typer, rich
    and our CLI modules); with what that script imported preloaded, the re-run costs nothing.
    """
    ids = list(registry.PROCEDURES) if procedure_ids is None else list(procedure_ids)
    procedures = [registry.PROCEDURES[i] for i in ids if i in registry.PROCEDURES]
    ours = sorted(m for m in loaded if m.partition(".")[0] == "smc_maint")
    return list(dict.fromkeys([*BASE, *procedures, *ours]))


def warm(procedure_ids: Sequence[str] | None = None) -> None:
    """Start the fork server now, in the background; returns at once, a no-op once it runs.

    The first call fixes what the server preloads; a procedure it did not preload is imported by
    its worker (slower, still correct).
    """
    from multiprocessing import forkserver

    ctx = context()
    with _lock:
        if not _preload_fixed:
            _preload_fixed.extend(preload_for(procedure_ids, list(sys.modules)))
            ctx.set_forkserver_preload(list(_preload_fixed))
    forkserver.ensure_running()
