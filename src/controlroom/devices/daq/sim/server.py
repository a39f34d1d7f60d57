"""A Keithley DAQ6510 simulator on TCP, with two 7700 multiplexer cards wired to the lab.

Software that drives a DAQ6510 over its raw SCPI socket should work against it
unchanged: the manual's headers in short or long form, ``;``-joined message
units, channel lists, scans into reading buffers, the error queue, overflow
readings for open sensors. Behind it, a
:class:`~controlroom.devices.daq.sim.thermal.ThermalNetwork` of the simulated
setup (:mod:`~controlroom.devices.daq.sim.lab`) evolves with the injectable
``clock``, ``speed`` times faster than real time. A scan takes, per channel,
the relay settling time plus NPLC power-line cycles of simulated time, and
while the DAQ scans, a query that waits for the scan keeps it busy.

Run it with ``python -m controlroom.devices.daq.sim.server [--port 5025] [--speed X]``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from controlroom.device.simkit.clock import SimulatedClock
from controlroom.device.simkit.scpi import execute
from controlroom.device.simkit.server import (
    LineSimulator,
    parse_simulator_args,
    run_simulator,
    simulator_parser,
)
from controlroom.devices.daq.sim.commands import COMMANDS
from controlroom.devices.daq.sim.lab import WIRING, lab_network, start_temperatures
from controlroom.devices.daq.sim.params import split_daq_unit
from controlroom.devices.daq.sim.state import DaqState
from controlroom.devices.daq.sim.thermal import ThermalNetwork
from controlroom.devices.tempctl.sim.physics import ThermalConfig

_LOG = logging.getLogger(__name__)

DEFAULT_PORT = 5025
COMMAND_S = 0.001
"""Simulated seconds the DAQ takes to parse and run one command line."""


class DaqSimulator(LineSimulator):
    """A DAQ6510 with 40 channels wired to the simulated setup, served on TCP.

    ``clock`` gives seconds (``time.monotonic`` by default) and ``sleep`` waits
    (tests pass a fake pair); simulated time runs ``speed`` times faster. The
    model catches up with the clock at each command, so :meth:`handle_line`
    also works without :meth:`start`. ``epoch`` sets the instrument's date and
    time at power-on (UTC seconds; now by default).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
        speed: float = 1.0,
        seed: int = 0,
        line_hz: float = 50.0,
        thermal: ThermalConfig | None = None,
        serial: str = "SIM06510",
        firmware: str = "1.7.12b",
        epoch: float | None = None,
    ) -> None:
        super().__init__(host, port, terminator="\n", encoding="ascii")
        self._clock = SimulatedClock(clock, speed)
        if line_hz not in (50.0, 60.0):
            raise ValueError(f"the power line runs at 50 or 60 Hz, not {line_hz}")
        network = lab_network(thermal)
        lab = ThermalNetwork(network, temperatures=start_temperatures(network))
        identity = f"KEITHLEY INSTRUMENTS,MODEL DAQ6510,{serial},{firmware}"
        start = time.time() if epoch is None else epoch
        self._state = DaqState(lab, identity, seed=seed, line_hz=line_hz, epoch=start)
        self._state.wait = self._wait
        self._halt = threading.Event()
        self._sleep = sleep if sleep is not None else self._halt.wait
        self._lock = threading.RLock()

    @property
    def lab(self) -> ThermalNetwork:
        """The thermal model behind the sensors, for inspection in tests and demos."""
        return self._state.lab

    @property
    def state(self) -> DaqState:
        return self._state

    def handle_line(self, line: str) -> str | None:
        """Run one line of SCPI message units; return the joined query replies or None."""
        with self._lock:
            self._catch_up()
            self._state.pause(COMMAND_S)
            return execute(line, COMMANDS, self._state, split=split_daq_unit)[0]

    def set_open_sensor(self, channel: int, is_open: bool = True) -> None:
        """Break (or mend) the sensor leads of ``channel``: it then reads as overflow."""
        if channel not in WIRING:
            raise ValueError(f"nothing is wired to channel {channel}")
        with self._lock:
            self._catch_up()
            (self._state.open_sensors.add if is_open else self._state.open_sensors.discard)(channel)
        _LOG.info("channel %d open: %s", channel, is_open)

    def set_heater(self, node: str, watts: float) -> None:
        """Dissipate ``watts`` in a node of the lab model (e.g. "camera", "optical_bench")."""
        with self._lock:
            self._catch_up()
            self._state.lab.set_heater(node, watts)
        _LOG.info("heater on %s: %g W", node, watts)

    def temperature(self, node: str) -> float:
        """True temperature of a node now, in kelvin (no sensor noise)."""
        with self._lock:
            self._catch_up()
            return self._state.lab.temperature(node)

    def stop(self) -> None:
        self._halt.set()  # a client waiting for a long scan must not hold up the stop
        super().stop()

    def _catch_up(self) -> None:
        self._state.advance_to(self._state.now + self._clock.elapsed())

    def _wait(self, moment: float) -> None:
        while self._state.now < moment and not self._halt.is_set():
            before = self._clock.real()
            self._sleep((moment - self._state.now) / self._clock.speed)
            self._catch_up()
            if self._clock.real() == before:  # a fake clock that sleeping does not move
                self._state.advance_to(moment)


def main(argv: Sequence[str] | None = None) -> None:
    """Serve a simulated DAQ until SIGINT or SIGTERM; print ``READY <host> <port>`` first."""
    parser = simulator_parser(__doc__, DEFAULT_PORT)
    parser.add_argument("--seed", type=int, default=0, help="seed of the reading noise")
    parser.add_argument("--line-hz", type=float, default=50.0, choices=(50.0, 60.0))
    args = parse_simulator_args(parser, argv)
    sim = DaqSimulator(args.host, args.port, speed=args.speed, seed=args.seed, line_hz=args.line_hz)
    run_simulator(sim)


if __name__ == "__main__":
    main()
