"""The ``controlroom --help`` page, drawn without Rich.

Typer draws help pages with Rich, and its Rich helpers import Rich's
Markdown support (markdown-it and more): about 90 ms before the first line,
more than the rest of the program's start. The top-level page is the one
people run most, often just to remember a command's name, so it is drawn
here in the same layout (usage, description, an Options and a Commands
panel) from the group's own parameters and the subcommands' help lines.
Every other page is Typer's own.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterable

from typer import _click
from typer.core import TyperGroup

from controlroom.cli.lazy import help_line

MAX_WIDTH = 120
GAP = "  "


def page(group: TyperGroup, ctx: _click.Context) -> str:
    """The help page of ``group`` (its options, its commands in listing order)."""
    width = min(shutil.get_terminal_size((80, 24)).columns, MAX_WIDTH)
    usage = " ".join([ctx.command_path, *group.collect_usage_pieces(ctx)])
    lines = ["", f" Usage: {usage}", ""]
    if group.help:
        lines += [*(" " + line for line in textwrap.wrap(group.help, width - 2)), ""]
    lines += panel("Options", option_rows(group, ctx), width)
    lines += panel("Commands", command_rows(group, ctx), width)
    return "\n".join(lines) + "\n"


def option_rows(group: TyperGroup, ctx: _click.Context) -> list[tuple[str, str]]:
    rows = []
    for param in group.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is not None and not getattr(param, "hidden", False):
            rows.append(record)
    return rows


def command_rows(group: TyperGroup, ctx: _click.Context) -> list[tuple[str, str]]:
    rows = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        rows.append((name, " ".join(help_line(command).split())))
    return rows


def panel(title: str, rows: Iterable[tuple[str, str]], width: int) -> list[str]:
    """A box titled ``title`` around two columns: names, then their wrapped help."""
    rows = list(rows)
    if not rows:
        return []
    inner = width - 4  # "│ " and " │"
    names = min(max(len(name) for name, _ in rows), inner // 3)
    text_width = max(inner - names - len(GAP), 10)
    body = []
    for name, text in rows:
        wrapped = textwrap.wrap(text, text_width) or [""]
        label = name
        if len(name) > names:  # a long name gets a line of its own
            body.append(name[:inner])
            label = ""
        body += [f"{label if i == 0 else '':<{names}}{GAP}{part}" for i, part in enumerate(wrapped)]
    top = f"╭─ {title} " + "─" * max(width - len(title) - 5, 0) + "╮"
    bottom = "╰" + "─" * (width - 2) + "╯"
    return [top, *(f"│ {line:<{inner}} │" for line in body), bottom]
