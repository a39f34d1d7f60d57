"""Model 336 commands about the heater outputs 1 and 2 (setpoint, range, PID, ramp, heater).

Outputs 3 and 4 of a real 336 are analog voltage outputs; the simulator has
none, so naming them is an execution error like any other out-of-range output.
"""

from __future__ import annotations

from controlroom.device.simkit.params import expect, to_int, to_real, within
from controlroom.device.simkit.scpi import Command, ScpiError
from controlroom.devices.tempctl.sim.control_loop import ControlLoop, OutputMode
from controlroom.devices.tempctl.sim.physics import INPUTS
from controlroom.devices.tempctl.sim.sensor_curves import VALID_RANGE_K
from controlroom.devices.tempctl.sim.state import (
    CELSIUS,
    DISPLAY_POWER,
    RESISTANCE_OHMS,
    HeaterSetup,
    Model336State,
)
from controlroom.devices.tempctl.sim.syntax import format_fixed, format_reading

_KELVIN_OFFSET = 273.15
_SETPOINT_LIMIT_K = 1500.0  # no control input: only the instrument's own limit applies
_MAX_RAMP_RATE = 100.0  # K/min
_MIN_RAMP_RATE = 0.1


def to_float(text: str, low: float, high: float) -> float:
    return within(to_real(text), low, high)


def _output(state: Model336State, text: str) -> ControlLoop:
    return state.model.loops[to_int(text, 1, 2)]


def _setpoint_command(state: Model336State, args: list[str]) -> None:
    out_text, value_text = expect(args, 2)
    output = to_int(out_text, 1, 2)
    offset = _KELVIN_OFFSET if state.setpoint_units(output) == CELSIUS else 0.0
    kelvin = to_float(value_text, -offset, _setpoint_limit(state, output) - offset) + offset
    state.model.loops[output].set_target(kelvin)


def _setpoint_limit(state: Model336State, output: int) -> float:
    """The top of the control input's curve, as the 336 limits setpoints to it."""
    control = state.model.loops[output].settings.control_input
    sensor = state.inputs[control].sensor if control is not None else None
    return VALID_RANGE_K[sensor][1] if sensor in VALID_RANGE_K else _SETPOINT_LIMIT_K


def _setpoint_query(state: Model336State, args: list[str]) -> str:
    output = to_int(expect(args, 1)[0], 1, 2)
    offset = _KELVIN_OFFSET if state.setpoint_units(output) == CELSIUS else 0.0
    return format_reading(state.model.loops[output].setpoint - offset)


def _range_command(state: Model336State, args: list[str]) -> None:
    out_text, range_text = expect(args, 2)
    _output(state, out_text).settings.heater_range = to_int(range_text, 0, 3)


def _range_query(state: Model336State, args: list[str]) -> str:
    return str(_output(state, expect(args, 1)[0]).settings.heater_range)


def _heater_query(state: Model336State, args: list[str]) -> str:
    output = to_int(expect(args, 1)[0], 1, 2)
    percent = state.model.loops[output].output_percent
    if state.heaters[output].display == DISPLAY_POWER:
        percent = percent**2 / 100.0  # power goes with the square of the current
    return format_fixed(percent, 3, 1)


def _heater_status_query(state: Model336State, args: list[str]) -> str:
    return str(_output(state, expect(args, 1)[0]).fault.value)


def _manual_command(state: Model336State, args: list[str]) -> None:
    out_text, value_text = expect(args, 2)
    _output(state, out_text).settings.manual_output = to_float(value_text, 0.0, 100.0)


def _manual_query(state: Model336State, args: list[str]) -> str:
    return format_fixed(_output(state, expect(args, 1)[0]).settings.manual_output, 3, 2)


def _mode_command(state: Model336State, args: list[str]) -> None:
    out_text, mode_text, input_text, powerup_text = expect(args, 4)
    output = to_int(out_text, 1, 2)
    # Modes 4 (monitor out) and 5 (warm-up supply) exist only on outputs 3 and 4.
    mode = OutputMode(to_int(mode_text, 0, 3))
    control = to_int(input_text, 0, len(INPUTS))
    powerup = to_int(powerup_text, 0, 1)
    settings = state.model.loops[output].settings
    settings.mode, settings.control_input = mode, INPUTS[control - 1] if control else None
    state.heaters[output].powerup_enable = powerup


