"""How soon a stop reaches the instrument while another client's move waits.

A motion control server (in this process) runs on the ESP300 simulator; one
client starts ``move_absolute(axis, target, wait=True)`` on a slow axis and,
once the move runs, a second client sends ``stop(axis)``. Measured: from the
moment the second client calls ``stop`` to the moment the simulator reads the
``ST`` line (subject), and the round trip of ``ping`` to the same busy server
(baseline: answered by the server's standby thread meanwhile, it needs no
instrument). Rounds alternate baseline and subject; medians over rounds.

    .venv/bin/python bench/stop.py [--rounds 20]

Prints one JSON line: ``{"stop_to_instrument_ms_p50", "stop_to_instrument_ms_max",
"interrupted", "ping_busy_ms_p50", "rounds"}``. The target is a stop at the
instrument within 50 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import threading
import time

from controlroom.device.proxy import make_proxy
from controlroom.device.serving import DeviceService
from controlroom.device.transports import TcpTransport
from controlroom.devices.motion import MotionController
from controlroom.devices.motion.sim.server import MotionSimulator
from controlroom.rpc import ControlServer, RemoteError


class Watched(MotionSimulator):
    """The simulator, noting when it reads a stop line."""

    def __init__(self) -> None:
        super().__init__(port=0, speed=1.0)
        self.stop_seen = threading.Event()
        self.stop_at = 0.0

    def handle_line(self, line: str) -> str | None:
        if "ST" in line.upper().split(";")[0]:
            self.stop_at = time.perf_counter()
            self.stop_seen.set()
        return super().handle_line(line)


def one_stop(sim: Watched, endpoint: str, position: float) -> tuple[float, bool]:
    """(seconds from calling stop to the simulator reading it, whether the move was interrupted)."""
    mover = make_proxy(MotionController, endpoint, timeout=120.0)
    stopper = make_proxy(MotionController, endpoint, timeout=10.0)
    outcome: list[str] = []

    def move() -> None:
        try:
            mover.move_absolute(1, position, wait=True)
            outcome.append("arrived")
        except RemoteError as exc:
            outcome.append(exc.info.type)

    thread = threading.Thread(target=move)
    sim.stop_seen.clear()
    thread.start()
    while float(sim.handle_line("1MD?") or "1") == 1:  # until the move runs
        time.sleep(0.005)  # polling the simulator's own state, not waiting for a signal
    time.sleep(0.1)  # the server's wait loop is in its poll by now
    called = time.perf_counter()
    stopper.stop(1)
    sim.stop_seen.wait(10)
    thread.join(60)
    mover.close()
    stopper.close()
    while float(sim.handle_line("1MD?") or "0") == 0:  # the axis decelerates to rest
        time.sleep(0.005)
    return sim.stop_at - called, outcome == ["Interrupted"]


def busy_ping(endpoint: str, sim: Watched, position: float) -> float:
    """Round trip of ping while a waited move holds the device."""
    mover = make_proxy(MotionController, endpoint, timeout=120.0)
    pinger = make_proxy(MotionController, endpoint, timeout=10.0)
    pinger.ping()
    thread = threading.Thread(target=lambda: _quiet(mover.move_absolute, 1, position, True))
    thread.start()
    while float(sim.handle_line("1MD?") or "1") == 1:
        time.sleep(0.005)
    time.sleep(0.1)
    started = time.perf_counter()
    pinger.ping()
    took = time.perf_counter() - started
    sim.handle_line("1ST")
    thread.join(60)
    mover.close()
    pinger.close()
    while float(sim.handle_line("1MD?") or "0") == 0:
        time.sleep(0.005)
    return took


def _quiet(call: object, *args: object) -> None:
    with contextlib.suppress(RemoteError):  # the move ends short: what the round wanted
        call(*args)  # type: ignore[operator]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    sim = Watched()
    sim.start()
    transport = TcpTransport(sim.host, sim.port, **MotionController.transport_defaults)
    server = ControlServer("motion", DeviceService(MotionController(transport)), hk_period_s=1.0)
    server.start()
    try:
        setup = make_proxy(MotionController, server.endpoint, timeout=120.0)
        setup.home(1, wait=True)
        setup.set_velocity(1, 0.5)
        setup.close()
        stops: list[float] = []
        pings: list[float] = []
        interrupted = 0
        for n in range(args.rounds):
            target = 40.0 if n % 2 == 0 else -10.0  # back and forth, never at the target
            pings.append(busy_ping(server.endpoint, sim, target))
            took, was_interrupted = one_stop(sim, server.endpoint, -target + 30.0)
            stops.append(took)
            interrupted += was_interrupted
    finally:
        server.stop()
        sim.stop()
    print(
        json.dumps(
            {
                "stop_to_instrument_ms_p50": round(statistics.median(stops) * 1e3, 2),
                "stop_to_instrument_ms_max": round(max(stops) * 1e3, 2),
                "interrupted": f"{interrupted}/{args.rounds}",
                "ping_busy_ms_p50": round(statistics.median(pings) * 1e3, 2),
                "rounds": args.rounds,
            }
        )
    )


if __name__ == "__main__":
    main()
