"""The local Mosquitto broker for the MQTT bridge tests: reachability, a listener, clean-up.

The broker is the machine's (127.0.0.1:1883, anonymous logins allowed). Under
``CI=true`` it is mandatory: a test fails when it is unreachable; elsewhere
it is skipped with the reason. Each test works under its own random prefix,
so retained messages of one test are never seen by another, and clears what
it left retained at the end.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from controlroom.testing.waiting import wait_until

BROKER_HOST, BROKER_PORT = "127.0.0.1", 1883
TIMEOUT_S = 10.0


def require_broker() -> None:
    """Fail under CI, skip elsewhere, when nothing listens at the broker's address."""
    try:
        socket.create_connection((BROKER_HOST, BROKER_PORT), timeout=2.0).close()
    except OSError as exc:
        reason = f"no MQTT broker at {BROKER_HOST}:{BROKER_PORT}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs the local Mosquitto server: {reason}")
        pytest.skip(reason)


def unique(word: str) -> str:
    return f"{word}-{uuid.uuid4().hex[:10]}"


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool

    @property
    def text(self) -> str:
        return self.payload.decode()


class Listener:
    """A plain MQTT client subscribed to some filters, keeping everything it receives.

    It logs in to the machine's broker anonymously, unless given another ``port`` and
    a broker ``user`` with its ``password``.
    """

    def __init__(
        self,
        filters: Iterable[str],
        *,
        port: int = BROKER_PORT,
        user: str | None = None,
        password: str | None = None,
    ) -> None:
        self.filters = list(filters)
        self.port = port
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=unique("test-listener"))
        if user is not None:
            self.client.username_pw_set(user, password)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message

    def start(self) -> Self:
        self.client.connect(BROKER_HOST, self.port)
        self.client.loop_start()
        assert self._subscribed.wait(TIMEOUT_S), "the broker did not acknowledge the subscription"
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def publish(self, topic: str, payload: str | bytes, *, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(TIMEOUT_S)

    def on(self, topic: str) -> list[Received]:
        with self._lock:
            return [m for m in self.messages if m.topic == topic]

    def last(self, topic: str) -> Received | None:
        found = self.on(topic)
        return found[-1] if found else None

    def wait_for(self, topic: str, payload: str | None = None, timeout: float = TIMEOUT_S) -> str:
        """The payload of the latest message on ``topic`` (that equals ``payload`` if given)."""

        def arrived() -> bool:
            last = self.last(topic)
            return last is not None and (payload is None or last.text == payload)

        assert wait_until(arrived, timeout), f"nothing {payload or ''} on {topic}: {self.topics()}"
        found = self.last(topic)
        assert found is not None
        return found.text

    def topics(self) -> list[str]:
        with self._lock:
            return sorted({m.topic for m in self.messages})

    def _on_connect(self, client: paho.Client, *_: Any) -> None:
        client.subscribe([(f, 1) for f in self.filters])

    def _on_message(self, _client: paho.Client, _userdata: Any, message: Any) -> None:
        with self._lock:
            self.messages.append(Received(message.topic, bytes(message.payload), message.retain))


def clear_retained(filters: Iterable[str]) -> None:
    """Delete every retained message under ``filters`` (an empty retained payload does)."""
    with Listener(filters) as listener:
        # The broker sends what it retains right after the subscription is acknowledged;
        # a marker published after that arrives after them.
        marker = f"{listener.filters[0].rstrip('#').rstrip('/')}/{unique('clear-marker')}"
        listener.publish(marker, b"x")
        listener.wait_for(marker)
        for topic in listener.topics():
            if topic != marker:
                listener.publish(topic, b"", retain=True)
