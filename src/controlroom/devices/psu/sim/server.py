"""A Rohde & Schwarz HMP4040 simulator on TCP: four outputs, each with a load.

Software written for the supply's raw-socket SCPI port (5025), such as a
script from the HMP manual or PyMeasure's HMP4040 driver, works against it
unchanged: the manual's headers (short and long forms, optional nodes),
``;``-joined message units, LF-terminated replies and an error queue read
with ``SYST:ERR?``. Each output drives a load (see :mod:`.load`) through the model
of :mod:`.channel`; the model evolves with the injectable ``clock``, ``speed``
times faster than real time. Like the instrument, it takes a moment to answer:
a few milliseconds per setting, longer per measurement.

Run it with ``python -m controlroom.devices.psu.sim.server [--port 7782]
[--load 1=10 --load 2=lamp:2:12:12:0.5 --load 3=open --load 4=3]``.
"""

from __future__ import annotations

import argparse
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from controlroom.device.simkit.clock import SimulatedClock
from controlroom.device.simkit.scpi import execute
from controlroom.device.simkit.server import (
    LineSimulator,
    parse_simulator_args,
    run_simulator,
    simulator_parser,
)
from controlroom.devices.psu.sim.channel import Channel
from controlroom.devices.psu.sim.commands import COMMANDS
from controlroom.devices.psu.sim.load import Load, LoadSpecError, parse_channel_load, parse_load
from controlroom.devices.psu.sim.state import PsuState

_LOG = logging.getLogger(__name__)

DEFAULT_PORT = 7782
MAX_CATCH_UP_S = 600.0
"""Longest simulated span integrated at once; after a longer idle gap the outputs are settled."""
MAX_STEP_S = 0.002
"""Longest integration step: short enough that OVP sees a slewing output cross its level."""
MAX_STEPS = 20_000


@dataclass(frozen=True)
class CommandDelays:
    """Seconds the instrument takes per message unit, by kind (0 in tests)."""

    setting: float = 0.003
    query: float = 0.001
    measure: float = 0.010

    def total(self, costs: Sequence[str]) -> float:
        per_kind = {"setting": self.setting, "query": self.query, "measure": self.measure}
        return sum(per_kind.get(cost, 0.0) for cost in costs)


NO_DELAYS = CommandDelays(0.0, 0.0, 0.0)


class PsuSimulator(LineSimulator):
    """An HMP4040 with loads on its four outputs, served on TCP.

    ``clock`` gives seconds (``time.monotonic`` by default; tests pass a fake);
    simulated time runs ``speed`` times faster. The model catches up with the
    clock at each line, so :meth:`handle_line` also works without :meth:`start`.
    ``sleep`` waits out the command delays (tests pass :data:`NO_DELAYS`).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        loads: Mapping[int, Load] | None = None,
        slew_v_per_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        speed: float = 1.0,
        delays: CommandDelays = CommandDelays(),
        sleep: Callable[[float], None] = time.sleep,
        seed: int = 0,
        serial: str = "000001",
    ) -> None:
        super().__init__(host, port, terminator="\n", encoding="ascii")
        self._clock = SimulatedClock(clock, speed)
        self._state = PsuState.create(
            loads=loads, slew_v_per_s=slew_v_per_s, serial=serial, seed=seed
        )
        self._delays, self._sleep = delays, sleep
        self._lock = threading.RLock()

    def channel(self, number: int) -> Channel:
        """One output's model, for inspection in tests and demos."""
        with self._lock:
            self._catch_up()
            return self._state.channels[number]

    def handle_line(self, line: str) -> str | None:
        """Run one line of SCPI message units; return the joined query replies or None."""
        with self._lock:
            self._catch_up()
            reply, costs = execute(line, COMMANDS, self._state, settle=PsuState.regulate)
            delay = self._delays.total(costs)
            if delay > 0:
                self._sleep(delay)  # the instrument is busy: later lines wait, as on the bench
            return reply

    def set_load(self, channel: int, load: Load | str) -> None:
        """Put another load on an output (a :class:`Load` or its notation, e.g. ``"2.5"``)."""
        chosen = parse_load(load) if isinstance(load, str) else load
        with self._lock:
            self._catch_up()
            self._state.channels[channel].load = chosen
            self._state.regulate()
        _LOG.info("channel %d load: %s", channel, chosen.describe())

    def _catch_up(self) -> None:
        elapsed = self._clock.elapsed(MAX_CATCH_UP_S)
        if elapsed <= 0:
            return
        steps = min(math.ceil(elapsed / MAX_STEP_S), MAX_STEPS)
        for _ in range(steps):
            self._state.advance(elapsed / steps)


def _loads(parser: argparse.ArgumentParser, specs: Sequence[str]) -> dict[int, Load]:
    loads: dict[int, Load] = {}
    for spec in specs:
        try:
            channel, load = parse_channel_load(spec)
        except LoadSpecError as exc:
            parser.error(f"--load: {exc}")
        loads[channel] = load
    return loads


def main(argv: Sequence[str] | None = None) -> None:
    """Serve a simulated supply until SIGINT or SIGTERM; print ``READY <host> <port>`` first."""
    parser = simulator_parser(__doc__, DEFAULT_PORT)
    parser.add_argument(
        "--load",
        action="append",
        default=[],
        metavar="CH=LOAD",
        help="load on a channel: open, OHMS or lamp:COLD:HOT:VOLTS[:SECONDS] (repeatable)",
    )
    parser.add_argument("--slew", type=float, default=None, help="output slew rate in V/s")
    parser.add_argument("--no-delays", action="store_true", help="answer without command delays")
    parser.add_argument("--seed", type=int, default=0, help="seed of the measurement noise")
    args = parse_simulator_args(parser, argv)
    if args.slew is not None and args.slew <= 0:
        parser.error("--slew must be positive")
    loads = _loads(parser, args.load)
    try:
        sim = PsuSimulator(
            args.host,
            args.port,
            loads=loads,
            slew_v_per_s=args.slew,
            speed=args.speed,
            delays=NO_DELAYS if args.no_delays else CommandDelays(),
            seed=args.seed,
        )
    except ValueError as exc:
        parser.error(str(exc))
    run_simulator(sim)


if __name__ == "__main__":
    main()
