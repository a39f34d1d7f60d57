"""How tasks reach the servers they command: by name, through the registry or the Settings.

A task module does not hold proxies made at import (a proxy belongs to one
thread, and tasks run on worker threads); it asks for one when it runs::

    with server_proxy("tempctl") as tempctl:
        tempctl.call("set_setpoint", 1, 120.0)

By default names are resolved through the registry the Settings name, with
the Settings' endpoints as fallback (:mod:`controlroom.rpc.resolve`). A
program that already holds its Settings (the web panel) or a test installs
its own directory with :func:`use_servers`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Protocol

from controlroom.config.settings import load_settings
from controlroom.rpc import CallTimeout, Proxy
from controlroom.rpc.endpoints import connectable
from controlroom.rpc.resolve import RESOLVE_TIMEOUT_S, proxy_for, settings_fallback


class Servers(Protocol):
    """The servers tasks may command, by name."""

    def names(self) -> list[str]:
        """Every server known now (registered or named in the Settings), sorted."""
        ...

    def proxy(self, name: str, *, timeout: float | None = None) -> Proxy:
        """A new proxy for server ``name``; the caller closes it."""
        ...


class SettingsServers:
    """Servers found through the registry of ``settings``, falling back to their endpoints."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        services = settings.get("services") or {}
        registry = (services.get("registry") or {}).get("commands")
        self.registry = connectable(str(registry)) if registry else None
        self.fallback = settings_fallback(settings)
        self.timeout_s = float((settings.get("defaults") or {}).get("proxy_timeout_s", 5.0))

    def names(self) -> list[str]:
        found = set(self.fallback)
        if self.registry:
            with Proxy(self.registry, name="registry", timeout=RESOLVE_TIMEOUT_S) as registry:
                try:
                    entries = registry.request("list_services")
                except CallTimeout:  # no registry: the Settings are all we know
                    entries = []
            found.update(str(e["name"]) for e in entries if isinstance(e, Mapping))
        return sorted(found)

    def proxy(self, name: str, *, timeout: float | None = None) -> Proxy:
        return proxy_for(
            name,
            registry_endpoint=self.registry,
            fallback=self.fallback,
            timeout=self.timeout_s if timeout is None else timeout,
        )


_lock = threading.Lock()
_servers: Servers | None = None


def use_servers(servers: Servers | None) -> None:
    """Make ``servers`` the directory of every task (None: back to the Settings')."""
    global _servers  # noqa: PLW0603 -- one directory per process, like the Settings
    with _lock:
        _servers = servers


def servers() -> Servers:
    """The directory in use; the first call without one reads the Settings."""
    global _servers  # noqa: PLW0603
    with _lock:
        if _servers is None:
            _servers = SettingsServers(load_settings())
        return _servers


def server_proxy(name: str, *, timeout: float | None = None) -> Proxy:
    """A new proxy for server ``name`` (use it in a ``with`` block, in the task's thread)."""
    return servers().proxy(name, timeout=timeout)
