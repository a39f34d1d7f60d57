"""Driver for a four-axis stage controller (X, Y, Z in mm, RZ in degrees) over TCP.

The protocol follows Newport ESP-style controllers: ``[axis]NAME[?] [value]``
commands ending in CR LF, several per line separated by ``;``, the answers of
the queries joined by ``,``. Every setting and every motion command is sent
with ``TE?`` on the same line, so a command the controller refused (outside
the software limits, axis not homed, motor off) raises :class:`MotionRefused`
at once, in one exchange.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from controlroom.device import (
    CommandRefused,
    Controller,
    DeviceError,
    ReplyError,
    choices,
    command,
    in_range,
)
from controlroom.device.replies import parse_bool, parse_float, parse_floats, parse_int
from controlroom.device.transports.base import Transport
from controlroom.devices.motion import codes


class MotionError(DeviceError):
    """Root of every error the motion driver raises."""


class MotionRefused(MotionError, CommandRefused):
    """The controller refused a command; ``code`` is its error code (see ``TE?``)."""

    def __init__(self, code: int) -> None:
        message = codes.describe(code)
        super().__init__(
            f"the controller reports error {code}: {message}", code=code, message=message
        )


class OutsideLimits(MotionError):
    """A move would end outside the software limits of its axis; nothing was sent."""


class MotionFailed(MotionError):
    """A move or homing run ended away from its target (stopped, aborted or a fault)."""


class MotionTimeout(MotionError):
    """A move or homing run did not end within the time given."""


AXES = (1, 2, 3, 4)
AXIS_NAMES = {1: "x", 2: "y", 3: "z", 4: "rz"}
"""Axis number -> the name used in housekeeping (``x_position``) and messages."""

Axis = Annotated[int, choices(*AXES)]
Position = Annotated[float, in_range(-1000.0, 1000.0)]  # mm or deg; the limits are narrower
WAIT_LIMIT_S = 600.0
Timeout = Annotated[float, in_range(0.0, WAIT_LIMIT_S)]
Speed = Annotated[float, in_range(0.0001, 100.0)]  # mm/s or deg/s
Acceleration = Annotated[float, in_range(0.001, 1000.0)]  # mm/s² or deg/s²

_PROXY_TIMEOUT_S = WAIT_LIMIT_S + 10.0  # a waiting call may take that long to answer


_SAMPLED: dict[str, tuple[str, Callable[[str], Any]]] = {
    "TP?": ("position", parse_float),
    "IP?": ("in_position", parse_bool),
    "HM?": ("homed", parse_bool),
    "MD?": ("moving", lambda reply: not parse_bool(reply)),
}
"""Per-axis query -> housekeeping name suffix and parser (``x_position``)."""


def _setting(template: str) -> dict[str, Any]:
    return {"kind": "transaction", "cmd": template + ";TE?", "check": check_error}


def split_reply(reply: str, count: int) -> list[str]:
    """The replies of ``count`` queries sent on one line (the controller joins them with ``,``)."""
    parts = [part.strip() for part in reply.split(",")]
    if len(parts) != count:
        raise ReplyError(f"expected {count} values from the motion controller, got {reply!r}")
    return parts


def parse_error_message(reply: str) -> dict[str, int | str]:
    """``TB?`` -> ``{"code": 107, "message": "AXIS 1 NEGATIVE SOFTWARE LIMIT DETECTED"}``."""
    code, _, message = reply.partition(",")
    return {"code": parse_int(code), "message": message.strip()}


def check_error(reply: str) -> None:
    """Raise if the ``TE?`` that ends a command line reports an error."""
    code = parse_int(reply.rsplit(",", maxsplit=1)[-1])
    if code != codes.NO_ERROR:
        raise MotionRefused(code)


def axes_or_all(axis: int | None) -> tuple[int, ...]:
    return AXES if axis is None else (axis,)


def wait_for_motion(
    transport: Transport,
    axes: Sequence[int],
    timeout_s: float,
    poll_s: float,
    clock: Callable[[], float],
) -> dict[str, float]:
    """Poll until ``axes`` are at rest; their positions, or raise if one ended off target."""
    deadline = clock() + timeout_s
    while not all(parse_bool(p) for p in _ask(transport, [f"{n}MD?" for n in axes])):
        if clock() >= deadline:
            names = ", ".join(AXIS_NAMES[n] for n in axes)
            raise MotionTimeout(f"axis {names} still moving after {timeout_s} s")
        time.sleep(poll_s)
    queries = [f"{n}{query}" for query in ("TP?", "DP?", "IP?") for n in axes]
    parts = _ask(transport, queries)
    count = len(axes)
    positions = [parse_float(p) for p in parts[:count]]
    targets = [parse_float(p) for p in parts[count : 2 * count]]
    arrived = [parse_bool(p) for p in parts[2 * count :]]
    if not all(arrived):
        raise MotionFailed(_why(transport, axes, positions, targets, arrived))
    return {AXIS_NAMES[n]: position for n, position in zip(axes, positions, strict=True)}


def _why(
    transport: Transport,
    axes: Sequence[int],
    positions: list[float],
    targets: list[float],
    arrived: list[bool],
) -> str:
    stopped = [
        f"axis {AXIS_NAMES[n]} at rest at {position}, not in position at {target}"
        for n, position, target, ok in zip(axes, positions, targets, arrived, strict=True)
        if not ok
    ]
    code = parse_int(transport.query("TE?"))
    if code != codes.NO_ERROR:
        stopped.append(f"error {code}: {codes.describe(code)}")
    return "; ".join(stopped)


def _ask(transport: Transport, queries: list[str]) -> list[str]:
    return split_reply(transport.query(";".join(queries)), len(queries))


class MotionController(Controller):
    """Four stages on one controller: axis 1 X, 2 Y, 3 Z (mm), 4 RZ (deg).

    Axes power up not homed; :meth:`home` them before any move. While a
    command that waits (``wait=True``, :meth:`wait_in_position`) runs, the
    control server serves no other command of this device, ``stop`` included:
    for moves you may have to stop, start them without waiting and poll
    :meth:`motion_done`.
    """

    transport_defaults = {"read_terminator": "\r\n", "write_terminator": "\r\n"}
    hk_min_period_s = 0.05
    status_min_period_s = 0.05

    @command("query", "VE?")
    def version(self) -> str:
        """Controller model and firmware version."""

    @command("query", "TE?", parse=parse_int)
    def error_code(self) -> int:
        """The last error code (0: none); reading it clears it."""

    @command("query", "TB?", parse=parse_error_message)
    def error_message(self) -> dict[str, Any]:
        """The last error as ``{"code", "message"}``; reading it clears it."""

    @command(**_setting("${axis}OR"))
    def start_homing(self, axis: Axis) -> None:
        """Start the home search of an axis; it is homed once it reaches the home switch."""

    @command("query", "${axis}HM?", parse=parse_bool)
    def homed(self, axis: Axis) -> bool:
        """True once the axis has found its home since power-up (or since a fault)."""

    @command(**_setting("${axis}PA ${position}"))
    def start_move_absolute(self, axis: Axis, position: Position) -> None:
        """Start a move to ``position`` (mm or deg); the controller checks the limits."""

    @command(**_setting("${axis}PR ${distance}"))
    def start_move_relative(self, axis: Axis, distance: Position) -> None:
        """Start a move by ``distance`` from where the axis is; the controller checks the limits."""

    @command("query", "${axis}TP?", parse=parse_float)
    def position(self, axis: Axis) -> float:
        """Actual position of an axis (mm or deg), also during a move."""

    @command("query", "${axis}DP?", parse=parse_float)
    def target(self, axis: Axis) -> float:
        """Target position of the last move of an axis."""

    @command("query", "${axis}TV?", parse=parse_float)
    def actual_velocity(self, axis: Axis) -> float:
        """Actual velocity of an axis (signed, mm/s or deg/s)."""

    @command("query", "${axis}MD?", parse=parse_bool)
    def motion_done(self, axis: Axis) -> bool:
        """True when the axis is at rest."""

    @command("query", "${axis}IP?", parse=parse_bool)
    def in_position(self, axis: Axis) -> bool:
        """True when the axis is homed, at rest and at the target of its last move."""

    @command(**_setting("${axis}ST"))
    def stop(self, axis: Axis) -> None:
        """Decelerate an axis to rest (it ends short of its target)."""

    @command(**_setting("ST"))
    def stop_all(self) -> None:
        """Decelerate every axis to rest."""

    @command(**_setting("AB"))
    def abort(self) -> None:
        """Emergency stop: every motor off at once, without deceleration."""

    @command("query", "${axis}VA?", parse=parse_float)
    def velocity(self, axis: Axis) -> float:
        """Cruise velocity of the moves of an axis (mm/s or deg/s)."""

    @command(**_setting("${axis}VA ${velocity}"))
    def set_velocity(self, axis: Axis, velocity: Speed) -> None:
        """Set the cruise velocity of an axis; the next move uses it."""

    @command("query", "${axis}AC?", parse=parse_float)
    def acceleration(self, axis: Axis) -> float:
        """Acceleration (and deceleration) of an axis (mm/s² or deg/s²)."""

    @command(**_setting("${axis}AC ${acceleration}"))
    def set_acceleration(self, axis: Axis, acceleration: Acceleration) -> None:
        """Set the acceleration (and deceleration) of an axis."""

    @command("query", "${axis}SL?;${axis}SR?", parse=parse_floats)
    def soft_limits(self, axis: Axis) -> list[float]:
        """Lower and upper software limits of an axis."""

    @command("query", "${axis}MO?", parse=parse_bool)
    def motor_enabled(self, axis: Axis) -> bool:
        """True when the motor of the axis is on."""

    @command(**_setting("${axis}MO"))
    def motor_on(self, axis: Axis) -> None:
        """Switch the motor of an axis on (needed again after an abort or a fault)."""

    @command(**_setting("${axis}MF"))
    def motor_off(self, axis: Axis) -> None:
        """Switch the motor of an axis off; a moving axis stops where it is."""

    @command()
    def set_soft_limits(self, axis: Axis, lower: Position, upper: Position) -> None:
        """Set both software limits of an axis (lower < upper)."""
        if lower >= upper:
            raise OutsideLimits(f"lower limit {lower} must be below the upper limit {upper}")
        current_upper = self.soft_limits(axis)[1]
        # The controller keeps lower < upper at every step, so the order matters.
        if lower >= current_upper:
            line = f"{axis}SR {upper};{axis}SL {lower};TE?"
        else:
            line = f"{axis}SL {lower};{axis}SR {upper};TE?"
        check_error(self.transport.query(line))

    @command(timeout=_PROXY_TIMEOUT_S)
    def home(
        self, axis: Axis | None = None, wait: bool = False, timeout_s: Timeout = 120.0
    ) -> None:
        """Home one axis, or all of them at once (None); with ``wait``, until they are home."""
        axes = axes_or_all(axis)
        check_error(self.transport.query(";".join(f"{n}OR" for n in axes) + ";TE?"))
        if wait:
            self.wait_in_position(axis, timeout_s)

    @command(timeout=_PROXY_TIMEOUT_S)
    def move_absolute(
        self, axis: Axis, position: Position, wait: bool = False, timeout_s: Timeout = 60.0
    ) -> None:
        """Move an axis to ``position`` after checking its software limits."""
        lower, upper = self.soft_limits(axis)
        self._check_within(axis, position, lower, upper)
        self.start_move_absolute(axis, position)
        if wait:
            self.wait_in_position(axis, timeout_s)

    @command(timeout=_PROXY_TIMEOUT_S)
    def move_relative(
        self, axis: Axis, distance: Position, wait: bool = False, timeout_s: Timeout = 60.0
    ) -> None:
        """Move an axis by ``distance`` after checking that it ends within its limits."""
        queries = [f"{axis}TP?", f"{axis}SL?", f"{axis}SR?"]
        here, lower, upper = (parse_float(p) for p in self._ask(queries))
        self._check_within(axis, here + distance, lower, upper)
        self.start_move_relative(axis, distance)
        if wait:
            self.wait_in_position(axis, timeout_s)

    @command(timeout=_PROXY_TIMEOUT_S, access="read")
    def wait_in_position(
        self,
        axis: Axis | None = None,
        timeout_s: Timeout = 60.0,
        poll_s: Annotated[float, in_range(0.0, 5.0)] = 0.05,
    ) -> dict[str, float]:
        """Wait until one axis (or all: None) is at rest; its position by axis name.

        Raises :class:`MotionTimeout` if it still moves after ``timeout_s`` and
        :class:`MotionFailed` if it came to rest away from its target.
        """
        return wait_for_motion(self.transport, axes_or_all(axis), timeout_s, poll_s, time.monotonic)

    def housekeeping(self) -> dict[str, Any]:
        # One exchange for the whole sample: the controller answers ;-joined queries in order.
        return self._sample(("TP?", "IP?", "HM?"))

    def status(self) -> dict[str, Any]:
        return self._sample(("TP?", "IP?", "HM?", "MD?"))

    def _sample(self, queries: tuple[str, ...]) -> dict[str, Any]:
        asked = [(query, n) for query in queries for n in AXES]
        parts = self._ask([f"{n}{query}" for query, n in asked])
        values: dict[str, Any] = {}
        for (query, n), part in zip(asked, parts, strict=True):
            suffix, parse = _SAMPLED[query]
            values[f"{AXIS_NAMES[n]}_{suffix}"] = parse(part)
        return values

    def _ask(self, queries: list[str]) -> list[str]:
        return _ask(self.transport, queries)

    @staticmethod
    def _check_within(axis: int, position: float, lower: float, upper: float) -> None:
        if not lower <= position <= upper:
            raise OutsideLimits(
                f"axis {AXIS_NAMES[axis]}: {position} is outside its software limits "
                f"[{lower}, {upper}]"
            )
