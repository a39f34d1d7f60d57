"""A controller class built from a command table: the same as one written with ``@command``.

Each table command becomes a declared command on a new :class:`TableController`
subclass, so it is validated, served, described as JSON Schema and journaled
exactly like a hand-written driver's. On an instrument with a SCPI error
queue (``errors: scpi``) every command is sent as ``*CLS;:<cmd>;:SYST:ERR?``,
so a refusal raises :class:`~controlroom.device.replies.CommandRefused` in the
same exchange, as the shipped SCPI drivers do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from controlroom.device.command import Command, command
from controlroom.device.errors import DeclarationError
from controlroom.device.interface import Controller, commands_of
from controlroom.device.replies import check_error, split_checked
from controlroom.device.synthesized import signed
from controlroom.device.table.errors import TableError
from controlroom.device.table.model import Table, TableCommand
from controlroom.rpc.service import SERVICE_DOCS

# Attributes a controller has that its class does not show, and the server's own commands.
RESERVED = {"table", "transport", *SERVICE_DOCS}


class TableController(Controller):
    """Base of the classes :func:`controller_class` builds; housekeeping from the table."""

    table: ClassVar[Table]

    def housekeeping(self) -> dict[str, Any]:
        return {
            entry.housekeeping: getattr(self, entry.name)()
            for entry in self.table.commands
            if entry.housekeeping is not None
        }

    def status(self) -> dict[str, Any]:
        return {
            entry.name: getattr(self, entry.name)() for entry in self.table.commands if entry.status
        }


def controller_class(table: Table) -> type[TableController]:
    """A controller class whose commands are the table's."""
    namespace: dict[str, Any] = {
        "__doc__": table.description or f"{table.name}, from its command table",
        "__module__": __name__,
        "table": table,
        "transport_defaults": dict(table.transport),
        "hk_min_period_s": table.hk_min_period_s,
    }
    for entry in table.commands:
        if hasattr(TableController, entry.name) or entry.name in RESERVED:
            raise TableError(
                f"{table.name}: commands.{entry.name}: the name is taken by the server"
            )
        namespace[entry.name] = _declared(entry, table.scpi_errors)
    cls = type(_class_name(table.name), (TableController,), namespace)
    commands_of(cls)  # every declaration checked now
    return cls


def _declared(entry: TableCommand, scpi_errors: bool) -> Command:
    reading = entry.reading
    parse: Callable[[str], Any] | None = reading.parse if reading is not None else None
    kind, template, check = entry.kind, entry.template, None
    if scpi_errors and entry.checked and kind != "read":
        template = _checked(template)
        if kind == "write":
            kind, check, parse = "transaction", check_error, _nothing
        elif reading is not None:
            parse = _checked_reading(reading.parse)
    options: dict[str, Any] = {
        "parse": parse,
        "check": check,
        "timeout": entry.timeout,
        "access": entry.access,
        "interrupts": entry.interrupts,
        "unit": reading.unit if reading is not None else "",
    }
    return command(kind, template or None, **options)(_body(entry))  # type: ignore[arg-type]


def _nothing(reply: str) -> None:
    """A setting returns nothing: its reply was only the error check."""


def _checked(template: str) -> str:
    joiner = "" if template.startswith(("*", ":")) else ":"
    return f"*CLS;{joiner}{template};:SYST:ERR?"


def _checked_reading(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    return lambda reply: parse(split_checked(reply))


def _body(entry: TableCommand) -> Callable[..., Any]:
    """A function with the command's signature; never run (the command is declarative)."""

    def sent_not_run(self: Any, **kwargs: Any) -> Any:
        raise AssertionError("a table command is sent, not run")

    returns = entry.reading.annotation if entry.reading is not None else None
    doc = entry.doc or f"{entry.kind} {entry.template}".strip()
    try:
        return signed(entry.name, sent_not_run, entry.args, returns, doc)
    except DeclarationError:
        raise TableError(
            f"commands.{entry.name}.args: required arguments come before optional ones"
        ) from None


def _class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_")) or "Table"
