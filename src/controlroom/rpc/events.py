"""Events between servers: producers notify registered listeners, never blocking.

A server registers with a producer (``register_listener(name, endpoint,
events)``); the producer's :class:`Notifier` delivers each event by calling the
listener's ``handle_event`` service command from its own thread, so the
producer's command loop never waits on a listener. A listener that does not
answer is retried with backoff a few times, logged, then dropped.

Listeners arrive over the network, so they are checked: a listener's
endpoint is ``tcp://host:port`` (never ``ipc://`` nor ``inproc://``), a producer
keeps at most ``MAX_LISTENERS`` of them, and registering a name or an
endpoint again replaces the earlier entry instead of adding one.

On the listening side, :class:`EventHandlers` queues incoming events and runs
the callbacks on a thread of their own: a handler may call back into the
producer (fetch the new Setup after ``new_setup``) without a deadlock.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from controlroom.rpc.endpoints import tcp_peer
from controlroom.rpc.errors import RpcError
from controlroom.rpc.proxy import Proxy
from controlroom.rpc.threads import Supervisor

log = logging.getLogger(__name__)

Event = dict[str, Any]
Handler = Callable[[Event], None]
T = TypeVar("T")

RETRY_DELAYS_S = (0.1, 0.5, 1.0)  # then the listener is dropped
QUEUE_LIMIT = 1000
MAX_LISTENERS = 64  # per producer
MAX_NAME_CHARS = 128  # of a listener's name and of each event name
MAX_EVENT_NAMES = 64  # per listener


class TooManyListeners(RpcError):
    """A producer already has ``MAX_LISTENERS`` listeners; the registration was refused."""


class _Inbox(Generic[T]):
    """A bounded queue that one supervised thread drains into ``take``, item by item."""

    def __init__(self, supervisor: Supervisor, role: str, take: Callable[[T], None]) -> None:
        self.stopping = threading.Event()
        self._queue: queue.Queue[T | None] = queue.Queue(QUEUE_LIMIT)
        self._take = take
        self._thread = supervisor.thread(role, self._run, stop=self.stopping)

    def put(self, item: T) -> None:
        """Queue ``item`` without waiting; :class:`queue.Full` when ``QUEUE_LIMIT`` wait."""
        self._queue.put_nowait(item)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float) -> None:
        self.stopping.set()
        # When the queue is full the thread sees the stop flag after its current item.
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self.stopping.is_set():
            item = self._queue.get()
            if item is None:
                return
            self._take(item)


@dataclass
class Listener:
    name: str
    endpoint: str
    events: frozenset[str] | None  # None: every event
    delivered: int = 0
    failed: int = 0
    proxy: Proxy | None = field(default=None, repr=False)

    def wants(self, event: str) -> bool:
        return self.events is None or event in self.events

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "endpoint": self.endpoint,
            "events": sorted(self.events) if self.events is not None else None,
            "delivered": self.delivered,
            "failed": self.failed,
        }


class Notifier:
    """The producer side: who listens, and a thread that delivers."""

    def __init__(
        self,
        source: str,
        *,
        timeout_s: float = 2.0,
        max_listeners: int = MAX_LISTENERS,
        supervisor: Supervisor | None = None,
    ) -> None:
        self.source = source
        self.timeout_s = timeout_s
        self.max_listeners = max_listeners
        self.dropped_events = 0
        self._listeners: dict[str, Listener] = {}
        self._lock = threading.Lock()
        self._inbox = _Inbox(supervisor or Supervisor(source), "notifier", self._deliver_to_all)

    def start(self) -> None:
        self._inbox.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._inbox.stop(timeout)
        with self._lock:
            for listener in self._listeners.values():
                if listener.proxy is not None:
                    listener.proxy.close()

    def register(self, name: str, endpoint: str, events: Iterable[str] | None = None) -> None:
        """Send ``events`` (None: all) to ``endpoint``, replacing one of that name or endpoint."""
        listener = Listener(_listener_name(name), tcp_peer(endpoint), _event_names(events))
        with self._lock:
            replaced = [
                old
                for old in self._listeners.values()
                if old.name == listener.name or old.endpoint == listener.endpoint
            ]
            if not replaced and len(self._listeners) >= self.max_listeners:
                raise TooManyListeners(
                    f"{self.source}: {self.max_listeners} listeners already registered; "
                    f"unregister one before adding {listener.name!r}"
                )
            for old in replaced:
                del self._listeners[old.name]
            self._listeners[listener.name] = listener
        for old in replaced:
            if old.proxy is not None:
                old.proxy.close()

    def unregister(self, name: str) -> bool:
        with self._lock:
            listener = self._listeners.pop(name, None)
        if listener is not None and listener.proxy is not None:
            listener.proxy.close()
        return listener is not None

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [listener.describe() for listener in self._listeners.values()]

    def notify(self, event: str, data: dict[str, Any]) -> None:
        """Queue ``event`` for every listener that wants it; returns at once."""
        try:
            self._inbox.put((event, data))
        except queue.Full:
            self.dropped_events += 1
            log.warning("%s: event queue full, %s dropped", self.source, event)

    def _deliver_to_all(self, item: tuple[str, dict[str, Any]]) -> None:
        event, data = item
        with self._lock:
            targets = [lsn for lsn in self._listeners.values() if lsn.wants(event)]
        for listener in targets:
            self._deliver(listener, event, data)

    def _deliver(self, listener: Listener, event: str, data: dict[str, Any]) -> None:
        payload = {"event": event, "source": self.source, "time": time.time(), "data": data}
        for delay in (0.0, *RETRY_DELAYS_S):
            if delay and self._inbox.stopping.wait(delay):
                return
            try:
                self._proxy_for(listener).request(
                    "handle_event", (payload,), timeout=self.timeout_s
                )
                listener.delivered += 1
                return
            except RpcError as exc:
                listener.failed += 1
                log.info("%s: %s to %s failed: %s", self.source, event, listener.name, exc)
        log.warning("%s: listener %s does not answer; dropped", self.source, listener.name)
        self.unregister(listener.name)

    def _proxy_for(self, listener: Listener) -> Proxy:
        if listener.proxy is None:
            listener.proxy = Proxy(listener.endpoint, name=listener.name, timeout=self.timeout_s)
        return listener.proxy


class EventHandlers:
    """The listener side: callbacks per event, run on a thread of their own."""

    def __init__(self, name: str, *, supervisor: Supervisor | None = None) -> None:
        self.name = name
        self.received = 0
        self.failures = 0
        self._handlers: dict[str, list[Handler]] = {}
        self._inbox = _Inbox(supervisor or Supervisor(name), "events", self._dispatch)

    def on(self, event: str, handler: Handler) -> None:
        """Call ``handler(payload)`` for each ``event`` ("*" for all)."""
        self._handlers.setdefault(event, []).append(handler)

    def start(self) -> None:
        self._inbox.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._inbox.stop(timeout)

    def accept(self, payload: Any) -> bool:
        """The ``handle_event`` service command: queue the event, answer at once."""
        if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
            raise ValueError("an event is a map with an 'event' name")
        self.received += 1
        try:
            self._inbox.put(payload)
        except queue.Full:
            raise RpcError(f"{self.name}: too many events waiting") from None
        return True

    def _dispatch(self, payload: Event) -> None:
        for handler in [*self._handlers.get(payload["event"], []), *self._handlers.get("*", [])]:
            try:
                handler(payload)
            except Exception:
                self.failures += 1
                log.exception("%s: handler for %s failed", self.name, payload["event"])


def _listener_name(name: object) -> str:
    if not isinstance(name, str) or not name or len(name) > MAX_NAME_CHARS:
        raise ValueError(f"a listener needs a name (a string of 1 to {MAX_NAME_CHARS} characters)")
    return name


def _event_names(events: object) -> frozenset[str] | None:
    """The event names a listener wants (None: all), checked: a list of short strings."""
    if events is None:
        return None
    if not isinstance(events, list | tuple | set | frozenset):
        raise ValueError("a listener's events are a list of event names (or null for all)")
    names = list(events)
    if len(names) > MAX_EVENT_NAMES:
        raise ValueError(f"a listener may name at most {MAX_EVENT_NAMES} events, not {len(names)}")
    if not all(isinstance(n, str) and 0 < len(n) <= MAX_NAME_CHARS for n in names):
        raise ValueError(f"an event name is a string of 1 to {MAX_NAME_CHARS} characters")
    return frozenset(names)
