"""A four-axis stage controller simulator on TCP: X, Y, Z linear stages and a rotation stage.

It speaks the controller's line protocol (CR LF terminated; see
:mod:`controlroom.devices.motion.sim.commands`) and moves each axis along a
trapezoidal velocity profile computed from the time since the move started,
so a position read during a move lies on the way. Axes power up not homed,
away from home; absolute and relative moves need homing first and stay within
the software limits. Simulated time runs ``speed`` times faster than the
injectable ``clock``; every command line takes ``latency_s`` of real time, as
a controller's command parser does.

Run it with ``python -m controlroom.devices.motion.sim.server [--port 7783]``.
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
from controlroom.devices.motion.sim.axis import AxisConfig
from controlroom.devices.motion.sim.commands import StageController

_LOG = logging.getLogger(__name__)

DEFAULT_PORT = 7783
VERSION = "controlroom MC4 stage controller simulator 1.0"

DEFAULT_AXES: tuple[AxisConfig, ...] = (
    AxisConfig("X", "mm", -50.0, 50.0, 5.0, 20.0, 25.0, 200.0, power_up_position=12.5),
    AxisConfig("Y", "mm", -50.0, 50.0, 5.0, 20.0, 25.0, 200.0, power_up_position=-7.25),
    AxisConfig("Z", "mm", -10.0, 25.0, 2.0, 10.0, 10.0, 100.0, power_up_position=3.0),
    AxisConfig("RZ", "deg", -170.0, 170.0, 10.0, 40.0, 60.0, 400.0, power_up_position=30.0),
)
"""The stages of the simulated bench: travel, default and maximum speeds, power-up position."""


class MotionSimulator(LineSimulator):
    """The stage controller, served on TCP; :meth:`handle_line` also works without :meth:`start`.

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
        axes: Sequence[AxisConfig] = DEFAULT_AXES,
        version: str = VERSION,
    ) -> None:
        super().__init__(host, port, terminator="\r\n", encoding="ascii")
        self._clock = SimulatedClock(clock, speed)
        if latency_s < 0:
            raise ValueError(f"latency_s must not be negative, not {latency_s}")
        self._latency_s = latency_s
        self._lock = threading.RLock()
        self._controller = StageController(axes, version, self._clock.now())

    @property
    def controller(self) -> StageController:
        """The simulated controller and its axes, for inspection in tests and demos."""
        return self._controller

    def handle_line(self, line: str) -> str | None:
        """Run one line of commands; return the joined query replies or None."""
        if self._latency_s:
            # The controller's parser takes its time; the state is sampled after it.
            time.sleep(self._latency_s)
        with self._lock:
            return self._controller.execute(line, self._clock.now())

    def inject_following_error(self, axis: int, fraction: float = 0.5) -> None:
        """Make the next move of ``axis`` (1-based) trip after ``fraction`` of its way.

        The motor is then switched off, the axis loses its home and ``TE?``
        reports a following error; ``nMO`` and ``nOR`` recover.
        """
        with self._lock:
            self._controller.axes[axis - 1].arm_following_error(fraction)
        _LOG.info(
            "axis %d: following error armed at %.0f %% of the next move", axis, fraction * 100
        )


def main(argv: Sequence[str] | None = None) -> None:
    """Serve a simulated stage controller until SIGINT or SIGTERM; print ``READY <host> <port>``."""
    parser = simulator_parser(__doc__, DEFAULT_PORT)
    parser.add_argument(
        "--latency", type=float, default=0.002, help="seconds each command line takes"
    )
    parser.add_argument(
        "--following-error",
        type=int,
        choices=range(1, len(DEFAULT_AXES) + 1),
        metavar="AXIS",
        help="make the first move of this axis trip on a following error half-way",
    )
    args = parse_simulator_args(parser, argv)
    if args.latency < 0:
        parser.error("--latency must not be negative")
    sim = MotionSimulator(args.host, args.port, speed=args.speed, latency_s=args.latency)
    if args.following_error is not None:
        sim.inject_following_error(args.following_error)
    run_simulator(sim)


if __name__ == "__main__":
    main()
