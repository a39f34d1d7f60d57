"""The controller's status words decoded: general state, homing, positioning, errors.

``STATE#HEXA?`` (``Q36``) is a bit field of named flags. The PUNA's state word
has no "in motion" bit: a motion is under way while the homing status
(``Q26``) says "in progress" or the positioning status (``Q27``) says
"movement in progress", so those are read with it.
"""

from __future__ import annotations

from typing import Any

from controlroom.devices.hexapod import codes
from controlroom.devices.hexapod.protocol import integers, numbers, pose_dict

STATE_QUERY = f"&2 Q{codes.Q_STATE} Q{codes.Q_HOMING},3,1"
"""State word, homing status, positioning status, kinematic error: one exchange."""


def decode_state(word: int, homing: int, posref: int, kinematic: int = 0) -> dict[str, Any]:
    """Every flag of the state word by name, and what the statuses add to it."""
    flags = {name: bool(word >> bit & 1) for bit, name in enumerate(codes.STATE_BITS)}
    return {
        **flags,
        "in_motion": posref == codes.Positioning.MOVING or homing == codes.Homing.RUNNING,
        "homing_running": homing == codes.Homing.RUNNING,
        "homing": codes.Homing.describe(homing),
        "positioning": codes.Positioning.describe(posref),
        "kinematic": codes.Kinematic.describe(kinematic, "error"),
        "word": word,
    }


def parse_state(reply: str) -> dict[str, Any]:
    return decode_state(*integers(reply, 4))


def parse_homing_done(reply: str) -> bool:
    return integers(reply, 1)[0] == codes.Homing.DONE


def parse_in_position(reply: str) -> bool:
    """``Q36 Q26 Q27``: in position, and no homing run or move under way."""
    state = decode_state(*integers(reply, 3))
    return bool(state["in_position"]) and not state["in_motion"]


def parse_error(reply: str) -> dict[str, Any]:
    """``Q38 Q36 Q28`` -> the latched error, the fault flags raised, the kinematic error."""
    number, word, kinematic = integers(reply, 3)
    return {
        "code": number,
        "message": codes.Error.describe(number, "error"),
        "faults": [n for n in codes.decode_bits(word, codes.STATE_BITS) if n in codes.ERROR_FLAGS],
        "kinematic": codes.Kinematic.describe(kinematic, "error"),
    }


SAMPLE_QUERY = (
    f"&2 Q{codes.Q_USER},6,1 Q{codes.Q_LENGTHS},6,1 Q{codes.Q_STATE} Q{codes.Q_HOMING},3,1 "
    f"Q{codes.Q_ERROR}"
)
"""Everything housekeeping and status need, in one exchange (17 values)."""


def parse_sample(reply: str) -> dict[str, Any]:
    found = numbers(reply, 17)
    user, lengths = found[:6], found[6:12]
    word, homing, posref, kinematic, error = (int(v) for v in found[12:])
    state = decode_state(word, homing, posref, kinematic)
    return {
        **{f"user_{axis}": value for axis, value in pose_dict(user).items()},
        **{f"length_{n}": value for n, value in zip(codes.ACTUATORS, lengths, strict=True)},
        "in_position": bool(state["in_position"]) and not state["in_motion"],
        "homed": state["homing_done"],
        "moving": state["in_motion"],
        "control_on": state["control_on"],
        "error": state["error"],
        "error_code": error,
    }
