"""Where the servers publish: the streams the scenarios service follows.

Three sources, later ones winning (as the web panel finds its servers):

1. the core services of the Settings (``services``);
2. the devices of the current Setup (its ``devices`` section), at the
   endpoints the Settings give them;
3. the registry's list: every server that registered, at the endpoints it
   actually bound (servers on port 0 are found only here).

Endpoints on port 0 (not known yet) are left out. The registry is asked
with a short timeout: a registry that is down leaves the other two sources.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from controlroom.rpc import Proxy, RpcError
from controlroom.rpc.endpoints import connectable
from controlroom.rpc.resolve import registry_endpoint_of

log = logging.getLogger(__name__)

ASK_TIMEOUT_S = 1.0


class PublishDirectory:
    """The publish endpoint of every server known now, by name."""

    def __init__(self, settings: Mapping[str, Any], *, timeout_s: float = ASK_TIMEOUT_S) -> None:
        self.settings = settings
        self.timeout_s = timeout_s
        self._registry_unreachable = False  # to log an outage once

    def endpoints(self, setup_devices: Iterable[str] = ()) -> dict[str, str]:
        """Services of the Settings, then the Setup's devices, then the registry's list."""
        found: dict[str, str] = {}
        for name, entry in (self.settings.get("services") or {}).items():
            _add(found, str(name), entry)
        devices = self.settings.get("devices") or {}
        for name in setup_devices:
            _add(found, name, devices.get(name))
        for entry in self._registered():
            _add(found, str(entry.get("name", "")), entry.get("endpoints"))
        return found

    def _registered(self) -> list[Mapping[str, Any]]:
        registry = _reachable(_registry(self.settings))
        if not registry:
            return []
        try:
            with Proxy(registry, name="registry", timeout=self.timeout_s) as proxy:
                entries = proxy.request("list_services")
        except RpcError as exc:
            if not self._registry_unreachable:
                log.info("the registry does not answer (%s): following the Settings only", exc)
            self._registry_unreachable = True
            return []
        self._registry_unreachable = False
        if not isinstance(entries, list):
            return []
        return [entry for entry in entries if isinstance(entry, Mapping)]


def setup_device_names(setup: Mapping[str, Any] | None) -> list[str]:
    """The device names of a Setup's ``devices`` section (none when it has none)."""
    devices = (setup or {}).get("devices")
    return [str(name) for name in devices] if isinstance(devices, Mapping) else []


def _registry(settings: Mapping[str, Any]) -> str:
    try:
        return registry_endpoint_of(settings)
    except (KeyError, TypeError, ValueError):
        return ""


def _add(found: dict[str, str], name: str, entry: Any) -> None:
    if name and isinstance(entry, Mapping):
        publish = _reachable(entry.get("publish"))
        if publish:
            found[name] = publish


def _reachable(endpoint: object) -> str:
    """The address to connect to, or "" when it names no fixed port."""
    if not isinstance(endpoint, str) or not endpoint or endpoint.endswith((":0", ":*")):
        return ""
    return connectable(endpoint)
