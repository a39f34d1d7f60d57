"""A simulated Newport ESP300 motion controller on TCP: X, Y, Z linear stages and a rotation stage.

It speaks the controller's command language as the user's manual gives it
(see :mod:`controlroom.devices.motion.sim.syntax` and the command tables):
command lines end with CR (LF and CR LF are taken too), replies with CR LF.
Each axis moves along a trapezoidal velocity profile computed from the time
since the move started, so a position read during a move lies on the way.
Simulated time runs ``speed`` times faster than the injectable ``clock``;
every command line takes ``latency_s`` of real time, as the controller's
parser does, and a ``WS`` (wait for stop) holds the controller until the
axis rests, as on the instrument.

Run it with ``python -m controlroom.devices.motion.sim.server [--port 7783]``.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import cast

from controlroom.device.simkit.clock import SimulatedClock
from controlroom.device.simkit.server import (
    LineSimulator,
    parse_simulator_args,
    run_simulator,
    simulator_parser,
)
from controlroom.devices.motion.sim.axis import AxisConfig
from controlroom.devices.motion.sim.controller import StageController

_LOG = logging.getLogger(__name__)

DEFAULT_PORT = 7783
VERSION = "ESP300 Version 3.08 09/09/02"

DEFAULT_AXES: tuple[AxisConfig, ...] = (
    AxisConfig("X", "mm", -50.0, 50.0, 5.0, 20.0, 25.0, 200.0, 12.5, model="ILS100CC"),
    AxisConfig("Y", "mm", -50.0, 50.0, 5.0, 20.0, 25.0, 200.0, -7.25, model="ILS100CC"),
    AxisConfig("Z", "mm", -10.0, 25.0, 2.0, 10.0, 10.0, 100.0, 3.0, model="UTS50CC"),
    AxisConfig("RZ", "deg", -170.0, 170.0, 10.0, 40.0, 60.0, 400.0, 30.0, model="URS100BCC"),
)
"""The stages of the simulated bench: travel, default and maximum speeds, power-up position."""

_SHORTEST_PAUSE_S = 1e-4


class MotionSimulator(LineSimulator):
    """The ESP300, served on TCP; :meth:`handle_line` also works without :meth:`start`.

    ``clock`` gives seconds (``time.monotonic`` by default); ``sleep`` waits
    that many of them during a ``WS``. A test passes a fake clock and a
    ``sleep`` that advances it.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
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
        self._closing = threading.Event()
        self._sleep = sleep if sleep is not None else self._closing.wait
        self._lock = threading.RLock()
        self._controller = StageController(axes, version, self._clock.now())

    @property
    def controller(self) -> StageController:
        """The simulated controller and its axes, for inspection in tests and demos."""
        return self._controller

    def start(self) -> int:
        self._closing.clear()
        return super().start()

    def stop(self) -> None:
        self._closing.set()  # ends a WS in progress, so its client thread can be joined
        super().stop()

    def handle_line(self, line: str) -> str | None:
        """Run one line of commands; return the joined query replies or None."""
        if self._latency_s:
            # The controller's parser takes its time; the state is sampled after it.
            time.sleep(self._latency_s)
        replies: list[str] = []
        pending = line
        while True:
            with self._lock:
                now = self._clock.now()
                result = self._controller.execute(pending, now)
            replies.extend(result.replies)
            if result.rest is None or not self._pause(result.resume_at - now):
                break
            if not result.rest:
                break
            pending = result.rest
        return ",".join(replies) if replies else None

    def inject_following_error(self, axis: int, fraction: float = 0.5) -> None:
        """Make the next move of ``axis`` (1-based) trip after ``fraction`` of its way.

        The motor is then switched off and ``TE?`` reports a following error
        (``axis * 100 + 3``); ``nMO`` recovers.
        """
        with self._lock:
            self._controller.axes[axis - 1].arm_following_error(fraction)
        _LOG.info(
            "axis %d: following error armed at %.0f %% of the next move", axis, fraction * 100
        )

    def _pause(self, simulated_s: float) -> bool:
        """Let ``simulated_s`` pass; False if the simulator stops (or time stands still)."""
        before = self._clock.now()
        self._sleep(max(simulated_s / self._clock.speed, _SHORTEST_PAUSE_S))
        return not self._closing.is_set() and self._clock.now() > before

    def _read_lines(self, conn: socket.socket) -> Iterator[bytes]:
        # The ESP300 ends a command line with CR alone; the base class splits at LF.
        return super()._read_lines(cast(socket.socket, _CarriageReturnAsNewline(conn)))


class _CarriageReturnAsNewline:
    """A connection whose received CRs read as LFs (a CR LF pair then ends one line)."""

    def __init__(self, conn: socket.socket) -> None:
        self._conn = conn

    def recv(self, size: int) -> bytes:
        return self._conn.recv(size).replace(b"\r", b"\n")


def main(argv: Sequence[str] | None = None) -> None:
    """Serve a simulated ESP300 until SIGINT or SIGTERM; print ``READY <host> <port>``."""
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
