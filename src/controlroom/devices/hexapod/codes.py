"""The PUNA controller's API in numbers, shared by the driver and the simulator.

The Symétrie PUNA hexapod runs on a Turbo PMAC whose coordinate system 2
(``&2``) holds the hexapod's Q variables. A command is a code written to
``Q20`` (its parameters first, in ``Q70``-``Q76`` or ``Q80``-``Q91``); the
controller's PLC picks it up, runs it and writes its return code back into
``Q20``: 0 done, -1 ignored (not allowed in the present state), -2 invalid (a
move that is not feasible; ``POSVALID?`` says why). States and positions are
Q variables read at any time.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final, Self

AXES: Final = ("x", "y", "z", "rx", "ry", "rz")
"""The six operational axes: translations in mm, rotations in degrees."""

ACTUATORS: Final = (1, 2, 3, 4, 5, 6)

# Q variables of coordinate system 2.
Q_COMMAND: Final = 20
Q_HOMING: Final = 26  # homing status (Homing)
Q_POSREF: Final = 27  # state of the last positioning command (Positioning)
Q_KINEMATIC: Final = 28  # error of the kinematic calculation (Kinematic)
Q_VALIDATION: Final = 29  # POSVALID? bit field (VALIDATION_BITS)
Q_STATE: Final = 36  # STATE#HEXA? bit field (STATE_BITS)
Q_ERROR: Final = 38  # number of the error latched last (Error); 0: none
Q_LENGTHS: Final = 41  # Q41..Q46: actuator lengths, mm
Q_MACHINE: Final = 47  # Q47..Q52: platform pose in the machine frame
Q_USER: Final = 53  # Q53..Q58: object pose in the user frame
Q_MODE: Final = 70  # control mode of a move or a validation (Mode)
Q_TARGET: Final = 71  # Q71..Q76: the pose (or motion) of a move or a validation
Q_PARAMS: Final = 80  # Q80..Q91: parameters and results of the configuration commands


class Code(IntEnum):
    """What a host writes into ``Q20``."""

    HOMING = 1
    STOP = 2
    CONTROL_ON = 3
    CONTROL_OFF = 4
    VALID_POS = 10
    MOVE = 11
    SPECIFIC_POS = 13
    CLEAR_ERROR = 15
    SET_CS = 21
    SET_MACHINE_LIMITS = 22
    SET_USER_LIMITS = 23
    SET_LIMITS_ENABLED = 24
    SET_SPEED = 25
    GET_CS = 31
    GET_MACHINE_LIMITS = 32
    GET_USER_LIMITS = 33
    GET_LIMITS_ENABLED = 34
    GET_SPEED = 35
    VERSION = 55


class Mode(IntEnum):
    """How a move's six values are read (``Q70``)."""

    ABSOLUTE = 0  # the object's pose in the user frame
    OBJECT_RELATIVE = 1  # a motion expressed in the object frame
    USER_RELATIVE = 2  # translations along the user axes, rotations about the object's origin


class Position(IntEnum):
    """The specific positions of ``Q20=13`` (``Q80``)."""

    ZERO = 1
    RETRACTED = 2


SUCCESS: Final = 0
IGNORED: Final = -1
INVALID: Final = -2
RETURN_CODES: Final = {
    SUCCESS: "done",
    IGNORED: "ignored: not allowed in the present state",
    INVALID: "invalid: the move is not feasible",
}

STATE_BITS: Final = (
    "error",
    "initialized",
    "in_position",
    "control_on",
    "homing_done",
    "brake_on",
    "emergency_stop",
    "following_error_warning",
    "following_error",
    "actuator_out_of_bounds",
    "amplifier_error",
    "encoder_error",
    "phasing_error",
    "homing_error",
    "kinematic_error",
    "abort_input",
    "flash_error",
    "temperature_error",
    "virtual_home",
    "encoders_power_off",
    "limit_switches_power_off",
)
"""``Q36``, bit by bit (bit 0 first)."""

ERROR_FLAGS: Final = STATE_BITS[6:18]
"""The bits of ``Q36`` that are faults (emergency stop ... temperature error)."""

VALIDATION_BITS: Final = (
    "homing not done",
    "coordinate systems not defined",
    "kinematic error",
    "out of the factory workspace",
    "out of the machine workspace",
    "out of the user workspace",
    "an actuator out of its stroke",
    "a joint out of its angular range",
    "out of limits due to backlash compensation",
    "abort input enabled",
    "safety sensor inputs enabled",
)
"""``Q29`` after ``POSVALID?``, bit by bit: why a move is not feasible."""


class Status(IntEnum):
    """The values of a status variable, each declared once with the words that report it."""

    text: str

    def __new__(cls, value: int, text: str) -> Self:
        member = int.__new__(cls, value)
        member._value_ = value
        member.text = text
        return member

    @classmethod
    def describe(cls, number: int, unknown: str = "status") -> str:
        """The words for ``number``; ``"<unknown> <number>"`` for a value not declared."""
        texts = {int(member): member.text for member in cls}
        return texts.get(number, f"{unknown} {number}")


class Homing(Status):
    """``Q26``: how far the homing has come."""

    UNDEFINED = 0, "undefined"
    RUNNING = 1, "in progress"
    DONE = 2, "done"
    ERROR = 3, "error"


class Positioning(Status):
    """``Q27`` (POSREF): the state of the last positioning command."""

    UNDEFINED = 0, "undefined"
    ABORT_INPUT = 1, "abort input error"
    MOVING = 2, "movement in progress"
    REACHED = 3, "position reached"
    ERROR = 4, "error"


class Kinematic(Status):
    """``Q28``: what the kinematic model found wrong with the last target."""

    NONE = 0, "none"
    NOT_HOMED = 1, "homing not done"
    OUT_OF_WORKSPACE = 2, "inverse kinematic model: out of the workspace"
    JOINT_ANGLE = 3, "inverse kinematic model: joint angle"


class Error(Status):
    """``Q38``: the error the controller latched last (cleared by ``Q20=15``)."""

    NONE = 0, "no error"
    FOLLOWING_ERROR = 26, "fatal following error on an actuator"


def decode_bits(word: int, names: tuple[str, ...]) -> list[str]:
    """The names of the bits set in ``word``, in bit order."""
    return [name for bit, name in enumerate(names) if word >> bit & 1]
