"""Poses and the Stewart platform's inverse kinematics, checked against geometry by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from controlroom.device.simkit.profiles import timed_trapezoid
from controlroom.devices.hexapod.pose import (
    inverse,
    matrix,
    moved_in_object,
    moved_in_user,
    pose_of,
    rotation,
)
from controlroom.devices.hexapod.sim.geometry import Geometry, Layout
from controlroom.devices.hexapod.sim.motion import Path, axis_angle

GEOMETRY = Geometry()


@pytest.mark.parametrize(
    "pose",
    [
        (0, 0, 0, 0, 0, 0),
        (12.5, -3, 7, 1.5, -2.25, 30),
        (-50, 50, -20, -15, 15, -30),
        (1, 2, 3, 89, 10, -170),
    ],
)
def test_a_pose_survives_the_round_trip_through_its_matrix(pose: tuple[float, ...]) -> None:
    assert pose_of(matrix(pose)) == pytest.approx(pose, abs=1e-9)
    assert inverse(matrix(pose)) @ matrix(pose) == pytest.approx(np.eye(4), abs=1e-12)


def test_rotations_are_about_the_fixed_axes_x_then_y_then_z() -> None:
    x, y, z = (rotation(90, 0, 0), rotation(0, 90, 0), rotation(0, 0, 90))
    assert rotation(90, 90, 90) == pytest.approx(z @ y @ x, abs=1e-12)
    assert rotation(0, 0, 90) @ np.array([1.0, 0.0, 0.0]) == pytest.approx([0, 1, 0], abs=1e-12)


def test_relative_motions_in_the_object_and_in_the_user_frame() -> None:
    turned = (10.0, 0.0, 0.0, 0.0, 0.0, 90.0)
    # In its own frame, the object's X axis now points along the user's Y.
    assert moved_in_object(turned, (5, 0, 0, 0, 0, 0)) == pytest.approx((10, 5, 0, 0, 0, 90))
    assert moved_in_user(turned, (5, 0, 0, 0, 0, 0)) == pytest.approx((15, 0, 0, 0, 0, 90))
    # A rotation in the user frame turns the object about its own origin: it stays put.
    assert moved_in_user(turned, (0, 0, 0, 0, 0, -30)) == pytest.approx((10, 0, 0, 0, 0, 60))


def test_every_actuator_has_the_same_length_at_the_zero_pose() -> None:
    layout = Layout()
    # Leg 1: base joint at 10° on its circle, platform joint at 60° - 20° = 40°.
    across = math.sqrt(
        layout.base_radius**2
        + layout.platform_radius**2
        - 2 * layout.base_radius * layout.platform_radius * math.cos(math.radians(30))
    )
    height = layout.base_depth - layout.platform_depth
    assert GEOMETRY.zero_lengths == pytest.approx([math.hypot(across, height)] * 6)
    assert GEOMETRY.stroke == pytest.approx(
        (math.hypot(across, height) - 36, math.hypot(across, height) + 36)
    )


def test_lifting_the_platform_lengthens_every_actuator_alike() -> None:
    up, down = (
        GEOMETRY.lengths(matrix((0, 0, 10, 0, 0, 0))),
        GEOMETRY.lengths(matrix((0, 0, -10, 0, 0, 0))),
    )
    assert np.ptp(up) == pytest.approx(0, abs=1e-9) and np.ptp(down) == pytest.approx(0, abs=1e-9)
    assert down[0] < GEOMETRY.zero_lengths[0] < up[0]


def test_the_legs_repeat_every_third_of_a_turn() -> None:
    step = math.radians(120)
    shift = (10 * math.cos(step), 10 * math.sin(step), 0, 0, 0, 0)
    along_x = GEOMETRY.lengths(matrix((10, 0, 0, 0, 0, 0)))
    along_shifted = GEOMETRY.lengths(matrix(shift))
    assert along_shifted == pytest.approx(np.roll(along_x, 2))


def test_turning_one_way_or_the_other_swaps_the_legs_of_each_pair() -> None:
    left, right = (
        GEOMETRY.lengths(matrix((0, 0, 0, 0, 0, 10))),
        GEOMETRY.lengths(matrix((0, 0, 0, 0, 0, -10))),
    )
    assert left[0::2] == pytest.approx(right[1::2]) and left[1::2] == pytest.approx(right[0::2])
    assert left[0] != pytest.approx(left[1])


def test_reach_is_bounded_by_the_stroke_and_the_joints() -> None:
    for extreme in [
        (50, 0, 0, 0, 0, 0),
        (0, 0, -20, 0, 0, 0),
        (0, 0, 0, 15, 0, 0),
        (0, 0, 0, 0, 0, 30),
    ]:
        assert GEOMETRY.reachable(matrix(extreme)), extreme
    assert GEOMETRY.out_of_stroke(matrix((50, 0, 20, 0, 0, 0))) == [2, 5]
    assert not GEOMETRY.reachable(matrix((50, 50, 20, 0, 0, 30)))


def test_a_path_moves_in_step_along_a_line_and_about_one_axis() -> None:
    start, end = matrix((0, 0, 0, 0, 0, 0)), matrix((10, -4, 2, 0, 0, 20))
    path = Path(start, end)
    assert path.distance == pytest.approx(math.sqrt(120)) and path.angle == pytest.approx(20)
    halfway = pose_of(path.at(0.5))
    assert halfway == pytest.approx((5, -2, 1, 0, 0, 10))
    axis, angle = axis_angle(rotation(0, 0, 20))
    assert axis == pytest.approx([0, 0, 1]) and angle == pytest.approx(20)


def test_a_trapezoid_cruises_at_the_speed_limit_and_ends_at_rest() -> None:
    timing = timed_trapezoid(100.0, cruise_s=10.0, ramp_s=0.2)
    assert timing.end_time == pytest.approx(110.2)
    assert timing.velocity(105.0) == pytest.approx(0.1) and timing.velocity(110.2) == 0.0
    assert timing.position(100.0) == 0.0 and timing.position(110.2) == 1.0
    assert timing.position(105.1) == pytest.approx(0.5)
    braked = timing.stopping(105.0, deceleration=0.5)
    assert timing.position(105.0) < braked.end_position < 1.0
    assert braked.end_time == pytest.approx(105.2)
