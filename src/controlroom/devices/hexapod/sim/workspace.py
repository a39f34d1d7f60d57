"""Where the hexapod may go: workspace limits and the validation of a target (pure).

Three workspaces bound a target, each per axis: the factory workspace (the
platform in the machine frame, fixed), the machine workspace (the same frame,
set by the lab to keep the platform clear of its surroundings) and the user
workspace (the object in the user frame, to keep the payload safe). The
actuators' stroke and the joints' angular range bound it too. A target is
valid when no bit of the controller's ``POSVALID?`` word is set.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from controlroom.devices.hexapod import codes
from controlroom.devices.hexapod.pose import Matrix, Pose, as_pose, pose_of
from controlroom.devices.hexapod.sim.geometry import Geometry


@dataclass(frozen=True)
class Limits:
    """The lower and upper bound of each axis (mm and degrees)."""

    lower: Pose
    upper: Pose

    @classmethod
    def from_values(cls, values: Sequence[float]) -> Limits:
        """The controller's order: the six lower bounds, then the six upper ones."""
        if len(values) != 12:
            raise ValueError(f"limits are twelve values, not {len(values)}")
        return cls(as_pose(values[:6]), as_pose(values[6:]))

    def values(self) -> list[float]:
        return [*self.lower, *self.upper]

    def ordered(self) -> bool:
        return all(low < high for low, high in zip(self.lower, self.upper, strict=True))

    def within(self, other: Limits) -> bool:
        """Whether these limits lie inside ``other``."""
        pairs = zip(self.lower, self.upper, other.lower, other.upper, strict=True)
        return all(o_low <= low and high <= o_high for low, high, o_low, o_high in pairs)

    def contains(self, pose: Sequence[float]) -> bool:
        pairs = zip(pose, self.lower, self.upper, strict=True)
        return all(low <= value <= high for value, low, high in pairs)


FACTORY = Limits((-50.0, -50.0, -20.0, -15.0, -15.0, -30.0), (50.0, 50.0, 20.0, 15.0, 15.0, 30.0))
"""The PUNA-like travel range: ±50 mm in X and Y, ±20 mm in Z, ±15° in RX and RY, ±30° in RZ."""


@dataclass(frozen=True)
class Workspace:
    """What bounds a target now: the machine and user limits and whether each applies."""

    machine: Limits = FACTORY
    user: Limits = FACTORY
    machine_enabled: bool = True
    user_enabled: bool = True


def _bit(index: int) -> int:
    return 1 << index


def validate(
    geometry: Geometry,
    workspace: Workspace,
    *,
    homed: bool,
    platform: Matrix,
    object_in_user: Matrix,
) -> int:
    """The ``POSVALID?`` word of a target: 0 when the hexapod may go there."""
    word = 0 if homed else _bit(0)
    machine_pose, user_pose = pose_of(platform), pose_of(object_in_user)
    if not all(math.isfinite(v) for v in (*machine_pose, *user_pose)):
        return word | _bit(2)
    if not FACTORY.contains(machine_pose):
        word |= _bit(3)
    if workspace.machine_enabled and not workspace.machine.contains(machine_pose):
        word |= _bit(4)
    if workspace.user_enabled and not workspace.user.contains(user_pose):
        word |= _bit(5)
    if geometry.out_of_stroke(platform):
        word |= _bit(6)
    if geometry.joints_out(platform):
        word |= _bit(7)
    return word


def kinematic_error(word: int) -> int:
    """The ``Q28`` code that goes with a validation word (the inverse model's complaint)."""
    if word & _bit(6):
        return codes.Kinematic.OUT_OF_WORKSPACE
    if word & _bit(7):
        return codes.Kinematic.JOINT_ANGLE
    return codes.Kinematic.NONE


def reasons(word: int) -> list[str]:
    return codes.decode_bits(word, codes.VALIDATION_BITS)
