"""Model 336 commands about the sensor inputs A-D (readings, type, name, curve)."""

from __future__ import annotations

from collections.abc import Callable

from controlroom.device.simkit.params import expect, to_int, unquote
from controlroom.device.simkit.scpi import Command, Handler, ScpiError
from controlroom.devices.tempctl.sim.physics import INPUTS
from controlroom.devices.tempctl.sim.sensor_curves import (
    CURVE_NUMBER,
    VALID_RANGE_K,
    SensorType,
    in_range,
    sensor_units,
)
from controlroom.devices.tempctl.sim.state import InputConfig, Model336State
from controlroom.devices.tempctl.sim.syntax import format_reading

# RDGST? bits; the simulator never sets 1 (invalid reading) or 64 (sensor units zero).
RDGST_TEMP_UNDER = 16
RDGST_TEMP_OVER = 32
RDGST_SENSOR_OVER = 128

NAME_LENGTH = 15
# Highest INTYPE <range> per type: diode 2.5 V/10 V, PTC 10 ohm-10 kohm, NTC 10 ohm-100 kohm.
_INPUT_RANGES = {
    SensorType.DISABLED: 8,
    SensorType.DIODE: 1,
    SensorType.PLATINUM: 6,
    SensorType.NTC: 8,
}
_ABSOLUTE_ZERO_C = -273.15


def input_name(text: str) -> str:
    """Parse an input letter; anything but A-D is out of range."""
    name = text.strip().upper()
    if not name.isalnum():
        raise ScpiError(-104, f"not an input: {text!r}")
    if name not in INPUTS:
        raise ScpiError(-224, f"no input {name}")
    return name


def valid_kelvin(state: Model336State, name: str) -> float | None:
    """The kelvin reading of input ``name``, or None when the 336 would show no temperature."""
    kelvin = state.model.reading(name)
    if kelvin is None or not in_range(state.inputs[name].sensor, kelvin):
        return None
    return kelvin


def reading_status(state: Model336State, name: str) -> int:
    """``RDGST?`` bits: a broken lead shows as sensor overrange, like the front panel's S.OVER."""
    sensor = state.inputs[name].sensor
    if sensor is SensorType.DISABLED:
        return 0
    kelvin = state.model.reading(name)
    if kelvin is None:
        return RDGST_SENSOR_OVER
    low, high = VALID_RANGE_K[sensor]
    return RDGST_TEMP_UNDER if kelvin < low else RDGST_TEMP_OVER if kelvin > high else 0


def _kelvin_text(state: Model336State, name: str) -> str:
    kelvin = valid_kelvin(state, name)
    return format_reading(0.0 if kelvin is None else kelvin)


def _celsius_text(state: Model336State, name: str) -> str:
    kelvin = valid_kelvin(state, name)
    return format_reading(0.0 if kelvin is None else kelvin + _ABSOLUTE_ZERO_C)


def _sensor_text(state: Model336State, name: str) -> str:
    kelvin = state.model.reading(name)
    sensor = state.inputs[name].sensor
    return format_reading(0.0 if kelvin is None else sensor_units(sensor, kelvin))


def _per_input(render: Callable[[Model336State, str], str]) -> Handler[Model336State]:
    """A reading query: one input by letter, or all four for input ``0``."""

    def query(state: Model336State, args: list[str]) -> str:
        (which,) = expect(args, 1)
        if which.strip() == "0":
            return ",".join(render(state, name) for name in INPUTS)
        return render(state, input_name(which))

    return query


def _status_query(state: Model336State, args: list[str]) -> str:
    return str(reading_status(state, input_name(expect(args, 1)[0])))


def _name_command(state: Model336State, args: list[str]) -> None:
    name, text = expect(args, 2)
    # The 336 keeps the first 15 characters of a longer name.
    state.inputs[input_name(name)].name = unquote(text)[:NAME_LENGTH]


def _name_query(state: Model336State, args: list[str]) -> str:
    return state.inputs[input_name(expect(args, 1)[0])].name


def _type_command(state: Model336State, args: list[str]) -> None:
    name, sensor_text, autorange, input_range, compensation, units = expect(args, 6)
    sensor_code = to_int(sensor_text, 0, 5)
    if sensor_code > max(SensorType):
        raise ScpiError(-221, f"sensor type {sensor_code} needs an option card")
    sensor = SensorType(sensor_code)
    config = InputConfig(
        sensor=sensor,
        autorange=to_int(autorange, 0, 1),
        input_range=to_int(input_range, 0, _INPUT_RANGES[sensor]),
        compensation=to_int(compensation, 0, 1),
        units=to_int(units, 1, 3),
        name="",
    )
    letter = input_name(name)
    config.name = state.inputs[letter].name
    state.inputs[letter] = config
    state.model.set_sensor_enabled(letter, sensor is not SensorType.DISABLED)


def _type_query(state: Model336State, args: list[str]) -> str:
    c = state.inputs[input_name(expect(args, 1)[0])]
    return f"{c.sensor.value},{c.autorange},{c.input_range},{c.compensation},{c.units}"


def _curve_query(state: Model336State, args: list[str]) -> str:
    return str(CURVE_NUMBER[state.inputs[input_name(expect(args, 1)[0])].sensor])


INPUT_COMMANDS: list[Command[Model336State]] = [
    Command("KRDG?", _per_input(_kelvin_text)),
    Command("CRDG?", _per_input(_celsius_text)),
    Command("SRDG?", _per_input(_sensor_text)),
    Command("RDGST?", _status_query),
    Command("INNAME", _name_command),
    Command("INNAME?", _name_query),
    Command("INTYPE", _type_command),
    Command("INTYPE?", _type_query),
    Command("INCRV?", _curve_query),
]
