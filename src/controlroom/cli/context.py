"""What every command gets from the program start: the Settings, flags, and name lookup.

Settings are read once, in the Typer callback, and reach the commands through
``ctx.obj`` as a :class:`CliState`; nothing here reads them at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import typer

from controlroom.cli.errors import CliError
from controlroom.config.importing import DEFAULT_ALLOWED_PACKAGES
from controlroom.config.settings import device_settings
from controlroom.processes.detached import LocalState
from controlroom.processes.statefiles import ProcessRecord

DEFAULT_ENDPOINT = "tcp://127.0.0.1:0"


@dataclass(frozen=True)
class Endpoints:
    """Where a control server listens, and where that knowledge came from."""

    commands: str
    publish: str
    source: str  # "state file" (actual ports of a started server) or "settings"


class CliState(LocalState):
    """The Settings and global flags, shared by all commands of one invocation; the
    lookups commands need on top of what the processes started from here inherit."""

    def device(self, name: str) -> dict[str, Any]:
        """The Settings entry of device ``name`` (a clear error lists the known ones)."""
        return device_settings(self.settings, name)

    @property
    def allowed_packages(self) -> tuple[str, ...]:
        """Packages the Settings allow controllers, simulators and class// to come from."""
        security = self.settings.get("security") or {}
        return tuple(security.get("allowed_packages") or DEFAULT_ALLOWED_PACKAGES)

    def default(self, key: str, fallback: float) -> float:
        """A value from the Settings' ``defaults`` section."""
        return float((self.settings.get("defaults") or {}).get(key, fallback))


def cli_state(ctx: typer.Context) -> CliState:
    """The :class:`CliState` the program callback stored in the context."""
    state = ctx.find_object(CliState)
    if state is None:  # only when a command is invoked without the app's callback
        raise CliError("internal error: the settings were not loaded")
    return state


def server_endpoints(state: CliState, name: str) -> Endpoints:
    """Endpoints of control server ``name``: from ``cs start``'s state file, else the Settings.

    A Settings endpoint on port 0 names no reachable address (the OS picked the
    port when the server bound), so it only helps once a state file records it.
    """
    entry = state.device(name)
    record = state.files.live("cs", name)
    if record is not None:
        return endpoints_of(record)
    commands = str(entry.get("commands") or DEFAULT_ENDPOINT)
    if commands.endswith(":0"):
        raise CliError(
            f"{name} is not running: it was not started with `controlroom cs start {name}` "
            f"and its settings endpoint {commands} has no fixed port"
        )
    return Endpoints(commands, str(entry.get("publish") or DEFAULT_ENDPOINT), "settings")


def endpoints_of(record: ProcessRecord) -> Endpoints:
    ends = record.endpoints
    return Endpoints(ends.get("commands", ""), ends.get("publish", ""), "state file")
