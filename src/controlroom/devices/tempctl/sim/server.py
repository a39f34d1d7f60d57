"""A Lake Shore Model 336 temperature controller simulator on TCP, with believable physics.

Software that drives a real 336 over its Ethernet port (7777) should work
against it unchanged: same commands, reply formats, ``;``-compound lines, CR LF
reply terminator and status-register error reporting. Behind the interface a
:class:`~controlroom.devices.tempctl.sim.physics.ThermalModel` evolves with the
injectable ``clock``, ``speed`` times faster than real time.

Run it with ``python -m controlroom.devices.tempctl.sim.server [--port 7777]``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from controlroom.device.simkit.clock import SimulatedClock
from controlroom.device.simkit.common import (
    clear_status,
    constant,
    event_status,
    identify,
    mask_query,
    mask_setter,
    reset,
    status_byte,
)
from controlroom.device.simkit.params import expect, to_int
from controlroom.device.simkit.scpi import ESR_OPC, Command, CommandTable, execute
from controlroom.device.simkit.server import (
    LineSimulator,
    parse_simulator_args,
    run_simulator,
    simulator_parser,
)
from controlroom.devices.tempctl.sim.control_loop import HeaterFault
from controlroom.devices.tempctl.sim.inputs import INPUT_COMMANDS
from controlroom.devices.tempctl.sim.outputs import OUTPUT_COMMANDS
from controlroom.devices.tempctl.sim.physics import ThermalConfig, ThermalModel
from controlroom.devices.tempctl.sim.state import Model336State
from controlroom.devices.tempctl.sim.syntax import split_command

_LOG = logging.getLogger(__name__)

DEFAULT_PORT = 7777
MAX_CATCH_UP_S = 7200.0
"""Longest simulated span integrated at once; after a longer idle gap the model is at rest."""


def _interface_mode_command(state: Model336State, args: list[str]) -> None:
    state.interface_mode = to_int(expect(args, 1)[0], 0, 2)


def _interface_mode_query(state: Model336State, args: list[str]) -> str:
    expect(args, 0)
    return str(state.interface_mode)


MODEL_336_COMMANDS: CommandTable[Model336State] = CommandTable(
    [
        Command("*CLS", clear_status),
        Command("*ESE", mask_setter("ese")),
        Command("*ESE?", mask_query("ese")),
        Command("*ESR?", event_status),
        Command("*SRE", mask_setter("sre")),
        Command("*SRE?", mask_query("sre")),
        Command("*STB?", status_byte),
        Command("*OPC", constant(None, event=ESR_OPC)),  # every command completes at once
        Command("*OPC?", constant("1")),
        Command("*TST?", constant("0")),  # self-test passed
        Command("*WAI", constant(None)),
        Command("*IDN?", identify),
        Command("*RST", reset),
        Command("MODE", _interface_mode_command),
        Command("MODE?", _interface_mode_query),
        *INPUT_COMMANDS,
        *OUTPUT_COMMANDS,
    ]
)
"""Every command the simulator understands; anything else is a command error."""


class LakeShore336Simulator(LineSimulator):
    """A Lake Shore Model 336 on a simulated cryostat, served on TCP.

    ``clock`` gives seconds (``time.monotonic`` by default; tests pass a fake);
    simulated time runs ``speed`` times faster. The model catches up with the
    clock at each command, so :meth:`handle_line` also works without
    :meth:`start`, e.g. from an in-process transport.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Callable[[], float] = time.monotonic,
        speed: float = 1.0,
        seed: int = 0,
        thermal: ThermalConfig | None = None,
        serial: str = "SIM3360",
        option_serial: str = "0000000",
        firmware: str = "2.9",
    ) -> None:
        super().__init__(host, port, terminator="\r\n", encoding="ascii")
        self._clock = SimulatedClock(clock, speed)
        config = thermal if thermal is not None else ThermalConfig(seed=seed)
        identity = f"LSCI,MODEL336,{serial}/{option_serial},{firmware}"
        self._state = Model336State(model=ThermalModel(config), identity=identity)
        self._lock = threading.RLock()

    @property
    def model(self) -> ThermalModel:
        """The physics behind the instrument, for inspection in tests and demos."""
        return self._state.model

    def handle_line(self, line: str) -> str | None:
        """Run one line of 336 commands; return the joined query replies or None."""
        with self._lock:
            self._catch_up()
            return execute(line, MODEL_336_COMMANDS, self._state, split=split_command)[0]

    def set_heater_fault(self, output: int, fault: HeaterFault) -> None:
        """Break heater ``output`` (open load or short); ``HeaterFault.NONE`` repairs it."""
        with self._lock:
            self._catch_up()
            self._state.model.set_heater_fault(output, HeaterFault(fault))
        _LOG.info("heater %d fault: %s", output, HeaterFault(fault).name)

    def set_sensor_disconnected(self, name: str, disconnected: bool = True) -> None:
        """Cut (or restore) the sensor leads of input ``name`` (``"A"``-``"D"``)."""
        with self._lock:
            self._catch_up()
            self._state.model.set_sensor_disconnected(name.upper(), disconnected)
        _LOG.info("input %s disconnected: %s", name, disconnected)

    def _catch_up(self) -> None:
        self._state.model.advance(self._clock.elapsed(MAX_CATCH_UP_S))


def main(argv: Sequence[str] | None = None) -> None:
    """Serve a simulated 336 until SIGINT or SIGTERM; print ``READY <host> <port>`` first."""
    parser = simulator_parser(__doc__, DEFAULT_PORT)
    parser.add_argument("--seed", type=int, default=0, help="seed of the sensor noise")
    args = parse_simulator_args(parser, argv)
    sim = LakeShore336Simulator(args.host, args.port, speed=args.speed, seed=args.seed)
    run_simulator(sim)


if __name__ == "__main__":
    main()
