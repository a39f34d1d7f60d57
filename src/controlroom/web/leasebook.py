"""The leases of the devices as their own events tell, so the device list need not ask.

Every control server publishes an event when its lease is taken, released,
broken or ends (:mod:`controlroom.rpc.leases`), and the panel's feed hears
them all. The book follows those events on the hub, so the device list
(``/api/device``, read by every overview load) asks a device for its lease
only when the book does not know it: the first time after the panel starts,
after the device went down or restarted (a lease does not survive its
server), and for a lease the book has held a while or whose end has passed
(a renewal publishes nothing, and a restart between two pings leaves the
light as it was). At a hundred devices asking them all took seconds.

Events and answers are ordered: an answer is kept only if no event of that
device came while it was asked, and the end of a lease older than the one
held (the expiry task can announce it after a new lease was taken) is ignored.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from controlroom.rpc.leases import BROKEN, EXPIRED, RELEASED, TAKEN
from controlroom.web.hub import EVENT, SERVER, Message

FOLLOWS = (f"{EVENT}/", f"{SERVER}/")  # the hub prefixes the book is attached with
HELD_FOR_S = 60.0  # a held lease is asked again after this long (renewals are silent)
LEASE_FIELDS = ("serial", "holder", "until", "until_s", "taken", "renewals")
_ENDED = {RELEASED, EXPIRED, BROKEN}

Lease = dict[str, Any] | None


@dataclass(frozen=True)
class _Entry:
    lease: Lease
    serial: int  # of the lease held or last ended (0: not known)
    learned: float  # the book's clock when it learned it


class LeaseBook:
    """What the panel knows of each device's lease (a hub sink: ``offer`` never blocks)."""

    def __init__(
        self, clock: Callable[[], float] = time.time, *, held_for_s: float = HELD_FOR_S
    ) -> None:
        self._clock = clock
        self._held_for_s = held_for_s
        self._lock = threading.Lock()
        self._known: dict[str, _Entry] = {}
        self._heard: dict[str, int] = {}  # server -> events and restarts heard of it
        self._since: dict[str, Any] = {}  # server -> the time its light last changed

    def offer(self, messages: Sequence[Message]) -> None:
        with self._lock:
            for message in messages:
                if message.kind == EVENT:
                    self._heard_event(message.server, message.values)
                elif message.kind == SERVER:
                    self._heard_light(message.server, message.values)

    def lookup(self, names: Iterable[str]) -> tuple[dict[str, Lease], dict[str, int]]:
        """The leases known of ``names``, and the others with the mark :meth:`learn` needs."""
        known: dict[str, Lease] = {}
        unknown: dict[str, int] = {}
        now = self._clock()
        with self._lock:
            for name in names:
                entry = self._known.get(name)
                if entry is not None and self._still_true(entry, now):
                    known[name] = _with_remaining(entry.lease, now)
                else:
                    unknown[name] = self._heard.get(name, 0)
        return known, unknown

    def learn(self, name: str, lease: Mapping[str, Any] | None, mark: int) -> None:
        """Keep a device's answer, unless an event of it came since ``mark`` was taken."""
        with self._lock:
            if self._heard.get(name, 0) == mark:
                found = _fields(lease) if lease else None
                self._known[name] = _Entry(found, _serial(lease), self._clock())

    def _still_true(self, entry: _Entry, now: float) -> bool:
        if entry.lease is None:
            return True  # a new lease always announces itself
        until = entry.lease.get("until_s")
        ended = isinstance(until, int | float) and now >= until
        return not ended and now - entry.learned < self._held_for_s

    def _heard_event(self, server: str, values: Mapping[str, Any]) -> None:
        event = values.get("event")
        if event == TAKEN:
            lease: Lease = _fields(values)
        elif event in _ENDED:
            held = self._known.get(server)
            if held is not None and held.lease is not None and _serial(values) < held.serial:
                return  # the end of an older lease, announced after this one began
            lease = None
        else:
            return
        self._known[server] = _Entry(lease, _serial(values), self._clock())
        self._heard[server] = self._heard.get(server, 0) + 1

    def _heard_light(self, server: str, values: Mapping[str, Any]) -> None:
        since = values.get("since") if values.get("up") else None
        if server in self._since and self._since[server] == since:
            return
        self._since[server] = since
        self._known.pop(server, None)  # down, or up again: whatever was held is gone
        self._heard[server] = self._heard.get(server, 0) + 1


def _fields(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: values[name] for name in LEASE_FIELDS if name in values}


def _serial(values: Mapping[str, Any] | None) -> int:
    serial = (values or {}).get("serial")
    return serial if isinstance(serial, int) and not isinstance(serial, bool) else 0


def _with_remaining(lease: Lease, now: float) -> Lease:
    """``lease`` with its remaining time as of ``now``."""
    if lease is None:
        return None
    until = lease.get("until_s")
    if not isinstance(until, int | float):
        return dict(lease)
    return {**lease, "remaining_s": max(0.0, until - now)}
