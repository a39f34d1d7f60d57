"""One simulated stage axis: motor, homing, software limits, moves and faults (pure, no I/O).

Time is passed in by the caller (simulated seconds), so the axis can be driven
by a fake clock in tests. Call :meth:`Axis.update` before reading the state:
it completes a homing run and fires an injected following error when their
time has come.
"""

from __future__ import annotations

from dataclasses import dataclass

from controlroom.devices.motion import codes
from controlroom.devices.motion.sim.kinematics import Motion, at_rest, trapezoid

IN_POSITION_TOLERANCE = 1e-6


class SimulatorError(Exception):
    """A command the controller refuses; ``code`` is what ``TE?`` then returns."""

    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(f"{codes.describe(code)}{': ' + detail if detail else ''}")
        self.code = code


@dataclass(frozen=True)
class AxisConfig:
    """The stage on one axis: travel, speeds and where it sits at power-up."""

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


class Axis:
    """The state of one axis at simulated time ``now`` (seconds)."""

    def __init__(self, number: int, config: AxisConfig, now: float = 0.0) -> None:
        self.number = number
        self.config = config
        self.velocity = config.velocity
        self.acceleration = config.acceleration
        self.lower_limit = config.lower_limit
        self.upper_limit = config.upper_limit
        self.motor_on = True
        self.homed = False
        self.homing = False
        self.target = config.power_up_position
        self.motion: Motion = at_rest(now, config.power_up_position)
        self._fault_fraction: float | None = None
        self._trip_at: float | None = None

    def update(self, now: float) -> int | None:
        """Advance to ``now``; the error code of a fault that fired on the way, else None."""
        if self._trip_at is not None and now >= self._trip_at:
            tripped_at, self._trip_at = self._trip_at, None
            self._freeze(tripped_at)
            self.motor_on = False
            self.homed = False  # the position can no longer be trusted
            return self._code(codes.FOLLOWING_ERROR)
        if self.homing and self.motion.done(now):
            self.homing = False
            self.homed = True
        return None

    def position(self, now: float) -> float:
        return self.motion.position(now)

    def actual_velocity(self, now: float) -> float:
        return self.motion.velocity(now)

    def moving(self, now: float) -> bool:
        return not self.motion.done(now)

    def in_position(self, now: float) -> bool:
        """Homed, at rest and at the target of the last move."""
        at_target = abs(self.position(now) - self.target) <= IN_POSITION_TOLERANCE
        return self.homed and not self.moving(now) and at_target

    def move_to(self, target: float, now: float) -> None:
        self._check_can_move(now)
        if not self.homed:
            raise SimulatorError(self._code(codes.HOMING_REQUIRED))
        if target > self.upper_limit:
            raise SimulatorError(self._code(codes.POSITIVE_SOFT_LIMIT), self._describe(target))
        if target < self.lower_limit:
            raise SimulatorError(self._code(codes.NEGATIVE_SOFT_LIMIT), self._describe(target))
        self._start(target, self.velocity, now)

    def move_by(self, distance: float, now: float) -> None:
        self.move_to(self.position(now) + distance, now)

    def home(self, now: float) -> None:
        """Search the home switch; the axis is homed when it reaches it."""
        self._check_can_move(now)
        self.homed = False
        self.homing = True
        self._start(self.config.home_position, self.velocity, now)

    def stop(self, now: float) -> None:
        """Decelerate to rest; a homing run stopped this way leaves the axis not homed."""
        if self.moving(now):
            self.motion = self.motion.stopping(now, self.acceleration)
            self._trip_at = None
        self.homing = False

    def abort(self, now: float) -> None:
        """Cut the motor at once: the axis stops where it is, without a ramp."""
        self._freeze(now)
        self.motor_on = False

    def set_motor(self, on: bool, now: float) -> None:
        if on:
            self.motor_on = True
        else:
            self.abort(now)

    def set_velocity(self, value: float) -> None:
        self.velocity = _within(value, 0.0, self.config.max_velocity, "velocity")

    def set_acceleration(self, value: float) -> None:
        self.acceleration = _within(value, 0.0, self.config.max_acceleration, "acceleration")

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

    def _start(self, target: float, velocity: float, now: float) -> None:
        self.target = target
        self.motion = trapezoid(now, self.position(now), target, velocity, self.acceleration)
        if self._fault_fraction is not None and self.motion.duration > 0:
            self._trip_at = now + self._fault_fraction * self.motion.duration
            self._fault_fraction = None

    def _check_can_move(self, now: float) -> None:
        if not self.motor_on:
            raise SimulatorError(self._code(codes.MOTOR_NOT_ENABLED))
        if self.moving(now):
            raise SimulatorError(self._code(codes.AXIS_MOVING))

    def _freeze(self, now: float) -> None:
        self.motion = at_rest(now, self.position(now))
        self.homing = False
        self._trip_at = None

    def _describe(self, target: float) -> str:
        return (
            f"target {target} {self.config.unit} outside [{self.lower_limit}, {self.upper_limit}]"
        )

    def _code(self, code: int) -> int:
        return codes.axis_code(self.number, code)


def _within(value: float, low: float, high: float, what: str) -> float:
    if not low < value <= high:
        raise SimulatorError(codes.PARAMETER_OUT_OF_RANGE, f"{what} {value} not in ({low}, {high}]")
    return value
