"""The leases of the devices as their own events tell, so the device list need not ask.

Every control server publishes an event when its lease is taken, renewed,
released, broken or ends (:mod:`controlroom.rpc.leases`), and the panel's
feed hears them all. The book follows those events on the hub, so the device
list (``/api/device``, read by every overview load) asks a device for its
lease only when the book has not heard of it: the first time after the
panel starts, or after the device went down or restarted (a lease does not
survive its server). At a hundred devices asking them all took seconds.

An answer to such a question is kept only if no event of that device came
while it was asked: an event is newer than any answer sent before it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from controlroom.rpc.leases import BROKEN, EXPIRED, RELEASED, RENEWED, TAKEN
from controlroom.web.hub import EVENT, SERVER, Message

FOLLOWS = (f"{EVENT}/", f"{SERVER}/")  # the hub prefixes the book is attached with
LEASE_FIELDS = ("holder", "until", "until_s", "taken", "renewals")
_HELD, _ENDED = {TAKEN, RENEWED}, {RELEASED, EXPIRED, BROKEN}

Lease = dict[str, Any] | None


class LeaseBook:
    """What the panel knows of each device's lease (a hub sink: ``offer`` never blocks)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._known: dict[str, Lease] = {}  # server -> its lease (None: none), if known
        self._heard: dict[str, int] = {}  # server -> events and restarts heard of it
        self._since: dict[str, Any] = {}  # server -> the start time its light showed

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
                if name in self._known:
                    known[name] = _current(self._known[name], now)
                else:
                    unknown[name] = self._heard.get(name, 0)
        return known, unknown

    def learn(self, name: str, lease: Mapping[str, Any] | None, mark: int) -> None:
        """Keep a device's answer, unless an event of it came since ``mark`` was taken."""
        with self._lock:
            if self._heard.get(name, 0) == mark:
                self._known[name] = _fields(lease) if lease else None

    def _heard_event(self, server: str, values: Mapping[str, Any]) -> None:
        event = values.get("event")
        if event in _HELD:
            self._known[server] = _fields(values)
        elif event in _ENDED:
            self._known[server] = None
        else:
            return
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


def _current(lease: Lease, now: float) -> Lease:
    """``lease`` with its remaining time as of ``now``; None once its end has passed."""
    if lease is None:
        return None
    until = lease.get("until_s")
    if not isinstance(until, int | float):
        return dict(lease)
    remaining = until - now
    return {**lease, "remaining_s": remaining} if remaining > 0 else None
