"""Reading report files we did not write (trivy, audit tools, cert-manager dumps): bounded and contained.

Each file is judged on its own: whatever is wrong with it (too big, not UTF-8, nested too
deeply, not JSON/YAML) becomes an :class:`InputFileError` with a reason, never a traceback, so
the files next to it still count. YAML is parsed only for ``.yaml``/``.yml`` files (with the C
loader when PyYAML has it: the pure-Python one takes many seconds per MiB).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

DEFAULT_MAX_BYTES = 16 * 2**20
# YAML costs seconds per MiB even with the C loader: larger YAML files are refused (JSON is not).
YAML_MAX_BYTES = 2**20
YAML_SUFFIXES = (".yaml", ".yml")
SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class InputFileError(Exception):
    """An input file that cannot be used; the message is the reason (the caller adds the path)."""


def read_limited(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, refusing one larger than ``max_bytes`` before reading it."""
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise InputFileError(f"cannot read: {exc.strerror or type(exc).__name__}") from None
    if len(data) > max_bytes:
        raise InputFileError(f"larger than the limit of {max_bytes:,} bytes (max_file_bytes); not parsed")
    return data


def unexpected(exc: BaseException) -> str:
    """The reason text for an error a parser did not anticipate (deep nesting, wrong types)."""
    if isinstance(exc, RecursionError):
        return "nested too deeply to parse"
    if isinstance(exc, MemoryError):
        return "too large to parse"
    return f"unexpected structure ({type(exc).__name__}: {str(exc)[:200]})"


def parse_text(text: str, suffix: str) -> list[Any]:
    """The documents in ``text``: JSON, or (``.yaml``/``.yml`` only) one or more YAML documents."""
    if suffix.lower() not in YAML_SUFFIXES:
        try:
            return [json.loads(text)]
        except ValueError as exc:
            raise InputFileError(f"malformed JSON: {exc}") from None
        except RecursionError:
            raise InputFileError("nested too deeply to parse") from None
    if len(text) > YAML_MAX_BYTES:
        raise InputFileError(f"YAML larger than {YAML_MAX_BYTES:,} bytes is not parsed (slow); write the report "
                             "as JSON")
    try:
        return [d for d in yaml.load_all(text, Loader=SafeLoader) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InputFileError(f"malformed YAML{where}: {getattr(exc, 'problem', None) or exc}") from None
    except RecursionError:
        raise InputFileError("nested too deeply to parse") from None


def load_documents(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Any]:
    """Read and parse one file (size-bounded); raises :class:`InputFileError`."""
    data = read_limited(path, max_bytes)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputFileError("not UTF-8 text") from None
    return parse_text(text, path.suffix)
