"""A simulated Symétrie PUNA hexapod and its PMAC-based controller, served on TCP.

It speaks the PMAC's ASCII command language (:mod:`.pmac`): command lines end
with CR, every reply is the values read, each followed by CR, then ACK. The
controller (:mod:`.controller`) runs the codes written into ``Q20`` after a
PLC cycle and moves a Stewart platform (:mod:`.geometry`) along straight
paths at the set speeds, so a position read during a move lies on the way.
The hexapod powers up retracted, not homed, its control loop off; a move needs
homing first, and a target out of the workspace or out of the actuators'
stroke is refused. Simulated time runs ``speed`` times faster than the
injectable ``clock``; every command line takes ``latency_s`` of real time.

Run it with ``python -m controlroom.devices.hexapod.sim.server [--port 7786]``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from controlroom.device.simkit.clock import SimulatedClock
from controlroom.device.simkit.server import (
    LineSimulator,
    parse_simulator_args,
    run_simulator,
    simulator_parser,
)
from controlroom.devices.hexapod.pose import Pose
from controlroom.devices.hexapod.sim.controller import SimulatedController
from controlroom.devices.hexapod.sim.geometry import describe
from controlroom.devices.hexapod.sim.pmac import Terminal

_LOG = logging.getLogger(__name__)

DEFAULT_PORT = 7786
ACK = "\x06"
CR = "\r"


class HexapodSimulator(LineSimulator):
    """The PUNA controller on TCP; :meth:`handle_line` also works without :meth:`start`.

    ``clock`` gives seconds (``time.monotonic`` by default; tests pass a fake).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Callable[[], float] = time.monotonic,
        speed: float = 1.0,
        latency_s: float = 0.002,
        command_delay_s: float = 0.02,
    ) -> None:
        super().__init__(host, port, terminator=ACK, encoding="ascii", line_end=CR)
        if latency_s < 0:
            raise ValueError(f"latency_s must not be negative, not {latency_s}")
        self._clock = SimulatedClock(clock, speed)
        self._latency_s = latency_s
        self._lock = threading.RLock()
        self._controller = SimulatedController(self._clock.now(), command_delay_s=command_delay_s)
        self._terminal = Terminal(self._controller)
        _LOG.info("hexapod: %s", describe(self._controller.geometry))

    @property
    def controller(self) -> SimulatedController:
        """The simulated controller and its platform, for inspection in tests and demos."""
        return self._controller

    def now(self) -> float:
        """Simulated seconds since the simulator was made."""
        return self._clock.now()

    def user_pose(self) -> Pose:
        """Where the object is now, in the user frame: what the hardware does, for tests
        that watch it while the control server is busy with a waiting command."""
        with self._lock:
            return self._controller.user_pose(self._clock.now())

    def handle_line(self, line: str) -> str | None:
        """Run one command line; the values read, each followed by CR (the ACK is added)."""
        if self._latency_s:
            # The controller's command parser takes its time; the state is sampled after it.
            time.sleep(self._latency_s)
        with self._lock:
            return self._terminal.execute(line, self._clock.now())

    def inject_following_error(self, fraction: float = 0.5) -> None:
        """Make the next move (or homing run) trip after ``fraction`` of its way: the
        platform stops dead, the control loop goes off and error 26 is latched."""
        with self._lock:
            self._controller.arm_following_error(fraction)


def main(argv: Sequence[str] | None = None) -> None:
    """Serve a simulated hexapod until SIGINT or SIGTERM; print ``READY <host> <port>``."""
    parser = simulator_parser(__doc__, DEFAULT_PORT)
    parser.add_argument(
        "--latency", type=float, default=0.002, help="seconds each command line takes"
    )
    parser.add_argument(
        "--command-delay",
        type=float,
        default=0.02,
        help="simulated seconds before the PLC runs a command written into Q20",
    )
    parser.add_argument(
        "--following-error",
        action="store_true",
        help="make the first move (or homing run) trip on a following error half-way",
    )
    args = parse_simulator_args(parser, argv)
    if args.latency < 0 or args.command_delay < 0:
        parser.error("--latency and --command-delay must not be negative")
    sim = HexapodSimulator(
        args.host,
        args.port,
        speed=args.speed,
        latency_s=args.latency,
        command_delay_s=args.command_delay,
    )
    if args.following_error:
        sim.inject_following_error()
    run_simulator(sim)


if __name__ == "__main__":
    main()
