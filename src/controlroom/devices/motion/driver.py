"""Driver for a Newport ESP300/ESP301 motion controller with four stages (X, Y, Z, RZ).

It speaks the controller's language as the user's manual gives it:
``[axis]NAME[?|value]`` commands ending in CR, several per line separated by
``;``, the answers of the queries joined by ``,`` and ending in CR LF. Every
setting and every motion command is sent with ``TE?`` on the same line, so a
command the controller refused (outside the software limits, motor off)
raises :class:`MotionRefused` at once, in one exchange.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from controlroom.device import Controller, choices, command, in_range
from controlroom.device.interrupt import Watch
from controlroom.device.replies import parse_bool, parse_float, parse_floats, parse_int
from controlroom.device.transports.base import Transport
from controlroom.devices.motion.errors import (
    MotionFailed,
    OutsideLimits,
    check_error,
    check_within,
    parse_error_message,
)
from controlroom.devices.motion.readings import (
    AXES,
    AXIS_NAMES,
    HomingRecord,
    ask,
    read_axes,
    sample,
    wait_for_motion,
    why_short,
)

Axis = Annotated[int, choices(*AXES)]
Position = Annotated[float, in_range(-1000.0, 1000.0)]  # mm or deg; the limits are narrower
WAIT_LIMIT_S = 600.0
Timeout = Annotated[float, in_range(0.0, WAIT_LIMIT_S)]
Speed = Annotated[float, in_range(0.0001, 100.0)]  # mm/s or deg/s
Acceleration = Annotated[float, in_range(0.001, 1000.0)]  # mm/s² or deg/s²

_PROXY_TIMEOUT_S = WAIT_LIMIT_S + 10.0  # a waiting call may take that long to answer


def _setting(template: str, **options: Any) -> dict[str, Any]:
    return {"kind": "transaction", "cmd": template + ";TE?", "check": check_error, **options}


def _homing_started(ctl: MotionController, result: object, axis: int) -> None:
    ctl.homing.started([axis])


def axes_or_all(axis: int | None) -> tuple[int, ...]:
    return AXES if axis is None else (axis,)


class MotionController(Controller):
    """Four stages on one ESP300: axis 1 X, 2 Y, 3 Z (mm), 4 RZ (deg).

    The controller counts positions from where the stages stood at power-up;
    :meth:`home` finds the home switches and makes them 0. A command that
    waits (``wait=True``, :meth:`wait_in_position`) holds the device, but
    :meth:`stop`, :meth:`stop_all` and :meth:`abort` interrupt it: they go out
    at once, and the waiting command ends with ``Interrupted``.
    """

    transport_defaults = {"read_terminator": "\r\n", "write_terminator": "\r"}
    hk_min_period_s = 0.05
    status_min_period_s = 0.05

    def __init__(self, transport: Transport) -> None:
        super().__init__(transport)
        self.homing = HomingRecord()

    @command("query", "VE?")
    def version(self) -> str:
        """Controller model and firmware version."""

    @command("query", "TE?", parse=parse_int)
    def error_code(self) -> int:
        """The oldest error code in the controller's buffer (0: none); reading removes it."""

    @command("query", "TB?", parse=parse_error_message)
    def error_message(self) -> dict[str, Any]:
        """The oldest error as ``{"code", "timestamp", "message"}``; reading removes it."""

    @command(**_setting("${axis}OR", after=_homing_started))
    def start_homing(self, axis: Axis) -> None:
        """Start the home search of an axis; at the home switch its position becomes 0."""

    @command(access="read")
    def homed(self, axis: Axis) -> bool:
        """True once a home search started by this driver has ended at the home switch."""
        self.homing.observe(read_axes(self.transport, (axis,)))
        return self.homing.homed(axis)

    @command(**_setting("${axis}PA${position}"))
    def start_move_absolute(self, axis: Axis, position: Position) -> None:
        """Start a move to ``position`` (mm or deg); the controller checks the limits."""

    @command(**_setting("${axis}PR${distance}"))
    def start_move_relative(self, axis: Axis, distance: Position) -> None:
        """Start a move by ``distance`` from where the axis is; the controller checks the limits."""

    @command("query", "${axis}TP", parse=parse_float)
    def position(self, axis: Axis) -> float:
        """Actual position of an axis (mm or deg), also during a move."""

    @command("query", "${axis}DP?", parse=parse_float)
    def target(self, axis: Axis) -> float:
        """Target position of the last move of an axis."""

    @command("query", "${axis}TV", parse=parse_float)
    def actual_velocity(self, axis: Axis) -> float:
        """Actual velocity of an axis (signed, mm/s or deg/s)."""

    @command("query", "${axis}MD?", parse=parse_bool)
    def motion_done(self, axis: Axis) -> bool:
        """True when the axis is at rest."""

    @command(access="read")
    def in_position(self, axis: Axis) -> bool:
        """True when the axis is homed, at rest and at the target of its last move."""
        return self.homing.in_position(axis, read_axes(self.transport, (axis,))[axis])

    @command(**_setting("${axis}ST"), interrupts=True)
    def stop(self, axis: Axis) -> None:
        """Decelerate an axis to rest (it ends short of its target)."""

    @command(**_setting("ST"), interrupts=True)
    def stop_all(self) -> None:
        """Decelerate every axis to rest."""

    @command(**_setting("AB"), interrupts=True)
    def abort(self) -> None:
        """Emergency stop: every motor off at once, without deceleration."""

    @command("query", "${axis}VA?", parse=parse_float)
    def velocity(self, axis: Axis) -> float:
        """Cruise velocity of the moves of an axis (mm/s or deg/s)."""

    @command(**_setting("${axis}VA${velocity}"))
    def set_velocity(self, axis: Axis, velocity: Speed) -> None:
        """Set the cruise velocity of an axis; the next move uses it."""

    @command("query", "${axis}AC?", parse=parse_float)
    def acceleration(self, axis: Axis) -> float:
        """Acceleration of an axis (mm/s² or deg/s²)."""

    @command(**_setting("${axis}AC${acceleration}"))
    def set_acceleration(self, axis: Axis, acceleration: Acceleration) -> None:
        """Set the acceleration of an axis."""

    @command("query", "${axis}AG?", parse=parse_float)
    def deceleration(self, axis: Axis) -> float:
        """Deceleration of an axis at the end of a move and on a stop (mm/s² or deg/s²)."""

    @command(**_setting("${axis}AG${deceleration}"))
    def set_deceleration(self, axis: Axis, deceleration: Acceleration) -> None:
        """Set the deceleration of an axis."""

    @command("query", "${axis}SL?;${axis}SR?", parse=parse_floats)
    def soft_limits(self, axis: Axis) -> list[float]:
        """Lower and upper software limits of an axis."""

    @command(**_setting("${axis}DH${position}"))
    def define_position(self, axis: Axis, position: Position) -> None:
        """Call the current position of an axis at rest ``position`` from now on."""

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
            line = f"{axis}SR{upper};{axis}SL{lower};TE?"
        else:
            line = f"{axis}SL{lower};{axis}SR{upper};TE?"
        check_error(self.transport.query(line))

    @command(timeout=_PROXY_TIMEOUT_S)
    def home(
        self, axis: Axis | None = None, wait: bool = False, timeout_s: Timeout = 120.0
    ) -> None:
        """Home one axis, or all of them at once (None), motors on; with ``wait``, until home."""
        watch = self.interruption.watch()  # a stop from now on ends the wait
        axes = axes_or_all(axis)
        with watch.sending():  # a stop already sent: no home search starts
            check_error(self.transport.query(";".join(f"{n}MO;{n}OR" for n in axes) + ";TE?"))
        self.homing.started(axes)
        if wait:
            self._wait(axis, timeout_s, 0.05, watch)

    @command(timeout=_PROXY_TIMEOUT_S)
    def move_absolute(
        self, axis: Axis, position: Position, wait: bool = False, timeout_s: Timeout = 60.0
    ) -> None:
        """Move an axis to ``position`` after checking its software limits."""
        watch = self.interruption.watch()
        lower, upper = self.soft_limits(axis)
        check_within(AXIS_NAMES[axis], position, lower, upper)
        with watch.sending():  # a stop sent while the limits were read: no move
            self.start_move_absolute(axis, position)
        if wait:
            self._wait(axis, timeout_s, 0.05, watch)

    @command(timeout=_PROXY_TIMEOUT_S)
    def move_relative(
        self, axis: Axis, distance: Position, wait: bool = False, timeout_s: Timeout = 60.0
    ) -> None:
        """Move an axis by ``distance`` after checking that it ends within its limits."""
        watch = self.interruption.watch()
        where = [f"{axis}TP", f"{axis}SL?", f"{axis}SR?"]
        here, lower, upper = (parse_float(p) for p in ask(self.transport, where))
        check_within(AXIS_NAMES[axis], here + distance, lower, upper)
        with watch.sending():
            self.start_move_relative(axis, distance)
        if wait:
            self._wait(axis, timeout_s, 0.05, watch)

    @command(timeout=_PROXY_TIMEOUT_S, access="read")
    def wait_in_position(
        self,
        axis: Axis | None = None,
        timeout_s: Timeout = 60.0,
        poll_s: Annotated[float, in_range(0.0, 5.0)] = 0.05,
    ) -> dict[str, float]:
        """Wait until one axis (or all: None) is at rest; its position by axis name.

        Raises :class:`MotionTimeout` if it still moves after ``timeout_s``,
        :class:`MotionFailed` if it came to rest away from its target, and
        ``Interrupted`` as soon as a stop or an abort is sent meanwhile.
        """
        return self._wait(axis, timeout_s, poll_s, self.interruption.watch())

    def _wait(
        self, axis: int | None, timeout_s: float, poll_s: float, watch: Watch
    ) -> dict[str, float]:
        axes = axes_or_all(axis)
        readings = wait_for_motion(
            self.transport, axes, timeout_s, poll_s, time.monotonic, sleep=watch.sleep
        )
        self.homing.observe(readings)
        if not all(reading.at_target for reading in readings.values()):
            raise MotionFailed(why_short(self.transport, readings))
        return {AXIS_NAMES[n]: reading.position for n, reading in readings.items()}

    def housekeeping(self) -> dict[str, Any]:
        # One exchange for the whole sample: the controller answers ;-joined queries in order.
        return self._sample(moving=False)

    def status(self) -> dict[str, Any]:
        return self._sample(moving=True)

    def _sample(self, *, moving: bool) -> dict[str, Any]:
        readings = read_axes(self.transport, AXES)
        self.homing.observe(readings)
        return sample(readings, self.homing, moving=moving)
