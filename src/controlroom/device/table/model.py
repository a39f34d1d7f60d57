"""A command table: an instrument described in YAML, checked before anything is built.

The table is data, never code: argument types come from a fixed list, reply
parsing from a few declarative steps, and every string sent is a template
whose placeholders are the command's own arguments. Everything is bounded
(commands, arguments, lengths), and each mistake is reported with the path of
the key at fault (``commands.voltage.args.volts.range: ...``).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from controlroom.device.synthesized import Argument
from controlroom.device.table.errors import TableError, check_keys
from controlroom.device.table.reading import Reading, parse_reading
from controlroom.device.table.values import parse_arg

MAX_COMMANDS = 500
MAX_ARGS = 20
MAX_TEXT = 1000  # characters of any one string in a table
NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
KINDS = ("write", "query", "read")
TABLE_KEYS = {"instrument", "transport", "errors", "housekeeping", "commands", "simulator"}
COMMAND_KEYS = {
    *KINDS,
    "doc",
    "args",
    "returns",
    "access",
    "interrupts",
    "housekeeping",
    "status",
    "timeout",
    "sim",
    "checked",
}


@dataclass(frozen=True)
class TableCommand:
    """One command of the table."""

    name: str
    kind: str
    template: str
    doc: str
    args: tuple[Argument, ...]
    reading: Reading | None
    access: str | None
    interrupts: bool
    housekeeping: str | None  # the name of its value in a housekeeping sample
    status: bool
    timeout: float | None
    sim: Mapping[str, Any]
    checked: bool = True  # on a SCPI table: sent with *CLS before and SYST:ERR? after


@dataclass(frozen=True)
class Table:
    """An instrument: what it is, how it is reached, and its commands."""

    name: str
    description: str
    transport: Mapping[str, Any]
    scpi_errors: bool  # settings sent as ``*CLS;:<cmd>;:SYST:ERR?`` and checked
    hk_min_period_s: float
    commands: tuple[TableCommand, ...]
    simulator: Mapping[str, Any] = field(default_factory=dict)

    def command(self, name: str) -> TableCommand:
        for entry in self.commands:
            if entry.name == name:
                return entry
        raise KeyError(name)


def parse_table(data: Any, source: str) -> Table:
    """The table ``data`` (read from ``source``) describes; TableError naming the fault."""
    top = _mapping(data, source)
    check_keys(top, TABLE_KEYS, source)
    instrument = _mapping(top.get("instrument") or {}, f"{source}: instrument")
    name = _text(instrument.get("name"), f"{source}: instrument.name")
    transport = _mapping(top.get("transport") or {}, f"{source}: transport")
    for key, value in transport.items():
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise TableError(f"{source}: transport.{key} must be a string or a number")
    errors = top.get("errors", "none")
    if errors not in ("scpi", "none"):
        raise TableError(f"{source}: errors must be scpi or none, not {errors!r}")
    commands = _mapping(top.get("commands"), f"{source}: commands")
    if not commands or len(commands) > MAX_COMMANDS:
        raise TableError(f"{source}: commands: give 1 to {MAX_COMMANDS} commands")
    hk = _mapping(top.get("housekeeping") or {}, f"{source}: housekeeping")
    return Table(
        name=name,
        description=str(instrument.get("description") or ""),
        transport=dict(transport),
        scpi_errors=errors == "scpi",
        hk_min_period_s=_number(hk.get("min_period_s", 0.05), f"{source}: housekeeping"),
        commands=tuple(_command(key, value, source) for key, value in commands.items()),
        simulator=_mapping(top.get("simulator") or {}, f"{source}: simulator"),
    )


def _command(name: Any, entry: Any, source: str) -> TableCommand:
    where = f"{source}: commands.{name}"
    if not isinstance(name, str) or not NAME.match(name):
        raise TableError(f"{where}: a command name is lower case letters, digits and _")
    entry = _mapping(entry, where)
    check_keys(entry, COMMAND_KEYS, where)
    kinds = [kind for kind in KINDS if kind in entry]
    if len(kinds) != 1:
        raise TableError(f"{where}: give exactly one of write, query or read")
    kind = kinds[0]
    template = "" if kind == "read" else _text(entry[kind], f"{where}.{kind}")
    raw_args = _mapping(entry.get("args") or {}, f"{where}.args")
    if len(raw_args) > MAX_ARGS:
        raise TableError(f"{where}.args: at most {MAX_ARGS} arguments")
    args = tuple(parse_arg(arg, spec, f"{where}.args.{arg}") for arg, spec in raw_args.items())
    _check_placeholders(template, {a.name for a in args}, f"{where}.{kind}")
    reading = None
    if kind != "write":
        reading = parse_reading(entry.get("returns", "str"), f"{where}.returns")
    elif "returns" in entry:
        raise TableError(f"{where}.returns: a write command returns nothing")
    return TableCommand(
        name=name,
        kind=kind,
        template=template,
        doc=str(entry.get("doc") or "").strip()[:MAX_TEXT],
        args=args,
        reading=reading,
        access=_choice(entry.get("access"), ("read", "command", "admin"), f"{where}.access"),
        interrupts=_flag(entry.get("interrupts", False), f"{where}.interrupts"),
        housekeeping=_reported(entry.get("housekeeping"), name, args, kind, f"{where}"),
        status=_flag(entry.get("status", False), f"{where}.status"),
        timeout=None if entry.get("timeout") is None else _number(entry["timeout"], where),
        sim=_mapping(entry.get("sim") or {}, f"{where}.sim"),
        checked=_flag(entry.get("checked", True), f"{where}.checked"),
    )


def _check_placeholders(template: str, names: set[str], where: str) -> None:
    used: set[str] = set()
    for match in string.Template.pattern.finditer(template):
        if match.group("invalid") is not None:
            raise TableError(f"{where}: a $ must start ${{name}} (write $$ for a plain $)")
        found = match.group("named") or match.group("braced")
        if found:
            used.add(found)
    unknown, unused = used - names, names - used
    if unknown:
        raise TableError(f"{where}: {sorted(unknown)} are not arguments of the command")
    if unused:
        raise TableError(f"{where}: the arguments {sorted(unused)} are never sent")


def _reported(
    value: Any, name: str, args: tuple[Argument, ...], kind: str, where: str
) -> str | None:
    if value is None or value is False:
        return None
    if kind == "write" or any(a.required for a in args):
        raise TableError(f"{where}.housekeeping: only a query without required arguments is polled")
    if value is True:
        return name
    if isinstance(value, str) and NAME.match(value.lower()):
        return value
    raise TableError(f"{where}.housekeeping: true, or the name of the value in a sample")


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise TableError(f"{where}: expected a mapping, not {type(value).__name__}")
    return dict(value)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
        raise TableError(f"{where}: expected a string of 1 to {MAX_TEXT} characters")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise TableError(f"{where}: expected a positive number, not {value!r}")
    return float(value)


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise TableError(f"{where}: expected true or false, not {value!r}")
    return value


def _choice(value: Any, allowed: tuple[str, ...], where: str) -> str | None:
    if value is not None and value not in allowed:
        raise TableError(f"{where}: expected one of {', '.join(allowed)}, not {value!r}")
    return None if value is None else str(value)
