"""Which servers the panel shows and follows, and where they listen.

:class:`SettingsDiscovery` merges three sources, later ones winning:

1. the core services of the Settings (``services``), always shown, so a core
   service that is down shows as down rather than not at all;
2. the devices of the current Setup (its ``devices`` section, asked from the
   configuration manager whenever the Setup id it publishes changes), at the
   endpoints the Settings give them;
3. the bridges of the current Setup that are control servers (its
   ``bridges`` section, e.g. the sensor-node bridge ``nodes``), at the
   endpoints the Settings give them (``bridges.<name>.commands``/``publish``);
4. the registry's list: every server that registered, at the endpoints it
   actually bound (servers on port 0 are found only here); one that registered
   with metadata ``kind: bridge`` is a bridge, ``kind: service`` a service (each host's
   process manager ``procman@<host>``), any other new name a device.

Endpoints on port 0 (not yet known) are left out until the registry knows
them. :class:`StaticDiscovery` is a fixed list, for tests and embedding.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from controlroom.rpc import Proxy, RpcError
from controlroom.rpc.endpoints import connectable
from controlroom.web.hub import STATUS, Hub, topic_of

log = logging.getLogger(__name__)

SERVICE, DEVICE, BRIDGE = "service", "device", "bridge"
ASK_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class Target:
    """A server to show: its name, whether a core service, a device or a bridge, its endpoints."""

    name: str
    kind: str
    commands: str = ""
    publish: str = ""


class Discovery(Protocol):
    def targets(self) -> dict[str, Target]:
        """The servers to show now, by name (may block for a second or so)."""

    def close(self) -> None:
        """Release connections."""


class StaticDiscovery:
    """Always the same servers."""

    def __init__(self, targets: Mapping[str, Target]) -> None:
        self._targets = dict(targets)

    def targets(self) -> dict[str, Target]:
        return dict(self._targets)

    def close(self) -> None:
        """Nothing to release."""


class SettingsDiscovery:
    """Core services from the Settings, devices of the current Setup, the registry's list."""

    def __init__(self, settings: Mapping[str, Any], hub: Hub) -> None:
        self.settings = settings
        self.hub = hub
        self._setup_id: object = None
        self._setup_devices: list[str] = []
        self._setup_bridges: list[str] = []
        services = settings.get("services") or {}
        self._registry = self._proxy("registry", services.get("registry") or {})
        self._confman = self._proxy("confman", services.get("confman") or {})

    def targets(self) -> dict[str, Target]:
        found = {
            name: _target(name, SERVICE, entry)
            for name, entry in (self.settings.get("services") or {}).items()
        }
        devices = self.settings.get("devices") or {}
        for name in self._current_setup_devices():
            found[name] = _target(name, DEVICE, devices.get(name) or {})
        found.update(self._setup_bridge_targets())
        for entry in self._registered():
            name = str(entry.get("name", ""))
            kind = found[name].kind if name in found else _registered_kind(entry)
            found[name] = _target(name, kind, entry.get("endpoints") or {})
        return found

    def close(self) -> None:
        for proxy in (self._registry, self._confman):
            if proxy is not None:
                proxy.close()

    def _registered(self) -> list[dict[str, Any]]:
        if self._registry is None:
            return []
        try:
            entries = self._registry.request("list_services", timeout=ASK_TIMEOUT_S)
        except RpcError as exc:
            log.debug("registry: %s", exc)
            return []
        return (
            [dict(e) for e in entries if isinstance(e, Mapping)]
            if isinstance(entries, list)
            else []
        )

    def _current_setup_devices(self) -> list[str]:
        """The Setup's device names, asked again only when confman publishes a new Setup id."""
        status = self.hub.latest(topic_of(STATUS, "confman"))
        setup_id = status.values.get("setup_id") if status is not None else None
        if setup_id is None or setup_id == self._setup_id or self._confman is None:
            return self._setup_devices
        try:
            setup = self._confman.request("get_current_setup", timeout=ASK_TIMEOUT_S)
        except RpcError as exc:
            log.debug("confman: %s", exc)
            return self._setup_devices
        devices = (setup or {}).get("devices") if isinstance(setup, Mapping) else None
        self._setup_devices = [str(n) for n in devices] if isinstance(devices, Mapping) else []
        bridges = (setup or {}).get("bridges") if isinstance(setup, Mapping) else None
        self._setup_bridges = [str(n) for n in bridges] if isinstance(bridges, Mapping) else []
        self._setup_id = setup_id
        return self._setup_devices

    # -- bridges: control servers that are neither core services nor devices ----------

    def _setup_bridge_targets(self) -> dict[str, Target]:
        """The Setup's bridges that serve commands (a ``commands`` endpoint in the Settings).

        Read after :meth:`_current_setup_devices`, which fetched the Setup."""
        configured = self.settings.get("bridges") or {}
        found = {}
        for name in self._setup_bridges:
            entry = configured.get(name)
            if isinstance(entry, Mapping) and entry.get("commands"):
                found[name] = _target(name, BRIDGE, entry)
        return found

    @staticmethod
    def _proxy(name: str, entry: Mapping[str, Any]) -> Proxy | None:
        commands = _reachable(entry.get("commands"))
        return Proxy(commands, name=name, timeout=ASK_TIMEOUT_S) if commands else None


def _registered_kind(entry: Mapping[str, Any]) -> str:
    """What a registered server says it is (a host's process manager is a service)."""
    metadata = entry.get("metadata")
    kind = metadata.get("kind") if isinstance(metadata, Mapping) else None
    return kind if kind in (BRIDGE, SERVICE) else DEVICE


def _target(name: str, kind: str, endpoints: Mapping[str, Any]) -> Target:
    return Target(
        str(name),
        kind,
        _reachable(endpoints.get("commands")),
        _reachable(endpoints.get("publish")),
    )


def _reachable(endpoint: object) -> str:
    """The address to connect to, or "" when it names no fixed port."""
    if not isinstance(endpoint, str) or endpoint.endswith((":0", ":*")):
        return ""
    return connectable(endpoint)
