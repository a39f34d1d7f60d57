"""Following what servers publish: one thread, any number of PUB endpoints, handlers by topic.

A control server publishes ``<kind>/<server>`` topics (``status``, ``hk``,
``event``; the log manager ``log/<server>/<itself>``) with a ``{server, time,
values}`` body (see :mod:`controlroom.rpc.publisher`). Everything that reads
them is a :class:`Subscriber`: handlers registered by topic prefix
(:meth:`~Subscriber.on`), endpoints followed from any thread
(:meth:`~Subscriber.follow`), and one thread that owns the sockets, connects
and disconnects to match, and hands every decoded :class:`Publication` to the
handlers whose prefix it starts with.

One SUB socket per endpoint, so each endpoint has its own counters and its
own receive high-water mark; ZeroMQ reconnects a dropped TCP peer by itself.
A wake-up takes at most :data:`BATCH` messages, round-robin over the
endpoints, so a noisy server cannot starve the others, and then runs the
``on_wake`` hook (at least every :data:`POLL_S`): a consumer that batches or
holds values back flushes there. Without such a hook an idle subscriber
sleeps until a message comes, or until :meth:`~Subscriber.follow` or
:meth:`~Subscriber.stop` wake it through a pipe (a hundred idle servers on a
host would otherwise wake thousands of times a second for nothing). Frames
are decoded with the wire codec; a message that is not a publication is
counted and dropped, and a handler that fails is logged without ending the
stream.

:class:`StatusFollower` is the common small case: the latest values of one
topic, e.g. the Setup id and obsid the configuration manager publishes on
``status/confman``, which the storage senders tag every row with.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

import zmq

from controlroom import wire
from controlroom.rpc import curve
from controlroom.rpc.wakeup import WakePipe

log = logging.getLogger(__name__)

POLL_S = 0.05  # how often the on_wake hook runs at least, when there is one
BATCH = 500  # messages taken per wake-up before the flags are looked at again
RCVHWM = 1000  # ZeroMQ's own default: messages kept per endpoint for a slow reader


class NotAPublication(ValueError):
    """Frames that are not a ``<kind>/<server>`` topic with a ``{server, time, values}`` body."""


@dataclass(frozen=True, slots=True)
class Publication:
    """One decoded message: ``server`` is who published it, as its body says."""

    topic: str
    server: str
    time: float
    values: dict[str, Any]

    @property
    def kind(self) -> str:
        """``hk`` in ``hk/dummy``."""
        return self.topic.partition("/")[0]

    @property
    def subject(self) -> str:
        """What the topic is about: ``dummy`` in ``hk/dummy`` (``dummy/logs`` in ``log/...``)."""
        return self.topic.partition("/")[2]


Handler = Callable[[Publication], None]


def decode(frames: Sequence[bytes]) -> Publication:
    """The publication in ``frames``; :class:`NotAPublication` or :class:`wire.WireError`."""
    if len(frames) < 2:
        raise NotAPublication("no body frame")
    try:
        topic = frames[0].decode()
    except UnicodeDecodeError as exc:
        raise NotAPublication("the topic is not UTF-8") from exc
    body = wire.unpack(frames[1:])
    if not topic.partition("/")[2] or not isinstance(body, Mapping):
        raise NotAPublication("not a <kind>/<server> topic with a map body")
    server, stamp, values = body.get("server"), body.get("time"), body.get("values")
    if not isinstance(server, str) or not isinstance(values, Mapping):
        raise NotAPublication("the body has no server or no values map")
    if isinstance(stamp, bool) or not isinstance(stamp, int | float):
        raise NotAPublication("the body has no time")
    return Publication(topic, server, float(stamp), dict(values))


@dataclass(eq=False)
class _Link:
    """The socket following one endpoint, and what came through it."""

    endpoint: str
    socket: zmq.Socket[bytes]
    received: int = 0
    discarded: int = 0


class Subscriber:
    """Publications from the endpoints it follows, to the handlers of their topics.

    Register handlers with :meth:`on` before :meth:`start`; they and
    ``on_wake`` run on the subscriber's thread.
    """

    def __init__(
        self,
        *,
        name: str,
        rcvhwm: int = RCVHWM,
        on_wake: Callable[[], None] | None = None,
        context: zmq.Context[Any] | None = None,
    ) -> None:
        self.name = name  # of the thread and in the log
        self.rcvhwm = rcvhwm
        self.received = 0  # messages taken, decodable or not
        self.discarded = 0  # messages that were not a publication
        self._on_wake = on_wake
        self._context = context or zmq.Context.instance()
        self._handlers: list[tuple[str, Handler]] = []
        self._wanted: set[str] = set()
        self._links: dict[str, _Link] = {}
        self._lock = threading.Lock()
        self._changed = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake = WakePipe()  # for follow() and stop(): the thread sleeps in its poll

    def on(self, prefix: str, handler: Handler) -> Self:
        """Give ``handler`` every publication whose topic starts with ``prefix``."""
        if self._thread is not None:
            raise RuntimeError(f"{self.name}: handlers are set before the subscriber starts")
        self._handlers.append((prefix, handler))
        return self

    def follow(self, endpoints: Iterable[str]) -> None:
        """Follow exactly these PUB endpoints from now on; any thread."""
        with self._lock:
            self._wanted = {endpoint for endpoint in endpoints if endpoint}
        self._changed.set()
        self._wake.nudge()

    def following(self) -> set[str]:
        """The endpoints asked for."""
        with self._lock:
            return set(self._wanted)

    def connected(self) -> set[str]:
        """The endpoints a socket follows now."""
        with self._lock:
            return set(self._links)

    def start(self) -> Self:
        """Connect to the endpoints followed so far and start the thread; returns at once.

        Those first connections are made here, in the caller's thread, so a bad
        endpoint raises :class:`zmq.ZMQError` to the caller; later ones are the
        thread's, which logs a failure and tries again at the next :meth:`follow`.
        """
        if self._thread is None:
            self._stopping = threading.Event()  # a thread that outlived its stop keeps its own
            self._changed.clear()
            links = self._connect_all(self.following())
            thread = threading.Thread(
                target=self._run, args=(links, self._stopping), name=self.name, daemon=True
            )
            with self._lock:
                self._links, self._thread = dict(links), thread
            thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop following and close the sockets; idempotent, and may be started again."""
        self._stopping.set()
        self._wake.nudge()
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def describe(self) -> dict[str, Any]:
        """The endpoints asked for and the counters, in total and by endpoint."""
        with self._lock:
            wanted = sorted(self._wanted)
            by_endpoint = {
                link.endpoint: {"received": link.received, "discarded": link.discarded}
                for link in self._links.values()
            }
        return {
            "endpoints": wanted,
            "received": self.received,
            "discarded": self.discarded,
            "by_endpoint": by_endpoint,
        }

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _connect_all(self, endpoints: Iterable[str]) -> dict[str, _Link]:
        links: dict[str, _Link] = {}
        try:
            for endpoint in sorted(endpoints):
                links[endpoint] = self._connect(endpoint)
        except zmq.ZMQError:
            for link in links.values():
                link.socket.close(linger=0)
            raise
        return links

    def _connect(self, endpoint: str) -> _Link:
        socket = curve.client_socket(self._context, zmq.SUB)
        socket.setsockopt(zmq.LINGER, 0)
        socket.setsockopt(zmq.RCVHWM, self.rcvhwm)
        for prefix in {prefix for prefix, _ in self._handlers}:
            socket.setsockopt(zmq.SUBSCRIBE, prefix.encode())
        try:
            socket.connect(endpoint)
        except zmq.ZMQError:
            socket.close(linger=0)
            raise
        return _Link(endpoint, socket)

    def _run(self, links: dict[str, _Link], stopping: threading.Event) -> None:
        # The sockets are this thread's alone; self._links is what other threads may read.
        poller = self._poller_of(links)
        try:
            while not stopping.is_set():
                if self._changed.is_set():
                    self._changed.clear()
                    self._reconnect(links)
                    poller = self._poller_of(links)
                self._wake_up(links, poller)
        except Exception:  # say why the publications stopped coming
            log.exception("%s: the subscriber stopped", self.name)
            raise
        finally:
            for link in links.values():
                link.socket.close(linger=0)
            with self._lock:
                if self._thread is None:  # not started again meanwhile
                    self._links = {}

    def _reconnect(self, links: dict[str, _Link]) -> None:
        wanted = self.following()
        for endpoint in set(links) - wanted:
            links.pop(endpoint).socket.close(linger=0)
        for endpoint in wanted - set(links):
            try:
                links[endpoint] = self._connect(endpoint)
            except zmq.ZMQError as exc:
                log.warning("%s: cannot follow %s: %s", self.name, endpoint, exc)
        with self._lock:
            self._links = dict(links)

    def _wake_up(self, links: dict[str, _Link], poller: zmq.Poller) -> None:
        timeout = None if self._on_wake is None else int(POLL_S * 1000)
        ready = {socket for socket, _ in poller.poll(timeout)}
        if self._wake.fd in ready:
            self._wake.drain()
        self._drain([link for link in links.values() if link.socket in ready])
        if self._on_wake is not None:
            self._on_wake()

    def _poller_of(self, links: Mapping[str, _Link]) -> zmq.Poller:
        poller = zmq.Poller()
        poller.register(self._wake.fd, zmq.POLLIN)
        for link in links.values():
            poller.register(link.socket, zmq.POLLIN)
        return poller

    def _drain(self, ready: list[_Link]) -> None:
        taken = 0
        while ready:
            for link in list(ready):
                if taken >= BATCH:
                    return
                try:
                    frames = link.socket.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    ready.remove(link)
                    continue
                taken += 1
                self._take(link, frames)

    def _take(self, link: _Link, frames: list[bytes]) -> None:
        self.received += 1
        link.received += 1
        try:
            publication = decode(frames)
        except (NotAPublication, wire.WireError) as exc:
            self.discarded += 1
            link.discarded += 1
            log.debug("%s: discarded a message from %s: %s", self.name, link.endpoint, exc)
            return
        for prefix, handler in self._handlers:
            if publication.topic.startswith(prefix):
                try:
                    handler(publication)
                except Exception:  # one value a handler cannot take must not end the stream
                    log.exception("%s: handling %s failed", self.name, publication.topic)


