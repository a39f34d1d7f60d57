"""The network between hosts: the same CURVE control server on loopback and across hosts.

Two subjects, measured by the same client programs so that only the path differs:

* ``loopback``: the dummy control server (CURVE) and its clients in this
  network namespace, on 127.0.0.1;
* ``hosts``: the server in host b (a network namespace of
  :class:`controlroom.testing.netns.NetworkHosts`), bound to b's address
  198.51.100.2, its clients in host c, across veth pairs and a bridge.

Prints one JSON object::

    {"loopback": {"p50_us", "p99_us", "calls_per_s"}, "hosts": {...},
     "concurrent4_loopback": {"calls_per_s"}, "concurrent4_hosts": {...},
     "ratio_p50": 1.4, "ratio_p99": 1.3, "ratio_concurrent4": 0.8}

``ratio_p50``/``ratio_p99`` are hosts over loopback (1.4: 40 % slower);
``ratio_concurrent4`` is the hosts' four-client throughput over loopback's.
Rounds alternate (loopback, hosts, loopback, ...) and each figure is the
median over rounds. Network namespaces need root: run it with sudo.

``python bench/hosts.py probe ENDPOINT KEYS CALLS`` is the round-trip client
(what the benchmark runs in each place): after a warm-up it prints ``ready``,
then times CALLS calls for each ``go`` line on stdin and prints their seconds
as a JSON list.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from _common import HERE, child, endpoint_of, summarise
from roundtrip import concurrent

SERVER_HOST, CLIENT_HOST = "b", "c"
SUBJECTS = ("loopback", "hosts")
READY_TIMEOUT_S = 30.0


def probe() -> None:
    """The round-trip client: warm up, then one timed round per ``go`` line."""
    import zmq

    from controlroom.device.proxy import make_proxy
    from controlroom.devices.dummy import DummySensor
    from controlroom.rpc import curve
    from controlroom.rpc.keyring import Keyring
    from roundtrip import timed

    endpoint, keys, calls = sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
    curve.secure(zmq.Context.instance(), Keyring.load(keys, "lab", serving=False))
    proxy = make_proxy(DummySensor, endpoint)
    timed(proxy.read_value, 300)  # connection, handshake, caches
    print("ready", flush=True)
    for _ in sys.stdin:
        print(json.dumps(timed(proxy.read_value, calls)), flush=True)
    proxy.close()


class Prober:
    """A running probe (``prefix``: how to enter its host; empty: here)."""

    def __init__(self, prefix: Sequence[str], endpoint: str, keys: Path, calls: int) -> None:
        argv = [*prefix, sys.executable, str(HERE / "hosts.py"), "probe", endpoint, str(keys)]
        self.process = subprocess.Popen(
            [*argv, str(calls)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        if self._line() != "ready":
            self.close()
            raise RuntimeError(f"the probe for {endpoint} exited before it was ready")

    def round(self) -> list[float]:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        return [float(s) for s in json.loads(self._line())]

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()  # its loop ends at EOF
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _line(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()


@contextmanager
def lab() -> Iterator[Any]:
    """Hosts a, b, c (b is 198.51.100.2); exits with a clear message without root."""
    from controlroom.testing.netns import NetnsError, NetworkHosts, netns_refused

    refused = netns_refused()
    if refused:
        sys.exit(f"bench/hosts.py: {refused}: run it as root (sudo)")
    try:
        with NetworkHosts(("a", SERVER_HOST, CLIENT_HOST)) as hosts:
            yield hosts
    except NetnsError as exc:
        sys.exit(f"bench/hosts.py: cannot build the hosts: {exc}")


def ready_payload(line: str) -> str | None:
    return line[len("READY ") :].strip() if line.startswith("READY ") else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=2.0, help="of each concurrent4 round")
    parser.add_argument("--concurrent-rounds", type=int, default=3)
    args = parser.parse_args()
    from controlroom.rpc.keyring import init_keys

    with ExitStack() as stack:
        hosts = stack.enter_context(lab())
        keys = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "keys"
        init_keys(keys)
        server = str(HERE / "_servers.py")
        _, here_ready = stack.enter_context(child(server, "dummy-curve", str(keys)))
        bind = f"tcp://{hosts.address(SERVER_HOST)}:0"
        there = hosts.run(
            SERVER_HOST,
            [sys.executable, server, "dummy-curve", str(keys), bind],
            ready=ready_payload,
            ready_timeout=READY_TIMEOUT_S,
        )
        places = {
            "loopback": ([], endpoint_of(here_ready)),
            "hosts": (hosts.command(CLIENT_HOST, []), endpoint_of(there.info)),
        }
        figures = measure(places, keys, args)
    print(json.dumps(figures))


def measure(
    places: dict[str, tuple[list[str], str]], keys: Path, args: argparse.Namespace
) -> dict[str, Any]:
    """Round trips, then four-client throughput, in alternating rounds; the figures."""
    probers: dict[str, Prober] = {}
    rounds: dict[str, list[list[float]]] = {name: [] for name in SUBJECTS}
    try:
        for name, (prefix, endpoint) in places.items():
            probers[name] = Prober(prefix, endpoint, keys, args.calls)
        for _ in range(args.rounds):
            for name in SUBJECTS:
                rounds[name].append(probers[name].round())
    finally:
        for prober in probers.values():
            prober.close()
    figures: dict[str, Any] = {name: summarise(rounds[name]) for name in SUBJECTS}
    rates: dict[str, list[float]] = {name: [] for name in SUBJECTS}
    for _ in range(args.concurrent_rounds):
        for name in SUBJECTS:
            prefix, endpoint = places[name]
            rates[name].append(concurrent(endpoint, 4, args.seconds, str(keys), prefix=prefix))
    for name in SUBJECTS:
        figures[f"concurrent4_{name}"] = {"calls_per_s": round(statistics.median(rates[name]))}
    here, there = figures["loopback"], figures["hosts"]
    figures["ratio_p50"] = round(there["p50_us"] / here["p50_us"], 3)
    figures["ratio_p99"] = round(there["p99_us"] / here["p99_us"], 3)
    figures["ratio_concurrent4"] = round(
        figures["concurrent4_hosts"]["calls_per_s"]
        / figures["concurrent4_loopback"]["calls_per_s"],
        3,
    )
    return figures


if __name__ == "__main__":
    if sys.argv[1:2] == ["probe"]:
        probe()
    else:
        main()
