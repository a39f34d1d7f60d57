"""Which servers the bridge follows, and where they listen.

Two sources, the later one winning: the core services of the Settings
(``services``: always followed, so a core service that is down shows as
``offline`` rather than not at all) and the registry's list of every server
that registered, at the endpoints it actually bound (servers on port 0 are
found only there). Endpoints on port 0 are left out until the registry
knows them. ``extra`` servers (from :class:`MqttConfig`) are always followed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from controlroom.bridges.mqtt.config import MqttConfig
from controlroom.rpc import Proxy, RpcError
from controlroom.rpc.endpoints import connectable

log = logging.getLogger(__name__)

REGISTRY = "registry"


@dataclass(frozen=True)
class Target:
    """One server: where it takes commands and where it publishes (empty: unknown yet)."""

    name: str
    commands: str = ""
    publish: str = ""


class Targets:
    """Asks the Settings and the registry; :meth:`find` may take up to ``timeout_s``."""

    def __init__(self, config: MqttConfig, *, timeout_s: float = 1.0) -> None:
        self.config = config
        self.timeout_s = timeout_s
        registry = reachable((config.services.get(REGISTRY) or {}).get("commands"))
        self._registry = (
            Proxy(registry, name=REGISTRY, timeout=timeout_s, client="controlroom-mqtt")
            if registry
            else None
        )

    def find(self) -> dict[str, Target]:
        found = {name: _target(name, entry) for name, entry in self.config.services.items()}
        for entry in self._registered():
            name = str(entry.get("name", ""))
            if name:
                found[name] = _target(name, entry.get("endpoints") or {})
        for name, entry in self.config.extra.items():
            found[name] = _target(name, entry)
        return found

    def close(self) -> None:
        if self._registry is not None:
            self._registry.close()

    def _registered(self) -> list[Mapping[str, Any]]:
        if self._registry is None:
            return []
        try:
            entries = self._registry.request("list_services", timeout=self.timeout_s)
        except RpcError as exc:
            log.debug("registry: %s", exc)
            return []
        if not isinstance(entries, list):
            return []
        return [e for e in entries if isinstance(e, Mapping)]


def _target(name: str, endpoints: Mapping[str, Any]) -> Target:
    return Target(
        str(name), reachable(endpoints.get("commands")), reachable(endpoints.get("publish"))
    )


def reachable(endpoint: object) -> str:
    """The address to connect to, or "" when it names no fixed port."""
    if not isinstance(endpoint, str) or not endpoint or endpoint.endswith((":0", ":*")):
        return ""
    return connectable(endpoint)
