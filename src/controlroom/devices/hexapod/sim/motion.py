"""How the platform moves: straight paths between poses, timed within speed limits (pure).

A :class:`Path` takes a frame from one pose to another the way a hexapod
controller does: its origin along a straight line, its orientation turning
about one fixed axis, both in step. A :class:`Leg` is one path and its
timing, a :class:`~controlroom.device.simkit.profiles.Profile` of how far
along the path (0 to 1) it is at each instant: a trapezoid
(:func:`~controlroom.device.simkit.profiles.timed_trapezoid`), or the braking
that replaces it when a stop comes, which ends short of the target. Time is
passed in (simulated seconds); nothing here has a clock.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from controlroom.device.simkit.profiles import Profile
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
class Leg:
    """One timed path; the platform's pose is ``left · path · right`` in the machine frame.

    A move is planned for the object in the user frame: ``left`` is the user
    frame in the machine frame, ``right`` the platform in the object frame.
    """

    path: Path
    timing: Profile
    left: Matrix
    right: Matrix

    def platform(self, now: float) -> Matrix:
        return self.left @ self.path.at(self.timing.position(now)) @ self.right

    def braked(self, now: float, ramp_s: float) -> Leg:
        """Brake from ``now`` to rest as fast as the leg ramped up: further along, short of
        its end."""
        peak = self.timing.peak_speed
        deceleration = peak / ramp_s if ramp_s > 0 and peak > 0 else math.inf
        braking = self.timing.stopping(now, deceleration)
        # Braking at the leg's own rate ends at its end at the latest; rounding must not
        # carry the platform past it.
        end = min(self.timing.end_position, braking.end_position)
        timing = dataclasses.replace(braking, end_position=end)
        return Leg(self.path, timing, self.left, self.right)
