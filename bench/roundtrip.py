"""Round-trip benchmark: raw pyzmq vs proxy → control server → device.

Prints one JSON object::

    {"raw": {"p50_us", "p99_us", "calls_per_s"}, "dummy": {...}, "tempctl": {...},
     "concurrent4": {"calls_per_s"}, "ratio_dummy_raw", "ratio_tempctl_raw"}

``dummy_no_spin`` (and ``ratio_dummy_no_spin_raw``) is the same server with
its post-reply poll (``spin_us``) switched off, to show what that poll buys.
Subjects are measured in alternating rounds (raw, dummy, dummy_no_spin,
tempctl, raw, ...) and each figure is the median over rounds, because on these
machines a wake-up is 2-4x slower when the other vCPU idles: only ratios
measured side by side hold.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import Any

import zmq

from _common import HERE, child, endpoint_of, summarise
from controlroom import wire
from controlroom.device.proxy import make_proxy
from controlroom.devices.dummy import DummySensor


def raw_caller(endpoint: str) -> Callable[[], None]:
    socket = zmq.Context.instance().socket(zmq.DEALER)
    socket.setsockopt(zmq.LINGER, 0)
    socket.connect(endpoint)
    # The same bytes a proxy sends for a read_value call.
    body = wire.encode(wire.call(1, "read_value"))[0]

    def once() -> None:
        socket.send(body)
        socket.recv()

    return once


def timed(call: Callable[[], None], count: int) -> list[float]:
    samples = []
    clock = time.perf_counter
    for _ in range(count):
        start = clock()
        call()
        samples.append(clock() - start)
    return samples


def concurrent(
    endpoint: str, clients: int, seconds: float, *extra: str, prefix: Sequence[str] = ()
) -> float:
    """Aggregate calls/s of ``clients`` processes hammering one server at once; ``prefix``
    runs each client through another command (``ip netns exec HOST``)."""
    procs = [
        subprocess.Popen(
            [*prefix, sys.executable, str(HERE / "_client.py"), endpoint, str(seconds), *extra],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(clients)
    ]
    try:
        for proc in procs:  # each prints "ready" once connected and warmed up
            assert proc.stdout is not None
            proc.stdout.readline()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        return sum(float(proc.communicate(timeout=seconds + 30)[0]) for proc in procs)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of concurrent4")
    args = parser.parse_args()
    with ExitStack() as stack:
        _, raw_ready = stack.enter_context(child("bench/_servers.py", "echo"))
        _, dummy_ready = stack.enter_context(child("bench/_servers.py", "dummy"))
        _, no_spin_ready = stack.enter_context(child("bench/_servers.py", "dummy-no-spin"))
        _, sim_ready = stack.enter_context(
            child("-m", "controlroom.devices.tempctl.sim.server", "--port", "0")
        )
        sim_host, sim_port = sim_ready.split()
        _, tempctl_ready = stack.enter_context(
            child("bench/_servers.py", "tempctl", sim_host, sim_port)
        )
        dummy = make_proxy(DummySensor, endpoint_of(dummy_ready))
        no_spin = make_proxy(DummySensor, endpoint_of(no_spin_ready))
        tempctl = stack.enter_context(_tempctl_proxy(endpoint_of(tempctl_ready)))
        subjects: dict[str, Callable[[], Any]] = {
            "raw": raw_caller(endpoint_of(raw_ready)),
            "dummy": dummy.read_value,
            "dummy_no_spin": no_spin.read_value,
            "tempctl": lambda: tempctl.temperature("A"),
        }
        rounds: dict[str, list[list[float]]] = {name: [] for name in subjects}
        for call in subjects.values():
            timed(call, 300)  # warm up: connections, handshakes, caches
        for _ in range(args.rounds):
            for name, call in subjects.items():
                rounds[name].append(timed(call, args.calls))
        figures: dict[str, Any] = {name: summarise(r) for name, r in rounds.items()}
        figures["concurrent4"] = {
            "calls_per_s": round(concurrent(endpoint_of(dummy_ready), 4, args.seconds))
        }
        raw_p50 = figures["raw"]["p50_us"]
        figures["ratio_dummy_raw"] = round(figures["dummy"]["p50_us"] / raw_p50, 3)
        figures["ratio_tempctl_raw"] = round(figures["tempctl"]["p50_us"] / raw_p50, 3)
        figures["ratio_dummy_no_spin_raw"] = round(figures["dummy_no_spin"]["p50_us"] / raw_p50, 3)
        dummy.close()
        no_spin.close()
    print(json.dumps(figures))


def _tempctl_proxy(endpoint: str) -> Any:
    from controlroom.devices.tempctl import TempCtlController

    return make_proxy(TempCtlController, endpoint)


if __name__ == "__main__":
    main()
