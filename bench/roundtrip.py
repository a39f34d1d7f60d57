"""Round-trip benchmark: raw pyzmq vs proxy → control server → device.

Prints one JSON object. Per-call figures ``{"p50_us", "p99_us", "calls_per_s"}`` for:

* ``raw_reqrep``: a REQ socket calling a REP echo: the baseline of the p50 target;
* ``raw``: a DEALER calling a ROUTER echo (what the proxy and server use);
* ``dummy``: a proxy calling ``read_value`` on a control server with an in-process device;
* ``dummy_observed``: the same with the command journal (to a storage stand-in that
  acknowledges) and the Prometheus metrics attached, as a lab's device server runs;
* ``dummy_no_spin``: the plain server with its post-reply poll (``spin_us``) off;
* ``tempctl``: a device behind a TCP transport (the simulator in its own process).

Then aggregate calls/s of 4 client processes at once: ``concurrent4`` (proxies on
the plain dummy server), ``concurrent4_observed`` and ``raw_concurrent4`` (bare
DEALERs on the ROUTER echo: the baseline of the scaling target). Ratios:
``ratio_dummy_reqrep`` (target ≤ 1.3), ``ratio_concurrent4_raw`` (target ≥ 0.8), and
the others named after what they compare.

Subjects are measured in alternating rounds (raw, dummy, ..., raw, ...) and each
figure is the median over rounds, because on these machines a wake-up is 2-4x
slower when the other vCPU idles: only ratios measured side by side hold.
"""

from __future__ import annotations

import argparse
import json
import statistics
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


def raw_caller(endpoint: str, kind: int = zmq.DEALER) -> Callable[[], None]:
    socket = zmq.Context.instance().socket(kind)
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
    endpoint: str,
    clients: int,
    seconds: float,
    *extra: str,
    prefix: Sequence[str] = (),
    raw: bool = False,
) -> float:
    """Aggregate calls/s of ``clients`` processes hammering one server at once; ``prefix``
    runs each client through another command (``ip netns exec HOST``); ``raw`` calls
    with bare DEALER sockets instead of proxies."""
    mode = ["--raw"] if raw else []
    client = [sys.executable, str(HERE / "_client.py"), *mode, endpoint, str(seconds), *extra]
    procs = [
        subprocess.Popen(
            [*prefix, *client],
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
    parser.add_argument("--seconds", type=float, default=2.0, help="of each concurrent round")
    parser.add_argument("--concurrent-rounds", type=int, default=3)
    args = parser.parse_args()
    with ExitStack() as stack:
        endpoints = _start_servers(stack)
        dummy = make_proxy(DummySensor, endpoints["dummy"])
        observed = make_proxy(DummySensor, endpoints["dummy_observed"])
        no_spin = make_proxy(DummySensor, endpoints["dummy_no_spin"])
        tempctl = stack.enter_context(_tempctl_proxy(endpoints["tempctl"]))
        subjects: dict[str, Callable[[], Any]] = {
            "raw_reqrep": raw_caller(endpoints["raw_reqrep"], zmq.REQ),
            "raw": raw_caller(endpoints["raw"]),
            "dummy": dummy.read_value,
            "dummy_observed": observed.read_value,
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
        figures.update(_concurrent_figures(endpoints, args.seconds, args.concurrent_rounds))
        for closing in (dummy, observed, no_spin):
            closing.close()
    figures.update(_ratios(figures))
    print(json.dumps(figures))


def _start_servers(stack: ExitStack) -> dict[str, str]:
    """Every server the subjects call, each in its own process; their command endpoints."""
    _, sink_ready = stack.enter_context(child("bench/_servers.py", "store-sink"))
    _, sim_ready = stack.enter_context(
        child("-m", "controlroom.devices.tempctl.sim.server", "--port", "0")
    )
    sim_host, sim_port = sim_ready.split()
    started = {
        "raw_reqrep": ("echo-rep",),
        "raw": ("echo",),
        "dummy": ("dummy",),
        "dummy_observed": ("dummy-observed", endpoint_of(sink_ready)),
        "dummy_no_spin": ("dummy-no-spin",),
        "tempctl": ("tempctl", sim_host, sim_port),
    }
    endpoints = {}
    for name, server in started.items():
        _, ready = stack.enter_context(child("bench/_servers.py", *server))
        endpoints[name] = endpoint_of(ready)
    return endpoints


def _concurrent_figures(endpoints: dict[str, str], seconds: float, count: int) -> dict[str, Any]:
    """4 clients at once on raw, plain and observed servers, in alternating rounds."""
    runs: dict[str, tuple[str, bool]] = {
        "raw_concurrent4": (endpoints["raw"], True),
        "concurrent4": (endpoints["dummy"], False),
        "concurrent4_observed": (endpoints["dummy_observed"], False),
    }
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(count):
        for name, (endpoint, raw) in runs.items():
            rates[name].append(concurrent(endpoint, 4, seconds, raw=raw))
    return {
        name: {"calls_per_s": round(statistics.median(r)), "rounds": [round(x) for x in r]}
        for name, r in rates.items()
    }


def _ratios(figures: dict[str, Any]) -> dict[str, float]:
    """Each subject against its baseline; the targets are ratio_dummy_reqrep and
    ratio_concurrent4_raw."""
    reqrep, raw = figures["raw_reqrep"]["p50_us"], figures["raw"]["p50_us"]
    raw4 = figures["raw_concurrent4"]["calls_per_s"]
    return {
        "ratio_dummy_reqrep": round(figures["dummy"]["p50_us"] / reqrep, 3),
        "ratio_dummy_observed_reqrep": round(figures["dummy_observed"]["p50_us"] / reqrep, 3),
        "ratio_dummy_raw": round(figures["dummy"]["p50_us"] / raw, 3),
        "ratio_dummy_no_spin_raw": round(figures["dummy_no_spin"]["p50_us"] / raw, 3),
        "ratio_tempctl_raw": round(figures["tempctl"]["p50_us"] / raw, 3),
        "ratio_concurrent4_raw": round(figures["concurrent4"]["calls_per_s"] / raw4, 3),
        "ratio_concurrent4_observed_raw": round(
            figures["concurrent4_observed"]["calls_per_s"] / raw4, 3
        ),
    }


def _tempctl_proxy(endpoint: str) -> Any:
    from controlroom.devices.tempctl import TempCtlController

    return make_proxy(TempCtlController, endpoint)


if __name__ == "__main__":
    main()
