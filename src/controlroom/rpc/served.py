"""What a control server serves: an explicit table of commands plus housekeeping.

The rpc layer knows nothing about drivers; ``controlroom.device`` adapts a
controller to this protocol. Only names in ``names()`` are ever invoked: a
client can never reach an attribute that was not declared as a command.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection, Mapping
from typing import Any, Protocol

from controlroom.rpc.access import COMMAND, check_access


class Served(Protocol):
    """The device side of a control server."""

    hk_min_period_s: float
    status_min_period_s: float

    def names(self) -> Collection[str]:
        """The commands served."""

    def describe(self) -> list[dict[str, Any]]:
        """Each command as JSON Schema (name, kind, doc, params, returns)."""

    def access(self, name: str) -> str:
        """Who may run command ``name``: read, command or admin (see rpc.access)."""

    def interrupting(self) -> Collection[str]:
        """Commands that run at once, even while another device command is in progress.

        Stop, abort, output off: the server runs them beside the command in
        progress, without waiting for the device, ahead of the queued ones.
        """

    def validate(self, name: str, args: list[Any], kwargs: Mapping[str, Any]) -> None:
        """Raise if a call of ``name`` has wrong arguments, before anything runs."""

    def invoke(self, name: str, args: list[Any], kwargs: Mapping[str, Any]) -> Any:
        """Run one command (only called for names in ``names()``)."""

    def housekeeping(self) -> dict[str, Any]:
        """A housekeeping sample: parameter name → value."""

    def status(self) -> dict[str, Any]:
        """A status sample for displays."""

    def open(self) -> None:
        """Connect to the device; called once before serving."""

    def close(self) -> None:
        """Release the device; called once when the server stops."""


class FunctionTable:
    """A :class:`Served` made of plain functions; handy for services and tests."""

    hk_min_period_s = 0.01
    status_min_period_s = 0.01

    def __init__(
        self,
        commands: Mapping[str, Callable[..., Any]],
        *,
        housekeeping: Callable[[], dict[str, Any]] | None = None,
        status: Callable[[], dict[str, Any]] | None = None,
        access: Mapping[str, str] | None = None,
        interrupting: Collection[str] = (),
    ) -> None:
        self._commands = dict(commands)
        self._interrupting = frozenset(interrupting)
        self._access = {name: check_access(value) for name, value in (access or {}).items()}
        self._housekeeping = housekeeping
        self._status = status

    def names(self) -> Collection[str]:
        return self._commands.keys()

    def describe(self) -> list[dict[str, Any]]:
        return [
            {
                "name": name,
                "kind": "custom",
                "doc": (func.__doc__ or "").strip(),
                "access": self.access(name),
                **({"interrupts": True} if name in self._interrupting else {}),
            }
            for name, func in self._commands.items()
        ]

    def access(self, name: str) -> str:
        return self._access.get(name, COMMAND)

    def interrupting(self) -> Collection[str]:
        return self._interrupting

    def validate(self, name: str, args: list[Any], kwargs: Mapping[str, Any]) -> None:
        try:
            inspect.signature(self._commands[name]).bind(*args, **kwargs)
        except ValueError:  # a callable whose signature cannot be read: it checks itself
            return

    def invoke(self, name: str, args: list[Any], kwargs: Mapping[str, Any]) -> Any:
        return self._commands[name](*args, **kwargs)

    def housekeeping(self) -> dict[str, Any]:
        return self._housekeeping() if self._housekeeping else {}

    def status(self) -> dict[str, Any]:
        return self._status() if self._status else {}

    def open(self) -> None:
        """Nothing to connect."""

    def close(self) -> None:
        """Nothing to release."""
