"""From what servers publish to MQTT messages: retained values, events, announcements.

Every status and HK value goes to ``<prefix>/<site>/<server>/<parameter>``
(QoS 1, retained) -- only when its text changed, and at most once per
``min_interval_s`` per topic: a change that comes sooner is held and sent
by :meth:`StateRelay.tick` when the interval is over (the latest one wins),
so a fast server costs the broker a bounded rate. Keys starting with ``_``
(the telemetry pipeline's ``_limits`` and ``_synoptics``) are not values and
are skipped; so are parameters named like the bridge's own topics.

Events the configuration asks for go to ``<server>/events`` as JSON (QoS 1,
not retained): each is news, a stale one must not greet a new subscriber.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from controlroom.bridges.mqtt.announce import Announcer
from controlroom.bridges.mqtt.config import MqttConfig
from controlroom.bridges.mqtt.payloads import encode_value, to_json
from controlroom.bridges.mqtt.topics import RESERVED_PARAMETERS

log = logging.getLogger(__name__)

Publish = Callable[[str, str, int, bool], None]
STATUS, HK, EVENT = "status", "hk", "event"


@dataclass
class _Sent:
    payload: str
    at: float


class StateRelay:
    """The follower's sink: publishes values and events; thread-safe."""

    def __init__(
        self,
        config: MqttConfig,
        publish: Publish,
        announcer: Announcer | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.topics = config.topics
        self.min_interval_s = config.mqtt.min_interval_s
        self.announcer = announcer
        self.published = 0
        self.events = 0
        self.skipped: set[tuple[str, str]] = set()
        self._publish = publish
        self._clock = clock
        self._sent: dict[str, _Sent] = {}
        self._held: dict[str, str] = {}
        self._lock = threading.Lock()

    def take(self, kind: str, server: str, stamp: float, values: dict[str, Any]) -> None:
        if kind in (STATUS, HK):
            self._values(server, values)
        elif kind == EVENT:
            self._event(server, stamp, values)

    def tick(self, now: float | None = None) -> None:
        """Send the held values whose interval is over."""
        now = self._clock() if now is None else now
        with self._lock:
            due = [
                (topic, payload)
                for topic, payload in self._held.items()
                if now - self._sent[topic].at >= self.min_interval_s
            ]
            for topic, payload in due:
                del self._held[topic]
                self._send(topic, payload, now)

    def republish(self) -> int:
        """Send the latest value of every topic again (the broker may have lost them)."""
        now = self._clock()
        with self._lock:
            latest = {topic: sent.payload for topic, sent in self._sent.items()}
            latest.update(self._held)
            self._held.clear()
            for topic, payload in latest.items():
                self._send(topic, payload, now)
        return len(latest)

    def _values(self, server: str, values: dict[str, Any]) -> None:
        now = self._clock()
        for name, value in values.items():
            parameter = str(name)
            if parameter.startswith("_") or parameter in RESERVED_PARAMETERS:
                self._skip(server, parameter)
                continue
            self._offer(self.topics.state(server, parameter), encode_value(value), now)
            if self.announcer is not None:
                self.announcer.seen(server, parameter, value)

    def _offer(self, topic: str, payload: str, now: float) -> None:
        with self._lock:
            sent = self._sent.get(topic)
            if sent is not None and sent.payload == payload:
                self._held.pop(topic, None)  # back to what subscribers already have
            elif sent is None or now - sent.at >= self.min_interval_s:
                self._held.pop(topic, None)
                self._send(topic, payload, now)
            else:
                self._held[topic] = payload

    def _send(self, topic: str, payload: str, now: float) -> None:
        self._sent[topic] = _Sent(payload, now)
        self._publish(topic, payload, 1, True)
        self.published += 1

    def _event(self, server: str, stamp: float, values: dict[str, Any]) -> None:
        event = str(values.get("event", ""))
        if not self.config.wants_event(event):
            return
        message = {"server": server, "time": stamp, **values}
        self._publish(self.topics.events(server), to_json(message), 1, False)
        self.events += 1

    def _skip(self, server: str, parameter: str) -> None:
        if (server, parameter) not in self.skipped and not parameter.startswith("_"):
            log.warning("%s.%s is not published: its topic is the bridge's own", server, parameter)
        self.skipped.add((server, parameter))
