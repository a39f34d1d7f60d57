"""A six-axis hexapod modelled on a Symétrie PUNA on its PMAC-based controller.

The driver (:class:`HexapodController`) speaks the controller's API over TCP:
PMAC command lines that write command codes into ``Q20`` and read positions
and states from Q variables. It homes, moves the object in the user frame
(absolute, relative to the object or to the user frame) after checking the
user workspace limits, validates targets, sets speeds, coordinate systems and
workspace limits, and stops a motion at once, from any client. The simulator
(``python -m controlroom.devices.hexapod.sim.server``) moves a Stewart
platform with exact inverse kinematics along straight paths at the set
speeds, needs homing first and refuses targets out of the workspace or out of
the actuators' stroke.
"""

from controlroom.devices.hexapod.codes import AXES
from controlroom.devices.hexapod.driver import HexapodController
from controlroom.devices.hexapod.protocol import (
    HexapodError,
    HexapodRefused,
    HexapodTimeout,
    MotionFailed,
    OutsideLimits,
    PmacRefused,
)

__all__ = [
    "AXES",
    "HexapodController",
    "HexapodError",
    "HexapodRefused",
    "HexapodTimeout",
    "MotionFailed",
    "OutsideLimits",
    "PmacRefused",
]
