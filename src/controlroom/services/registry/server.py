"""The registry as a control server: register, heartbeat, unregister, lookup, list.

Its commands are declared on :class:`Registry` like any device's, so
``make_proxy(Registry, endpoint)`` gives a client with the same methods
(servers use :mod:`controlroom.rpc.registration`, which needs no more than a
plain :class:`~controlroom.rpc.Proxy`). A sweeper thread drops the entries
whose heartbeats stopped for ``ttl_s``. The listeners of the registry get
``server_up`` when a server registers (or moves to new endpoints) and
``server_down`` when one unregisters or expires; both also appear on its PUB
socket as ``event/registry``.

The registry keeps nothing on disk: after a restart the live servers
register again by themselves (their heartbeat is answered ``unknown``).

``python -m controlroom.processes.service registry`` (or ``controlroom
registry run``) serves it; it prints the ready line once it serves.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any, Unpack

from controlroom.device import Interface, command
from controlroom.rpc import ControlServer
from controlroom.rpc.endpoints import ServerEndpoints
from controlroom.services.control import service_server
from controlroom.services.registry.store import Entry, RegistryStore

NAME = "registry"
KNOWN, UNKNOWN = "ok", "unknown"  # the answers to a heartbeat
MAX_SWEEP_S = 1.0

log = logging.getLogger(__name__)
Notify = Callable[[str, dict[str, Any]], None]


def _no_listeners(event: str, data: dict[str, Any]) -> None:
    """Where events go until the registry is attached to a server."""


class Registry(Interface):
    """Names → endpoints and metadata of the live control servers."""

    status_min_period_s = 0.01
    hk_min_period_s = 0.01

    def __init__(self, store: RegistryStore) -> None:
        self.store = store
        self.notify: Notify = _no_listeners
        # Sweep often enough that an entry goes at most a quarter TTL late.
        self.sweep_s = min(store.ttl_s / 4, MAX_SWEEP_S)
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None

    @command(access="admin")
    def register(
        self, name: str, endpoints: dict[str, str], metadata: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Register server NAME at ENDPOINTS ({commands, publish}) with METADATA ({host, pid,
        ...}; host: the Settings' name of its host); returns the entry."""
        entry, changed = self.store.register(name, endpoints, metadata)
        if changed:
            log.info("%s up at %s", name, entry.endpoints)
            self.notify("server_up", _event_data(entry))
        return entry.describe(entry.last_seen)

    @command(access="admin")
    def heartbeat(self, name: str) -> str:
        """Server NAME is alive: 'ok', or 'unknown' if it must register (again)."""
        return KNOWN if self.store.heartbeat(name) else UNKNOWN

    @command(access="admin")
    def unregister(self, name: str) -> bool:
        """Remove server NAME (it is stopping); False if it was not registered."""
        entry = self.store.unregister(name)
        if entry is not None:
            self._down(entry, "unregistered")
        return entry is not None

    @command(access="read")
    def lookup(self, name: str) -> dict[str, Any] | None:
        """The entry of server NAME {name, host, endpoints, metadata, age_s, ...}, or None."""
        return self.store.lookup(name)

    @command(access="read")
    def lost(self, name: str) -> dict[str, Any] | None:
        """The last entry of server NAME if its heartbeats stopped (it is down, not stopped),
        with last_heartbeat (UTC seconds); None if it is registered, stopped or unknown."""
        return self.store.lost(name)

    @command(access="read")
    def list_services(self, host: str | None = None) -> list[dict[str, Any]]:
        """Every registered server (of HOST, if given), by name: {name, host, endpoints, ...}."""
        return self.store.entries(host)

    def status(self) -> dict[str, Any]:
        return {"services": len(self.store), "ttl_s": self.store.ttl_s}

    def housekeeping(self) -> dict[str, Any]:
        return {"services": len(self.store)}

    def connect(self) -> None:
        """Start the sweeper (the server opens its device, the registry, when it starts)."""
        self._stop.clear()
        self._sweeper = threading.Thread(target=self._sweep, name="registry-sweeper", daemon=True)
        self._sweeper.start()

    def disconnect(self) -> None:
        """Stop the sweeper."""
        self._stop.set()
        if self._sweeper is not None:
            self._sweeper.join()
            self._sweeper = None

    def _sweep(self) -> None:
        while not self._stop.wait(self.sweep_s):
            for entry in self.store.expire():
                self._down(entry, "expired")

    def _down(self, entry: Entry, reason: str) -> None:
        log.info("%s down (%s)", entry.name, reason)
        self.notify("server_down", {**_event_data(entry), "reason": reason})


def _event_data(entry: Entry) -> dict[str, Any]:
    return {
        "name": entry.name,
        "host": entry.host,
        "endpoints": entry.endpoints,
        "metadata": entry.metadata,
    }


def build_server(
    settings: Mapping[str, Any],
    *,
    ttl_s: float | None = None,
    **where: Unpack[ServerEndpoints],
) -> ControlServer:
    """The registry's control server, on the Settings' endpoints and TTL unless given."""
    entry = settings["services"][NAME]
    registry = Registry(RegistryStore(ttl_s or float(entry["ttl_s"])))
    server = service_server(settings, NAME, registry, **where)
    registry.notify = server.notify
    return server
