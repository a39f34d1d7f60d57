"""Error codes of the motion controller, shared by the driver and the simulator.

Modelled on Newport ESP-style controllers: ``TE?`` returns one integer. Codes
below 100 concern the whole controller; an axis-specific code is
``axis * 100 + code``, e.g. ``107`` is a negative software limit on axis 1.
"""

from __future__ import annotations

from typing import Final

NO_ERROR: Final = 0
UNKNOWN_COMMAND: Final = 6
PARAMETER_OUT_OF_RANGE: Final = 7
AXIS_OUT_OF_RANGE: Final = 9
AXIS_MISSING: Final = 37
PARAMETER_MISSING: Final = 38
BAD_PARAMETER: Final = 39

FOLLOWING_ERROR: Final = 3
POSITIVE_SOFT_LIMIT: Final = 6
NEGATIVE_SOFT_LIMIT: Final = 7
MOTOR_NOT_ENABLED: Final = 13
HOMING_REQUIRED: Final = 50
AXIS_MOVING: Final = 51

CONTROLLER_MESSAGES: Final[dict[int, str]] = {
    NO_ERROR: "NO ERROR DETECTED",
    UNKNOWN_COMMAND: "COMMAND DOES NOT EXIST",
    PARAMETER_OUT_OF_RANGE: "PARAMETER OUT OF RANGE",
    AXIS_OUT_OF_RANGE: "AXIS NUMBER OUT OF RANGE",
    AXIS_MISSING: "AXIS NUMBER MISSING",
    PARAMETER_MISSING: "COMMAND PARAMETER MISSING",
    BAD_PARAMETER: "INVALID COMMAND PARAMETER",
}

AXIS_MESSAGES: Final[dict[int, str]] = {
    FOLLOWING_ERROR: "FOLLOWING ERROR THRESHOLD EXCEEDED",
    POSITIVE_SOFT_LIMIT: "POSITIVE SOFTWARE LIMIT DETECTED",
    NEGATIVE_SOFT_LIMIT: "NEGATIVE SOFTWARE LIMIT DETECTED",
    MOTOR_NOT_ENABLED: "MOTOR NOT ENABLED",
    HOMING_REQUIRED: "AXIS NOT HOMED",
    AXIS_MOVING: "COMMAND NOT ALLOWED WHILE MOVING",
}


def axis_code(axis: int, code: int) -> int:
    """The controller-wide code of an axis-specific error."""
    return axis * 100 + code


def describe(code: int) -> str:
    """The controller's message for ``code``, with the axis named for axis errors."""
    if code < 100:
        return CONTROLLER_MESSAGES.get(code, f"UNKNOWN ERROR {code}")
    axis, sub = divmod(code, 100)
    return f"AXIS {axis} {AXIS_MESSAGES.get(sub, f'UNKNOWN ERROR {sub}')}"
