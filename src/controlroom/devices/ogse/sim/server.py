"""An OGSE (optical ground support equipment) simulator on TCP.

It speaks the OGSE controller's line protocol (see
:mod:`controlroom.devices.ogse.sim.commands`) with the hardware's habits:
one client at a time, a delay on every command (longer for those that take a
power-meter measurement), a lamp that warms up and power meters that follow
it and the attenuator. There is no interlock jack to pull: ``SIGUSR1``
toggles the interlock instead, and ``SIGUSR2`` breaks (or repairs) the lamp.

Run it with ``python -m controlroom.devices.ogse.sim.server [--port 4181]``.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType

from controlroom.device.simkit.clock import SimulatedClock
from controlroom.device.simkit.server import (
    OneClientSimulator,
    parse_simulator_args,
    run_simulator,
    simulator_parser,
)
from controlroom.devices.ogse.sim.commands import SESSION_END, SLOW_COMMANDS, execute, normalise
from controlroom.devices.ogse.sim.physics import OpticalBench, OpticsConfig
from controlroom.devices.ogse.sim.state import LINKS, OGSEState

_LOG = logging.getLogger(__name__)

DEFAULT_PORT = 4181
COMMAND_DELAY_S = 0.02
MEASUREMENT_DELAY_S = 0.1
_STOP = "stop"


class OGSESimulator(OneClientSimulator):
    """The OGSE controller with its lamp, attenuator and two power meters, served on TCP.

    ``clock`` gives seconds (``time.monotonic`` by default; tests pass a fake);
    simulated time runs ``speed`` times faster. ``latency`` scales the command
    delays (0: answer at once). The model catches up with the clock at each
    command, so :meth:`handle_line` also works without :meth:`start`.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Callable[[], float] = time.monotonic,
        speed: float = 1.0,
        latency: float = 1.0,
        seed: int = 0,
        optics: OpticsConfig | None = None,
    ) -> None:
        super().__init__(host, port, terminator="\n", encoding="ascii")
        self._clock = SimulatedClock(clock, speed)
        if latency < 0:
            raise ValueError(f"latency must not be negative, not {latency}")
        self.state = OGSEState(bench=OpticalBench(optics or OpticsConfig(seed=seed)))
        self._latency = latency
        self._lock = threading.RLock()
        self._requests: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._watcher: threading.Thread | None = None

    def handle_line(self, line: str) -> str | None:
        """Answer one command line (after the controller's delay); None for exit/quit."""
        command = normalise(line)
        delay = MEASUREMENT_DELAY_S if command in SLOW_COMMANDS else COMMAND_DELAY_S
        if self._latency:
            time.sleep(delay * self._latency)  # the controller's own processing time
        if command in SESSION_END:
            self.end_session()
            return None
        with self._lock:
            self._catch_up()
            return execute(self.state, line)

    # Simulator controls: what an operator does to the hardware, not over its link.

    def toggle_interlock(self) -> None:
        self._change(lambda s: s.toggle_interlock())
        _LOG.warning("interlock %s", "OPEN" if self.state.interlock_open else "CLOSED")

    def set_interlock_open(self, is_open: bool) -> None:
        self._change(lambda s: s.set_interlock_open(is_open))

    def set_lamp_broken(self, broken: bool = True) -> None:
        """Break the lamp (it goes out, or will not ignite) or repair it."""
        self._change(lambda s: s.set_lamp_broken(broken))
        _LOG.warning("lamp %s", "broken" if broken else "repaired")

    def set_controller_fault(self) -> None:
        """Raise a controller fault (until ``reset``): the laser stops."""
        self._change(lambda s: s.set_controller_fault())

    def set_connected(self, device: str, connected: bool) -> None:
        """Unplug (or plug back) the ``ldls``, the ``att``enuator, ``pm1`` or ``pm2``."""
        self._change(lambda s: s.set_connected(device, connected))

    def request_interlock_toggle(self) -> None:
        """Toggle the interlock soon; safe to call from a signal handler."""
        self._requests.put("interlock")

    def request_lamp_toggle(self) -> None:
        """Break or repair the lamp soon; safe to call from a signal handler."""
        self._requests.put("lamp")

    def start(self) -> int:
        port = super().start()
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, name="ogse-signals", daemon=True)
            self._watcher.start()
        return port

    def stop(self) -> None:
        super().stop()
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            self._requests.put(_STOP)
            watcher.join()

    def _watch(self) -> None:
        # Signal handlers only queue a request; the change happens here, under the lock.
        while (request := self._requests.get()) != _STOP:
            if request == "interlock":
                self.toggle_interlock()
            else:
                self.set_lamp_broken(not self.state.lamp_broken)

    def _change(self, change: Callable[[OGSEState], object]) -> None:
        with self._lock:
            self._catch_up()
            change(self.state)

    def _catch_up(self) -> None:
        self.state.advance(self._clock.elapsed())


def _install_signal_handlers(sim: OGSESimulator) -> dict[int, object]:
    def on_usr1(signum: int, frame: FrameType | None) -> None:
        sim.request_interlock_toggle()

    def on_usr2(signum: int, frame: FrameType | None) -> None:
        sim.request_lamp_toggle()

    return {
        signal.SIGUSR1: signal.signal(signal.SIGUSR1, on_usr1),
        signal.SIGUSR2: signal.signal(signal.SIGUSR2, on_usr2),
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Serve a simulated OGSE until SIGINT or SIGTERM; print ``READY <host> <port>`` first."""
    parser = simulator_parser(__doc__, DEFAULT_PORT)
    parser.add_argument("--latency", type=float, default=1.0, help="scale of the command delays")
    parser.add_argument("--seed", type=int, default=0, help="seed of the measurement noise")
    parser.add_argument("--lamp-fault", action="store_true", help="start with a broken lamp")
    parser.add_argument("--controller-fault", action="store_true", help="start with a fault")
    parser.add_argument("--interlock-open", action="store_true", help="start with it open")
    parser.add_argument(
        "--disconnected",
        choices=LINKS,
        action="append",
        default=[],
        help="start with this device unplugged from the controller (repeatable)",
    )
    args = parse_simulator_args(parser, argv)
    if args.latency < 0:
        parser.error("--latency must not be negative")
    sim = OGSESimulator(
        args.host, args.port, speed=args.speed, latency=args.latency, seed=args.seed
    )
    if args.lamp_fault:
        sim.set_lamp_broken()
    sim.set_interlock_open(args.interlock_open)
    if args.controller_fault:
        sim.set_controller_fault()
    for device in args.disconnected:
        sim.set_connected(device, False)
    previous = _install_signal_handlers(sim)
    try:
        run_simulator(sim)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
