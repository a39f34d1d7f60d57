"""One heater output of the Model 336: setpoint ramp, PID law and heater stage (pure).

Conventions follow the 336 manual: the heater output in percent is

    P * (e + I/1000 * integral(e dt) + Td * de/dt),   e = setpoint - reading

with P the gain (50 means 50 % per kelvin of error), I the reset in repeats per
1000 s (the integral time is 1000/I seconds) and D in percent of a quarter of
the integral time (Td = D/100 * 250/I seconds). The derivative acts on the
reading, not on the error, so a setpoint step gives no kick. The manual output
adds to the PID output in closed loop and is the whole output in open loop.

The output percentage is of full-scale current, so heater power goes with its
square; each range is a decade of power below the next (high, medium, low).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

RANGE_POWER_FRACTION = (0.0, 0.01, 0.1, 1.0)
"""Fraction of full power for ``RANGE`` 0 (off), 1 (low), 2 (medium) and 3 (high)."""


class OutputMode(IntEnum):
    """``OUTMODE`` modes of a heater output."""

    OFF = 0
    CLOSED_LOOP = 1
    ZONE = 2  # simulated as closed loop with the loop's own PID values
    OPEN_LOOP = 3


class HeaterFault(IntEnum):
    """``HTRST?`` codes; any fault means the heater delivers no power."""

    NONE = 0
    OPEN_LOAD = 1
    SHORT = 2


@dataclass
class LoopSettings:
    """What the user configures for one output; plain data, changed freely."""

    mode: OutputMode = OutputMode.CLOSED_LOOP
    control_input: str | None = "A"
    heater_range: int = 0
    p: float = 50.0
    i: float = 20.0
    d: float = 0.0
    manual_output: float = 0.0
    ramp_enabled: bool = False
    ramp_rate: float = 10.0  # kelvin per minute; 0 steps at once
    resistance: float = 50.0  # ohms
    max_current: float = 1.0  # amperes at 100 % on the high range


class ControlLoop:
    """Setpoint ramp, PID and heater of one output, advanced in fixed steps."""

    def __init__(self, settings: LoopSettings | None = None) -> None:
        self.settings = settings if settings is not None else LoopSettings()
        self.fault = HeaterFault.NONE
        self._target = 0.0
        self._setpoint = 0.0
        self._integral = 0.0
        self._last_reading: float | None = None
        self._output = 0.0

    @property
    def target(self) -> float:
        """The setpoint last asked for (kelvin), where a ramp ends."""
        return self._target

    @property
    def setpoint(self) -> float:
        """The setpoint in force now (kelvin): part-way along a ramp, else the target."""
        return self._setpoint if self._ramp_active() else self._target

    @property
    def ramping(self) -> bool:
        return self._ramp_active() and self._setpoint != self._target

    @property
    def output_percent(self) -> float:
        """Heater output in percent of full-scale current (0 while the heater is faulty)."""
        return 0.0 if self.fault != HeaterFault.NONE else self._output

    @property
    def full_power(self) -> float:
        """Heater power (W) at 100 % output on the present range."""
        fraction = RANGE_POWER_FRACTION[self.settings.heater_range]
        return self.settings.max_current**2 * self.settings.resistance * fraction

    @property
    def power(self) -> float:
        """Heater power (W) delivered now."""
        return self.full_power * (self.output_percent / 100.0) ** 2

    def set_target(self, kelvin: float) -> None:
        """Ask for a new setpoint; with the ramp on, it starts from the present setpoint."""
        self._setpoint = self.setpoint
        self._target = kelvin

    def step(self, reading: float | None, dt: float) -> float:
        """Advance ``dt`` seconds with the control input at ``reading``; return the power (W).

        ``reading`` is None when the control input has no valid reading: the 336
        then switches the closed-loop output off rather than heat blind.
        """
        self._advance_ramp(dt)
        self._output = self._control_output(reading, dt)
        return self.power

    def _ramp_active(self) -> bool:
        return self.settings.ramp_enabled and self.settings.ramp_rate > 0.0

    def _advance_ramp(self, dt: float) -> None:
        if not self._ramp_active():
            self._setpoint = self._target
            return
        step = self.settings.ramp_rate / 60.0 * dt
        remaining = self._target - self._setpoint
        if abs(remaining) <= step:
            self._setpoint = self._target  # land exactly, so RAMPST? clears
        else:
            self._setpoint += step if remaining > 0 else -step

    def _control_output(self, reading: float | None, dt: float) -> float:
        settings = self.settings
        if settings.heater_range == 0 or settings.mode == OutputMode.OFF:
            return self._idle()
        if settings.mode == OutputMode.OPEN_LOOP:
            self._idle()
            return _clamp(settings.manual_output)
        if reading is None:
            return self._idle()
        return _clamp(self._pid(reading, dt) + settings.manual_output)

    def _pid(self, reading: float, dt: float) -> float:
        s = self.settings
        error = self.setpoint - reading
        # Clamping the integral to the output span is the anti-windup.
        self._integral = _clamp(self._integral + s.p * s.i / 1000.0 * error * dt)
        slope = 0.0 if self._last_reading is None else (reading - self._last_reading) / dt
        self._last_reading = reading
        derivative_time = s.d / 100.0 * 250.0 / s.i if s.i > 0 else 0.0
        return s.p * (error - derivative_time * slope) + self._integral

    def _idle(self) -> float:
        # Restart from a clean integral when the loop takes over again (bumpless enough).
        self._integral = 0.0
        self._last_reading = None
        return 0.0


def _clamp(percent: float) -> float:
    return min(max(percent, 0.0), 100.0)
