"""Velocity profiles of a simulated motion, as functions of time (pure, no I/O, no clock).

A :class:`Profile` is a list of constant-acceleration segments starting at a
known time and position: the position of a stage along its axis, or how far
along its path (0 to 1) a hexapod's platform is. A point-to-point move is a
trapezoid (accelerate, cruise, decelerate) or, when the distance is too short
to reach the cruise velocity, a triangle. A stop replaces the rest of a
profile by a deceleration from the velocity at that instant, so it ends
beyond the point where the stop was asked and short of the original target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Segment:
    """A phase of constant acceleration; velocity and acceleration are signed."""

    duration: float
    velocity: float
    acceleration: float

    def distance(self, elapsed: float) -> float:
        return self.velocity * elapsed + 0.5 * self.acceleration * elapsed * elapsed

    def velocity_after(self, elapsed: float) -> float:
        return self.velocity + self.acceleration * elapsed


@dataclass(frozen=True)
class Profile:
    """Where a motion is, and how fast it goes, at any time while it runs."""

    start_time: float
    start_position: float
    end_position: float
    segments: tuple[Segment, ...]

    @property
    def duration(self) -> float:
        return sum(segment.duration for segment in self.segments)

    @property
    def end_time(self) -> float:
        return self.start_time + self.duration

    @property
    def peak_speed(self) -> float:
        """The highest speed it reaches (at the end of a segment, or at its start)."""
        ends = [abs(v) for s in self.segments for v in (s.velocity, s.velocity_after(s.duration))]
        return max(ends, default=0.0)

    def done(self, now: float) -> bool:
        return now >= self.end_time

    def position(self, now: float) -> float:
        if self.done(now):
            return self.end_position  # exact, free of rounding in the sum of segments
        position, elapsed = self.start_position, max(now - self.start_time, 0.0)
        for segment in self.segments:
            if elapsed <= segment.duration:
                return position + segment.distance(elapsed)
            position += segment.distance(segment.duration)
            elapsed -= segment.duration
        return self.end_position

    def velocity(self, now: float) -> float:
        elapsed = now - self.start_time
        if elapsed < 0 or self.done(now):
            return 0.0
        for segment in self.segments:
            if elapsed <= segment.duration:
                return segment.velocity_after(elapsed)
            elapsed -= segment.duration
        return 0.0

    def stopping(self, now: float, deceleration: float) -> Profile:
        """The profile that brings this one to rest from ``now`` at ``deceleration``."""
        return decelerate(now, self.position(now), self.velocity(now), deceleration)


def trapezoid(
    start_time: float,
    start: float,
    target: float,
    velocity: float,
    acceleration: float,
    *,
    deceleration: float | None = None,
) -> Profile:
    """A move from rest at ``start`` to rest at ``target``, ramping up and down at their rates.

    ``deceleration`` defaults to ``acceleration``.
    """
    deceleration = acceleration if deceleration is None else deceleration
    if velocity <= 0 or acceleration <= 0 or deceleration <= 0:
        raise ValueError("velocity, acceleration and deceleration must be positive")
    distance = abs(target - start)
    sign = 1.0 if target >= start else -1.0
    if distance == 0:
        return Profile(start_time, start, target, ())
    ramps = velocity * velocity / 2 * (1 / acceleration + 1 / deceleration)
    if distance >= ramps:
        peak = velocity
        cruise = (distance - ramps) / peak
    else:  # too short to reach the cruise velocity: accelerate, then decelerate at once
        peak = math.sqrt(2 * distance * acceleration * deceleration / (acceleration + deceleration))
        cruise = 0.0
    segments = (
        Segment(peak / acceleration, 0.0, sign * acceleration),
        Segment(cruise, sign * peak, 0.0),
        Segment(peak / deceleration, sign * peak, -sign * deceleration),
    )
    return Profile(start_time, start, target, tuple(s for s in segments if s.duration > 0))


def timed_trapezoid(start_time: float, cruise_s: float, ramp_s: float) -> Profile:
    """From rest at 0 to rest at 1, timed rather than sped: ``cruise_s`` at full rate,
    plus a ramp at each end.

    The full rate is ``1 / cruise_s``, reached after ``ramp_s`` (less for a
    move shorter than its ramps); the whole takes ``cruise_s + ramp_s``. A
    controller that moves several axes in step plans this way: the slowest
    axis sets ``cruise_s``, and every axis follows the same fraction.
    """
    if cruise_s <= 0.0:
        return Profile(start_time, 1.0, 1.0, ())
    ramp = min(ramp_s, cruise_s)
    rate = 1.0 / cruise_s
    accel = rate / ramp if ramp > 0 else math.inf
    segments = (
        Segment(ramp, 0.0, accel),
        Segment(cruise_s - ramp, rate, 0.0),
        Segment(ramp, rate, -accel),
    )
    return Profile(start_time, 0.0, 1.0, tuple(s for s in segments if s.duration > 0))


def decelerate(start_time: float, start: float, velocity: float, deceleration: float) -> Profile:
    """Braking from ``velocity`` (signed) to rest at ``deceleration``; an infinite
    deceleration stops dead."""
    if deceleration <= 0:
        raise ValueError("deceleration must be positive")
    if velocity == 0 or math.isinf(deceleration):
        return Profile(start_time, start, start, ())
    sign = 1.0 if velocity > 0 else -1.0
    duration = abs(velocity) / deceleration
    end = start + sign * velocity * velocity / (2 * deceleration)
    return Profile(start_time, start, end, (Segment(duration, velocity, -sign * deceleration),))


def at_rest(now: float, position: float) -> Profile:
    """No motion: it stays where it is."""
    return Profile(now, position, position, ())
