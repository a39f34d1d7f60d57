"""The hexapod's moves: more than one exchange each, so written out rather than declared.

A move is checked against the user workspace limits (its target worked out
for relative moves), sent, and, if the controller finds it not feasible,
validated again to say why. A waiting command polls the controller's state
through a :class:`~controlroom.device.interrupt.Watch` opened before the move
went out, so a stop from another client ends the wait with ``Interrupted``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from controlroom.device.interrupt import Watch
from controlroom.devices.hexapod import codes
from controlroom.devices.hexapod.codes import Code, Mode, Position
from controlroom.devices.hexapod.pose import Pose, moved_in_object, moved_in_user
from controlroom.devices.hexapod.protocol import (
    CS,
    HexapodTimeout,
    MotionFailed,
    OutsideLimits,
    assignments,
    command_line,
    integers,
    refused,
)
from controlroom.devices.hexapod.protocol import run as run_line

if TYPE_CHECKING:
    from controlroom.devices.hexapod.driver import HexapodController

WAIT_POLL_S = 0.05
UNITS = dict(zip(codes.AXES, ("mm", "mm", "mm", "deg", "deg", "deg"), strict=True))


def run(
    hexapod: HexapodController,
    code: Code,
    params: str = "",
    what: str = "",
    watch: Watch | None = None,
) -> None:
    """Have the controller run ``code``; raise with its reasons if it does not.

    With the ``watch`` of a command that waits, a stop sent before keeps it from going out.
    """
    with watch.sending() if watch is not None else hexapod.interruption.exclusive():
        result = run_line(hexapod.transport, command_line(code, params))
    if result == codes.IGNORED:
        raise refused(what or code.name, result, hexapod.why_ignored())
    if result != codes.SUCCESS:
        raise refused(what or code.name, result)


def move(
    hexapod: HexapodController, mode: Mode, values: Pose, wait: bool, timeout_s: float
) -> dict[str, float] | None:
    """Move the object; with ``wait``, its pose on arrival."""
    watch = hexapod.interruption.watch()  # before the move goes out: a stop then ends the wait
    check_limits(hexapod, target(hexapod, mode, values))
    with watch.sending():  # a stop sent while the limits were checked: no move
        result = run_line(hexapod.transport, command_line(Code.MOVE, _pose_params(mode, values)))
    if result == codes.INVALID:
        word = validation(hexapod, mode, values)
        raise refused("the move", result, codes.decode_bits(word, codes.VALIDATION_BITS))
    if result != codes.SUCCESS:
        raise refused("the move", result, hexapod.why_ignored())
    if not wait:
        return None
    wait_still(hexapod, watch, timeout_s)
    positions: dict[str, float] = hexapod.get_user_positions()
    return positions


def specific(hexapod: HexapodController, position: Position, wait: bool, timeout_s: float) -> None:
    """Move the platform to one of the controller's specific positions."""
    watch = hexapod.interruption.watch()
    params = f"Q{codes.Q_PARAMS}={int(position)}"
    run(hexapod, Code.SPECIFIC_POS, params, position.name.lower(), watch)
    if wait:
        wait_still(hexapod, watch, timeout_s)


def target(hexapod: HexapodController, mode: Mode, values: Pose) -> Pose:
    """Where a move takes the object, in the user frame."""
    if mode == Mode.ABSOLUTE:
        return values
    here = tuple(hexapod.get_user_positions().values())
    moved = moved_in_object if mode == Mode.OBJECT_RELATIVE else moved_in_user
    return moved(here, values)


def check_limits(hexapod: HexapodController, pose: Pose) -> None:
    """Raise :class:`OutsideLimits` naming the axis if ``pose`` leaves the user workspace."""
    if not hexapod.get_limits_enabled()["user"]:
        return
    limits = hexapod.get_user_limits()
    for axis, value in zip(codes.AXES, pose, strict=True):
        low, high = limits[axis]
        if not low <= value <= high:
            side, limit = ("below the lower", low) if value < low else ("above the upper", high)
            unit = UNITS[axis]
            raise OutsideLimits(
                f"{axis}: {value:g} {unit} is {side} user workspace limit {limit:g} {unit}"
            )


def validation(hexapod: HexapodController, mode: Mode, values: Pose) -> int:
    """The controller's ``POSVALID?`` word for a move (0: feasible)."""
    run(hexapod, Code.VALID_POS, _pose_params(mode, values), "POSVALID?")
    return integers(hexapod.transport.query(f"{CS} Q{codes.Q_VALIDATION}"), 1)[0]


def wait_still(
    hexapod: HexapodController, watch: Watch, timeout_s: float, *, homing: bool = False
) -> None:
    """Poll until the platform rests; :class:`MotionFailed` if off target (or not homed)."""
    deadline = time.monotonic() + timeout_s
    while (state := hexapod.get_general_state())["in_motion"]:
        if time.monotonic() >= deadline:
            raise HexapodTimeout(f"the hexapod still moves after {timeout_s} s")
        watch.sleep(WAIT_POLL_S)  # raises Interrupted once a stop has run
    arrived = state["homing_done"] if homing else state["in_position"]
    if not arrived:
        error = hexapod.get_error()
        detail = f"; error {error['code']}: {error['message']}" if error["code"] else ""
        raise MotionFailed(
            f"the hexapod came to rest off target (positioning {state['positioning']}, "
            f"homing {state['homing']}){detail}"
        )


def _pose_params(mode: Mode, values: Pose) -> str:
    return f"Q{codes.Q_MODE}={int(mode)} {assignments(codes.Q_TARGET, values)}"
