"""Subprocess pipelines (pg_dump | zstd, zstd -d | pg_restore) with errors that say which step failed.

Every child is killed when the pipeline is left early (error, timeout, Ctrl-C), so no pg_dump or
pg_restore keeps running behind our back.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from ..adapters.child_env import minimal_env
from ..redact import redact


class PipelineError(Exception):
    """A step of a pipeline failed; the message names the step and its last stderr lines."""


@dataclass
class Step:
    name: str
    proc: subprocess.Popen[bytes]
    stderr: IO[bytes]


@dataclass
class Pipeline:
    """Children started left to right, each reading the previous one's stdout."""

    steps: list[Step] = field(default_factory=list)

    @property
    def stdout(self) -> IO[bytes]:
        out = self.steps[-1].proc.stdout
        assert out is not None
        return out

    def check(self) -> None:
        """Wait for every step; raise for the first that failed (the one nearest the source)."""
        for step in self.steps:
            step.proc.wait()
        for step in self.steps:
            if step.proc.returncode != 0:
                step.stderr.seek(0)
                tail = step.stderr.read().decode(errors="replace").strip().splitlines()[-6:]
                raise PipelineError(redact(f"{step.name} failed (exit {step.proc.returncode}): "
                                           + (" | ".join(tail) or "no error output")))

    def kill(self) -> None:
        for step in self.steps:
            if step.proc.poll() is None:
                with contextlib.suppress(OSError):
                    step.proc.kill()
                with contextlib.suppress(Exception):
                    step.proc.wait(10)


@contextlib.contextmanager
def pipeline(commands: Sequence[tuple[str, Sequence[str]]], *, env: Mapping[str, str] | None = None,
             stdin: Any = subprocess.DEVNULL, stdout: Any = subprocess.PIPE) -> Iterator[Pipeline]:
    """Start ``commands`` as ``a | b | c``; the last one writes to ``stdout``."""
    pipe = Pipeline()
    try:
        previous: Any = stdin
        for index, (name, argv) in enumerate(commands):
            last = index == len(commands) - 1
            err = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
            proc = subprocess.Popen(list(argv), stdin=previous, stdout=stdout if last else subprocess.PIPE,
                                    stderr=err, env=dict(env) if env is not None else minimal_env())
            if index > 0 and previous is not None and hasattr(previous, "close"):
                previous.close()  # the child holds its own copy; we must not keep the pipe open
            pipe.steps.append(Step(name, proc, err))
            previous = proc.stdout
        yield pipe
    finally:
        pipe.kill()
        for step in pipe.steps:
            step.stderr.close()
            if step.proc.stdout is not None:
                step.proc.stdout.close()


def zstd_binary() -> str | None:
    return shutil.which("zstd")
