"""The command set of the simulated stage controller (pure, no I/O, time passed in).

A command is ``[axis]NAME[?] [argument]``: ``1PA 12.5``, ``2TP?``, ``TE?``.
Several commands may share a line, separated by ``;``; they run in order and
the replies of the queries are joined with ``,``. A refused command gives no
reply and leaves its code in the error register, read (and cleared) by
``TE?`` or ``TB?``. Handlers are looked up in tables, never by reflection.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Sequence

from controlroom.devices.motion import codes
from controlroom.devices.motion.sim.axis import Axis, AxisConfig, SimulatorError

_LOG = logging.getLogger(__name__)

_COMMAND = re.compile(r"\s*(\d*)\s*([A-Za-z]{2}\??)\s*(.*?)\s*")

AxisHandler = Callable[[Axis, "str | None", float], "str | None"]
ControllerHandler = Callable[["StageController", "str | None", float], "str | None"]


def format_value(value: float) -> str:
    """Five decimals, as positions and speeds are reported: ``12.50000``, never ``-0.00000``."""
    rounded = round(value, 5)
    return f"{rounded if rounded != 0 else 0.0:.5f}"


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _number(argument: str | None) -> float:
    if argument is None or argument == "":
        raise SimulatorError(codes.PARAMETER_MISSING)
    try:
        value = float(argument)
    except ValueError:
        raise SimulatorError(codes.BAD_PARAMETER, repr(argument)) from None
    if not math.isfinite(value):
        raise SimulatorError(codes.BAD_PARAMETER, repr(argument))
    return value


def _no_argument(argument: str | None) -> None:
    if argument:
        raise SimulatorError(codes.BAD_PARAMETER, f"unexpected {argument!r}")


def _query(read: Callable[[Axis, float], str]) -> AxisHandler:
    def handler(axis: Axis, argument: str | None, now: float) -> str:
        _no_argument(argument)
        return read(axis, now)

    return handler


def _action(act: Callable[[Axis, float], None]) -> AxisHandler:
    def handler(axis: Axis, argument: str | None, now: float) -> None:
        _no_argument(argument)
        act(axis, now)

    return handler


def _setting(store: Callable[[Axis, float, float], None]) -> AxisHandler:
    def handler(axis: Axis, argument: str | None, now: float) -> None:
        store(axis, _number(argument), now)

    return handler


AXIS_COMMANDS: dict[str, AxisHandler] = {
    "OR": _action(lambda a, now: a.home(now)),
    "HM?": _query(lambda a, now: _flag(a.homed)),
    "PA": _setting(lambda a, value, now: a.move_to(value, now)),
    "PR": _setting(lambda a, value, now: a.move_by(value, now)),
    "TP?": _query(lambda a, now: format_value(a.position(now))),
    "DP?": _query(lambda a, now: format_value(a.target)),
    "TV?": _query(lambda a, now: format_value(a.actual_velocity(now))),
    "MD?": _query(lambda a, now: _flag(not a.moving(now))),
    "IP?": _query(lambda a, now: _flag(a.in_position(now))),
    "ST": _action(lambda a, now: a.stop(now)),
    "VA": _setting(lambda a, value, now: a.set_velocity(value)),
    "VA?": _query(lambda a, now: format_value(a.velocity)),
    "AC": _setting(lambda a, value, now: a.set_acceleration(value)),
    "AC?": _query(lambda a, now: format_value(a.acceleration)),
    "SL": _setting(lambda a, value, now: a.set_lower_limit(value)),
    "SL?": _query(lambda a, now: format_value(a.lower_limit)),
    "SR": _setting(lambda a, value, now: a.set_upper_limit(value)),
    "SR?": _query(lambda a, now: format_value(a.upper_limit)),
    "MO": _action(lambda a, now: a.set_motor(True, now)),
    "MF": _action(lambda a, now: a.set_motor(False, now)),
    "MO?": _query(lambda a, now: _flag(a.motor_on)),
}
"""Commands that need an axis number in front."""


def _version(ctl: StageController, argument: str | None, now: float) -> str:
    _no_argument(argument)
    return ctl.version


def _error_code(ctl: StageController, argument: str | None, now: float) -> str:
    _no_argument(argument)
    return str(ctl.take_error())


def _error_message(ctl: StageController, argument: str | None, now: float) -> str:
    _no_argument(argument)
    code = ctl.take_error()
    return f"{code}, {codes.describe(code)}"


def _stop_all(ctl: StageController, argument: str | None, now: float) -> None:
    _no_argument(argument)
    for axis in ctl.axes:
        axis.stop(now)


def _abort(ctl: StageController, argument: str | None, now: float) -> None:
    _no_argument(argument)
    for axis in ctl.axes:
        axis.abort(now)


CONTROLLER_COMMANDS: dict[str, ControllerHandler] = {
    "VE?": _version,
    "TE?": _error_code,
    "TB?": _error_message,
    "ST": _stop_all,
    "AB": _abort,
}
"""Commands for the whole controller (no axis number)."""


class StageController:
    """A multi-axis stage controller: its axes, its error register and its firmware version."""

    def __init__(self, configs: Sequence[AxisConfig], version: str, now: float = 0.0) -> None:
        self.axes = [Axis(number, config, now) for number, config in enumerate(configs, 1)]
        self.version = version
        self.error = codes.NO_ERROR

    def take_error(self) -> int:
        """The last error code, cleared by reading it."""
        code, self.error = self.error, codes.NO_ERROR
        return code

    def update(self, now: float) -> None:
        """Bring every axis to ``now``; a fault that fired there becomes the pending error."""
        for axis in self.axes:
            fault = axis.update(now)
            if fault is not None:
                _LOG.warning("%s", codes.describe(fault))
                self.error = fault

    def execute(self, line: str, now: float) -> str | None:
        """Run every command of ``line`` at time ``now``; the joined replies or None."""
        self.update(now)
        replies = []
        for command in line.split(";"):
            if not command.strip():
                continue
            try:
                reply = self._execute_one(command, now)
            except SimulatorError as exc:
                self.error = exc.code
                _LOG.info("refused %r: %s", command, exc)
                continue
            if reply is not None:
                replies.append(reply)
        return ",".join(replies) if replies else None

    def _execute_one(self, command: str, now: float) -> str | None:
        match = _COMMAND.fullmatch(command)
        if match is None:
            raise SimulatorError(codes.UNKNOWN_COMMAND, repr(command))
        number, name, argument = match.group(1), match.group(2).upper(), match.group(3)
        if not number:
            handler = CONTROLLER_COMMANDS.get(name)
            if handler is not None:
                return handler(self, argument, now)
            if name in AXIS_COMMANDS:
                raise SimulatorError(codes.AXIS_MISSING, name)
            raise SimulatorError(codes.UNKNOWN_COMMAND, name)
        axis_handler = AXIS_COMMANDS.get(name)
        if axis_handler is None:
            raise SimulatorError(codes.UNKNOWN_COMMAND, name)
        index = int(number)
        if not 1 <= index <= len(self.axes):
            raise SimulatorError(codes.AXIS_OUT_OF_RANGE, number)
        return axis_handler(self.axes[index - 1], argument, now)
