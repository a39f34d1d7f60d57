"""The controller class of a foreign driver: one declared command per control or method.

The library-specific modules describe each command as a :class:`ForeignCommand`
(arguments with their checks, what it returns, how to run it on the driver
object); :func:`foreign_class` declares them with ``@command`` on a new
:class:`ForeignController` subclass, so they are validated, served, described
and journaled exactly like a hand-written driver's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from controlroom.device.command import command
from controlroom.device.errors import DeclarationError
from controlroom.device.interface import Interface, commands_of
from controlroom.device.synthesized import Argument, signed
from controlroom.rpc.service import SERVICE_DOCS

MAX_COMMANDS = 2000
# Names a controller or its server already use: a driver's own of that name is not served.
RESERVED = {
    "driver",
    *SERVICE_DOCS,
}  # a large driver has a few hundred; more means something walked too far
_NAME = re.compile(r"[^a-z0-9_]+")


class ForeignDriverError(DeclarationError):
    """A foreign driver cannot be served: not found, not allowed, or not describable."""


@dataclass(frozen=True)
class ForeignCommand:
    """One command of a foreign driver, and how to run it on the driver object."""

    name: str
    run: Callable[..., Any]  # run(driver, **arguments)
    arguments: Sequence[Argument] = ()
    returns: Any = Any
    doc: str = ""
    access: str = "command"  # getters are "read"; setters and methods change the device
    options: dict[str, Any] = field(default_factory=dict)


class ForeignController(Interface):
    """A foreign driver object behind declared commands; housekeeping from chosen readings."""

    hk_readings: ClassVar[tuple[str, ...]] = ()

    def __init__(self, driver: Any, close: Callable[[], None] | None = None) -> None:
        self.driver = driver
        self._close = close

    def disconnect(self) -> None:
        if self._close is not None:
            self._close()

    def housekeeping(self) -> dict[str, Any]:
        return {name: getattr(self, name)() for name in self.hk_readings}


def command_name(*parts: str) -> str:
    """A command name from a driver's names: lower case, words joined by ``_``."""
    name = _NAME.sub("_", "_".join(parts).lower()).strip("_")
    return name if name and not name[0].isdigit() else f"c_{name}"


def foreign_class(
    name: str, commands: Iterable[ForeignCommand], housekeeping: Sequence[str] = ()
) -> type[ForeignController]:
    """A controller class serving ``commands``; ``housekeeping`` names the readings polled."""
    namespace: dict[str, Any] = {
        "__module__": __name__,
        "__doc__": f"{name}, served from its driver",
    }
    taken = set(dir(ForeignController))
    for entry in commands:
        if entry.name in namespace or entry.name in taken:
            continue  # a name the server uses, or a second spelling of one already declared
        if len(namespace) > MAX_COMMANDS:
            raise ForeignDriverError(f"{name}: more than {MAX_COMMANDS} commands")
        namespace[entry.name] = _declared(entry)
    unknown = [reading for reading in housekeeping if reading not in namespace]
    if unknown:
        raise ForeignDriverError(f"{name}: housekeeping names no such reading: {unknown}")
    namespace["hk_readings"] = tuple(housekeeping)
    cls = type(command_name(name).title().replace("_", ""), (ForeignController,), namespace)
    commands_of(cls)
    return cls


def _declared(entry: ForeignCommand) -> Any:
    def run(self: ForeignController, **arguments: Any) -> Any:
        return entry.run(self.driver, **arguments)

    function = signed(entry.name, run, entry.arguments, entry.returns, entry.doc)
    return command(access=entry.access, **entry.options)(function)
