"""Following a control server's PUB socket in the rpc tests (imported by name: keep it unique)."""

from __future__ import annotations

import time
from typing import Any, Self

import zmq

from controlroom import wire


class Subscription:
    """A SUB socket on ``topics`` of a server's PUB endpoint; messages read with a deadline."""

    def __init__(self, endpoint: str, *topics: str) -> None:
        self._socket: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.SUB)
        self._socket.setsockopt(zmq.LINGER, 0)
        for topic in topics:
            self._socket.setsockopt(zmq.SUBSCRIBE, topic.encode())
        self._socket.connect(endpoint)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._socket.close(linger=0)

    def next_hk(self, after: float, timeout_s: float = 5.0) -> dict[str, Any] | None:
        """The next housekeeping body published later than ``after`` (UTC seconds)."""
        return self._next(
            lambda topic, body: topic.startswith("hk/") and body["time"] > after, timeout_s
        )

    def next_status(self, after: float, timeout_s: float = 5.0) -> dict[str, Any] | None:
        """The next status body published later than ``after`` (UTC seconds)."""
        return self._next(
            lambda topic, body: topic.startswith("status/") and body["time"] > after, timeout_s
        )

    def next_event(self, event: str, timeout_s: float = 5.0) -> dict[str, Any] | None:
        """The values of the next ``event`` published."""
        found = self._next(
            lambda topic, body: topic.startswith("event/") and body["values"].get("event") == event,
            timeout_s,
        )
        return None if found is None else dict(found["values"])

    def _next(self, wanted: Any, timeout_s: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout_s
        while (left_ms := int((deadline - time.monotonic()) * 1000)) > 0:
            if not self._socket.poll(left_ms):
                return None
            topic, *frames = self._socket.recv_multipart()
            body = wire.unpack(frames)
            if wanted(topic.decode(), body):
                return dict(body)
        return None