def _mode_query(state: Model336State, args: list[str]) -> str:
    output = to_int(expect(args, 1)[0], 1, 2)
    settings = state.model.loops[output].settings
    control = INPUTS.index(settings.control_input) + 1 if settings.control_input else 0
    return f"{settings.mode.value},{control},{state.heaters[output].powerup_enable}"


def _pid_command(state: Model336State, args: list[str]) -> None:
    out_text, p_text, i_text, d_text = expect(args, 4)
    settings = _output(state, out_text).settings
    p, i, d = to_float(p_text, 0.1, 1000.0), to_float(i_text, 0.1, 1000.0), to_float(d_text, 0, 200)
    settings.p, settings.i, settings.d = p, i, d


def _pid_query(state: Model336State, args: list[str]) -> str:
    s = _output(state, expect(args, 1)[0]).settings
    return f"{format_fixed(s.p, 4, 1)},{format_fixed(s.i, 4, 1)},{format_fixed(s.d, 3, 1)}"


def _ramp_command(state: Model336State, args: list[str]) -> None:
    out_text, on_text, rate_text = expect(args, 3)
    loop = _output(state, out_text)
    enabled, rate = to_int(on_text, 0, 1), to_float(rate_text, 0.0, _MAX_RAMP_RATE)
    if 0.0 < rate < _MIN_RAMP_RATE:
        raise ScpiError(-222, f"ramp rate {rate} is below {_MIN_RAMP_RATE} K/min")
    loop.set_target(loop.target)  # pins the ramp's start to the setpoint in force now
    loop.settings.ramp_enabled, loop.settings.ramp_rate = bool(enabled), rate


def _ramp_query(state: Model336State, args: list[str]) -> str:
    settings = _output(state, expect(args, 1)[0]).settings
    return f"{int(settings.ramp_enabled)},{format_fixed(settings.ramp_rate, 3, 1)}"


def _ramp_status_query(state: Model336State, args: list[str]) -> str:
    return "1" if _output(state, expect(args, 1)[0]).ramping else "0"


def _heater_setup_command(state: Model336State, args: list[str]) -> None:
    out_text, resistance, max_current, user_current, display = expect(args, 5)
    output = to_int(out_text, 1, 2)
    setup = HeaterSetup(
        resistance=to_int(resistance, 1, 2),
        max_current=to_int(max_current, 0, 4),
        max_user_current=to_float(user_current, 0.0, 2.0),
        display=to_int(display, 1, 2),
        powerup_enable=state.heaters[output].powerup_enable,
    )
    limit = _current_limit(output, RESISTANCE_OHMS[setup.resistance])
    if not 0.0 < setup.current_amperes() <= limit:
        raise ScpiError(-222, f"{setup.current_amperes()} A is outside (0, {limit}] A")
    state.heaters[output] = setup
    state.apply_heater_setup(output)


def _current_limit(output: int, ohms: float) -> float:
    """Output 1 gives 100 W (2 A into 25 ohm), output 2 gives 50 W; 50 ohm loads cap at 1 A."""
    if ohms > 25.0:
        return 1.0
    return 2.0 if output == 1 else 1.414


def _heater_setup_query(state: Model336State, args: list[str]) -> str:
    s = state.heaters[to_int(expect(args, 1)[0], 1, 2)]
    return f"{s.resistance},{s.max_current},{s.max_user_current:+.3f},{s.display}"


OUTPUT_COMMANDS: list[Command[Model336State]] = [
    Command("SETP", _setpoint_command),
    Command("SETP?", _setpoint_query),
    Command("RANGE", _range_command),
    Command("RANGE?", _range_query),
    Command("HTR?", _heater_query),
    Command("HTRST?", _heater_status_query),
    Command("MOUT", _manual_command),
    Command("MOUT?", _manual_query),
    Command("OUTMODE", _mode_command),
    Command("OUTMODE?", _mode_query),
    Command("PID", _pid_command),
    Command("PID?", _pid_query),
    Command("RAMP", _ramp_command),
    Command("RAMP?", _ramp_query),
    Command("RAMPST?", _ramp_status_query),
    Command("HTRSET", _heater_setup_command),
    Command("HTRSET?", _heater_setup_query),
]
