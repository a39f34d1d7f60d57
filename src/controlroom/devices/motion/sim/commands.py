"""The per-axis commands of the simulated ESP300, under the manual's mnemonics (pure, no I/O).

A mnemonic has a query form (``1VA?``), a setting or action form (``1VA5``,
``1MO``), or both. One with only a query form answers with or without the
``?`` (``1TP`` and ``1TP?``, ``1MD`` and ``1MD?``), as the controller does.
Handlers are looked up in :data:`AXIS_COMMANDS`, never by reflection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from controlroom.devices.motion import codes
from controlroom.devices.motion.sim.axis import Axis, SimulatorError
from controlroom.devices.motion.sim.syntax import (
    Command,
    flag,
    format_value,
    no_argument,
    number,
    optional_number,
)

HOME_SEARCH_MODES = range(7)
"""``OR0`` … ``OR6``: zero count, home and index, home only, limits, limits and index."""

UNIT_CODES = {"mm": 2, "um": 3, "in": 4, "deg": 7, "rad": 9}
"""``SN`` codes of the displacement units a stage may use (a subset of the manual's list)."""


@dataclass(frozen=True)
class Wait:
    """``WS``: the controller runs nothing more until simulated time reaches ``until``.

    With ``again`` the ``WS`` itself runs again then, because the motion it
    waits for may have ended earlier (a stop, a fault) or later than planned.
    """

    until: float
    again: bool


Read = Callable[[Axis, float], str]
Write = Callable[[Axis, str, float], Wait | None]


@dataclass(frozen=True)
class AxisCommand:
    """The query form (``read``) and the setting or action form (``write``) of a mnemonic."""

    read: Read | None = None
    write: Write | None = None


def run_axis_command(axis: Axis, command: Command, now: float) -> str | Wait | None:
    """Run ``command`` (its mnemonic in :data:`AXIS_COMMANDS`) on ``axis``; its reply or wait."""
    spec = AXIS_COMMANDS[command.name]
    if spec.write is not None and not command.query:
        return spec.write(axis, command.argument, now)
    if spec.read is None:
        raise SimulatorError(codes.PARAMETER_OUT_OF_RANGE, f"{command.name} has no query")
    no_argument(command.argument)
    return spec.read(axis, now)


def _setting(store: Callable[[Axis, float, float], None]) -> Write:
    def write(axis: Axis, argument: str, now: float) -> None:
        store(axis, number(argument), now)

    return write


def _action(act: Callable[[Axis, float], None]) -> Write:
    def write(axis: Axis, argument: str, now: float) -> None:
        no_argument(argument)
        act(axis, now)

    return write


def _home(axis: Axis, argument: str, now: float) -> None:
    # Every search mode ends on the stage's home switch here.
    if argument and number(argument) not in HOME_SEARCH_MODES:
        raise SimulatorError(codes.PARAMETER_OUT_OF_RANGE, f"home search mode {argument}")
    axis.home(now)


def _define_home(axis: Axis, argument: str, now: float) -> None:
    axis.define_position(optional_number(argument, 0.0), now)


def _store_home_preset(axis: Axis, value: float, now: float) -> None:
    axis.home_preset = value


def _wait_for_stop(axis: Axis, argument: str, now: float) -> Wait | None:
    delay_s = optional_number(argument, 0.0) / 1000.0
    if delay_s < 0:
        raise SimulatorError(codes.PARAMETER_OUT_OF_RANGE, f"delay {argument}")
    if axis.moving(now):
        return Wait(axis.stops_at(), again=True)
    return Wait(now + delay_s, again=False) if delay_s > 0 else None


def _unit(axis: Axis, now: float) -> str:
    return str(UNIT_CODES[axis.config.unit])


def _set_unit(axis: Axis, argument: str, now: float) -> None:
    # Converting every setting to another unit is not simulated: the stage's own is accepted.
    if number(argument) != UNIT_CODES[axis.config.unit]:
        raise SimulatorError(codes.PARAMETER_OUT_OF_RANGE, f"unit {argument}")


def _identity(axis: Axis, now: float) -> str:
    return f"{axis.config.model}, SIM{axis.number:05d}"


def _value(read: Callable[[Axis, float], float]) -> Read:
    return lambda axis, now: format_value(read(axis, now))


AXIS_COMMANDS: dict[str, AxisCommand] = {
    "AC": AxisCommand(
        _value(lambda a, now: a.acceleration),
        _setting(lambda a, value, now: a.set_acceleration(value)),
    ),
    "AG": AxisCommand(
        _value(lambda a, now: a.deceleration),
        _setting(lambda a, value, now: a.set_deceleration(value)),
    ),
    "AU": AxisCommand(
        _value(lambda a, now: a.max_acceleration),
        _setting(lambda a, value, now: a.set_max_acceleration(value)),
    ),
    "DH": AxisCommand(_value(lambda a, now: a.home_value), _define_home),
    "DP": AxisCommand(_value(lambda a, now: a.target)),
    "DV": AxisCommand(_value(lambda a, now: a.actual_velocity(now))),
    "ID": AxisCommand(_identity),
    "MD": AxisCommand(lambda a, now: flag(not a.moving(now))),
    "MF": AxisCommand(write=_action(lambda a, now: a.set_motor(False, now))),
    "MO": AxisCommand(
        lambda a, now: flag(a.motor_on), _action(lambda a, now: a.set_motor(True, now))
    ),
    "OR": AxisCommand(write=_home),
    "PA": AxisCommand(
        _value(lambda a, now: a.target), _setting(lambda a, value, now: a.move_to(value, now))
    ),
    "PR": AxisCommand(
        _value(lambda a, now: a.target), _setting(lambda a, value, now: a.move_by(value, now))
    ),
    "SH": AxisCommand(_value(lambda a, now: a.home_preset), _setting(_store_home_preset)),
    "SL": AxisCommand(
        _value(lambda a, now: a.lower_limit),
        _setting(lambda a, value, now: a.set_lower_limit(value)),
    ),
    "SN": AxisCommand(_unit, _set_unit),
    "SR": AxisCommand(
        _value(lambda a, now: a.upper_limit),
        _setting(lambda a, value, now: a.set_upper_limit(value)),
    ),
    "ST": AxisCommand(write=_action(lambda a, now: a.stop(now))),
    "TP": AxisCommand(_value(lambda a, now: a.position(now))),
    "TV": AxisCommand(_value(lambda a, now: a.actual_velocity(now))),
    "VA": AxisCommand(
        _value(lambda a, now: a.velocity), _setting(lambda a, value, now: a.set_velocity(value))
    ),
    "VU": AxisCommand(
        _value(lambda a, now: a.max_velocity),
        _setting(lambda a, value, now: a.set_max_velocity(value)),
    ),
    "WS": AxisCommand(write=_wait_for_stop),
}
"""Commands that take an axis number in front, by mnemonic."""
