"""``controlroom run``: run one building block as an observation, or rehearse it dry.

::

    controlroom run thermal:warm_up --output 1 --target 293 --rate 2
    controlroom run scripts/thermal.py:warm_up --target 293 --dry-run --json

The target is ``module:block`` (imported like ``python -m``, the current
directory included) or ``path/to/file.py:block``. Each argument is given as
``--name value`` (or ``--name=value``; dashes in names may stand for
underscores) and converted by the building block's type hints; arguments
with a default in the module's YAML file may be left out. ``--dry-run``
prints the device commands the block would send, checked against their
ranges and the ``--limits`` file, and sends nothing; a real run opens an
observation at the configuration manager the Settings name
(``services.confman.commands``).

``--dry-run``, ``--json``, ``--description``, ``--limits`` and ``--help``
are options of ``run`` itself, so building block arguments cannot use those
names.
"""

from __future__ import annotations

import enum
import importlib
import importlib.util
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table
from rich.text import Text

from controlroom.cli import render
from controlroom.cli.context import cli_state
from controlroom.cli.convert import convert
from controlroom.cli.errors import CliError, reported
from controlroom.cli.options import JsonOutput
from controlroom.device.argtypes import coerce, json_schema
from controlroom.device.dryrun import RecordedCommand
from controlroom.obs import BuildingBlock, ObsError, generate_command_sequence, observation
from controlroom.obs.defaults import argument_types
from controlroom.obs.observation import confman_endpoint
from controlroom.obs.sequence import describe


@reported
def run(
    ctx: typer.Context,
    *,
    target: Annotated[
        str,
        typer.Argument(
            help="The building block: module:block or path/to/file.py:block.",
            metavar="MODULE:BLOCK",
            show_default=False,
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the device commands instead of sending them.")
    ] = False,
    as_json: JsonOutput = False,
    description: Annotated[
        str | None,
        typer.Option("--description", help="What the observation is for (default: the block)."),
    ] = None,
    limits: Annotated[
        Path | None,
        typer.Option(
            "--limits",
            help="YAML of server: command: argument: \\[low, high], checked in a dry run.",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run building block MODULE:BLOCK with --name value arguments, as one observation.

    Example: controlroom run thermal:warm_up --target 293 --rate 2 --dry-run
    """
    block = load_block(target)
    try:
        arguments = block_arguments(block, ctx.args)
        block.arguments(arguments)  # a wrong call fails before anything is opened or sent
        if dry_run:
            commands = generate_command_sequence(block, limits=_limits(limits), **arguments)
            _show_commands(commands, as_json)
            return
        endpoint = confman_endpoint(cli_state(ctx).settings)
        if endpoint.endswith(":0"):
            raise CliError(f"the configuration manager endpoint {endpoint} has no fixed port")
        with observation(description or describe(block), confman=endpoint) as obs:
            result = block(**arguments)
    except ObsError as exc:  # a mistake in the call or the observation: one line, no traceback
        raise CliError(str(exc)) from exc
    _show_result(obs.obsid, block, result, as_json)


def load_block(target: str) -> BuildingBlock[Any]:
    """The building block named by ``module:block`` or ``file.py:block``."""
    where, _, name = target.rpartition(":")
    if not where or not name.isidentifier():
        raise CliError(f"{target!r} is not of the form module:block or path/to/file.py:block")
    module = _import_file(Path(where)) if where.endswith(".py") else _import_module(where)
    found = getattr(module, name, None)
    if not isinstance(found, BuildingBlock):
        blocks = sorted(k for k, v in vars(module).items() if isinstance(v, BuildingBlock))
        known = ", ".join(blocks) or "none"
        what = "not a building block" if found is not None else "not found"
        raise CliError(f"{name} in {where}: {what} (building blocks there: {known})")
    return found


def _import_module(name: str) -> ModuleType:
    if os.getcwd() not in sys.path:  # as `python -m` does: scripts next to the operator
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise CliError(f"cannot import {name}: {exc}") from exc


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    spec = importlib.util.spec_from_file_location(path.stem, path.resolve())
    if spec is None or spec.loader is None:
        raise CliError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(path.stem, module)  # dataclasses look their module up while it runs
    spec.loader.exec_module(module)
    return module


def block_arguments(block: BuildingBlock[Any], raw: Sequence[str]) -> dict[str, Any]:
    """``--name value`` pairs, converted by the block's type hints."""
    types = argument_types(block.func)
    arguments: dict[str, Any] = {}
    for name, text in _pairs(block, raw):
        if name in arguments:
            raise CliError(f"--{name} given twice")
        arguments[name] = _converted(name, text, types.get(name, Any))
    return arguments


def _pairs(block: BuildingBlock[Any], raw: Sequence[str]) -> Iterator[tuple[str, str]]:
    words = iter(raw)
    for word in words:
        if not word.startswith("--") or word == "--":
            raise CliError(f"unexpected {word!r}: give building block arguments as --name value")
        key, sep, text = word[2:].partition("=")
        name = key.replace("-", "_")
        if name not in block.parameters:
            known = ", ".join(f"--{p}" for p in block.parameters) or "none"
            raise CliError(f"{block.name} has no argument --{key} (arguments: {known})")
        if not sep:
            following = next(words, None)
            if following is None:
                raise CliError(f"--{key} needs a value")
            text = following
        yield name, text


def _converted(name: str, text: str, annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        for member in annotation:  # operators type closed_loop as readily as CLOSED_LOOP
            if member.name.casefold() == text.casefold():
                return member
    value = convert(text, json_schema(annotation), name)
    try:
        return coerce(value, annotation)
    except ValueError as exc:
        raise CliError(f"argument {name!r}: {exc}") from None


def _limits(path: Path | None) -> Any:
    if path is None:
        return None
    try:
        return yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise CliError(f"cannot read the limits file {path}: {exc}") from None


def _show_commands(commands: Sequence[RecordedCommand], as_json: bool) -> None:
    rows = [{"server": c.server, "command": c.command, "arguments": c.arguments} for c in commands]
    if as_json:
        render.print_json(rows)
        return
    table = Table(title=f"dry run: {len(rows)} device commands", title_justify="left")
    for column in ("#", "server", "command", "arguments"):
        table.add_column(column, overflow="fold")
    for number, command in enumerate(commands, 1):
        arguments = "  ".join(f"{k}={_shown(v)}" for k, v in command.arguments.items())
        table.add_row(str(number), command.server, command.command, Text(arguments))
    render.out().print(table)


def _shown(value: Any) -> str:
    # People read enum members by name (MEDIUM); JSON carries their values.
    return value.name if isinstance(value, enum.Enum) else render.format_value(value)


def _show_result(obsid: str | None, block: BuildingBlock[Any], result: Any, as_json: bool) -> None:
    if as_json:
        render.print_json({"obsid": obsid, "building_block": block.name, "result": result})
        return
    render.say(f"observation {obsid}: {block.name} done")
    if result is not None:
        render.print_result(result)
