"""Housekeeping, status and events, published on the control server's PUB socket.

Topics are ``hk/<server>``, ``status/<server>`` and ``event/<server>``; the
body is one msgpack map ``{server, time, values}`` (time in UTC seconds), so a
subscriber in any language can follow a server with a ZeroMQ SUB socket.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import zmq

from controlroom import wire
from controlroom.rpc import curve
from controlroom.rpc.endpoints import bind
from controlroom.rpc.hooks import HkSample

if TYPE_CHECKING:
    from controlroom.rpc.server import ControlServer

log = logging.getLogger(__name__)

HK, STATUS, EVENT = "hk", "status", "event"

# The polling periods a client may ask for: slower than a day is a mistake, and
# a huge period would overflow the publisher's wait and end its thread.
MIN_PERIOD_S = 0.001
MAX_PERIOD_S = 86_400.0


def checked_period(argument: str, value: object) -> float:
    """``value`` as a period in seconds; TypeError or ValueError naming ``argument``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{argument} must be a number of seconds, not {type(value).__name__}")
    try:
        seconds = float(value)
    except OverflowError:  # an int too large for a float
        seconds = math.inf
    if not (math.isfinite(seconds) and MIN_PERIOD_S <= seconds <= MAX_PERIOD_S):
        raise ValueError(
            f"{argument} must be a finite, positive number of seconds from "
            f"{MIN_PERIOD_S:g} to {MAX_PERIOD_S:g}, not {seconds!r}"
        )
    return seconds


def next_due(due: float, period_s: float, now: float) -> float:
    """The poll after the one due at ``due``: one period later, on the same grid.

    Counting the period from the end of a poll would add the poll's own time to
    every period (a 30 ms poll at 1 Hz: 3 % fewer samples than asked). Slots the
    poll overran are skipped, never made up in a burst.
    """
    following = due + (max(0, math.floor((now - due) / period_s)) + 1) * period_s
    return following if following > now else following + period_s  # rounding at a slot's edge


@dataclass
class Sample:
    time: float
    values: dict[str, Any]


@dataclass
class Rate:
    """A polling period as asked for and as granted."""

    requested_s: float
    floor_s: float
    measured_s: float = 0.0

    @property
    def period_s(self) -> float:
        # Never poll faster than the device can answer: that would only queue work.
        return max(self.requested_s, self.floor_s, 1.2 * self.measured_s)

    def describe(self) -> dict[str, Any]:
        granted = self.period_s
        return {
            "period_s": granted,
            "requested_s": self.requested_s,
            "clamped": granted > self.requested_s,
            "device_min_s": max(self.floor_s, 1.2 * self.measured_s),
        }


class Publisher:
    def __init__(self, server: ControlServer, hk_period_s: float, status_period_s: float):
        self.server = server
        served = server.served
        self.rates = {
            HK: Rate(checked_period("hk_period_s", hk_period_s), served.hk_min_period_s),
            STATUS: Rate(
                checked_period("status_period_s", status_period_s), served.status_min_period_s
            ),
        }
        self.last: dict[str, Sample | None] = {HK: None, STATUS: None}
        self.failures = 0
        self._events: queue.SimpleQueue[tuple[str, dict[str, Any]]] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._status_now = threading.Event()
        self._socket: zmq.Socket[bytes] | None = None
        self.thread = server.supervisor.thread("publisher", self._run, stop=server.stopping)

    def bind(self, context: zmq.Context[Any], endpoint: str) -> str:
        self._socket = curve.server_socket(context, zmq.PUB)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.setsockopt(zmq.SNDHWM, 10_000)
        return bind(self._socket, endpoint)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float) -> None:
        self._wake.set()
        self.thread.join(timeout)
        if self._socket is not None:
            self._socket.close(linger=0)

    def set_period(self, kind: str, period_s: float) -> dict[str, Any]:
        self.rates[kind].requested_s = checked_period(f"{kind}_period_s", period_s)
        self._wake.set()  # re-plan the next poll with the new period
        return self.rates[kind].describe()

    def status_changed(self) -> None:
        """Poll and publish the status now rather than at its next period; never blocks."""
        self._status_now.set()
        self._wake.set()

    def publish(self, topic: str, values: dict[str, Any]) -> None:
        """Queue an event for publication; safe from any thread, never blocks."""
        self._events.put((topic, values))
        self._wake.set()

    def _run(self) -> None:
        due = {HK: time.monotonic(), STATUS: time.monotonic()}
        while not self.server.stopping.is_set():
            if self._status_now.is_set():
                self._status_now.clear()
                due[STATUS] = time.monotonic()
            for kind in (STATUS, HK):
                if time.monotonic() >= due[kind]:
                    self._sample(kind)
                    due[kind] = next_due(due[kind], self.rates[kind].period_s, time.monotonic())
            self._flush_events()
            # A device may declare any floor: never ask for a wait the OS cannot represent.
            self._wake.wait(min(MAX_PERIOD_S, max(0.0, min(due.values()) - time.monotonic())))
            self._wake.clear()

    def _sample(self, kind: str) -> None:
        served = self.server.served
        poll = served.housekeeping if kind == HK else served.status
        started = time.monotonic()
        try:
            with self.server.device_lock:
                values = poll()
        except Exception as exc:
            self.failures += 1
            log.warning("%s: %s poll failed: %s", self.server.name, kind, exc)
            return
        finally:
            self.rates[kind].measured_s = time.monotonic() - started
        if values:
            now = time.time()
            if kind == HK:
                values = self._after_hk(now, values)
            sample = Sample(now, values)
            self.last[kind] = sample
            self._send(kind, sample)

    def _after_hk(self, now: float, values: dict[str, Any]) -> dict[str, Any]:
        hooks = self.server.hooks
        if hooks.hk_transform is not None:
            try:
                values = hooks.hk_transform(self.server.name, now, values)
            except Exception:
                self.failures += 1
                log.exception("%s: housekeeping transform failed", self.server.name)
        for sink in hooks.hk_sinks:
            try:
                sink(HkSample(self.server.name, now, values))
            except Exception:  # one broken sink must not stop the others
                log.exception("%s: housekeeping sink failed", self.server.name)
        return values

    def _flush_events(self) -> None:
        while True:
            try:
                topic, values = self._events.get_nowait()
            except queue.Empty:
                return
            self._send(topic, Sample(time.time(), values))

    def _send(self, kind: str, sample: Sample) -> None:
        assert self._socket is not None
        body = {"server": self.server.name, "time": sample.time, "values": sample.values}
        topic = f"{kind}/{self.server.name}".encode()
        try:
            self._socket.send_multipart([topic, *wire.pack(body)], zmq.NOBLOCK)
        except (zmq.ZMQError, wire.EncodeError) as exc:
            log.warning("%s: cannot publish %s: %s", self.server.name, kind, exc)
