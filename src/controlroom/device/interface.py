"""Interfaces (what a device can do) and controllers (an interface bound to a transport)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Self

from controlroom.device.command import Command
from controlroom.device.errors import DeviceError
from controlroom.device.interrupt import Interruption
from controlroom.device.spec import CommandSpec
from controlroom.device.transports.base import Transport


def commands_of(cls: type) -> Mapping[str, CommandSpec]:
    """The commands declared on ``cls`` and its bases, by name, in declaration order."""
    cached = cls.__dict__.get("_commands_cache")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    found: dict[str, CommandSpec] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, Command):
                found[name] = value.spec
            elif name in found:
                del found[name]  # overridden by a plain attribute: no longer a command
    result = MappingProxyType(found)
    # Stored per class (not inherited) so subclasses compute their own table.
    type.__setattr__(cls, "_commands_cache", result)
    return result


class Interface:
    """Base of every device interface: a class whose ``@command`` methods are the commands.

    Subclasses also describe housekeeping: ``housekeeping()`` returns the values
    to store, ``status()`` the values displays need, and ``hk_min_period_s`` the
    fastest rate at which the device can deliver them.
    """

    hk_min_period_s: ClassVar[float] = 0.05
    status_min_period_s: ClassVar[float] = 0.05

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Build every command now, so a bad declaration fails when the class is
        # defined (and as itself: errors in __set_name__ would be wrapped).
        commands_of(cls)

    @classmethod
    def commands(cls) -> Mapping[str, CommandSpec]:
        return commands_of(cls)

    def _run_command(self, spec: CommandSpec, args: Any, kwargs: Mapping[str, Any]) -> Any:
        return self._execute(spec, spec.bind(args, kwargs))

    def _execute(self, spec: CommandSpec, arguments: dict[str, Any]) -> Any:
        if not spec.declarative:
            return spec.call(self, arguments)
        raise DeviceError(
            f"{type(self).__name__}.{spec.name}: an interface is not connected to a device; "
            "use its controller, simulator or proxy"
        )

    @property
    def interruption(self) -> Interruption:
        """Signalled as each interrupting command runs; waiting commands watch it."""
        found = self.__dict__.get("_interruption")
        if found is None:  # setdefault: two threads asking first still share one
            found = self.__dict__.setdefault("_interruption", Interruption())
        return found  # type: ignore[no-any-return]

    def housekeeping(self) -> dict[str, Any]:
        """Values to store periodically (name → value); empty by default."""
        return {}

    def status(self) -> dict[str, Any]:
        """Values for live displays (name → value); empty by default."""
        return {}

    def connect(self) -> None:
        """Open the connection to the device (nothing to do by default)."""

    def disconnect(self) -> None:
        """Close the connection to the device (nothing to do by default)."""

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.disconnect()


class Controller(Interface):
    """An interface bound to a transport: declared commands become exchanges on it.

    ``transport_defaults`` are the options the instrument needs whatever the
    connection (line terminators, encoding); Settings may override them.
    """

    transport_defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def connect(self) -> None:
        self.transport.connect()

    def disconnect(self) -> None:
        self.transport.close()

    def _execute(self, spec: CommandSpec, arguments: dict[str, Any]) -> Any:
        if not spec.declarative:
            return spec.call(self, arguments)
        if spec.before is not None:
            spec.before(self, **arguments)
        reply = self._exchange(spec, arguments)
        if spec.check is not None and reply is not None:
            spec.check(reply)
        result = spec.parse(reply) if spec.parse is not None and reply is not None else reply
        if spec.after is not None:
            spec.after(self, result, **arguments)
        return result

    def _exchange(self, spec: CommandSpec, arguments: dict[str, Any]) -> str | None:
        if spec.kind == "read":
            return self.transport.read()
        text = spec.render(arguments)
        if spec.kind == "write":
            self.transport.write(text)
            return None
        return self.transport.query(text)
