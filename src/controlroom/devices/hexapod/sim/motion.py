"""How the platform moves: straight paths between poses, timed within speed limits (pure).

A :class:`Path` takes a frame from one pose to another the way a hexapod
controller does: its origin along a straight line, its orientation turning
about one fixed axis, both in step. A :class:`Timing` says how far along the
path (0 to 1) it is at each instant: a trapezoidal velocity profile, or the
braking that replaces it when a stop comes, which ends short of the target.
A :class:`Leg` is one timed path, posed in the machine frame. Time is passed
in (simulated seconds); nothing here has a clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from controlroom.devices.hexapod.pose import Matrix


def _skew(axis: Matrix) -> Matrix:
    x, y, z = axis
    return np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])


def axis_rotation(axis: Matrix, angle_deg: float) -> Matrix:
    """The rotation by ``angle_deg`` about the unit vector ``axis`` (Rodrigues)."""
    k, a = _skew(axis), math.radians(angle_deg)
    return np.eye(3) + math.sin(a) * k + (1.0 - math.cos(a)) * (k @ k)


def axis_angle(rot: Matrix) -> tuple[Matrix, float]:
    """The unit axis and the angle (degrees, 0-180) of a rotation matrix."""
    cosine = max(-1.0, min(1.0, (float(np.trace(rot)) - 1.0) / 2.0))
    angle = math.acos(cosine)
    if angle < 1e-12:
        return np.array([0.0, 0.0, 1.0]), 0.0
    if math.pi - angle < 1e-6:  # a half turn: the axis is the column of R + I that is largest
        column = (rot + np.eye(3))[:, int(np.argmax(np.diag(rot)))]
        return column / np.linalg.norm(column), 180.0
    axis = np.array([rot[2, 1] - rot[1, 2], rot[0, 2] - rot[2, 0], rot[1, 0] - rot[0, 1]])
    return axis / (2.0 * math.sin(angle)), math.degrees(angle)


class Path:
    """A frame's straight way from ``start`` to ``end`` (4x4 poses in one reference frame)."""

    def __init__(self, start: Matrix, end: Matrix) -> None:
        self.start = start
        self.end = end
        self.shift = end[:3, 3] - start[:3, 3]
        self.axis, self.angle = axis_angle(end[:3, :3] @ start[:3, :3].T)
        self.distance = float(np.linalg.norm(self.shift))

    def at(self, progress: float) -> Matrix:
        """The pose ``progress`` (0 start, 1 end) of the way along."""
        if progress >= 1.0:
            return self.end
        result = np.eye(4)
        result[:3, :3] = axis_rotation(self.axis, self.angle * progress) @ self.start[:3, :3]
        result[:3, 3] = self.start[:3, 3] + progress * self.shift
        return result


@dataclass(frozen=True)
class Phase:
    """Constant acceleration along a path, in path fractions per second (squared)."""

    duration: float
    rate: float
    acceleration: float

    def advance(self, elapsed: float) -> float:
        return self.rate * elapsed + 0.5 * self.acceleration * elapsed * elapsed


@dataclass(frozen=True)
class Timing:
    """The progress along a path as time passes, from ``start`` at ``start_time`` to ``end``."""

    start_time: float
    start: float
    end: float
    phases: tuple[Phase, ...]

    @property
    def end_time(self) -> float:
        return self.start_time + sum(p.duration for p in self.phases)

    def done(self, now: float) -> bool:
        return now >= self.end_time

    def progress(self, now: float) -> float:
        if self.done(now):
            return self.end  # exact, free of rounding in the sum of phases
        value, elapsed = self.start, max(0.0, now - self.start_time)
        for phase in self.phases:
            if elapsed <= phase.duration:
                return value + phase.advance(elapsed)
            value += phase.advance(phase.duration)
            elapsed -= phase.duration
        return self.end

    def rate(self, now: float) -> float:
        elapsed = now - self.start_time
        if elapsed < 0 or self.done(now):
            return 0.0
        for phase in self.phases:
            if elapsed <= phase.duration:
                return phase.rate + phase.acceleration * elapsed
            elapsed -= phase.duration
        return 0.0

    @property
    def peak_rate(self) -> float:
        ends = [
            rate for p in self.phases for rate in (p.rate, p.rate + p.acceleration * p.duration)
        ]
        return max(ends, default=0.0)

    def braking(self, now: float, deceleration: float) -> Timing:
        """Coming to rest from ``now`` at ``deceleration``: further along, short of the end."""
        if deceleration <= 0.0:
            raise ValueError(f"deceleration must be positive, not {deceleration}")
        here, rate = self.progress(now), self.rate(now)
        if rate <= 0.0 or math.isinf(deceleration):
            return Timing(now, here, here, ())
        stop = min(self.end, here + rate * rate / (2.0 * deceleration))
        return Timing(now, here, stop, (Phase(rate / deceleration, rate, -deceleration),))


def trapezoid(start_time: float, cruise_s: float, ramp_s: float) -> Timing:
    """From rest at 0 to rest at 1: ``cruise_s`` at full rate, plus a ramp at each end.

    The full rate is ``1 / cruise_s``, reached after ``ramp_s`` (less for a
    move shorter than its ramps); the whole takes ``cruise_s + ramp_s``.
    """
    if cruise_s <= 0.0:
        return Timing(start_time, 1.0, 1.0, ())
    ramp = min(ramp_s, cruise_s)
    rate = 1.0 / cruise_s
    accel = rate / ramp if ramp > 0 else math.inf
    phases = (Phase(ramp, 0.0, accel), Phase(cruise_s - ramp, rate, 0.0), Phase(ramp, rate, -accel))
    return Timing(start_time, 0.0, 1.0, tuple(p for p in phases if p.duration > 0))


@dataclass(frozen=True)
class Leg:
    """One timed path; the platform's pose is ``left · path · right`` in the machine frame.

    A move is planned for the object in the user frame: ``left`` is the user
    frame in the machine frame, ``right`` the platform in the object frame.
    """

    path: Path
    timing: Timing
    left: Matrix
    right: Matrix

    def platform(self, now: float) -> Matrix:
        return self.left @ self.path.at(self.timing.progress(now)) @ self.right

    def braked(self, now: float, ramp_s: float) -> Leg:
        peak = self.timing.peak_rate
        deceleration = peak / ramp_s if ramp_s > 0 and peak > 0 else math.inf
        timing = self.timing.braking(now, deceleration)
        return Leg(self.path, timing, self.left, self.right)
