"""Following the housekeeping and events of many servers on one SUB socket.

Every control server publishes ``hk/<server>`` and ``event/<server>`` with a
``{server, time, values}`` body (see :mod:`controlroom.rpc.publisher`). A
:class:`StreamFollower` connects one SUB socket to every publish endpoint it
is given (:meth:`~StreamFollower.follow`, from any thread; the socket's own
thread connects and disconnects) and hands each message to ``on_hk`` or
``on_event`` with the server's name and the values. A message that cannot be
decoded is counted and dropped; a callback that fails is logged, and the
stream goes on.

The HK values of a server with a telemetry pipeline carry its synoptics under
a reserved key: they are merged in, so rules may name synoptics parameters.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any, Self

import zmq

from controlroom import wire
from controlroom.telemetry import split_sample

log = logging.getLogger(__name__)

Callback = Callable[[str, dict[str, Any]], None]
TOPICS = ("hk/", "event/")
_POLL_MS = 50  # how often the idle thread looks at the stop flag and new endpoints


class StreamFollower:
    """HK samples and events of the servers at the endpoints it follows."""

    def __init__(
        self,
        on_hk: Callback,
        on_event: Callback,
        *,
        ignore: str = "",
        context: zmq.Context[Any] | None = None,
    ) -> None:
        self.on_hk = on_hk
        self.on_event = on_event
        self.ignore = ignore  # our own server: its events are not rule input
        self.received = self.discarded = 0
        self._context = context or zmq.Context.instance()
        self._wanted: dict[str, str] = {}  # server -> publish endpoint
        self._connected: set[str] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def follow(self, endpoints: Mapping[str, str]) -> None:
        """Follow exactly these publish endpoints (by server name) from now on."""
        with self._lock:
            self._wanted = {name: ep for name, ep in endpoints.items() if name != self.ignore}

    def following(self) -> dict[str, str]:
        with self._lock:
            return dict(self._wanted)

    def connected(self) -> set[str]:
        with self._lock:
            return set(self._connected)

    def start(self) -> Self:
        if self._thread is None:
            socket = self._context.socket(zmq.SUB)
            socket.setsockopt(zmq.LINGER, 0)
            for topic in TOPICS:
                socket.setsockopt(zmq.SUBSCRIBE, topic.encode())
            self._thread = threading.Thread(
                target=self._run, args=(socket,), name="scenarios-streams", daemon=True
            )
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self, socket: zmq.Socket[bytes]) -> None:
        try:
            while not self._stopping.is_set():
                self._reconnect(socket)
                if socket.poll(_POLL_MS):
                    self._take(socket.recv_multipart())
        finally:
            socket.close(linger=0)

    def _reconnect(self, socket: zmq.Socket[bytes]) -> None:
        with self._lock:
            wanted = set(self._wanted.values())
            current = set(self._connected)
        for endpoint in current - wanted:
            try:
                socket.disconnect(endpoint)
            except zmq.ZMQError as exc:
                log.debug("disconnect %s: %s", endpoint, exc)
            current.discard(endpoint)
        for endpoint in wanted - current:
            try:
                socket.connect(endpoint)
            except zmq.ZMQError as exc:
                log.warning("cannot follow %s: %s", endpoint, exc)
                continue
            current.add(endpoint)
        with self._lock:
            self._connected = current

    def _take(self, frames: list[bytes]) -> None:
        try:
            kind, _, server = frames[0].decode().partition("/")
            body = wire.unpack(frames[1:])
            values = body["values"]
            if not isinstance(values, Mapping):
                raise TypeError("values is not a map")
        except (wire.WireError, KeyError, TypeError, IndexError, UnicodeDecodeError) as exc:
            self.discarded += 1
            log.debug("discarded a message: %s", exc)
            return
        if server == self.ignore:
            return
        self.received += 1
        try:
            if kind == "hk":
                split = split_sample(values)
                self.on_hk(server, {**split.values, **split.synoptics})
            elif kind == "event":
                self.on_event(server, dict(values))
        except Exception:  # a broken callback must not end the stream
            log.exception("handling %s of %s failed", kind, server)
