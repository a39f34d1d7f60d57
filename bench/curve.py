"""CURVE's cost: the same control server and proxy with and without CURVE on their sockets.

Prints one JSON object::

    {"plain": {"p50_us", "p99_us", "calls_per_s"}, "curve": {...},
     "concurrent4_plain": {"calls_per_s"}, "concurrent4_curve": {...},
     "overhead_p50": 0.07, "overhead_concurrent4": 0.05}

``overhead_*`` is the relative cost of CURVE (0.07: 7 % slower). The two
servers run side by side and are measured in alternating rounds (plain,
curve, plain, ...), each figure the median over rounds; the four-client
throughputs alternate the same way.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import zmq

from _common import child, endpoint_of, summarise
from controlroom.device.proxy import make_proxy
from controlroom.devices.dummy import DummySensor
from controlroom.rpc import curve
from controlroom.rpc.keyring import Keyring, init_keys
from roundtrip import concurrent, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=2.0, help="of each concurrent4 round")
    parser.add_argument("--concurrent-rounds", type=int, default=3)
    args = parser.parse_args()
    with ExitStack() as stack:
        keys = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "keys"
        init_keys(keys)
        _, plain_ready = stack.enter_context(child("bench/_servers.py", "dummy"))
        _, curve_ready = stack.enter_context(child("bench/_servers.py", "dummy-curve", str(keys)))
        secured: zmq.Context[Any] = zmq.Context()
        curve.secure(secured, Keyring.load(keys, "lab"))
        plain_proxy = make_proxy(DummySensor, endpoint_of(plain_ready))
        curve_proxy = make_proxy(DummySensor, endpoint_of(curve_ready), context=secured)
        subjects: dict[str, Callable[[], Any]] = {
            "plain": plain_proxy.read_value,
            "curve": curve_proxy.read_value,
        }
        rounds: dict[str, list[list[float]]] = {name: [] for name in subjects}
        for call in subjects.values():
            timed(call, 300)  # warm up: connections, handshakes, caches
        for _ in range(args.rounds):
            for name, call in subjects.items():
                rounds[name].append(timed(call, args.calls))
        figures: dict[str, Any] = {name: summarise(r) for name, r in rounds.items()}
        rates: dict[str, list[float]] = {"plain": [], "curve": []}
        for _ in range(args.concurrent_rounds):
            rates["plain"].append(concurrent(endpoint_of(plain_ready), 4, args.seconds))
            rates["curve"].append(concurrent(endpoint_of(curve_ready), 4, args.seconds, str(keys)))
        for name, values in rates.items():
            figures[f"concurrent4_{name}"] = {"calls_per_s": round(statistics.median(values))}
        figures["overhead_p50"] = round(
            figures["curve"]["p50_us"] / figures["plain"]["p50_us"] - 1, 3
        )
        plain4 = figures["concurrent4_plain"]["calls_per_s"]
        figures["overhead_concurrent4"] = round(
            1 - figures["concurrent4_curve"]["calls_per_s"] / plain4, 3
        )
        plain_proxy.close()
        curve_proxy.close()
        curve.unsecure(secured)
        secured.destroy(linger=0)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
