"""Find, parse and validate the configuration; every error names the key path and line."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from .. import registry
from ..errors import ConfigError
from ..paths import default_home, user_config_file
from .model import Config

ENV_PREFIX = "SMC_MAINT_"
Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class LoadedConfig:
    """A validated configuration plus the paths derived from it."""

    config: Config
    source: Path | None
    home: Path
    procedure_settings: Mapping[str, BaseModel] = field(default_factory=dict)

    @property
    def log_dir(self) -> Path:
        return self.config.runner.log_dir or self.home / "logs"

    @property
    def report_dir(self) -> Path:
        return self.config.runner.report_dir or self.home / "reports"

    @property
    def store_path(self) -> Path:
        return self.config.store.path or self.home / "backups"

    @property
    def history_path(self) -> Path:
        return self.config.history.path or self.home / "history.sqlite3"

    @property
    def lock_dir(self) -> Path:
        return self.home / "locks"

    @property
    def secret_dir(self) -> Path:
        """Short-lived password files for child tools (PGPASSFILE); 0700, never /tmp."""
        return self.home / "private"

    def settings_for(self, procedure_id: str) -> BaseModel:
        return self.procedure_settings[procedure_id]


def find_config_file(explicit: Path | None) -> Path | None:
    """``--config``, then ``SMC_MAINT_CONFIG``, then ``./smc-maint.yaml``, then the user config dir."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file not found: {explicit}")
        return explicit
    env = os.environ.get("SMC_MAINT_CONFIG")
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file not found: {path} (from SMC_MAINT_CONFIG)")
        return path
    for candidate in (Path.cwd() / "smc-maint.yaml", user_config_file()):
        if candidate.is_file():
            return candidate
    return None


def text_line(data: bytes, offset: int) -> int:
    """1-based line number of byte ``offset`` in ``data``."""
    return data.count(b"\n", 0, offset) + 1


def _line_map(node: yaml.Node, loc: Loc, out: dict[Loc, int]) -> None:
    out[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            out[(*loc, key)] = key_node.start_mark.line + 1
            _line_map(value_node, (*loc, key), out)
            out[(*loc, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, (*loc, index), out)


def _check_duplicates(node: yaml.Node, loc: Loc, source: str) -> None:
    """A key given twice in one mapping is an error naming both lines (YAML lets the last win)."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen and key != "<<":
                path = ".".join(str(p) for p in (*loc, key))
                raise ConfigError(f"{source} line {line}: duplicate key {path} (first at line {seen[key]}, "
                                  f"again at line {line}); keep one")
            seen[key] = line
            _check_duplicates(value_node, (*loc, key), source)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _check_duplicates(item, (*loc, index), source)


def parse_yaml(text: str, source: str) -> tuple[dict[str, Any], dict[Loc, int]]:
    """Parse YAML into a mapping and a map from key path to line number."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{source}{where}: malformed YAML: {problem}") from None
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source} line 1: the top level must be a mapping of sections")
    lines: dict[Loc, int] = {}
    if node is not None:
        _check_duplicates(node, (), source)
        _line_map(node, (), lines)
    return data, lines


def _env_overrides(environ: Mapping[str, str]) -> dict[Loc, tuple[str, Any]]:
    """``SMC_MAINT_DATABASE__HOST=db`` sets ``database.host``; values are YAML scalars."""
    found: dict[Loc, tuple[str, Any]] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        if not all(parts):
            continue
        loc: Loc = tuple(p.replace("_", "-") if i == 1 and parts[0] == "procedures" else p
                         for i, p in enumerate(parts))
        try:
            value = yaml.safe_load(raw) if raw else raw
        except yaml.YAMLError:
            value = raw
        found[loc] = (name, value)
    return found


def _set_path(data: dict[str, Any], loc: Loc, value: Any, name: str) -> None:
    cursor: Any = data
    for key in loc[:-1]:
        nxt = cursor.get(key)
        if nxt is None:
            nxt = {}
            cursor[key] = nxt
        if not isinstance(nxt, dict):
            raise ConfigError(f"{name}: cannot set {'.'.join(map(str, loc))}: {key} is not a section")
        cursor = nxt
    cursor[loc[-1]] = value


def _describe(source: str, lines: Mapping[Loc, int], env_locs: Mapping[Loc, str], loc: Loc) -> str:
    for cut in range(len(loc), 0, -1):
        prefix = loc[:cut]
        if prefix in env_locs:
            return f"environment {env_locs[prefix]}"
        if prefix in lines:
            return f"{source} line {lines[prefix]}"
    return source


def _raise_validation(
    exc: ValidationError, source: str, lines: Mapping[Loc, int], env_locs: Mapping[Loc, str], base: Loc = ()
) -> None:
    messages = []
    for err in exc.errors():
        loc: Loc = (*base, *err["loc"])
        key = ".".join(str(p) for p in loc)
        where = _describe(source, lines, env_locs, loc)
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        messages.append(f"{where}: {key}: {msg}")
    raise ConfigError("invalid configuration:\n  " + "\n  ".join(messages)) from None


def load_config(
    explicit: Path | None = None, environ: Mapping[str, str] | None = None, text: str | None = None
) -> LoadedConfig:
    """Load and validate; raises :class:`ConfigError` with key path and line on any problem."""
    env = os.environ if environ is None else environ
    path = find_config_file(explicit) if text is None else explicit
    source = str(path) if path is not None else "<defaults>"
    if text is None and path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{source}: cannot read: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            line = text_line(exc.object, exc.start)
            raise ConfigError(f"{source} line {line}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at "
                              f"offset {exc.start}); save the file as UTF-8") from None
    data, lines = parse_yaml(text or "", source)

    env_locs: dict[Loc, str] = {}
    for loc, (name, value) in _env_overrides(env).items():
        _set_path(data, loc, value, name)
        env_locs[loc] = name

    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        _raise_validation(exc, source, lines, env_locs)
        raise  # unreachable; keeps type checkers calm

    settings: dict[str, BaseModel] = {}
    for pid, module_path in registry.PROCEDURES.items():
        del module_path
        raw = config.procedures.get(pid, {}) or {}
        try:
            model = registry.load(pid).Settings
        except ImportError:
            continue  # the runner reports a procedure that cannot load as UNKNOWN
        try:
            settings[pid] = model.model_validate(raw)
        except ValidationError as exc:
            _raise_validation(exc, source, lines, env_locs, ("procedures", pid))
    unknown = sorted(set(config.procedures) - set(registry.PROCEDURES))
    if unknown:
        where = _describe(source, lines, env_locs, ("procedures", unknown[0]))
        raise ConfigError(
            f"invalid configuration:\n  {where}: procedures.{unknown[0]}: unknown procedure "
            f"(known: {', '.join(sorted(registry.PROCEDURES))})"
        )

    home = (config.home or default_home()).expanduser()
    return LoadedConfig(config=config, source=path, home=home, procedure_settings=settings)
