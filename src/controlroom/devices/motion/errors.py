"""What the motion driver raises: refusals by the controller and moves that went wrong."""

from __future__ import annotations

from controlroom.device import CommandRefused, DeviceError, ReplyError
from controlroom.device.replies import parse_int
from controlroom.devices.motion import codes


class MotionError(DeviceError):
    """Root of every error the motion driver raises."""


class MotionRefused(MotionError, CommandRefused):
    """The controller refused a command; ``code`` is its error code (see ``TE?``)."""

    def __init__(self, code: int) -> None:
        message = codes.describe(code)
        super().__init__(
            f"the controller reports error {code}: {message}", code=code, message=message
        )


class OutsideLimits(MotionError):
    """A move would end outside the software limits of its axis; nothing was sent."""


class MotionFailed(MotionError):
    """A move or homing run ended away from its target (stopped, aborted or a fault)."""


class MotionTimeout(MotionError):
    """A move or homing run did not end within the time given."""


def check_within(axis: str, position: float, lower: float, upper: float) -> None:
    """Raise :class:`OutsideLimits` unless ``lower <= position <= upper``."""
    if not lower <= position <= upper:
        raise OutsideLimits(
            f"axis {axis}: {position} is outside its software limits [{lower}, {upper}]"
        )


def check_error(reply: str) -> None:
    """Raise if the ``TE?`` that ends a command line reports an error."""
    code = parse_int(reply.rsplit(",", maxsplit=1)[-1])
    if code != codes.NO_ERROR:
        raise MotionRefused(code)


def parse_error_message(reply: str) -> dict[str, int | str]:
    """``TB?`` → ``{"code": 107, "timestamp": 3125, "message": "NEGATIVE SOFTWARE ..."}``.

    The timestamp counts the controller's servo cycles (400 µs) since it started.
    """
    fields = reply.split(",", maxsplit=2)
    if len(fields) != 3:
        raise ReplyError(f"expected 'code, timestamp, message' from TB?, got {reply!r}")
    code, timestamp, message = (field.strip() for field in fields)
    return {"code": parse_int(code), "timestamp": parse_int(timestamp), "message": message}
