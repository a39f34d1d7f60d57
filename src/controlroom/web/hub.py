"""The live state of the facility: the latest message per topic, fanned out to subscribers.

The :class:`Hub` knows nothing of ZeroMQ or browsers. Producers (the
feed of :mod:`.live`, the status lights of :mod:`.watch`) call :meth:`Hub.publish`;
consumers (one per open WebSocket, see :mod:`.clients`) :meth:`Hub.attach` a
:class:`Sink` with the topic prefixes they want and get, atomically, the
snapshot of those topics; from then on every matching change is offered to
the sink. Offering never blocks: a sink queues or drops, so one slow browser
tab never holds up the others or the producers.

Topics, each with a body ``{server, time, values}``:

* ``status/<server>``, ``hk/<server>``, ``event/<server>`` -- exactly what the
  server published (see :mod:`controlroom.rpc.publisher`); events are also
  kept in a bounded history (:attr:`Hub.events`), since each is news;
* ``server/<server>`` -- made by the panel: ``{up, kind, commands, publish}``,
  the status light (see :mod:`.watch`).

Prefixes match like ZeroMQ subscriptions: ``"hk/"`` is every server's HK,
``"hk/dummy"`` one server's, ``""`` everything.
"""

from __future__ import annotations

import json
import math
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

STATUS, HK, EVENT, SERVER = "status", "hk", "event", "server"


@dataclass
class Message:
    """One published value set: the JSON a page receives is :meth:`to_json`.

    ``seq`` is given by the hub: increasing, so a subscriber can tell the
    changes its snapshot already holds (``seq <= snapshot.seq``) from newer ones.
    """

    topic: str
    server: str
    time: float
    values: dict[str, Any]
    seq: int = 0
    _change: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def kind(self) -> str:
        return self.topic.partition("/")[0]

    def to_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "server": self.server,
            "time": self.time,
            "values": self.values,
            "seq": self.seq,
        }

    def change_text(self) -> str:
        """The ``change`` message of the WebSocket protocol, as JSON text.

        Encoded once, by whichever page is sent it first, and shared by all the
        others: with hundreds of pages open, encoding per page was most of the
        fan-out's time. Two threads racing here encode the same text twice, harmlessly.
        """
        if self._change is None:
            self._change = dumps({"type": "change", **self.to_json()})
        return self._change


def topic_of(kind: str, server: str) -> str:
    return f"{kind}/{server}"


class Sink(Protocol):
    """Where a subscriber's changes go; ``offer`` is called from producer threads."""

    def offer(self, messages: Sequence[Message]) -> None:
        """Take ``messages`` (already filtered by the sink's prefixes); must not block."""


@dataclass(frozen=True)
class Snapshot:
    """The state a new subscriber starts from."""

    topics: dict[str, Message]
    events: list[Message]  # oldest first
    seq: int  # the hub's sequence number when it was taken

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "snapshot",
            "seq": self.seq,
            "topics": {topic: m.to_json() for topic, m in sorted(self.topics.items())},
            "events": [m.to_json() for m in self.events],
        }


def matches(topic: str, prefixes: Sequence[str]) -> bool:
    return any(topic.startswith(prefix) for prefix in prefixes)


class Hub:
    """Latest message per topic, recent events, and the subscribers (thread-safe)."""

    def __init__(self, *, events_kept: int = 200) -> None:
        self._latest: dict[str, Message] = {}
        self.events: deque[Message] = deque(maxlen=events_kept)
        self._sinks: dict[Sink, tuple[str, ...]] = {}
        self._lock = threading.Lock()
        self.published = 0

    def publish(self, messages: Iterable[Message]) -> None:
        """Record ``messages`` and offer each subscriber the ones it follows."""
        batch = list(messages)
        if not batch:
            return
        with self._lock:
            for message in batch:
                self.published += 1
                message.seq = self.published
                message._change = None  # the text has the seq: a message published again
                self._latest[message.topic] = message
                if message.kind == EVENT:
                    self.events.append(message)
            # Offered under the lock: a sink attaching now gets either the snapshot
            # with these messages or these messages, never both or neither.
            self._offer(batch)

    def attach(self, sink: Sink, prefixes: Sequence[str]) -> Snapshot:
        """Follow ``prefixes`` (replacing what ``sink`` followed); the snapshot to start from."""
        with self._lock:
            self._sinks[sink] = tuple(prefixes)
            return self._snapshot(tuple(prefixes))

    def detach(self, sink: Sink) -> None:
        with self._lock:
            self._sinks.pop(sink, None)

    def snapshot(self, prefixes: Sequence[str] = ("",)) -> Snapshot:
        with self._lock:
            return self._snapshot(tuple(prefixes))

    def latest(self, topic: str) -> Message | None:
        """The last message on ``topic``, or None."""
        with self._lock:
            return self._latest.get(topic)

    def servers(self) -> dict[str, dict[str, Any]]:
        """The status light of every known server: ``{name: {up, kind, commands, publish}}``."""
        prefix = SERVER + "/"
        with self._lock:
            return {
                m.server: dict(m.values) for t, m in self._latest.items() if t.startswith(prefix)
            }

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._sinks)

    def _offer(self, batch: list[Message]) -> None:
        # Most pages follow the same few prefix sets: choose once per set, not per sink.
        # The sinks share the chosen tuple, so none of them can change what another gets.
        chosen_for: dict[tuple[str, ...], tuple[Message, ...]] = {}
        for sink, prefixes in self._sinks.items():
            chosen = chosen_for.get(prefixes)
            if chosen is None:
                chosen = chosen_for[prefixes] = tuple(
                    m for m in batch if matches(m.topic, prefixes)
                )
            if chosen:
                sink.offer(chosen)

    def _snapshot(self, prefixes: tuple[str, ...]) -> Snapshot:
        topics = {t: m for t, m in self._latest.items() if matches(t, prefixes)}
        events = [m for m in self.events if matches(m.topic, prefixes)]
        return Snapshot(topics, events, self.published)


def dumps(payload: Any) -> str:
    """JSON a browser can parse: NaN and infinities become null, unknown types text."""
    return json.dumps(_clean(payload), separators=(",", ":"), default=str)


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return _clean(value.tolist())
    return value
