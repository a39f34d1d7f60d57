"""What the simulated controller's PLC does with each code written into ``Q20`` (pure).

Each handler reads its parameters from the controller's Q variables, acts at
simulated time ``now`` and returns the code written back into ``Q20``:
``0`` done, ``-1`` ignored (not allowed now: a motion running, the control
loop off, an error present), ``-2`` invalid (a target that is not feasible;
the reasons are left in ``Q29`` as ``POSVALID?`` would give them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from controlroom.devices.hexapod import codes
from controlroom.devices.hexapod.codes import Code, Mode, Position
from controlroom.devices.hexapod.pose import (
    Matrix,
    Pose,
    matrix,
    moved_in_object,
    moved_in_user,
    pose_of,
)
from controlroom.devices.hexapod.sim.motion import Path
from controlroom.devices.hexapod.sim.workspace import FACTORY, Limits, kinematic_error, validate

if TYPE_CHECKING:
    from controlroom.devices.hexapod.sim.controller import SimulatedController

Handler = Callable[["SimulatedController", float], int]

ZERO: Pose = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
RETRACTED: Pose = (0.0, 0.0, -18.0, 0.0, 0.0, 0.0)
"""The platform lowered for transport; where the simulated hexapod powers up."""
HOME_SWITCHES: Pose = (0.0, 0.0, -12.0, 0.0, 0.0, 0.0)
"""Where every actuator reaches its reference switch during homing."""
SPEED_RANGE = ((0.01, 0.001), (4.0, 2.0))
"""The slowest and the fastest settable speeds: (mm/s, deg/s)."""
VERSION = (3, 1, 0, 4)
"""The controller software's version, as ``Q20=55`` gives it."""

_SPECIFIC = {Position.ZERO: ZERO, Position.RETRACTED: RETRACTED}


def _params(ctl: SimulatedController, first: int, count: int) -> list[float]:
    return [ctl.memory.get(first + n, 0.0) for n in range(count)]


def _put(ctl: SimulatedController, values: list[float]) -> None:
    for n, value in enumerate(values):
        ctl.memory[codes.Q_PARAMS + n] = value


def _busy(ctl: SimulatedController, now: float) -> bool:
    return ctl.platform.moving(now) or bool(ctl.faults) or ctl.error != 0


def _target(ctl: SimulatedController, now: float) -> Matrix:
    """The object's pose in the user frame that ``Q70``-``Q76`` ask for."""
    mode, *values = _params(ctl, codes.Q_MODE, 7)
    here = ctl.user_pose(now)
    if int(mode) == Mode.OBJECT_RELATIVE:
        return matrix(moved_in_object(here, values))
    if int(mode) == Mode.USER_RELATIVE:
        return matrix(moved_in_user(here, values))
    return matrix(values)


def _validation(ctl: SimulatedController, target: Matrix) -> int:
    platform = ctl.platform_for(target)
    return validate(
        ctl.geometry, ctl.workspace, homed=ctl.homed, platform=platform, object_in_user=target
    )


def _cruise_s(ctl: SimulatedController, start: Matrix, end: Matrix) -> float:
    path = Path(start, end)
    translation, rotation = ctl.speed
    return max(path.distance / translation, path.angle / rotation)


def _go(ctl: SimulatedController, target: Matrix, now: float, *, planned: bool) -> int:
    if _busy(ctl, now) or not ctl.control_on:
        return codes.IGNORED
    platform = ctl.platform_for(target) if planned else target
    word = _validation(ctl, ctl.object_in_user(platform))
    ctl.validation, ctl.kinematic = word, kinematic_error(word)
    if word:
        return codes.INVALID
    here = ctl.object_in_user(ctl.platform.pose(now)) if planned else ctl.platform.pose(now)
    ctl.start([(target, _cruise_s(ctl, here, target))], now, planned=planned)
    ctl.posref = codes.Positioning.MOVING
    return codes.SUCCESS


def _homing(ctl: SimulatedController, now: float) -> int:
    if _busy(ctl, now):
        return codes.IGNORED
    ctl.control_on = True  # the home search drives the actuators itself
    ctl.homing = codes.Homing.RUNNING
    here, switches, zero = ctl.platform.pose(now), matrix(HOME_SWITCHES), matrix(ZERO)
    ctl.start(
        [(switches, _cruise_s(ctl, here, switches)), (zero, _cruise_s(ctl, switches, zero))],
        now,
        planned=False,
    )
    return codes.SUCCESS


