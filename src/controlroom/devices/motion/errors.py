"""Errors of the motion driver, and the parsing of the controller's replies."""

from __future__ import annotations

from controlroom.device import DeviceError, ReplyError
from controlroom.devices.motion import codes


class MotionError(DeviceError):
    """Root of every error the motion driver raises."""


class MotionRefused(MotionError):
    """The controller refused a command; ``code`` is its error code (see ``TE?``)."""

    def __init__(self, code: int) -> None:
        super().__init__(f"the controller reports error {code}: {codes.describe(code)}")
        self.code = code


class OutsideLimits(MotionError):
    """A move would end outside the software limits of its axis; nothing was sent."""


class MotionFailed(MotionError):
    """A move or homing run ended away from its target (stopped, aborted or a fault)."""


class MotionTimeout(MotionError):
    """A move or homing run did not end within the time given."""


def parse_float(reply: str) -> float:
    try:
        return float(reply)
    except ValueError:
        raise ReplyError(f"expected a number from the motion controller, got {reply!r}") from None


def parse_int(reply: str) -> int:
    try:
        return int(reply.strip())
    except ValueError:
        raise ReplyError(f"expected an integer from the motion controller, got {reply!r}") from None


def parse_flag(reply: str) -> bool:
    text = reply.strip()
    if text not in ("0", "1"):
        raise ReplyError(f"expected 0 or 1 from the motion controller, got {reply!r}")
    return text == "1"


def split_reply(reply: str, count: int) -> list[str]:
    """The replies of ``count`` queries sent on one line (the controller joins them with ``,``)."""
    parts = [part.strip() for part in reply.split(",")]
    if len(parts) != count:
        raise ReplyError(f"expected {count} values from the motion controller, got {reply!r}")
    return parts


def parse_floats(reply: str) -> list[float]:
    return [parse_float(part) for part in reply.split(",")]


def parse_error_message(reply: str) -> dict[str, int | str]:
    """``TB?`` -> ``{"code": 107, "message": "AXIS 1 NEGATIVE SOFTWARE LIMIT DETECTED"}``."""
    code, _, message = reply.partition(",")
    return {"code": parse_int(code), "message": message.strip()}


def check_error(reply: str) -> None:
    """Raise if the ``TE?`` that ends a command line reports an error."""
    code = parse_int(reply.rsplit(",", maxsplit=1)[-1])
    if code != codes.NO_ERROR:
        raise MotionRefused(code)
