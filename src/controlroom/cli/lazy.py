"""Subcommands imported when they are used, not when the program starts.

Importing every command module up front pulls numpy, the RPC stack, the
composition root and more: about a second before ``controlroom --help`` can
print a line. The top-level group knows each subcommand's module and help line
from a table, lists them from it, and imports a module only when its command
is resolved: invoked, or asked for its own ``--help``.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer import _click  # Typer's own click: the base classes of its groups and contexts
from typer.core import TyperCommand, TyperGroup
from typer.main import get_command_from_info, get_group_from_info
from typer.models import CommandInfo, TyperInfo


@dataclass(frozen=True)
class Subcommand:
    """Where a subcommand lives, and the help line ``controlroom --help`` shows for it."""

    module: str
    attribute: str  # a typer.Typer (a command group) or a command function
    help: str  # the first paragraph of the real help, line breaks included
    context_settings: Mapping[str, Any] | None = None

    def target(self) -> Any:
        """The command group or function, importing its module."""
        return getattr(importlib.import_module(self.module), self.attribute)


def help_line(command: _click.Command) -> str:
    """What a group's help page shows for ``command``: the first paragraph of its help."""
    text = command.short_help or command.help or ""
    return inspect.cleandoc(text).split("\n\n")[0].strip()


class Placeholder(TyperCommand):
    """Stands in for a subcommand in listings (help pages, suggestions) until resolved."""

    def __init__(self, name: str, subcommand: Subcommand) -> None:
        super().__init__(name, help=subcommand.help)
        self.subcommand = subcommand


class LazyGroup(TyperGroup):
    """A Typer group whose subcommands come from ``subcommands``, each imported on use."""

    subcommands: ClassVar[Mapping[str, Subcommand]] = {}
    pretty_exceptions_short: ClassVar[bool] = True  # Typer's default

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, subcommand in self.subcommands.items():
            self.commands.setdefault(name, Placeholder(name, subcommand))

    def resolve_command(
        self, ctx: _click.Context, args: list[str]
    ) -> tuple[str | None, _click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if name is not None and isinstance(command, Placeholder):
            command = self.commands[name] = self.load(name)
        return name, command, rest

    def load(self, name: str) -> _click.Command:
        """The real command ``name``, built as ``add_typer``/``command`` would have built it."""
        subcommand = self.subcommands[name]
        target = subcommand.target()
        if isinstance(target, typer.Typer):
            return get_group_from_info(
                TyperInfo(target, name=name),
                pretty_exceptions_short=self.pretty_exceptions_short,
                suggest_commands=self.suggest_commands,
                rich_markup_mode=self.rich_markup_mode,
            )
        context = subcommand.context_settings
        info = CommandInfo(
            name, callback=target, context_settings=dict(context) if context else None
        )
        return get_command_from_info(
            info,
            pretty_exceptions_short=self.pretty_exceptions_short,
            rich_markup_mode=self.rich_markup_mode,
        )
