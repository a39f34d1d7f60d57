"""A four-axis stage controller (X, Y, Z linear stages in mm, RZ rotation in degrees).

The driver (:class:`MotionController`) speaks an ESP-style line protocol over
TCP: homing, absolute and relative moves, position and motion-done queries,
stop and abort, velocity, acceleration and software limits, with every
command checked against the controller's error code in the same exchange. The
simulator (``python -m controlroom.devices.motion.sim.server``) moves each axis
along a trapezoidal velocity profile, needs homing before moves, refuses
targets outside the software limits and can trip on an injected following
error.
"""

from controlroom.devices.motion.driver import (
    AXIS_NAMES,
    MotionController,
    MotionError,
    MotionFailed,
    MotionRefused,
    MotionTimeout,
    OutsideLimits,
)

__all__ = [
    "AXIS_NAMES",
    "MotionController",
    "MotionError",
    "MotionFailed",
    "MotionRefused",
    "MotionTimeout",
    "OutsideLimits",
]
