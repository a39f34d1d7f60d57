"""Command round trips for ``scale.py``, in a process of their own.

``python bench/_scale_calls.py`` reads ``{"devices": {name: [kind, endpoint]},
"baseline": endpoint, "seconds": S, "rate": R}`` on stdin. It makes a proxy for
every device (each warmed by one call), then, R times a second for S seconds,
calls a cheap read command of a device picked at random and, right after, does
one raw pyzmq REQ/REP round trip with the echo server at ``baseline``: subject
and baseline alternate, under the same load. It prints one JSON line:
``{"command": {...}, "baseline": {...}}`` with p50/p99 in ms, calls and errors.

Its own process, so that the page loads and memory samples of ``scale.py``
never hold this one's interpreter lock in the middle of a timed call.
"""

from __future__ import annotations

import functools
import json
import random
import sys
import time
from collections.abc import Callable
from typing import Any

import zmq

from controlroom import wire
from controlroom.device.proxy import make_proxy
from controlroom.devices.dummy import DummySensor
from controlroom.devices.psu import PsuController
from controlroom.devices.tempctl import TempCtlController
from controlroom.rpc import RpcError

CALL_TIMEOUT_S = 5.0
# One cheap read per kind: each asks the device (the simulator over TCP, or the
# in-process dummy), so it waits for a housekeeping or status poll in progress
# (device commands run one at a time). The supply's measurements are not cheap:
# its simulator takes 10 ms per A/D conversion, as the instrument does.
READS: dict[str, tuple[Any, Callable[[Any], object]]] = {
    "tempctl": (TempCtlController, lambda proxy: proxy.temperature("A")),
    "dummy": (DummySensor, lambda proxy: proxy.read_value()),
    "psu": (PsuController, lambda proxy: proxy.identify()),
}


class Timings:
    """Seconds per call, and the calls that failed (counted at their full duration)."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.errors = 0

    def time(self, call: Callable[[], object]) -> None:
        started = time.perf_counter()
        try:
            call()
        except (RpcError, TimeoutError, zmq.ZMQError):
            self.errors += 1
        self.samples.append(time.perf_counter() - started)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.samples) or [float("nan")]
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        return {
            "p50_ms": round(ordered[len(ordered) // 2] * 1e3, 3),
            "p99_ms": round(p99 * 1e3, 3),
            "calls": len(self.samples),
            "errors": self.errors,
        }


def reqrep_caller(endpoint: str) -> Callable[[], object]:
    socket: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.REQ)
    socket.setsockopt(zmq.LINGER, 0)
    socket.setsockopt(zmq.RCVTIMEO, int(CALL_TIMEOUT_S * 1000))
    socket.connect(endpoint)
    body = wire.encode(wire.call(1, "read_value"))[0]  # the bytes of a proxy's call

    def once() -> object:
        socket.send(body)
        return socket.recv()

    return once


def device_callers(devices: dict[str, list[str]]) -> list[tuple[str, Callable[[], object]]]:
    """(kind, zero-argument call) per device, each proxy connected and warmed up."""
    callers: list[tuple[str, Callable[[], object]]] = []
    for name, (kind, endpoint) in sorted(devices.items()):
        interface, read = READS[kind]
        proxy = make_proxy(interface, endpoint, name=name, timeout=CALL_TIMEOUT_S)
        callers.append((kind, functools.partial(read, proxy)))
    for _, call in callers:  # connections and handshakes, not timed
        Timings().time(call)
    return callers


def run(request: dict[str, Any]) -> dict[str, Any]:
    callers = device_callers(request["devices"])
    baseline_call = reqrep_caller(request["baseline"])
    for _ in range(20):
        baseline_call()
    command, baseline = Timings(), Timings()
    by_kind = {kind: Timings() for kind, _ in callers}
    period = 1.0 / float(request["rate"])
    picker = random.Random(7)
    started = time.monotonic()
    ticks = int(float(request["seconds"]) / period)
    for tick in range(ticks):
        # Paced on a fixed grid: a slow call delays the next one, never the rate.
        delay = started + tick * period - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        kind, call = picker.choice(callers)
        command.time(call)
        by_kind[kind].samples.append(command.samples[-1])
        baseline.time(baseline_call)
    kinds = {kind: timings.summary() for kind, timings in by_kind.items()}
    return {"command": command.summary(), "baseline": baseline.summary(), "by_kind": kinds}


def main() -> None:
    print(json.dumps(run(json.load(sys.stdin))), flush=True)


if __name__ == "__main__":
    main()
