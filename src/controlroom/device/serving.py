"""Adapting a controller to the control server: its declared commands, nothing else."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from controlroom.device.interface import Interface, commands_of


class DeviceService:
    """Serves exactly the ``@command`` methods of a controller (or simulator-backed one)."""

    def __init__(self, controller: Interface) -> None:
        self.controller = controller
        self.commands = commands_of(type(controller))
        self.hk_min_period_s = controller.hk_min_period_s
        self.status_min_period_s = controller.status_min_period_s

    def names(self) -> Collection[str]:
        return self.commands.keys()

    def describe(self) -> list[dict[str, Any]]:
        return [spec.schema() for spec in self.commands.values()]

    def access(self, name: str) -> str:
        return self.commands[name].access

    def interrupting(self) -> frozenset[str]:
        """The commands that run at once, even while another one is in progress."""
        return frozenset(name for name, spec in self.commands.items() if spec.interrupts)

    def invoke(self, name: str, args: list[Any], kwargs: Mapping[str, Any]) -> Any:
        spec = self.commands[name]
        if not spec.interrupts:
            return self.controller._run_command(spec, args, kwargs)
        arguments = spec.bind(args, kwargs)  # a call with wrong arguments interrupts nothing
        with self.controller.interruption.interrupting(name):
            return self.controller._execute(spec, arguments)

    def validate(self, name: str, args: list[Any], kwargs: Mapping[str, Any]) -> None:
        self.commands[name].bind(args, kwargs)

    def housekeeping(self) -> dict[str, Any]:
        return self.controller.housekeeping()

    def status(self) -> dict[str, Any]:
        return self.controller.status()

    def open(self) -> None:
        self.controller.connect()

    def close(self) -> None:
        self.controller.disconnect()
