"""Driver for a Symétrie PUNA hexapod on its PMAC-based controller, over TCP.

Positions and states are Q variables read in one exchange; every action is a
code written into ``Q20`` and followed until the controller has run it
(:mod:`.protocol`), so a refusal raises :class:`HexapodRefused` with the
controller's reasons. Moves are checked against the user workspace limits
before anything is sent (:class:`OutsideLimits`). A command that waits
(``wait=True``) ends with ``Interrupted`` as soon as :meth:`stop` runs, which
the control server serves at once, from any client, even while it waits.
The three moves and the check take the six coordinates one by one, as the
Symétrie API does: their arguments are declared once (:data:`POSE`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Annotated, Any

from controlroom.device import CommandSpec, Controller, command, in_range
from controlroom.device.command import Command
from controlroom.device.synthesized import Argument, signed
from controlroom.devices.hexapod import codes, moves
from controlroom.devices.hexapod.codes import Code, Mode, Position
from controlroom.devices.hexapod.configuration import Configuration, coordinates
from controlroom.devices.hexapod.pose import Pose, as_pose
from controlroom.devices.hexapod.protocol import (
    CHECKS,
    CS,
    MotionFailed,
    OutsideLimits,
    after_command,
    check_ack,
    command_line,
    nothing,
    numbers,
    parse_pose,
    read_config,
)
from controlroom.devices.hexapod.state import (
    SAMPLE_QUERY,
    STATE_QUERY,
    parse_error,
    parse_homing_done,
    parse_in_position,
    parse_sample,
    parse_state,
)

WAIT_LIMIT_S = 900.0
Timeout = Annotated[float, in_range(0.0, WAIT_LIMIT_S)]
_PROXY_TIMEOUT_S = WAIT_LIMIT_S + 10.0  # a waiting call may take that long to answer
HK_NAMES = (
    *(f"user_{axis}" for axis in codes.AXES),
    *(f"length_{n}" for n in codes.ACTUATORS),
    "in_position",
    "homed",
    "moving",
    "error_code",
)
POSE = coordinates(codes.AXES)
"""The six coordinates a move or a check takes, as the Symétrie API takes them."""
_WAITING = (Argument("wait", bool, default=False), Argument("timeout_s", Timeout, default=300.0))


def _action(code: Code, *checks: str) -> dict[str, Any]:
    """A command without parameters: its code into ``Q20``, then wait until it has run;
    ``checks``: the states that make the controller ignore it (besides starting up)."""
    return {
        "kind": "transaction",
        "cmd": command_line(code),
        "check": check_ack,
        "parse": nothing,
        "after": after_command(code.name, ("initialized", *checks)),
    }


def _pose(coordinate: dict[str, float]) -> Pose:
    return as_pose([coordinate[axis] for axis in codes.AXES])


def _move(mode: Mode, doc: str) -> Command:
    """A move in ``mode``: the six coordinates, then ``wait`` and ``timeout_s``. Its name is
    the attribute it is given to on the class."""

    def run(
        hexapod: HexapodController, wait: bool, timeout_s: float, **coordinate: float
    ) -> dict[str, float] | None:
        return moves.move(hexapod, mode, _pose(coordinate), wait, timeout_s)

    returns = dict[str, float] | None
    declared = command(timeout=_PROXY_TIMEOUT_S)
    return declared(signed(f"move_{mode.name.lower()}", run, (*POSE, *_WAITING), returns, doc))


def _check_absolute(hexapod: HexapodController, **coordinate: float) -> dict[str, Any]:
    target = _pose(coordinate)
    reasons = []
    try:
        moves.check_limits(hexapod, target)
    except OutsideLimits as exc:
        reasons.append(str(exc))
    word = moves.validation(hexapod, Mode.ABSOLUTE, target)
    reasons += codes.decode_bits(word, codes.VALIDATION_BITS)
    return {"valid": not reasons, "code": word, "reasons": reasons}


class HexapodController(Configuration, Controller):
    """A six-axis hexapod: X, Y, Z (mm) and RX, RY, RZ (deg) of the object in the user frame.

    It powers up not homed, its control loop off: :meth:`homing` first (it
    switches the control loop on). Positions are dicts by axis name (``x`` ...
    ``rz``); actuator lengths a list, actuator 1 first.
    """

    transport_defaults = {"write_terminator": "\r", "read_terminator": "\x06"}
    hk_min_period_s = 0.1
    status_min_period_s = 0.05

    def _execute(self, spec: CommandSpec, arguments: dict[str, Any]) -> Any:
        # A declared command is one handshake on Q20, which the stop uses too: a stop
        # waits for its end instead of taking its return code (and it for the stop's).
        if not spec.declarative:
            return super()._execute(spec, arguments)
        with self.interruption.exclusive():
            return super()._execute(spec, arguments)

    def config(self, code: int, count: int) -> list[float]:
        """Run a "get" command and read the ``count`` values it leaves, as one handshake."""
        with self.interruption.exclusive():
            return read_config(self.transport, code, count)

    @command("query", "VERSION", parse=lambda reply: numbers(reply, 1)[0])
    def firmware(self) -> float:
        """The PMAC's firmware version."""

    @command(access="read")
    def version(self) -> str:
        """The version of the Symétrie software in the controller."""
        return ".".join(str(int(v)) for v in self.config(Code.VERSION, 4))

    @command("query", f"{CS} Q{codes.Q_USER},6,1", parse=parse_pose)
    def get_user_positions(self) -> dict[str, float]:
        """The object's pose in the user frame (mm, deg), also during a move."""

    @command("query", f"{CS} Q{codes.Q_MACHINE},6,1", parse=parse_pose)
    def get_machine_positions(self) -> dict[str, float]:
        """The platform's pose in the machine frame (mm, deg)."""

    @command("query", f"{CS} Q{codes.Q_LENGTHS},6,1", parse=lambda reply: numbers(reply, 6))
    def get_actuator_lengths(self) -> list[float]:
        """The lengths of the six actuators (mm), actuator 1 first."""

    @command("query", STATE_QUERY, parse=parse_state)
    def get_general_state(self) -> dict[str, Any]:
        """Every flag of the state word by name (``homing_done``, ``in_position``,
        ``control_on``, ``error``...), plus ``in_motion`` and the homing status."""

    @command("query", f"{CS} Q{codes.Q_HOMING}", parse=parse_homing_done)
    def is_homing_done(self) -> bool:
        """True once the hexapod has found its home (since power-up or a reset)."""

    @command("query", f"{CS} Q{codes.Q_STATE} Q{codes.Q_HOMING},2,1", parse=parse_in_position)
    def is_in_position(self) -> bool:
        """True when the platform rests at the target of its last move."""

    @command(
        "query", f"{CS} Q{codes.Q_ERROR} Q{codes.Q_STATE} Q{codes.Q_KINEMATIC}", parse=parse_error
    )
    def get_error(self) -> dict[str, Any]:
        """The error latched last (``code``, ``message``), the fault flags raised, and the
        kinematic model's complaint about the last target."""

    @command(**_action(Code.CLEAR_ERROR))
    def clear_error(self) -> None:
        """Clear the latched error and the fault flags (they come back if the cause stays)."""

    @command(**_action(Code.CONTROL_ON, "error"))
    def activate_control_loop(self) -> None:
        """Power the actuators and release the brakes (refused while an error is latched)."""

    @command(**_action(Code.CONTROL_OFF, "in_motion"))
    def deactivate_control_loop(self) -> None:
        """Brake the actuators and cut their power (refused while the hexapod moves)."""

    @command(**_action(Code.STOP), interrupts=True)
    def stop(self) -> None:
        """Stop the motion at once: the platform brakes to rest short of its target.
        Runs even while another command waits, and ends that wait."""

    @command(timeout=_PROXY_TIMEOUT_S)
    def homing(self, wait: bool = False, timeout_s: Timeout = 300.0) -> None:
        """Find the home (each actuator's reference switch), then go to the zero position.
        Switches the control loop on; with ``wait``, returns once homed."""
        watch = self.interruption.watch()
        moves.run(self, Code.HOMING, watch=watch)
        if wait:
            moves.wait_still(self, watch, timeout_s, homing=True)

    move_absolute = _move(
        Mode.ABSOLUTE,
        "Move the object to this pose in the user frame; with ``wait``, its pose on arrival.",
    )
    move_relative_object = _move(
        Mode.OBJECT_RELATIVE, "Move the object by this motion expressed in its own frame."
    )
    move_relative_user = _move(
        Mode.USER_RELATIVE, "Move the object along the user axes, turning it about its own origin."
    )
    check_absolute_movement = command(access="read")(
        signed(
            "check_absolute_movement",
            _check_absolute,
            POSE,
            dict[str, Any],
            """Whether :meth:`move_absolute` could go there now, and why not: nothing moves.

            ``{"valid": bool, "code": <POSVALID? word>, "reasons": [...]}``.
            """,
        )
    )

    @command(timeout=_PROXY_TIMEOUT_S)
    def goto_zero_position(self, wait: bool = False, timeout_s: Timeout = 300.0) -> None:
        """Move the platform to the zero of the machine frame."""
        moves.specific(self, Position.ZERO, wait, timeout_s)

    @command(timeout=_PROXY_TIMEOUT_S)
    def goto_retracted_position(self, wait: bool = False, timeout_s: Timeout = 300.0) -> None:
        """Lower the platform to its retracted position (for transport and at rest)."""
        moves.specific(self, Position.RETRACTED, wait, timeout_s)

    @command(timeout=_PROXY_TIMEOUT_S, access="read")
    def wait_in_position(self, timeout_s: Timeout = 300.0) -> dict[str, float]:
        """Wait until the platform rests; the object's pose, or :class:`MotionFailed`."""
        moves.wait_still(self, self.interruption.watch(), timeout_s)
        positions: dict[str, float] = self.get_user_positions()
        return positions

    @command(timeout=_PROXY_TIMEOUT_S)
    def reset(self, wait: bool = False, timeout_s: Timeout = 60.0) -> None:
        """Reboot the controller (``$$$``): the motors stop dead, the home and the
        configuration are lost. With ``wait``, returns once it runs commands again."""
        check_ack(self.transport.query("$$$"))
        deadline = time.monotonic() + timeout_s
        while wait and not self.get_general_state()["initialized"]:
            if time.monotonic() >= deadline:
                raise MotionFailed(f"the controller did not restart within {timeout_s} s")
            time.sleep(moves.WAIT_POLL_S)

    def housekeeping(self) -> dict[str, Any]:
        sample = parse_sample(self.transport.query(SAMPLE_QUERY))
        return {name: sample[name] for name in HK_NAMES}

    def status(self) -> dict[str, Any]:
        return parse_sample(self.transport.query(SAMPLE_QUERY))

    def why_ignored(self, checks: Sequence[str] = CHECKS) -> list[str]:
        """What in the present state makes the controller ignore a command, among ``checks``."""
        state = self.get_general_state()
        found = {
            "initialized": (False, "the controller is still starting"),
            "in_motion": (True, "a motion is running"),
            "error": (True, "an error is latched (get_error, clear_error)"),
            "control_on": (False, "the control loop is off"),
        }
        return [
            text for flag, (bad, text) in found.items() if flag in checks and state[flag] == bad
        ]
