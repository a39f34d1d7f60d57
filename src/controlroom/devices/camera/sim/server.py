"""The FEE simulator process: an N-FEE like camera front end on a SpaceWire link over ZeroMQ.

Run it with ``python -m controlroom.devices.camera.sim.server --endpoint
tcp://127.0.0.1:0 [--speed 10] [--seed N]`` (or ``--host``/``--port``, as
``controlroom sim start fee`` passes them). It binds the link, prints one
ready line, ``READY <host> <port>`` for TCP or ``READY <endpoint>`` for ipc,
and runs the sync cycle until SIGINT or SIGTERM. Then it stops after the
packet being sent, gives the packets still queued ``--linger-s`` to reach
the DPU, prints ``STOPPED {counters as JSON}`` and exits 0.

A readout leaves at the CCD's pace, spread over the readout phase;
``--burst`` sends each as fast as the link takes it. ``--speed 100`` (or
more) streams full frames at the link's pace either way, readout after
readout (see :mod:`.fee`).
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType

import zmq

from controlroom.device.errors import ArgumentError
from controlroom.device.simkit.server import parse_simulator_args, simulator_parser
from controlroom.device.spacewire import SpaceWireOverZeroMQ
from controlroom.devices.camera.sim.fee import FeeSimulator
from controlroom.rpc.errors import InsecureServer

DEFAULT_PORT = 0
SEND_TIMEOUT_S = 2.0  # a DPU that takes no packet for this long has left: the readout stops
# 8 MB of 32 KiB packets: enough to keep the link busy, and few enough that the RMAP
# reply to the DPU's HK read-back, queued behind the next readout's packets, comes
# within a fraction of a readout (behind 2000, the DPU's link ran out of room for
# what arrived meanwhile, and the read-backs of a full-frame stream failed).
QUEUE_PACKETS = 256


def tcp_endpoint(host: str, port: int) -> str:
    return f"tcp://[{host}]:{port}" if ":" in host else f"tcp://{host}:{port}"


def ready_line(endpoint: str) -> str:
    """``READY <host> <port>`` on TCP (as every simulator prints), else ``READY <endpoint>``."""
    if endpoint.startswith("tcp://"):
        host, _, port = endpoint.removeprefix("tcp://").rpartition(":")
        return f"READY {host.strip('[]')} {port}"
    return f"READY {endpoint}"


@contextmanager
def stopped_by_signals(sim: FeeSimulator) -> Iterator[None]:
    """SIGINT and SIGTERM ask ``sim`` to stop; the previous handlers come back afterwards."""

    def on_signal(signum: int, frame: FrameType | None) -> None:
        sim.stop()  # sets a flag: the loop sees it after the packet being sent

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def serve(
    endpoint: str, *, speed: float, seed: int, linger_s: float, burst: bool = False
) -> FeeSimulator:
    """Bind ``endpoint``, print the ready line and run the FEE until a signal stops it."""
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    link = SpaceWireOverZeroMQ(
        endpoint,
        bind=True,
        context=context,
        link_timeout_s=0.0,  # configure() then only looks whether a DPU is connected
        send_timeout_s=SEND_TIMEOUT_S,
        queue_packets=QUEUE_PACKETS,
        linger_s=linger_s,
        name="FEE link",
    )
    sim = FeeSimulator(link, speed=speed, seed=seed, burst=burst)
    try:
        with stopped_by_signals(sim), link:
            print(ready_line(link.endpoint), flush=True)
            sim.run()
    finally:
        context.term()  # returns once the queued packets left, or linger_s passed
    return sim


def main(argv: Sequence[str] | None = None) -> None:
    """Run a simulated FEE until SIGINT or SIGTERM; see the module docstring."""
    parser = simulator_parser(__doc__, DEFAULT_PORT)
    parser.add_argument("--endpoint", help="tcp:// or ipc:// endpoint (default: --host/--port)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic images")
    parser.add_argument(
        "--linger-s", type=float, default=2.0, help="time queued packets get to leave at the end"
    )
    parser.add_argument(
        "--burst", action="store_true", help="send each readout as fast as the link takes it"
    )
    args = parse_simulator_args(parser, argv)
    if args.seed < 0 or args.linger_s < 0:
        parser.error("--seed and --linger-s must not be negative")
    endpoint = args.endpoint or tcp_endpoint(args.host, args.port)
    try:
        sim = serve(
            endpoint, speed=args.speed, seed=args.seed, linger_s=args.linger_s, burst=args.burst
        )
    except (ArgumentError, InsecureServer, zmq.ZMQError) as error:  # a bad or busy endpoint
        parser.exit(2, f"FEE simulator on {endpoint}: {error}\n")
    sys.stdout.write(f"STOPPED {json.dumps(sim.summary())}\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
