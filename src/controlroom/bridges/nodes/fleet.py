"""A simulated fleet of sensor nodes for the node bridge.

    python -m controlroom.bridges.nodes.fleet --bridge tcp://127.0.0.1:7800 \\
        --nodes 20 --rate 500 [--ctu 1] [--malformed 0.001] [--seconds 10] [--seed 1]

``--nodes`` ``fedm`` nodes (``fedm-01``...) each send pulses at a mean of
``--rate`` a second (Poisson arrivals), plus ``--ctu`` timing nodes
(``ctu-01``...) with one GPS tick a second; every node sends heartbeats and
status lines (:mod:`.fleetnode`). Once every node has connected the fleet
prints ``READY {"bridge", "nodes"}``; it runs for ``--seconds`` (0: until
SIGINT or SIGTERM) and then prints ``SUMMARY {"sent": {kind: lines}, "lines",
"seconds", "lines_per_s", "connects"}``, the lines it wrote by kind
(``MALFORMED`` for the bad ones it was asked to send).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, TextIO
from urllib.parse import urlsplit

from controlroom.bridges.nodes.fleetnode import SimNode

READY, SUMMARY = "READY ", "SUMMARY "


class Fleet:
    """``nodes`` pulse nodes and ``ctu`` timing nodes talking to the bridge at host:port."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        nodes: int,
        rate: float,
        ctu: int = 0,
        malformed: float = 0.0,
        seed: int | None = None,
    ) -> None:
        def seed_of(k: int) -> int | None:
            return None if seed is None else seed * 1000 + k

        self.host, self.port = host, port
        self.nodes = [
            SimNode(
                f"fedm-{i:02d}", "fedm", host, port, rate=rate, malformed=malformed, seed=seed_of(i)
            )
            for i in range(1, nodes + 1)
        ]
        self.nodes += [
            SimNode(
                f"ctu-{i:02d}",
                "ctu",
                host,
                port,
                rate=1.0,
                malformed=malformed,
                seed=seed_of(500 + i),
            )
            for i in range(1, ctu + 1)
        ]
        self.started = time.monotonic()
        self.ended: float | None = None

    async def run(self, stop: asyncio.Event, on_ready: Callable[[], None] | None = None) -> None:
        """Run every node until ``stop``; ``on_ready()`` once all have connected."""
        tasks = [asyncio.create_task(node.run(stop)) for node in self.nodes]
        waiting = asyncio.create_task(self._all_connected())
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({waiting, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if waiting.done() and on_ready is not None:
            on_ready()
        self.started = time.monotonic()
        await stopped
        waiting.cancel()
        await asyncio.gather(*tasks, waiting, return_exceptions=True)
        self.ended = time.monotonic()

    async def _all_connected(self) -> None:
        for node in self.nodes:
            await node.connected.wait()

    def sent(self) -> dict[str, int]:
        """Lines written by kind, over all nodes."""
        total: Counter[str] = Counter()
        for node in self.nodes:
            total.update(node.sent)
        return dict(sorted(total.items()))

    def summary(self) -> dict[str, Any]:
        sent = self.sent()
        seconds = (self.ended or time.monotonic()) - self.started
        lines = sum(sent.values())
        return {
            "sent": sent,
            "lines": lines,
            "seconds": round(seconds, 3),
            "lines_per_s": round(lines / seconds, 1) if seconds > 0 else 0.0,
            "connects": sum(node.connects for node in self.nodes),
        }


def parse_bridge(url: str) -> tuple[str, int]:
    """``tcp://host:port`` (or ``host:port``) as (host, port)."""
    parts = urlsplit(url if "://" in url else f"tcp://{url}")
    if parts.scheme != "tcp" or not parts.hostname or not parts.port:
        raise ValueError(f"--bridge {url!r}: expected tcp://host:port")
    return parts.hostname, parts.port


async def run_fleet(fleet: Fleet, seconds: float, out: TextIO) -> dict[str, Any]:
    """Run ``fleet`` for ``seconds`` (0: until SIGINT/SIGTERM); print READY, then the summary."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)

    def ready() -> None:
        info = {
            "bridge": f"tcp://{fleet.host}:{fleet.port}",
            "nodes": [n.node_id for n in fleet.nodes],
        }
        print(READY + json.dumps(info), file=out, flush=True)
        if seconds > 0:
            loop.call_later(seconds, stop.set)

    await fleet.run(stop, ready)
    summary = fleet.summary()
    print(SUMMARY + json.dumps(summary), file=out, flush=True)
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A simulated fleet of sensor nodes.")
    parser.add_argument(
        "--bridge", default="tcp://127.0.0.1:7800", help="tcp://host:port of the bridge"
    )
    parser.add_argument("--nodes", type=int, default=4, help="pulse (fedm) nodes")
    parser.add_argument("--rate", type=float, default=50.0, help="mean pulses per second per node")
    parser.add_argument("--ctu", type=int, default=0, help="timing (ctu) nodes, one tick a second")
    parser.add_argument("--malformed", type=float, default=0.0, help="fraction of bad lines")
    parser.add_argument("--seconds", type=float, default=0.0, help="run time (0: until a signal)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (reproducible runs)")
    args = parser.parse_args(argv)
    try:
        host, port = parse_bridge(args.bridge)
    except ValueError as exc:
        parser.error(str(exc))
    if args.nodes < 0 or args.ctu < 0 or args.nodes + args.ctu == 0 or args.rate < 0:
        parser.error("give at least one node and a rate of 0 or more")
    if not 0.0 <= args.malformed <= 1.0:
        parser.error("--malformed is a fraction between 0 and 1")
    fleet = Fleet(
        host,
        port,
        nodes=args.nodes,
        rate=args.rate,
        ctu=args.ctu,
        malformed=args.malformed,
        seed=args.seed,
    )
    asyncio.run(run_fleet(fleet, args.seconds, sys.stdout))


if __name__ == "__main__":
    main()
