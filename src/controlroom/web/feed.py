"""One thread, one ZeroMQ SUB socket: everything every followed server publishes, into the hub.

The socket subscribes to all topics and is connected to each server's PUB
endpoint; :meth:`Feed.follow` (any thread) says which endpoints those are, and
the feed thread -- the only one touching the socket -- connects and
disconnects to match. Messages are taken in batches (everything already
waiting, up to :data:`BATCH`) so a burst costs one hub update, not one per
message. Malformed messages are counted and skipped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

import zmq

from controlroom import wire
from controlroom.web.hub import Hub, Message

log = logging.getLogger(__name__)

POLL_MS = 50  # how often an idle feed looks at its stop flag and endpoint list
BATCH = 500
RCVHWM = 100_000  # a burst is kept in ZeroMQ rather than lost


class Feed:
    """Follows the PUB endpoints it is given and publishes what arrives to ``hub``."""

    def __init__(self, hub: Hub, *, context: zmq.Context[Any] | None = None) -> None:
        self.hub = hub
        self.received = 0
        self.discarded = 0
        self._context = context or zmq.Context.instance()
        self._wanted: set[str] = set()
        self._changed = threading.Event()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def follow(self, endpoints: Mapping[str, str]) -> None:
        """Follow exactly these PUB endpoints (server name → endpoint)."""
        with self._lock:
            self._wanted = {e for e in endpoints.values() if e}
        self._changed.set()

    def start(self) -> None:
        if self._thread is None:
            socket = self._context.socket(zmq.SUB)
            socket.setsockopt(zmq.LINGER, 0)
            socket.setsockopt(zmq.RCVHWM, RCVHWM)
            socket.setsockopt(zmq.SUBSCRIBE, b"")
            self._stopping.clear()
            self._thread = threading.Thread(
                target=self._run, args=(socket,), name="web-feed", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def describe(self) -> dict[str, Any]:
        with self._lock:
            endpoints = sorted(self._wanted)
        return {"endpoints": endpoints, "received": self.received, "discarded": self.discarded}

    def _run(self, socket: zmq.Socket[bytes]) -> None:
        connected: set[str] = set()
        try:
            while not self._stopping.is_set():
                if self._changed.is_set():
                    self._changed.clear()
                    connected = self._reconnect(socket, connected)
                if socket.poll(POLL_MS):
                    self.hub.publish(self._drain(socket))
        except Exception:  # the panel must say why its live view froze
            log.exception("the web panel's feed stopped")
            raise
        finally:
            socket.close(linger=0)

    def _reconnect(self, socket: zmq.Socket[bytes], connected: set[str]) -> set[str]:
        with self._lock:
            wanted = set(self._wanted)
        for endpoint in connected - wanted:
            try:
                socket.disconnect(endpoint)
            except zmq.ZMQError as exc:
                log.debug("disconnect %s: %s", endpoint, exc)
        for endpoint in wanted - connected:
            try:
                socket.connect(endpoint)
            except zmq.ZMQError as exc:
                log.warning("cannot follow %s: %s", endpoint, exc)
                wanted.discard(endpoint)
        return wanted

    def _drain(self, socket: zmq.Socket[bytes]) -> list[Message]:
        batch: list[Message] = []
        while len(batch) < BATCH:
            try:
                frames = socket.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            message = self._decode(frames)
            if message is not None:
                batch.append(message)
        return batch

    def _decode(self, frames: list[bytes]) -> Message | None:
        self.received += 1
        try:
            topic = frames[0].decode()
            body = wire.unpack(frames[1:])
            values = body["values"]
            if not isinstance(values, Mapping) or "/" not in topic:
                raise TypeError("not a {server, time, values} body")
            return Message(topic, str(body["server"]), float(body["time"]), dict(values))
        except (IndexError, UnicodeDecodeError, wire.WireError, KeyError, TypeError, ValueError):
            self.discarded += 1
            log.debug("discarded a malformed message on %r", frames[:1])
            return None
