"""What every command gets from the program start: the Settings, flags, and name lookup.

Settings are read once, in the Typer callback, and reach the commands through
``ctx.obj`` as a :class:`CliState`; nothing here reads them at import time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import typer

from controlroom.cli.errors import CliError
from controlroom.config.importing import DEFAULT_ALLOWED_PACKAGES
from controlroom.config.settings import device_settings
from controlroom.processes.detached import LocalState
from controlroom.processes.statefiles import ProcessRecord
from controlroom.rpc.hosts import UnknownHost, host_address, this_host
from controlroom.rpc.resolve import down_message, lookup, on_host, registry_endpoint_of

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
    """Endpoints of control server ``name``: ``cs start``'s state file, the Settings, the registry.

    A Settings endpoint on port 0 names no reachable address (the OS picked the
    port when the server bound): a state file on this host knows it, and the
    registry knows it for a server on any host. A server on another host is
    asked of the registry first, which also knows when it is down (no
    heartbeat): then this fails at once, saying since when. A wildcard address
    in the Settings (``tcp://0.0.0.0:P``) is reached at its ``host``'s address.
    """
    entry = state.device(name)
    record = state.files.live("cs", name)
    if record is not None:
        return endpoints_of(record)
    commands = str(entry.get("commands") or DEFAULT_ENDPOINT)
    fixed = not commands.endswith(":0")
    if fixed and not _elsewhere(state.settings, entry):
        return _from_settings(state.settings, entry)
    registered = lookup(name, registry_endpoint_of(state.settings))
    if registered is not None and registered.get("lost"):
        raise CliError(down_message(registered))
    if registered is not None:
        ends = {str(k): str(v) for k, v in (registered.get("endpoints") or {}).items()}
        return Endpoints(ends.get("commands", ""), ends.get("publish", ""), "registry")
    if fixed:
        return _from_settings(state.settings, entry)
    raise CliError(
        f"{name} is not running: the registry does not know it, it was not started with "
        f"`controlroom cs start {name}` here, and its settings endpoint {commands} has no "
        "fixed port"
    )


def _elsewhere(settings: Mapping[str, Any], entry: Mapping[str, Any]) -> bool:
    """True if the Settings place the device on another host than this one."""
    host = entry.get("host")
    try:
        return isinstance(host, str) and bool(host) and host != this_host(settings)
    except UnknownHost:
        return False


def _from_settings(settings: Mapping[str, Any], entry: Mapping[str, Any]) -> Endpoints:
    host = entry.get("host")
    address = host_address(settings, host) if isinstance(host, str) and host else None
    commands = on_host(str(entry.get("commands") or DEFAULT_ENDPOINT), address)
    publish = on_host(str(entry.get("publish") or DEFAULT_ENDPOINT), address)
    return Endpoints(commands, publish, "settings")


def endpoints_of(record: ProcessRecord) -> Endpoints:
    ends = record.endpoints
    return Endpoints(ends.get("commands", ""), ends.get("publish", ""), "state file")
