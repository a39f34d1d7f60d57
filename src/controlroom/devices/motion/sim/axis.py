"""One simulated ESP300 axis: motor, position frame, homing, limits, moves, faults (no I/O).

Time is passed in by the caller (simulated seconds), so the axis can be driven
by a fake clock in tests. Call :meth:`Axis.update` before reading the state:
it completes a homing run, fires an injected following error and hands over
the errors raised since the last call.

Positions are the controller's: it counts from where the stage stood at
power-up (0), until a home search finds the home switch and makes it the home
preset (``SH``, 0 by default), or ``DH`` redefines the current position.
"""

from __future__ import annotations

from dataclasses import dataclass

from controlroom.device.simkit.profiles import Profile, at_rest, trapezoid
from controlroom.devices.motion import codes


class SimulatorError(Exception):
    """A command the controller refuses; ``code`` goes to the error buffer (``TE?``)."""

    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(f"{codes.describe(code)}{': ' + detail if detail else ''}")
        self.code = code


@dataclass(frozen=True)
class AxisConfig:
    """The stage on one axis: travel, speeds, and where it sits at power-up.

    ``power_up_position`` and ``home_position`` (the home switch) are physical
    places on the stage, in its unit; the controller knows neither until homed.
    """

    name: str
    unit: str
    lower_limit: float
    upper_limit: float
    velocity: float
    acceleration: float
    max_velocity: float
    max_acceleration: float
    power_up_position: float
    home_position: float = 0.0
    model: str = "ESP STAGE"


