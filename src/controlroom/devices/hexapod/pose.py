"""Poses of rigid bodies as Symétrie writes them: ``(tx, ty, tz, rx, ry, rz)``, mm and degrees.

A pose is the translation of a frame's origin and its orientation, the
rotations taken about the fixed axes X, then Y, then Z (``R = Rz·Ry·Rx``).
Pure functions on 4x4 homogeneous matrices, shared by the driver (targets of
relative moves, to check its limits) and the simulator (the frames and the
kinematics), so both read a pose the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

Pose = tuple[float, float, float, float, float, float]
Matrix = NDArray[np.float64]

ZERO: Pose = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def as_pose(values: Sequence[float]) -> Pose:
    if len(values) != 6:
        raise ValueError(f"a pose has six values, not {len(values)}")
    tx, ty, tz, rx, ry, rz = (float(v) for v in values)
    return (tx, ty, tz, rx, ry, rz)


def rotation(rx: float, ry: float, rz: float) -> Matrix:
    """The rotation about X by ``rx``, then Y by ``ry``, then Z by ``rz`` (fixed axes, degrees)."""
    ca, cb, cc = (math.cos(math.radians(v)) for v in (rx, ry, rz))
    sa, sb, sc = (math.sin(math.radians(v)) for v in (rx, ry, rz))
    return np.array(
        [
            [cb * cc, sa * sb * cc - ca * sc, ca * sb * cc + sa * sc],
            [cb * sc, sa * sb * sc + ca * cc, ca * sb * sc - sa * cc],
            [-sb, sa * cb, ca * cb],
        ]
    )


def angles(rot: Matrix) -> tuple[float, float, float]:
    """``(rx, ry, rz)`` in degrees of a rotation matrix (the inverse of :func:`rotation`)."""
    ry = math.atan2(-rot[2, 0], math.hypot(rot[0, 0], rot[1, 0]))
    rx = math.atan2(rot[2, 1], rot[2, 2])
    rz = math.atan2(rot[1, 0], rot[0, 0])
    return math.degrees(rx), math.degrees(ry), math.degrees(rz)


def matrix(pose: Sequence[float]) -> Matrix:
    """The homogeneous transform of ``pose``: from the posed frame to its reference."""
    tx, ty, tz, rx, ry, rz = as_pose(pose)
    result = np.eye(4)
    result[:3, :3] = rotation(rx, ry, rz)
    result[:3, 3] = (tx, ty, tz)
    return result


def pose_of(transform: Matrix) -> Pose:
    """The pose of a homogeneous transform (the inverse of :func:`matrix`)."""
    rx, ry, rz = angles(transform[:3, :3])
    tx, ty, tz = (float(v) for v in transform[:3, 3])
    return (tx, ty, tz, rx, ry, rz)


def inverse(transform: Matrix) -> Matrix:
    rot = transform[:3, :3]
    result = np.eye(4)
    result[:3, :3] = rot.T
    result[:3, 3] = -rot.T @ transform[:3, 3]
    return result


def moved_in_object(current: Sequence[float], motion: Sequence[float]) -> Pose:
    """Where a motion expressed in the object's own frame takes it."""
    return pose_of(matrix(current) @ matrix(motion))


def moved_in_user(current: Sequence[float], motion: Sequence[float]) -> Pose:
    """Where a motion expressed in the user frame takes the object.

    The translation is along the user axes; the rotation turns the object about
    its own origin, about axes parallel to the user's.
    """
    start, step = matrix(current), matrix(motion)
    result = np.eye(4)
    result[:3, :3] = step[:3, :3] @ start[:3, :3]
    result[:3, 3] = start[:3, 3] + step[:3, 3]
    return pose_of(result)
