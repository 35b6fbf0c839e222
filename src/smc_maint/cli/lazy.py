"""Sub-commands imported only when they run, so ``smc-maint --help``/``--version`` stay fast.

A command's module (and with it psycopg, httpx, pydantic, jinja2, kubernetes ...) is imported
when that command is invoked; the root help lists it from the one-line help given at
registration (a test checks it matches the module's own help).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup

try:  # recent Typer vendors its own copy of click
    from typer import _click as click
except ImportError:  # pragma: no cover - older Typer uses click itself
    import click  # type: ignore[no-redef]


@dataclass(frozen=True)
class Lazy:
    name: str
    target: str  # "module:attribute", module relative to smc_maint.cli
    help: str

    def load(self) -> Any:
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(f"smc_maint.cli.{module}"), attr)

    def command(self) -> Any:
        """The real click command: a Typer sub-app, or a function registered as one command."""
        obj = self.load()
        cmd: click.Command
        if isinstance(obj, typer.Typer):
            cmd = typer.main.get_group(obj)
        else:
            single = typer.Typer(add_completion=False)
            single.command(self.name)(obj)
            cmd = typer.main.get_command(single)
        cmd.name = self.name
        return cmd


class _Placeholder(TyperCommand):
    """Stands in for a lazy command in the help listing."""


class LazyGroup(TyperGroup):
    """The root group: lazy commands are placeholders until resolved for invocation."""

    LAZY: ClassVar[dict[str, Lazy]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for spec in self.LAZY.values():
            self.commands.setdefault(spec.name, _Placeholder(spec.name, help=spec.help, short_help=spec.help))

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        if args and isinstance(self.commands.get(args[0]), _Placeholder):
            self.commands[args[0]] = self.LAZY[args[0]].command()
        return super().resolve_command(ctx, args)


def register(name: str, target: str, help: str) -> None:
    """Register ``smc-maint NAME`` from ``target`` ("module:attr" in smc_maint.cli) with its one-line help."""
    LazyGroup.LAZY[name] = Lazy(name, target, help)