def _stop(ctl: SimulatedController, now: float) -> int:
    if ctl.platform.moving(now):
        ctl.platform.brake(now)
        ctl.stopping = True  # it comes to rest short of its target (see update)
    return codes.SUCCESS


def _control(on: bool) -> Handler:
    def handler(ctl: SimulatedController, now: float) -> int:
        if (on and (ctl.faults or ctl.error)) or (not on and ctl.platform.moving(now)):
            return codes.IGNORED
        ctl.control_on = on
        return codes.SUCCESS

    return handler


def _valid_pos(ctl: SimulatedController, now: float) -> int:
    ctl.validation = _validation(ctl, _target(ctl, now))
    return codes.SUCCESS


def _move(ctl: SimulatedController, now: float) -> int:
    return _go(ctl, _target(ctl, now), now, planned=True)


def _specific(ctl: SimulatedController, now: float) -> int:
    position = int(ctl.memory.get(codes.Q_PARAMS, 0.0))
    if position not in _SPECIFIC:
        return codes.IGNORED
    return _go(ctl, matrix(_SPECIFIC[Position(position)]), now, planned=False)


def _clear_error(ctl: SimulatedController, now: float) -> int:
    ctl.faults.clear()
    ctl.error = 0
    if ctl.homing == codes.Homing.ERROR:
        ctl.homing = 0
    return codes.SUCCESS


def _set_cs(ctl: SimulatedController, now: float) -> int:
    if ctl.platform.moving(now):
        return codes.IGNORED
    values = _params(ctl, codes.Q_PARAMS, 12)
    ctl.user_cs, ctl.object_cs = matrix(values[:6]), matrix(values[6:])
    return codes.SUCCESS


def _set_limits(which: str) -> Handler:
    def handler(ctl: SimulatedController, now: float) -> int:
        limits = Limits.from_values(_params(ctl, codes.Q_PARAMS, 12))
        if not limits.ordered() or (which == "machine" and not limits.within(FACTORY)):
            return codes.IGNORED
        ctl.set_workspace(**{which: limits})
        return codes.SUCCESS

    return handler


def _set_enabled(ctl: SimulatedController, now: float) -> int:
    machine, user = _params(ctl, codes.Q_PARAMS, 2)
    ctl.set_workspace(machine_enabled=machine != 0, user_enabled=user != 0)
    return codes.SUCCESS


def _set_speed(ctl: SimulatedController, now: float) -> int:
    wanted = _params(ctl, codes.Q_PARAMS, 2)
    (low_t, low_r), (high_t, high_r) = SPEED_RANGE
    if not (low_t <= wanted[0] <= high_t and low_r <= wanted[1] <= high_r):
        return codes.IGNORED
    ctl.speed = (wanted[0], wanted[1])
    return codes.SUCCESS


def _get(read: Callable[[SimulatedController], list[float]]) -> Handler:
    def handler(ctl: SimulatedController, now: float) -> int:
        _put(ctl, read(ctl))
        return codes.SUCCESS

    return handler


def _speeds(ctl: SimulatedController) -> list[float]:
    (low_t, low_r), (high_t, high_r) = SPEED_RANGE
    return [*ctl.speed, low_t, low_r, high_t, high_r]


def _version(ctl: SimulatedController) -> list[float]:
    return [float(part) for part in VERSION]


COMMANDS: dict[int, Handler] = {
    Code.HOMING: _homing,
    Code.STOP: _stop,
    Code.CONTROL_ON: _control(True),
    Code.CONTROL_OFF: _control(False),
    Code.VALID_POS: _valid_pos,
    Code.MOVE: _move,
    Code.SPECIFIC_POS: _specific,
    Code.CLEAR_ERROR: _clear_error,
    Code.SET_CS: _set_cs,
    Code.SET_MACHINE_LIMITS: _set_limits("machine"),
    Code.SET_USER_LIMITS: _set_limits("user"),
    Code.SET_LIMITS_ENABLED: _set_enabled,
    Code.SET_SPEED: _set_speed,
    Code.GET_CS: _get(lambda c: [*pose_of(c.user_cs), *pose_of(c.object_cs)]),
    Code.GET_MACHINE_LIMITS: _get(lambda c: c.workspace.machine.values()),
    Code.GET_USER_LIMITS: _get(lambda c: c.workspace.user.values()),
    Code.GET_LIMITS_ENABLED: _get(
        lambda c: [float(c.workspace.machine_enabled), float(c.workspace.user_enabled)]
    ),
    Code.GET_SPEED: _get(_speeds),
    Code.VERSION: _get(_version),
}
"""``Q20`` code -> what the PLC does; looked up in this table, never by reflection."""
