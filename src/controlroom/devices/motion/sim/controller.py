"""The simulated ESP300 as a whole: axes, error buffer, controller-wide commands, command lines.

Pure, no I/O, time passed in. A line runs its commands in order; a refused
command gives no reply and puts its code in the error buffer, which ``TE?``
and ``TB?`` read oldest first. A ``WS`` ends the line early: the rest runs
once the caller has let simulated time reach the end of the wait.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from controlroom.devices.motion import codes
from controlroom.devices.motion.sim.axis import Axis, AxisConfig, SimulatorError
from controlroom.devices.motion.sim.commands import AXIS_COMMANDS, Wait, run_axis_command
from controlroom.devices.motion.sim.syntax import Command, no_argument, parse, split_line

_LOG = logging.getLogger(__name__)

ERROR_BUFFER_SIZE = 10
SERVO_TICK_S = 400e-6
"""``TB?`` stamps an error with the servo cycles (400 µs) counted since the controller started."""


@dataclass(frozen=True)
class LineResult:
    """The replies of a line's queries; with ``rest`` not None, a wait until ``resume_at``.

    ``rest`` is what remains of the line to run after the wait (maybe nothing).
    """

    replies: list[str]
    rest: str | None = None
    resume_at: float = 0.0


class ErrorBuffer:
    """The controller's first-in first-out buffer of ten errors; when full, the oldest goes."""

    def __init__(self, started: float) -> None:
        self._started = started
        self._entries: deque[tuple[int, int]] = deque(maxlen=ERROR_BUFFER_SIZE)

    def push(self, code: int, now: float) -> None:
        self._entries.append((code, self.ticks(now)))

    def take(self, now: float) -> tuple[int, int]:
        """The oldest error and its timestamp, removed; ``(0, now)`` when there is none."""
        return self._entries.popleft() if self._entries else (codes.NO_ERROR, self.ticks(now))

    def ticks(self, now: float) -> int:
        return int((now - self._started) / SERVO_TICK_S)


@dataclass(frozen=True)
class ControllerCommand:
    """A command for the whole controller: its query form, its action form, or both."""

    read: Callable[[StageController, float], str] | None = None
    act: Callable[[StageController, float], None] | None = None


def _error_code(ctl: StageController, now: float) -> str:
    return str(ctl.errors.take(now)[0])


def _error_message(ctl: StageController, now: float) -> str:
    code, ticks = ctl.errors.take(now)
    return f"{code}, {ticks}, {codes.message(code)}"


def _version(ctl: StageController, now: float) -> str:
    return ctl.version


def _stop_all(ctl: StageController, now: float) -> None:
    for axis in ctl.axes:
        axis.stop(now)


def _abort(ctl: StageController, now: float) -> None:
    for axis in ctl.axes:
        axis.abort(now)


def _save_settings(ctl: StageController, now: float) -> None:
    """``SM``: nothing survives the simulator anyway."""


CONTROLLER_COMMANDS: dict[str, ControllerCommand] = {
    "AB": ControllerCommand(act=_abort),
    "ST": ControllerCommand(act=_stop_all),
    "SM": ControllerCommand(act=_save_settings),
    "TB": ControllerCommand(_error_message),
    "TE": ControllerCommand(_error_code),
    "VE": ControllerCommand(_version),
    "*IDN": ControllerCommand(_version),
}
"""Commands for the whole controller; an axis number in front is ignored (``01TE?``)."""


class StageController:
    """A multi-axis motion controller: its axes, its error buffer and its firmware version."""

    def __init__(self, configs: Sequence[AxisConfig], version: str, now: float = 0.0) -> None:
        self.axes = [Axis(number, config, now) for number, config in enumerate(configs, 1)]
        self.version = version
        self.errors = ErrorBuffer(now)

    def update(self, now: float) -> None:
        """Bring every axis to ``now``; the errors raised on the way go to the buffer."""
        for axis in self.axes:
            for code in axis.update(now):
                _LOG.warning("%s", codes.describe(code))
                self.errors.push(code, now)

    def execute(self, line: str, now: float) -> LineResult:
        """Run the commands of ``line`` at time ``now``, up to the first wait."""
        self.update(now)
        replies: list[str] = []
        parts = split_line(line)
        for index, text in enumerate(parts):
            try:
                outcome = self._run(parse(text), now)
            except SimulatorError as exc:
                self.errors.push(exc.code, now)
                _LOG.info("refused %r: %s", text, exc)
                outcome = None
            self.update(now)
            if isinstance(outcome, Wait):
                rest = parts[index:] if outcome.again else parts[index + 1 :]
                return LineResult(replies, ";".join(rest), outcome.until)
            if outcome is not None:
                replies.append(outcome)
        return LineResult(replies)

    def _run(self, command: Command, now: float) -> str | Wait | None:
        if command.axis is None or command.name not in AXIS_COMMANDS:
            spec = CONTROLLER_COMMANDS.get(command.name)
            if spec is not None:
                return self._run_controller_command(spec, command, now)
            if command.name in AXIS_COMMANDS:
                raise SimulatorError(codes.AXIS_MISSING, command.name)
            raise SimulatorError(codes.UNKNOWN_COMMAND, command.name)
        if not 1 <= command.axis <= len(self.axes):
            raise SimulatorError(codes.AXIS_OUT_OF_RANGE, str(command.axis))
        return run_axis_command(self.axes[command.axis - 1], command, now)

    def _run_controller_command(
        self, spec: ControllerCommand, command: Command, now: float
    ) -> str | None:
        no_argument(command.argument)
        if spec.act is not None and not command.query:
            spec.act(self, now)
            return None
        if spec.read is None:
            raise SimulatorError(codes.PARAMETER_OUT_OF_RANGE, f"{command.name} has no query")
        return spec.read(self, now)
