"""The Stewart platform of a PUNA-sized hexapod: joints, inverse kinematics, stroke (pure).

Six actuators join three pairs of joints on the base to three pairs on the
moving platform, each base pair feeding two neighbouring platform pairs, so
the legs zig-zag round the hexapod. The machine frame sits where the top of
the platform is at the zero position (the platform frame then coincides with
it); the base joints lie below it. Inverse kinematics is exact and closed:
an actuator's length is the distance between its two joints once the
platform is posed. A pose is reachable when every length stays within the
actuators' stroke and every leg leans less than its joints allow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from controlroom.devices.hexapod.pose import Matrix

Vector = NDArray[np.float64]


@dataclass(frozen=True)
class Layout:
    """The dimensions that make a hexapod (mm and degrees)."""

    base_radius: float = 175.0
    platform_radius: float = 125.0
    base_half_angle: float = 10.0  # each base pair lies this far either side of its axis
    platform_half_angle: float = 20.0
    base_depth: float = 250.0  # base joints below the machine frame's origin
    platform_depth: float = 30.0  # platform joints below the platform's top
    stroke: float = 36.0  # each actuator may lengthen or shorten this much from its zero
    max_joint_angle: float = 45.0  # a leg's lean from the vertical its joints allow


def _circle(radius: float, angles_deg: list[float], z: float) -> Vector:
    rad = np.radians(angles_deg)
    return np.column_stack([radius * np.cos(rad), radius * np.sin(rad), np.full(len(rad), z)])


class Geometry:
    """Joint positions and the inverse kinematics of one hexapod."""

    def __init__(self, layout: Layout = Layout()) -> None:
        self.layout = layout
        base_angles, platform_angles = [], []
        for pair in range(3):
            # Leg 2k goes from base pair k to platform pair k, leg 2k+1 on to base pair k+1.
            centre = 60.0 + 120.0 * pair
            base_angles += [120.0 * pair + layout.base_half_angle]
            base_angles += [120.0 * (pair + 1) - layout.base_half_angle]
            platform_angles += [centre - layout.platform_half_angle]
            platform_angles += [centre + layout.platform_half_angle]
        self.base = _circle(layout.base_radius, base_angles, -layout.base_depth)
        self.platform = _circle(layout.platform_radius, platform_angles, -layout.platform_depth)
        self.zero_lengths = self.lengths(np.eye(4))
        self.stroke = (
            float(self.zero_lengths.min()) - layout.stroke,
            float(self.zero_lengths.max()) + layout.stroke,
        )

    def legs(self, platform_pose: Matrix) -> Vector:
        """Each actuator as a vector from its base joint to its platform joint (machine frame)."""
        joints = self.platform @ platform_pose[:3, :3].T + platform_pose[:3, 3]
        return joints - self.base

    def lengths(self, platform_pose: Matrix) -> Vector:
        """Actuator lengths (mm) with the platform at ``platform_pose`` in the machine frame."""
        lengths: Vector = np.linalg.norm(self.legs(platform_pose), axis=1)
        return lengths

    def leans(self, platform_pose: Matrix) -> Vector:
        """Each leg's angle (degrees) to the base's normal and to the platform's, the larger."""
        legs = self.legs(platform_pose)
        units = legs / np.linalg.norm(legs, axis=1)[:, None]
        at_base = np.degrees(np.arccos(np.clip(units[:, 2], -1.0, 1.0)))
        normal = platform_pose[:3, 2]
        at_platform = np.degrees(np.arccos(np.clip(units @ normal, -1.0, 1.0)))
        leans: Vector = np.maximum(at_base, at_platform)
        return leans

    def out_of_stroke(self, platform_pose: Matrix) -> list[int]:
        """The actuators (1-6) whose length at ``platform_pose`` is outside their stroke."""
        low, high = self.stroke
        found = self.lengths(platform_pose)
        return [n + 1 for n, length in enumerate(found) if not low <= length <= high]

    def joints_out(self, platform_pose: Matrix) -> list[int]:
        """The actuators (1-6) that lean more than their joints allow at ``platform_pose``."""
        limit = self.layout.max_joint_angle
        return [n + 1 for n, lean in enumerate(self.leans(platform_pose)) if lean > limit]

    def reachable(self, platform_pose: Matrix) -> bool:
        if not np.all(np.isfinite(platform_pose)):
            return False
        return not self.out_of_stroke(platform_pose) and not self.joints_out(platform_pose)


def describe(geometry: Geometry) -> str:
    """One line for the log: the legs at zero and the stroke."""
    low, high = geometry.stroke
    zero = float(geometry.zero_lengths.mean())
    height = geometry.layout.base_depth - geometry.layout.platform_depth
    lean = math.degrees(math.acos(height / zero))
    return f"legs {zero:.1f} mm at zero (lean {lean:.1f} deg), stroke {low:.1f}-{high:.1f} mm"
