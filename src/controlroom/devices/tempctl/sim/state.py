"""Settings of the simulated Model 336 and their defaults (pure, no I/O).

The thermal model owns what drives the physics (loop settings, setpoints,
faults); this state adds what only the remote interface sees: input types and
names, heater display units, status registers and the identity string.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from controlroom.device.simkit.scpi import Status
from controlroom.devices.tempctl.sim.control_loop import LoopSettings
from controlroom.devices.tempctl.sim.physics import INPUTS, ThermalModel
from controlroom.devices.tempctl.sim.sensor_curves import SensorType

KELVIN, CELSIUS, SENSOR_UNITS = 1, 2, 3
RESISTANCE_OHMS = {1: 25.0, 2: 50.0}
PRESET_CURRENT_A = {1: 0.707, 2: 1.0, 3: 1.141, 4: 2.0}  # HTRSET <max current> 1-4
DISPLAY_CURRENT, DISPLAY_POWER = 1, 2


@dataclass
class InputConfig:
    """``INTYPE`` and ``INNAME`` of one input."""

    sensor: SensorType
    autorange: int
    input_range: int
    compensation: int
    units: int
    name: str


@dataclass
class HeaterSetup:
    """``HTRSET`` and the power-up flag of ``OUTMODE`` for one heater output."""

    resistance: int = 2  # 50 ohm
    max_current: int = 2  # 1 A: 50 W on the high range
    max_user_current: float = 0.0
    display: int = DISPLAY_CURRENT
    powerup_enable: int = 0

    def current_amperes(self) -> float:
        if self.max_current == 0:
            return self.max_user_current
        return PRESET_CURRENT_A[self.max_current]


def default_inputs() -> dict[str, InputConfig]:
    """Diodes on the two cold stages, platinum resistors on the shield and the flange."""
    return {
        "A": InputConfig(SensorType.DIODE, 0, 0, 0, KELVIN, "Sample stage"),
        "B": InputConfig(SensorType.DIODE, 0, 0, 0, KELVIN, "Detector plate"),
        "C": InputConfig(SensorType.PLATINUM, 1, 0, 1, KELVIN, "Rad shield"),
        "D": InputConfig(SensorType.PLATINUM, 1, 0, 1, KELVIN, "Vacuum flange"),
    }


DEFAULT_CONTROL_INPUT = {1: "A", 2: "B"}


@dataclass
class Model336State:
    """Everything the command handlers read and change."""

    model: ThermalModel
    identity: str
    status: Status = field(default_factory=Status)  # the 336 has no error queue
    inputs: dict[str, InputConfig] = field(default_factory=default_inputs)
    heaters: dict[int, HeaterSetup] = field(default_factory=dict)
    interface_mode: int = 0

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """``*RST``: back to the power-up settings.

        As after a power cycle, an output whose power-up enable is on keeps its
        mode, control input, heater range and setpoint. Temperatures, faults and
        the status registers are not settings and stay as they are.
        """
        kept = {out: self._powerup_settings(out) for out in self.model.loops}
        self.inputs = default_inputs()
        self.heaters = {out: HeaterSetup() for out in self.model.loops}
        self.interface_mode = 0
        for name in INPUTS:
            self.model.set_sensor_enabled(name, True)
        for out, loop in self.model.loops.items():
            settings = kept[out]
            if settings is None:
                loop.settings = LoopSettings(control_input=DEFAULT_CONTROL_INPUT[out])
                loop.set_target(0.0)
            else:
                loop.settings = settings
                self.heaters[out].powerup_enable = 1
            self.apply_heater_setup(out)

    def apply_heater_setup(self, output: int) -> None:
        """Push ``HTRSET`` into the physics: heater resistance and full-scale current."""
        setup, settings = self.heaters[output], self.model.loops[output].settings
        settings.resistance = RESISTANCE_OHMS[setup.resistance]
        settings.max_current = setup.current_amperes()

    def setpoint_units(self, output: int) -> int:
        """Setpoints are in the preferred units of the control input (K unless Celsius)."""
        control = self.model.loops[output].settings.control_input
        units = self.inputs[control].units if control in self.inputs else KELVIN
        return CELSIUS if units == CELSIUS else KELVIN

    def _powerup_settings(self, output: int) -> LoopSettings | None:
        setup = self.heaters.get(output)
        if setup is None or not setup.powerup_enable:
            return None
        settings = self.model.loops[output].settings
        return LoopSettings(
            mode=settings.mode,
            control_input=settings.control_input,
            heater_range=settings.heater_range,
        )