class StatusFollower:
    """The latest ``values`` published on ``topic`` at ``endpoint`` (a PUB socket)."""

    def __init__(
        self, endpoint: str, topic: str, *, context: zmq.Context[Any] | None = None
    ) -> None:
        self.endpoint = endpoint
        self.topic = topic
        self.received = 0  # messages of this very topic taken
        self._values: dict[str, Any] = {}
        self._time: float | None = None
        self._lock = threading.Lock()
        self._first = threading.Event()
        # Only the latest message matters: a short queue is enough.
        self._subscriber = Subscriber(name=f"follow-{topic}", rcvhwm=100, context=context)
        self._subscriber.on(topic, self._take).follow([endpoint])

    @property
    def discarded(self) -> int:
        """Messages that could not be decoded."""
        return self._subscriber.discarded

    def start(self) -> Self:
        """Subscribe and start following; returns at once (nothing may be published yet)."""
        self._subscriber.start()
        return self

    def current(self) -> dict[str, Any]:
        """A copy of the latest values; an empty dict before the first message."""
        with self._lock:
            return dict(self._values)

    @property
    def last_time(self) -> float | None:
        """When the latest message was published (UTC seconds), None before the first."""
        return self._time

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the first message; True once one arrived."""
        return self._first.wait(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop following and close the socket; idempotent."""
        self._subscriber.stop(timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _take(self, publication: Publication) -> None:
        # A subscription matches prefixes: status/confman would also let status/confman2 in.
        if publication.topic != self.topic:
            return
        with self._lock:
            self._values = publication.values
            self._time = publication.time
        self.received += 1
        self._first.set()
