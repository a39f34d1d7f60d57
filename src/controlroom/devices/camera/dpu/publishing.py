"""The processor's publications on a PUB socket, and :class:`DpuMonitoring` to follow them.

:class:`DpuPublisher` is the loop's ``publish`` callback: every topic of
:class:`~.reporting.Topic` goes out as ``[topic name, msgpack map]`` (see
:mod:`.publications`). Its socket never blocks its sender: a subscriber
that falls behind loses publications (ZeroMQ's high-water mark), never the
loop's time. It is an XPUB socket, which hears the subscriptions: a topic
nobody follows is not even encoded (:meth:`DpuPublisher.wants`). That
matters for ``SYNC_DATA_PACKET``, a publication per data packet (some
6000 a second in a full-frame stream): encoding and copying them for no
subscriber cost the loop over a quarter of its time.

:class:`DpuMonitoring` subscribes to some topics and hands them back decoded
and checked, for a script that waits on the camera's timing::

    with DpuMonitoring(publish_endpoint) as monitoring:
        while (tick := monitoring.wait_for_timecode(timeout_s=10.0)) is not None:
            timecode, received_s = tick
            ...

A subscriber joins late by nature: what was published before its
subscription reached the processor is not seen.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import zmq

from controlroom.devices.camera.dpu.publications import MAX_PUBLICATION_BYTES, decode, encode
from controlroom.devices.camera.dpu.reporting import Topic
from controlroom.rpc import curve, endpoints
from controlroom.rpc.errors import InsecureServer

QUEUE_MESSAGES = 20_000  # per subscriber: about two full-frame readouts of data packets
MAX_SUBSCRIPTION_BYTES = 256  # a subscription message: one byte and a topic prefix
MAX_SUBSCRIPTIONS = 64  # distinct prefixes kept; more: every topic counts as followed
REFRESH_S = 0.01  # subscriptions are read this often at most
MONITORING_TOPICS = frozenset(Topic) - {Topic.SYNC_DATA_PACKET}
"""What a monitor follows unless told otherwise: everything but the pixels."""
DEFAULT_WAIT_S = 10.0


class DpuPublisher:
    """Publishes on an XPUB socket bound to ``endpoint`` (use it from one thread: the loop's)."""

    def __init__(self, endpoint: str, *, context: zmq.Context[Any] | None = None) -> None:
        context = context if context is not None else zmq.Context.instance()
        self._socket = curve.server_socket(context, zmq.XPUB)
        try:
            self._socket.setsockopt(zmq.SNDHWM, QUEUE_MESSAGES)
            self._socket.setsockopt(zmq.LINGER, 0)
            self._socket.setsockopt(zmq.MAXMSGSIZE, MAX_SUBSCRIPTION_BYTES)
            self.endpoint = endpoints.bind(self._socket, endpoint)
        except BaseException:
            self._socket.close(linger=0)
            raise
        self._subscriptions = Subscriptions()
        self._refreshed = -REFRESH_S
        self.published = 0
        self.unheard = 0  # publications nobody subscribed to: not encoded, not sent

    def wants(self, topic: Topic) -> bool:
        """True if a subscriber follows ``topic`` (as of the subscriptions read at most
        ``REFRESH_S`` ago: looking at the socket costs more than a publication's check)."""
        now = time.monotonic()
        if now - self._refreshed >= REFRESH_S:
            self._refreshed = now
            while self._socket.poll(0, zmq.POLLIN):
                self._subscriptions.note(self._socket.recv(zmq.NOBLOCK))
        return self._subscriptions.follow(topic)

    def __call__(self, topic: Topic, payload: object) -> None:
        if not self.wants(topic):
            self.unheard += 1
            return
        self._socket.send_multipart(encode(topic, payload))
        self.published += 1

    def close(self) -> None:
        self._socket.close(linger=0)


class Subscriptions:
    """The topic prefixes at least one subscriber follows, from an XPUB socket's messages.

    An XPUB passes on a prefix's first subscription (``\\x01`` + prefix) and its
    last unsubscription (``\\x00`` + prefix; a subscriber that leaves drops its
    own), so a set is the whole state. Beyond ``MAX_SUBSCRIPTIONS`` prefixes
    every topic counts as followed from then on: publishing too much is safe,
    too little is not.
    """

    def __init__(self) -> None:
        self.prefixes: set[bytes] = set()
        self.overflow = False

    def note(self, message: bytes) -> None:
        """Take one message the XPUB received (anything but a (un)subscription is ignored)."""
        kind, prefix = message[:1], message[1:]
        if kind == b"\x01":
            if len(self.prefixes) < MAX_SUBSCRIPTIONS or prefix in self.prefixes:
                self.prefixes.add(prefix)
            else:  # not kept: from now on everything is published, as by a plain PUB
                self.overflow = True
        elif kind == b"\x00":
            self.prefixes.discard(prefix)

    def follow(self, topic: Topic) -> bool:
        name = topic.value.encode()
        return self.overflow or any(name.startswith(prefix) for prefix in self.prefixes)


class DpuMonitoring:
    """Follows ``topics`` of the processor publishing on ``publish_endpoint``; a context manager.

    A publication that is not what the processor sends raises
    :class:`~.publications.MalformedPublication` from :meth:`next`.
    """

    def __init__(
        self,
        publish_endpoint: str,
        topics: Iterable[Topic] = MONITORING_TOPICS,
        *,
        context: zmq.Context[Any] | None = None,
    ) -> None:
        context = context if context is not None else zmq.Context.instance()
        self.topics = frozenset(Topic(topic) for topic in topics)
        self._socket = curve.client_socket(context, zmq.SUB)
        try:
            if not endpoints.is_loopback(publish_endpoint) and not curve.is_secured(self._socket):
                raise InsecureServer(
                    f"refusing a plain subscription to {publish_endpoint}: beyond loopback it "
                    "needs CURVE (secure this process's ZeroMQ context with the lab keys)"
                )
            self._socket.setsockopt(zmq.LINGER, 0)
            self._socket.setsockopt(zmq.RCVHWM, QUEUE_MESSAGES)
            self._socket.setsockopt(zmq.MAXMSGSIZE, MAX_PUBLICATION_BYTES + 256)
            for topic in self.topics:
                self._socket.setsockopt(zmq.SUBSCRIBE, topic.value.encode())
            self._socket.connect(publish_endpoint)
        except BaseException:
            self._socket.close(linger=0)
            raise

    def __enter__(self) -> DpuMonitoring:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._socket.close(linger=0)

    def next(
        self, topics: Iterable[Topic] | None = None, timeout_s: float = DEFAULT_WAIT_S
    ) -> tuple[Topic, object] | None:
        """The next publication of ``topics`` (default: all followed); None after ``timeout_s``.

        Publications of other topics that come first are passed over.
        """
        wanted = self.topics if topics is None else frozenset(Topic(t) for t in topics)
        if not wanted <= self.topics:
            missing = ", ".join(sorted(wanted - self.topics))
            raise ValueError(f"this monitor does not follow {missing}")
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            if not self._socket.poll(max(1, int(left * 1000))):
                return None
            topic, payload = decode(self._socket.recv_multipart())
            if topic in wanted:
                return topic, payload
        return None

    def wait_for_timecode(self, timeout_s: float = DEFAULT_WAIT_S) -> tuple[int, float] | None:
        """(timecode, UTC reception time) of the next timecode; None after ``timeout_s``."""
        found = self.next([Topic.SYNC_TIMECODE], timeout_s)
        if found is None:
            return None
        tick = found[1]
        assert isinstance(tick, tuple)  # as decoded: (timecode, received_s)
        return int(tick[0]), float(tick[1])
