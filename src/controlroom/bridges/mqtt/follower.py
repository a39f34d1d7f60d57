"""One thread, one ZeroMQ SUB socket: what every followed server publishes, to a sink.

The socket subscribes to every topic and is connected to each server's PUB
endpoint; :meth:`Follower.follow` (any thread) says which endpoints, and the
follower thread -- the only one touching the socket -- connects and
disconnects to match. Every message (``status/<server>``, ``hk/<server>``,
``event/<server>`` with a ``{server, time, values}`` body) goes to
:meth:`Sink.take`; :meth:`Sink.tick` runs at least every :data:`POLL_MS`, so
held-back values go out even when nothing arrives. Malformed messages are
counted and skipped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any, Protocol

import zmq

from controlroom import wire

log = logging.getLogger(__name__)

POLL_MS = 50
BATCH = 500  # messages taken before the stop flag and the endpoints are looked at again
RCVHWM = 100_000


class Sink(Protocol):
    def take(self, kind: str, server: str, stamp: float, values: dict[str, Any]) -> None:
        """One message; called on the follower thread."""

    def tick(self, now: float) -> None:
        """Called on the follower thread at least every POLL_MS."""


class Follower:
    """Follows the PUB endpoints it is given and passes what arrives to ``sink``."""

    def __init__(self, sink: Sink, *, context: zmq.Context[Any] | None = None) -> None:
        self.sink = sink
        self.received = 0
        self.discarded = 0
        self._context = context or zmq.Context.instance()
        self._wanted: set[str] = set()
        self._changed = threading.Event()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def follow(self, endpoints: Iterable[str]) -> None:
        """Follow exactly these PUB endpoints."""
        with self._lock:
            self._wanted = {e for e in endpoints if e}
        self._changed.set()

    def start(self) -> None:
        if self._thread is None:
            socket = self._context.socket(zmq.SUB)
            socket.setsockopt(zmq.LINGER, 0)
            socket.setsockopt(zmq.RCVHWM, RCVHWM)
            socket.setsockopt(zmq.SUBSCRIBE, b"")
            self._stopping.clear()
            self._thread = threading.Thread(
                target=self._run, args=(socket,), name="mqtt-follower", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self, socket: zmq.Socket[bytes]) -> None:
        connected: set[str] = set()
        try:
            while not self._stopping.is_set():
                if self._changed.is_set():
                    self._changed.clear()
                    connected = self._reconnect(socket, connected)
                if socket.poll(POLL_MS):
                    self._drain(socket)
                self.sink.tick(time.monotonic())
        except Exception:  # say why the values stopped coming
            log.exception("the MQTT bridge's follower stopped")
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

    def _drain(self, socket: zmq.Socket[bytes]) -> None:
        for _ in range(BATCH):
            try:
                frames = socket.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            self._take(frames)

    def _take(self, frames: list[bytes]) -> None:
        self.received += 1
        try:
            kind, _, server = frames[0].decode().partition("/")
            body = wire.unpack(frames[1:])
            values = body["values"]
            if not isinstance(values, dict) or not server:
                raise TypeError("not a {server, time, values} body")
            stamp = float(body["time"])
        except (IndexError, UnicodeDecodeError, wire.WireError, KeyError, TypeError, ValueError):
            self.discarded += 1
            log.debug("discarded a malformed message on %r", frames[:1])
            return
        try:
            self.sink.take(kind, server, stamp, values)
        except Exception:  # one value the sink cannot handle must not stop the bridge
            log.exception("MQTT bridge: cannot relay %s/%s", kind, server)
