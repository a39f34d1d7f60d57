"""What the simulated OGSE controller knows and does (pure, no I/O).

The chain of permissions is the hardware's: mains ``power`` feeds the laser
power supply (``psu``), which the safety interlock cuts when it opens;
``operate`` switches the laser on, and the laser ignites the lamp after a
short delay. Whatever stops the laser (operate off, power off, an opening
interlock, a controller fault, a lamp that fails) puts the lamp out. A lamp
that does not ignite or goes out by itself latches ``lamp-fault`` until
``reset``. Time is simulated seconds, advanced by :meth:`OGSEState.advance`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from controlroom.devices.ogse.attenuator import (
    MAX_LEVEL,
    FilterWheels,
    Positions,
    clamp_level,
    factor_of,
    level_closest_to_factor,
)
from controlroom.devices.ogse.protocol import encode_flags
from controlroom.devices.ogse.sim.physics import NOT_CONNECTED, MeterReading, OpticalBench

IGNITION_S = 1.5
"""From laser on to a burning plasma."""


LINKS = ("ldls", "att", "pm1", "pm2")
"""The devices behind the controller, each on its own link that can fail."""


class SimRefused(Exception):
    """The simulated controller refuses a command; the reply is ``ERROR: <message>``."""


@dataclass
class OGSEState:
    """Switches, interlock, faults, attenuator and the light they produce."""

    bench: OpticalBench = field(default_factory=OpticalBench)
    wheels: FilterWheels = field(default_factory=FilterWheels)
    now: float = 0.0
    power: bool = False
    operate: bool = False
    lit: bool = False
    interlock_open: bool = False
    lamp_fault: bool = False
    lamp_broken: bool = False
    controller_fault: bool = False
    meters_connected: list[bool] = field(default_factory=lambda: [True, True])
    ldls_connected: bool = True
    attenuator_connected: bool = True
    ignition_at: float | None = None

    @property
    def psu(self) -> bool:
        return self.power and not self.interlock_open and not self.controller_fault

    @property
    def laser(self) -> bool:
        return self.operate

    def flags(self) -> int:
        return encode_flags(
            {
                "power": self.power,
                "psu": self.psu,
                "operate": self.operate,
                "laser": self.laser,
                "lamp": self.lit,
                "interlock_open": self.interlock_open,
                "lamp_fault": self.lamp_fault,
                "controller_fault": self.controller_fault,
            }
        )

    def advance(self, seconds: float) -> None:
        """Let simulated time pass; the lamp ignites (or fails to) on the way."""
        remaining = max(seconds, 0.0)
        while self.ignition_at is not None and self.now + remaining >= self.ignition_at:
            step = max(self.ignition_at - self.now, 0.0)
            self._run(step)
            remaining -= step
            self._ignite()
        self._run(remaining)

    def reading(self, meter: int) -> MeterReading:
        if not self.meters_connected[meter - 1]:
            return NOT_CONNECTED
        return self.bench.read(meter, self.wheels.transmission(self.now))

    # Switches

    def power_on(self) -> None:
        self._need_ldls()
        if self.controller_fault:
            raise SimRefused("controller fault, reset first")
        self.power = True

    def power_off(self) -> None:
        self._need_ldls()
        self._stop_light()
        self.power = False

    def operate_on(self) -> None:
        self._need_ldls()
        if not self.power:
            raise SimRefused("power is off")
        if self.interlock_open:
            raise SimRefused("interlock is open")
        if self.controller_fault:
            raise SimRefused("controller fault, reset first")
        if self.lamp_fault:
            raise SimRefused("lamp fault, reset first")
        if not self.operate:
            self.operate = True
            self.ignition_at = self.now + IGNITION_S

    def operate_off(self) -> None:
        self._need_ldls()
        self._stop_light()

    def reset(self) -> None:
        """Back to the power-up state; latched faults clear, the attenuator stays put."""
        self._stop_light()
        self.power = False
        self.lamp_fault = False
        self.controller_fault = False

    # Outside events (signals, simulator controls)

    def toggle_interlock(self) -> None:
        self.set_interlock_open(not self.interlock_open)

    def set_interlock_open(self, is_open: bool) -> None:
        self.interlock_open = is_open
        if is_open:
            self._stop_light()  # the interlock cuts the laser supply

    def set_lamp_broken(self, broken: bool) -> None:
        self.lamp_broken = broken
        if broken and self.operate:
            self._fail_lamp()

    def set_controller_fault(self) -> None:
        self.controller_fault = True
        self._stop_light()

    def set_connected(self, device: str, connected: bool) -> None:
        """Plug or unplug one of the controller's links: ``ldls``, ``att``, ``pm1``, ``pm2``."""
        if device not in LINKS:
            raise ValueError(f"no link {device!r}; the links are {', '.join(LINKS)}")
        if device == "ldls":
            self.ldls_connected = connected
        elif device == "att":
            self.attenuator_connected = connected
        else:
            self.meters_connected[int(device[-1]) - 1] = connected

    # Attenuator

    def set_level_index(self, index: int) -> None:
        self._need_attenuator()
        if not 0 <= index <= MAX_LEVEL:
            raise SimRefused(f"usage: level #index -- index goes from 0 to {MAX_LEVEL}")
        self.wheels.move_to_level(index, self.now)

    def set_level_factor(self, factor: float) -> None:
        self._need_attenuator()
        if not 0.0 <= factor <= 1.0:
            raise SimRefused("usage: level <value> -- value must be in [0,1]")
        self.wheels.move_to_level(level_closest_to_factor(factor), self.now)

    def set_level_positions(self, positions: Positions) -> None:
        self._need_attenuator()
        try:
            self.wheels.move_to(positions, self.now)
        except ValueError:
            raise SimRefused(
                "usage: level <wheel_1> <wheel_2> -- wheel positions must be integer = 1..8"
            ) from None

    def step_level(self, steps: int) -> None:
        self._need_attenuator()
        target = clamp_level(self.wheels.level + steps)
        if target != self.wheels.level:
            self.wheels.move_to_level(target, self.now)

    def level(self) -> tuple[float, int, bool]:
        """Factor and index the wheels are at (or heading for), and whether they turn."""
        index = self.wheels.level
        return factor_of(index), index, self.wheels.is_moving(self.now)

    def _need_ldls(self) -> None:
        if not self.ldls_connected:
            raise SimRefused("no connection to the LDLS")

    def _need_attenuator(self) -> None:
        if not self.attenuator_connected:
            raise SimRefused("no connection to the attenuator")

    def _run(self, seconds: float) -> None:
        self.bench.advance(seconds, self.lit)
        self.now += seconds

    def _ignite(self) -> None:
        self.ignition_at = None
        if self.lamp_broken:
            self._fail_lamp()
        else:
            self.lit = True

    def _fail_lamp(self) -> None:
        self.lamp_fault = True
        self._stop_light()

    def _stop_light(self) -> None:
        self.operate = False
        self.lit = False
        self.ignition_at = None