class Axis:
    """The state of one axis at simulated time ``now`` (seconds)."""

    def __init__(self, number: int, config: AxisConfig, now: float = 0.0) -> None:
        self.number = number
        self.config = config
        self.velocity = config.velocity
        self.acceleration = self.deceleration = config.acceleration
        self.max_velocity = config.max_velocity
        self.max_acceleration = config.max_acceleration
        self.lower_limit = config.lower_limit
        self.upper_limit = config.upper_limit
        self.motor_on = True
        self.homed = self.homing = False
        self.home_preset = 0.0  # where a home search sets the position (SH)
        self.home_value = 0.0  # what the position was last defined to be at home (DH, OR)
        self._offset = -config.power_up_position  # controller position = physical + offset
        self.target = 0.0
        self.motion: Profile = at_rest(now, 0.0)
        self._fault_fraction: float | None = None
        self._trip_at: float | None = None
        self._errors: list[int] = []

    def update(self, now: float) -> list[int]:
        """Advance to ``now``; the error codes raised since the last call, oldest first."""
        if self._trip_at is not None and now >= self._trip_at:
            tripped_at, self._trip_at = self._trip_at, None
            self._errors.append(self._code(codes.FOLLOWING_ERROR))
            self._freeze(tripped_at)
            self.motor_on = False
        if self.homing and self.motion.done(now):
            self._found_home(self.motion.end_time)
        errors, self._errors = self._errors, []
        return errors

    def position(self, now: float) -> float:
        return self.motion.position(now)

    def actual_velocity(self, now: float) -> float:
        return self.motion.velocity(now)

    def moving(self, now: float) -> bool:
        return not self.motion.done(now)

    def move_to(self, target: float, now: float) -> None:
        self._check_can_move(now)
        if target > self.upper_limit:
            raise SimulatorError(self._code(codes.POSITIVE_SOFT_LIMIT), self._describe(target))
        if target < self.lower_limit:
            raise SimulatorError(self._code(codes.NEGATIVE_SOFT_LIMIT), self._describe(target))
        self._start(target, now)

    def move_by(self, distance: float, now: float) -> None:
        self.move_to(self.position(now) + distance, now)

    def home(self, now: float) -> None:
        """Search the home switch; there, the position becomes the home preset."""
        if not self.motor_on:
            raise SimulatorError(self._code(codes.HOMING_ABORTED), "motor off")
        self._check_can_move(now)
        self.homing = True
        self._start(self.config.home_position + self._offset, now)

    def define_position(self, value: float, now: float) -> None:
        """``DH``: the current position is called ``value`` from now on."""
        self._check_at_rest(now)
        self._offset += value - self.position(now)
        self.motion = at_rest(now, value)
        self.target = self.home_value = value

    def stop(self, now: float) -> None:
        """Decelerate to rest; a home search stopped this way is aborted."""
        if self.moving(now):
            self.motion = self.motion.stopping(now, self.deceleration)
            self._trip_at = None
        self._abort_homing()

    def abort(self, now: float) -> None:
        """Cut the motor at once: the axis stops where it is, without a ramp."""
        self._freeze(now)
        self.motor_on = False

    def set_motor(self, on: bool, now: float) -> None:
        if on:
            self.motor_on = True
        else:
            self.abort(now)

    def stops_at(self) -> float:
        """Simulated time at which the current motion ends."""
        return self.motion.end_time

    def set_velocity(self, value: float) -> None:
        self.velocity = self._rate(value, self.max_velocity, codes.MAX_VELOCITY_EXCEEDED)

    def set_acceleration(self, value: float) -> None:
        limit = self.max_acceleration
        self.acceleration = self._rate(value, limit, codes.MAX_ACCELERATION_EXCEEDED)

    def set_deceleration(self, value: float) -> None:
        limit = self.max_acceleration
        self.deceleration = self._rate(value, limit, codes.MAX_ACCELERATION_EXCEEDED)

    def set_max_velocity(self, value: float) -> None:
        self.max_velocity = _positive(value, "maximum velocity")

    def set_max_acceleration(self, value: float) -> None:
        self.max_acceleration = _positive(value, "maximum acceleration")

    def set_lower_limit(self, value: float) -> None:
        if value >= self.upper_limit:
            raise SimulatorError(codes.PARAMETER_OUT_OF_RANGE, "lower limit above the upper")
        self.lower_limit = value

    def set_upper_limit(self, value: float) -> None:
        if value <= self.lower_limit:
            raise SimulatorError(codes.PARAMETER_OUT_OF_RANGE, "upper limit below the lower")
        self.upper_limit = value

    def arm_following_error(self, fraction: float = 0.5) -> None:
        """Make the next move (or homing run) trip after ``fraction`` of its duration."""
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"fraction must be in (0, 1), not {fraction}")
        self._fault_fraction = fraction

    def _start(self, target: float, now: float) -> None:
        self.target = target
        start = self.position(now)
        self.motion = trapezoid(
            now, start, target, self.velocity, self.acceleration, deceleration=self.deceleration
        )
        if self._fault_fraction is not None and self.motion.duration > 0:
            self._trip_at = now + self._fault_fraction * self.motion.duration
            self._fault_fraction = None

    def _found_home(self, when: float) -> None:
        self.homing = False
        self.homed = True
        self._offset = self.home_preset - self.config.home_position
        self.motion = at_rest(when, self.home_preset)
        self.target = self.home_value = self.home_preset

    def _abort_homing(self) -> None:
        if self.homing:
            self.homing = False
            self._errors.append(self._code(codes.HOMING_ABORTED))

    def _check_can_move(self, now: float) -> None:
        if not self.motor_on:
            raise SimulatorError(self._code(codes.MOTOR_NOT_ENABLED))
        self._check_at_rest(now)

    def _check_at_rest(self, now: float) -> None:
        if self.homing:
            raise SimulatorError(self._code(codes.NOT_ALLOWED_DURING_HOMING))
        if self.moving(now):
            raise SimulatorError(codes.COMMAND_NOT_ALLOWED, f"axis {self.number} is moving")

    def _freeze(self, now: float) -> None:
        self.motion = at_rest(now, self.position(now))
        self._trip_at = None
        self._abort_homing()

    def _rate(self, value: float, limit: float, exceeded: int) -> float:
        if value > limit:
            raise SimulatorError(self._code(exceeded), f"{value} above {limit}")
        return _positive(value, "rate")

    def _describe(self, target: float) -> str:
        return (
            f"target {target} {self.config.unit} outside [{self.lower_limit}, {self.upper_limit}]"
        )

    def _code(self, code: int) -> int:
        return codes.axis_code(self.number, code)


def _positive(value: float, what: str) -> float:
    if value <= 0:
        raise SimulatorError(codes.PARAMETER_OUT_OF_RANGE, f"{what} {value} not positive")
    return value
