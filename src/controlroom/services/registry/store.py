"""The registry's entries: name → endpoints, host and metadata, alive while heartbeats arrive.

The host is the Settings' name of the host the server runs on (its metadata's
``host``, which :mod:`controlroom.rpc.registration` fills in), so one registry
knows which process of which host each name is.

No I/O and no threads: the server calls in from its command loop and its
sweeper thread, so every method takes the store's lock. Liveness is measured
on a monotonic clock (a wall-clock jump must not expire every entry at once);
the wall-clock times are only for people.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from controlroom.services.registry.errors import InvalidRegistration

ENDPOINT_SCHEMES = ("tcp://", "ipc://", "inproc://")
# Addresses a client cannot connect to: a port left to the OS, a wildcard host.
_UNREACHABLE_ENDS = ("://", ":0", ":*")
_WILDCARDS = ("tcp://*:", "tcp://0.0.0.0:", "tcp://[::]:")

MAX_HOST_CHARS = 253  # the longest DNS name
MAX_LOST = 1000  # expired entries remembered, so a call to one fails at once with why

Clock = Callable[[], float]


@dataclass
class Entry:
    """One registered server."""

    name: str
    endpoints: dict[str, str]
    metadata: dict[str, Any]
    registered: float  # UTC seconds
    last_seen: float  # monotonic seconds of the last register or heartbeat
    last_heartbeat: float = field(default_factory=time.time)  # UTC seconds
    heartbeats: int = 0

    @property
    def host(self) -> str:
        """The host the server runs on, as it said when it registered ("" if it did not)."""
        return str(self.metadata.get("host") or "")

    def describe(self, now: float) -> dict[str, Any]:
        """The entry as plain data; ``age_s`` is the time since its last sign of life."""
        return {
            "name": self.name,
            "host": self.host,
            "endpoints": dict(self.endpoints),
            "metadata": dict(self.metadata),
            "registered": self.registered,
            "last_heartbeat": self.last_heartbeat,
            "age_s": max(0.0, now - self.last_seen),
            "heartbeats": self.heartbeats,
        }


class RegistryStore:
    """The live entries; one without a heartbeat for ``ttl_s`` seconds is expired."""

    def __init__(self, ttl_s: float, *, clock: Clock = time.monotonic) -> None:
        if not ttl_s > 0:
            raise ValueError(f"the registry's TTL must be positive, not {ttl_s!r}")
        self.ttl_s = float(ttl_s)
        self._clock = clock
        self._entries: dict[str, Entry] = {}
        self._lost: dict[str, Entry] = {}  # expired (no heartbeat), until they register again
        self._lock = threading.Lock()

    def register(
        self, name: str, endpoints: Mapping[str, Any], metadata: Mapping[str, Any] | None
    ) -> tuple[Entry, bool]:
        """Add or replace ``name``; True with it when the server is new or moved
        (other endpoints or another host)."""
        checked = _endpoints(endpoints)
        entry = Entry(_name(name), checked, _metadata(metadata), time.time(), self._clock())
        with self._lock:
            old = self._entries.get(entry.name)
            self._entries[entry.name] = entry
            self._lost.pop(entry.name, None)
        return entry, old is None or old.endpoints != checked or old.host != entry.host

    def heartbeat(self, name: str) -> bool:
        """Note that ``name`` is alive; False if it is not registered (it should re-register)."""
        with self._lock:
            entry = self._entries.get(name)
            if entry is None:
                return False
            entry.last_seen = self._clock()
            entry.last_heartbeat = time.time()
            entry.heartbeats += 1
            return True

    def unregister(self, name: str) -> Entry | None:
        """Remove ``name``; the removed entry, or None if it was not registered."""
        with self._lock:
            return self._entries.pop(name, None)

    def lookup(self, name: str) -> dict[str, Any] | None:
        """The entry of ``name`` as plain data, or None."""
        with self._lock:
            entry = self._entries.get(name)
            return None if entry is None else entry.describe(self._clock())

    def entries(self, host: str | None = None) -> list[dict[str, Any]]:
        """Every entry (of ``host``, if given) as plain data, by name."""
        now = self._clock()
        with self._lock:
            chosen = [self._entries[name] for name in sorted(self._entries)]
            return [e.describe(now) for e in chosen if host is None or e.host == host]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def expire(self) -> list[Entry]:
        """Remove and return the entries that missed their heartbeats for ``ttl_s``."""
        deadline = self._clock() - self.ttl_s
        with self._lock:
            gone = [entry for entry in self._entries.values() if entry.last_seen < deadline]
            for entry in gone:
                del self._entries[entry.name]
                self._lost.pop(entry.name, None)  # re-inserted last: the newest stay
                self._lost[entry.name] = entry
            while len(self._lost) > MAX_LOST:
                del self._lost[next(iter(self._lost))]
        return gone

    def lost(self, name: str) -> dict[str, Any] | None:
        """The last entry of ``name`` if it expired (its heartbeats stopped), else None."""
        with self._lock:
            entry = self._lost.get(name)
            return None if entry is None else entry.describe(self._clock())


def _name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidRegistration(f"a server registers under a non-empty name, not {name!r}")
    return name


def _endpoints(endpoints: Any) -> dict[str, str]:
    if not isinstance(endpoints, Mapping) or not endpoints:
        raise InvalidRegistration("endpoints must be a non-empty map such as {commands: tcp://...}")
    checked: dict[str, str] = {}
    for role, address in endpoints.items():
        if not isinstance(role, str) or not isinstance(address, str):
            raise InvalidRegistration(f"endpoint {role!r}: {address!r} is not text")
        if (
            not address.startswith(ENDPOINT_SCHEMES)
            or address.endswith(_UNREACHABLE_ENDS)
            or address.startswith(_WILDCARDS)
        ):
            raise InvalidRegistration(f"endpoint {role}: {address!r} is not a reachable address")
        checked[role] = address
    return checked


def _metadata(metadata: Any) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping) or not all(isinstance(k, str) for k in metadata):
        raise InvalidRegistration("metadata must be a map with text keys")
    host = metadata.get("host")
    if host is not None and (not isinstance(host, str) or len(host) > MAX_HOST_CHARS):
        raise InvalidRegistration(f"metadata host must be a host name, not {host!r:.80}")
    return dict(metadata)
