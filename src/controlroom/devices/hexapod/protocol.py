"""Talking to the PUNA controller: its replies, its command handshake, its refusals.

The host sends PMAC command lines (``&2 Q53,6,1``); the PMAC answers the
values read, each followed by CR, and ends the reply with ACK (the transport
strips it). ``BEL ERRnnn`` is the PMAC refusing the line itself. A hexapod
command is a code written into ``Q20``; the host then reads ``Q20`` until the
controller has put the return code there: 0 done, -1 ignored, -2 invalid.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from controlroom.device import CommandRefused, DeviceError, ReplyError
from controlroom.device.replies import parse_float
from controlroom.device.transports.base import Transport
from controlroom.devices.hexapod import codes

BELL = "\x07"
CS = "&2"  # the hexapod's coordinate system on the PMAC
HANDSHAKE_TIMEOUT_S = 5.0
HANDSHAKE_POLL_S = 0.005


class HexapodError(DeviceError):
    """Root of every error the hexapod driver raises."""


class PmacRefused(HexapodError, CommandRefused):
    """The PMAC did not understand a command line (``ERRnnn``)."""


class HexapodRefused(HexapodError, CommandRefused):
    """The controller ignored a command (-1) or found a move not feasible (-2)."""


class OutsideLimits(HexapodError):
    """A move would end outside the workspace limits; nothing was sent."""


class MotionFailed(HexapodError):
    """A move or homing run ended away from its target (stopped, or a fault)."""


class HexapodTimeout(HexapodError):
    """The controller did not finish a command, or the platform a move, in the time given."""


def values(reply: str) -> list[str]:
    """The values of a reply (CR-separated); raises if the PMAC refused the line."""
    if BELL in reply:
        error = reply.split(BELL, 1)[1].strip()
        number = int(error[3:]) if error[3:].isdigit() else 0
        raise PmacRefused(f"the PMAC refused the command: {error}", code=number, message=error)
    return [part.strip() for part in reply.split("\r") if part.strip()]


def numbers(reply: str, count: int) -> list[float]:
    found = values(reply)
    if len(found) != count:
        raise ReplyError(f"expected {count} values from the hexapod controller, got {reply!r}")
    return [parse_float(part) for part in found]


def integers(reply: str, count: int) -> list[int]:
    result = []
    for number in numbers(reply, count):
        if not number.is_integer():
            raise ReplyError(f"expected integers from the hexapod controller, got {reply!r}")
        result.append(int(number))
    return result


def check_ack(reply: str) -> None:
    """A command line whose reply holds nothing but its acknowledgement."""
    values(reply)


def nothing(reply: str) -> None:
    return None


def pose_dict(found: Sequence[float]) -> dict[str, float]:
    return dict(zip(codes.AXES, found, strict=True))


def parse_pose(reply: str) -> dict[str, float]:
    """Six values -> ``{"x": ..., "y": ..., "z": ..., "rx": ..., "ry": ..., "rz": ...}``."""
    return pose_dict(numbers(reply, 6))


def fmt(value: float) -> str:
    """A number as the PUNA's host software sends it: six decimals."""
    return f"{value:.6f}"


def assignments(first: int, items: Sequence[float]) -> str:
    return " ".join(f"Q{first + n}={fmt(v)}" for n, v in enumerate(items))


def run(transport: Transport, line: str) -> int:
    """Send ``line`` (it ends with ``Q20=<code>``); the command's return code (0, -1, -2)."""
    check_ack(transport.query(line))
    return finish(transport)


def command_line(code: int, params: str = "") -> str:
    return f"{CS} {params + ' ' if params else ''}Q{codes.Q_COMMAND}={code}"


def refused(what: str, code: int, why: Sequence[str] = ()) -> HexapodRefused:
    """The error for a command that returned ``code``, with the reasons found."""
    reasons = "; ".join(why) or codes.RETURN_CODES.get(code, f"return code {code}")
    return HexapodRefused(f"the controller refused {what} ({code}): {reasons}", code=code)


CHECKS = ("initialized", "in_motion", "error", "control_on")
"""What :meth:`~controlroom.devices.hexapod.HexapodController.why_ignored` can look at."""


def after_command(
    name: str, checks: Sequence[str] = ("initialized",), hint: str = ""
) -> Callable[..., Any]:
    """An ``after=`` hook: wait for the controller to run the command just written.

    If it ignores it, the reasons are looked for among ``checks`` (states that
    make this command ignored), else ``hint`` says what else could.
    """

    def after(controller: Any, result: Any, **arguments: Any) -> None:
        code = finish(controller.transport)
        if code == codes.IGNORED:
            why = controller.why_ignored(checks) or ([hint] if hint else [])
            raise refused(name, code, why)
        if code != codes.SUCCESS:
            raise refused(name, code)

    return after


def finish(transport: Transport) -> int:
    """Read ``Q20`` until the command already written has run; its return code."""
    deadline = time.monotonic() + HANDSHAKE_TIMEOUT_S
    while True:
        (code,) = integers(transport.query(f"{CS} Q{codes.Q_COMMAND}"), 1)
        if code <= 0:
            return code
        if time.monotonic() >= deadline:
            raise HexapodTimeout(f"the controller did not run command {code} in time")
        time.sleep(HANDSHAKE_POLL_S)


def read_config(transport: Transport, code: int, count: int) -> list[float]:
    """Run a "get config" command and read the ``count`` values it leaves from ``Q80`` on."""
    result = run(transport, command_line(code))
    if result != codes.SUCCESS:
        raise refused(f"command {code}", result)
    return numbers(transport.query(f"{CS} Q{codes.Q_PARAMS},{count},1"), count)
