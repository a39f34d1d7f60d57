"""A Newport ESP300/ESP301 motion controller with four stages (X, Y, Z in mm, RZ in degrees).

The driver (:class:`MotionController`) speaks the controller's command
language as its user's manual gives it: homing, absolute and relative moves,
position and motion-done queries, stop and abort, velocity, acceleration,
deceleration and software limits, with every command checked against the
controller's error code in the same exchange. The simulator
(``python -m controlroom.devices.motion.sim.server``) answers the manual's
commands, with and without ``?`` where the controller takes both, moves each
axis along a trapezoidal velocity profile, keeps the manual's error buffer and
can trip on an injected following error.
"""

from controlroom.devices.motion.driver import MotionController
from controlroom.devices.motion.errors import (
    MotionError,
    MotionFailed,
    MotionRefused,
    MotionTimeout,
    OutsideLimits,
)
from controlroom.devices.motion.readings import AXIS_NAMES

__all__ = [
    "AXIS_NAMES",
    "MotionController",
    "MotionError",
    "MotionFailed",
    "MotionRefused",
    "MotionTimeout",
    "OutsideLimits",
]
